"""The ``huiyin`` command line. Qt is imported only when the GUI starts.

Exit codes: 0 ok · 1 bad input (invalid file or value, unknown id, rejected import, a knowledge
base never initialised) · 2 usage error (argparse, bad option values) · 3 environment (database or
index unavailable, no display). Every error is one Chinese line on stderr.
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from kb import __version__
from kb import settings as settings_mod
from kb.actor import Actor
from kb.deadlines import REQUEST_TYPES
from kb.errors import ImportRejected, KbError, NotFound, StorageError, ValidationError
from kb.exchange import KIND_FIELDS, import_file
from kb.export import LABELS, export_file
from kb.paths import AppPaths
from kb.service import KnowledgeBase
from kb.tables import detect_format

if TYPE_CHECKING:  # imported when a command needs an engine
    from concurrent.futures import ThreadPoolExecutor

    from indexer.engine import Engine

EXIT_OK, EXIT_BAD_INPUT, EXIT_USAGE, EXIT_ENV = 0, 1, 2, 3
log = logging.getLogger("huiyin.cli")


class Context:
    """What every command needs: folders, settings, the database URL."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.paths = AppPaths.resolve(args.basedir)  # folders: ensure_folders(), after the checks
        self.settings = settings_mod.load(self.paths.config_file)
        self.db_url = self.settings.resolved_database_url(self.paths, args.db)
        self._kb: KnowledgeBase | None = None
        self._background: ThreadPoolExecutor | None = None  # the engines' executor, made with the first engine
        self._engines: list[Engine] = []

    @property
    def kb(self) -> KnowledgeBase:
        if self._kb is None:
            self._kb = KnowledgeBase.open(self.db_url)
        return self._kb

    @property
    def actor(self) -> Actor:
        """The command line acts as the local administrator, recorded under the settings' user name."""
        return Actor.system(self.settings.user_name)

    def require_initialised(self) -> None:
        """Commands other than ``init`` (and the GUI) need a knowledge base: a missing one is not created."""
        if not database_ready(self.db_url):
            shown = self.db_url if "@" not in self.db_url else self.db_url.split("@", 1)[1]
            raise ValidationError(f"{NOT_INITIALISED}（数据库 {shown}）")

    def ensure_folders(self) -> None:
        try:
            self.paths.ensure()
        except OSError as exc:
            raise ValidationError(f"basedir: 无法创建数据文件夹：{os_problem(exc)}") from exc

    def engine(self, *, sync: bool = True) -> Engine:
        """The search/suggest engine over this knowledge base (imports whoosh and jieba).

        Its background work (the work-order history catch-up) runs on this command's own
        executor; :meth:`close` stops it.
        """
        from concurrent.futures import ThreadPoolExecutor

        from indexer.engine import Engine

        if self._background is None:
            self._background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="huiyin-cli")
        engine = Engine.open(self.paths, self.kb, executor=self._background, sync=sync)
        self._engines.append(engine)
        return engine

    def close(self) -> None:
        """Close the engines (a running history catch-up ends at its next work order) and wait for their jobs."""
        for engine in self._engines:
            engine.close()
        self._engines.clear()
        if self._background is not None:
            self._background.shutdown(wait=True)
            self._background = None


def _print(text: str = "", file: TextIO | None = None) -> None:
    print(text, file=file or sys.stdout, flush=True)


def _json_default(value: object) -> object:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, frozenset | set | tuple):
        return list(value)
    raise TypeError(type(value).__name__)


def dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, default=_json_default)


# ---------------------------------------------------------------- validation
# Bounds of one request (command line or --jsonl): enough for any call, small enough that a bad
# request cannot tie up the worker.
SEARCH_LIMIT_MAX, SUGGEST_LIMIT_MAX = 500, 50
QUERY_MAX_CHARS, TEXT_MAX_CHARS, ADDRESS_MAX_CHARS, PHONE_MAX_CHARS = 1_000, 10_000, 300, 32
REQUEST_ID_MAX_CHARS = 200
SEARCH_FIELDS = ("q", "limit")
SUGGEST_FIELDS = ("text", "address", "phone", "request_type", "limit")
NOT_INITIALISED = "知识库尚未初始化：请先运行 huiyin init"
_OS_REASONS = {errno.EACCES: "没有权限", errno.EPERM: "没有权限", errno.ENOENT: "不存在", errno.EISDIR: "是一个文件夹",
               errno.ENOTDIR: "路径中有一段不是文件夹", errno.ENOSPC: "磁盘空间不足", errno.EROFS: "只读文件系统",
               errno.EEXIST: "已存在同名文件"}


def os_problem(exc: OSError) -> str:
    """An OSError in one Chinese line: the file and the reason."""
    reason = _OS_REASONS.get(exc.errno or 0, exc.strerror or str(exc))
    return f"{exc.filename}：{reason}" if exc.filename else reason


def one_line(text: str) -> str:
    return re.sub(r"\s*\n\s*", " ", text).strip()


def _shown(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "…"


def limit_problem(value: int, maximum: int) -> str | None:
    return None if 1 <= value <= maximum else f"应为 1–{maximum} 的整数（现为 {value}）"


def length_problem(value: str, maximum: int) -> str | None:
    return None if len(value) <= maximum else f"不能超过 {maximum} 个字符（现为 {len(value)} 个）"


def db_url_problem(url: str) -> str | None:
    """Why ``url`` is not a database address Huiyin can use, or None (nothing is connected)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if not url.strip():
        return "数据库地址不能为空"
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "数据库地址无法识别（例如 postgresql+psycopg://user@host/huiyin 或 sqlite:///路径/huiyin.sqlite3）"
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    if (backend, driver) not in (("sqlite", "pysqlite"), ("postgresql", "psycopg")):
        return (f"不支持的数据库 {parsed.drivername}：请用 postgresql+psycopg://… 或 sqlite:///…")
    return None


def database_ready(db_url: str) -> bool:
    """Whether ``db_url`` holds Huiyin's tables, found without creating anything (no SQLite file, no schema)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError, OperationalError

    from kb.db import has_tables, make_engine

    url = make_url(db_url)
    sqlite = url.get_backend_name() == "sqlite"
    database = url.database or ""
    if sqlite and (database in ("", ":memory:") or not database.startswith("file:")):
        if database in ("", ":memory:") or not Path(database).exists():
            return False
        if not Path(database).is_file():
            raise ValidationError(f"database_url: 这是一个文件夹，不是数据库文件：{database}")
    engine = make_engine(db_url)
    try:
        return has_tables(engine)
    except OperationalError as exc:
        raise StorageError(f"无法连接数据库 (database)：{one_line(str(exc.orig))}") from exc
    except DBAPIError as exc:
        if sqlite:
            raise ValidationError(f"database_url: 不是 SQLite 数据库文件：{database}") from exc
        raise StorageError(f"数据库错误 (database)：{one_line(str(exc.orig))}") from exc
    finally:
        engine.dispose()


def request_text(req: dict[str, Any], name: str, maximum: int) -> str:
    """A string field of a request; absent or null is ""."""
    value = req.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError(f"{name}: 应为字符串（现为 {_shown(value)}）")
    if problem := length_problem(value, maximum):
        raise ValidationError(f"{name}: {problem}")
    return value


def request_limit(req: dict[str, Any], default: int, maximum: int) -> int:
    value = req.get("limit")
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"limit: 应为 1–{maximum} 的整数（现为 {_shown(value)}）")
    if problem := limit_problem(value, maximum):
        raise ValidationError(f"limit: {problem}")
    return value


def request_id(req: dict[str, Any]) -> str | int | None:
    """The request's "id" (answered as "request_id"); absent or null is None."""
    value = req.get("id")
    if value is None:
        return None
    usable = (isinstance(value, str) and len(value) <= REQUEST_ID_MAX_CHARS) or (
        isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63)
    if not usable:
        raise ValidationError(f"id: 应为字符串（不超过 {REQUEST_ID_MAX_CHARS} 个字符）或整数（现为 {_shown(value)}）")
    return value


def suggest_request(req: dict[str, Any], default_limit: int) -> dict[str, Any]:
    """The checked fields of a suggest request (command line or --jsonl)."""
    phone = request_text(req, "phone", PHONE_MAX_CHARS)
    if phone.strip():  # the repeat-caller lookup's own rule
        from kb.phones import normalize_phone

        try:
            normalize_phone(phone)
        except ValidationError as exc:
            raise ValidationError(f"phone: {exc}") from None
    request_type = request_text(req, "request_type", 20)
    if request_type and request_type not in REQUEST_TYPES:
        raise ValidationError(f"request_type: “{request_type}”不是有效的诉求类型，应为 {'、'.join(REQUEST_TYPES)} 之一")
    return {"text": request_text(req, "text", TEXT_MAX_CHARS),
            "address": request_text(req, "address", ADDRESS_MAX_CHARS), "phone": phone,
            "request_type": request_type, "limit": request_limit(req, default_limit, SUGGEST_LIMIT_MAX)}


# ------------------------------------------------------------------ commands
def cmd_init(ctx: Context, args: argparse.Namespace) -> int:
    """Schema, sample (or with --empty only the safety lexicon and gazetteer) and lexicon repair: all or nothing."""
    from kb.sample import open_and_set_up

    kb, result = open_and_set_up(ctx.db_url, sample=not args.empty, force_sample=args.force_sample and not args.empty)
    try:
        if result.loaded:
            summary = "，".join(f"{r.kind} {r.rows}" for r in result.loaded)
            _print(f"已载入示例知识库 (sample knowledge base)：{summary}")
        elif args.empty:
            _print(f"已初始化空知识库 (empty knowledge base)：{kb.url}")
        else:
            _print("知识库已有数据，未重复载入示例 (already initialised; use --force-sample to reload)")
        for line in result.repaired:
            _print(f"已载入缺少的词库 (loaded what was missing)：{line}")
        st = kb.stats()
        _print(f"数据库 (database)：{kb.url}")
        _print(f"条目 entries {st.entries}（已发布 published {st.published}）· 承办单位 departments "
               f"{st.departments} · 话术 scripts {st.scripts} · 修订号 revision {st.revision}")
        _print(result.lexicon.summary())
    finally:
        kb.close()
    return EXIT_OK if result.lexicon.ok else EXIT_ENV


def cmd_import(ctx: Context, args: argparse.Namespace) -> int:
    path = Path(args.path)
    try:
        result = import_file(ctx.kb, path, kind=args.kind, actor=ctx.actor, dry_run=args.dry_run,
                             replace=args.replace, sheet=args.sheet)
    except ImportRejected as exc:
        _print(f"导入失败 (import rejected)：{path.name} 有 {len(exc.errors)} 处错误，数据库未做任何更改。",
               sys.stderr)
        for err in exc.errors:
            _print(f"  第 {err.row} 行 row {err.row} · 字段 field {err.field} · {err.reason}", sys.stderr)
        return EXIT_BAD_INPUT
    for note in result.notes:
        _print(f"提示 (note)：{note}", sys.stderr)
    verb = "检查通过（试运行 dry run，未写入）" if result.dry_run else "导入完成 (imported)"
    deleted = f" · 删除 deleted {result.deleted}" if args.replace else ""
    _print(f"{verb}：{result.kind} {result.rows} 行 · 新增 created {result.created} · 更新 updated "
           f"{result.updated} · 未变 unchanged {result.unchanged}{deleted}")
    if not result.dry_run and result.changes.entries_upserted:
        _sync_index_quietly(ctx)
    return EXIT_OK


def _sync_index_quietly(ctx: Context) -> None:
    """Bring the search index up to date after a change from the command line."""
    try:
        ctx.engine().close()
    except Exception as exc:  # the database is the source of truth; the app repairs the index at start
        log.warning("index not updated: %s", exc)
        _print(f"提示：搜索索引 (index) 未能更新，将在下次启动时自动修复：{exc}", sys.stderr)


def cmd_export(ctx: Context, args: argparse.Namespace) -> int:
    try:
        n = export_file(ctx.kb, args.kind, Path(args.path), labels=args.labels or "")
    except OSError as exc:
        raise StorageError(f"无法写入导出文件：{os_problem(exc)}") from exc
    _print(f"导出完成 (exported)：{args.kind} {n} 行 → {args.path}")
    return EXIT_OK


CHECK_LABELS = {"expired": "已过期 expired", "expiring": "30 天内到期 expiring",
                "unreviewed": "180 天未审核 not reviewed", "dept_unverified": "承办单位 180 天未核实 unverified"}


def cmd_check(ctx: Context, args: argparse.Namespace) -> int:
    """Entries and departments to look at; an incomplete safety lexicon comes first and fails the command (3)."""
    from kb.sample import check_lexicon

    lexicon = check_lexicon(ctx.kb)
    report = ctx.kb.check()
    code = EXIT_OK if lexicon.ok else EXIT_ENV
    if args.json:
        problems = [{"kind": "lexicon_incomplete", "external_id": "", "title": p, "detail": ""}
                    for p in lexicon.problems()]
        _print(dumps(problems + [asdict(i) for i in report.items]))
        return code
    _print(lexicon.summary())
    for kind, label in CHECK_LABELS.items():
        items = report.of_kind(kind)
        _print(f"{label}：{len(items)}")
        for item in items:
            _print(f"  {item.external_id}  {item.title}  （{item.detail}）")
    if not lexicon.ok:
        _print("请运行 huiyin init 补齐随软件提供的警报词库（中心自加的内容会保留）", sys.stderr)
    return code


def cmd_entry(ctx: Context, args: argparse.Namespace) -> int:
    if args.entry_cmd == "history":
        versions = ctx.kb.entries.history(args.external_id)
        if args.json:
            _print(dumps([asdict(v) for v in versions]))
            return EXIT_OK
        for v in versions:
            _print(f"v{v.revision}  {v.changed_at:%Y-%m-%d %H:%M:%S}  {v.changed_by or '-'}  {v.action}"
                   f"  {v.snapshot.get('status', '')}  {v.snapshot.get('title', '')}"
                   + (f"  ({v.note})" if v.note else ""))
        return EXIT_OK
    view, changes = ctx.kb.entries.rollback(args.external_id, args.version, actor=ctx.actor)
    _print(f"已回滚 (rolled back)：{view.external_id} 现为第 {view.revision} 版，内容同第 {args.version} 版")
    if changes.entries_upserted:
        _sync_index_quietly(ctx)
    return EXIT_OK


def _hit_dict(hit: Any) -> dict[str, Any]:
    return {"id": hit.id, "external_id": hit.external_id, "title": hit.title, "score": round(hit.score, 4),
            "snippet": hit.snippet, "status": hit.status, "category": hit.category}


def _stdin_lines() -> Iterator[str | None]:
    """Lines of stdin as they arrive; None for a line that is not UTF-8."""
    raw = getattr(sys.stdin, "buffer", None)
    if raw is None:  # a text stream without bytes underneath
        yield from sys.stdin
        return
    for line in raw:
        try:
            yield line.decode("utf-8-sig")
        except UnicodeDecodeError:
            yield None


# A --jsonl worker catches up with the changes of every seat before a request, at most this often.
JSONL_SYNC_S = 1.0


def _caught_up(engine: Engine, handle: Callable[[dict[str, Any]], dict[str, Any]]
               ) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """``handle`` after :meth:`Engine.sync` when :data:`JSONL_SYNC_S` passed since the last check (one
    ``max(id)`` query when nothing changed): an entry, alert line, synonym, place... saved on another seat
    shows in the next answer. A failed catch-up is logged and the request answered from what the worker has."""
    import time

    last = time.monotonic()

    def run(req: dict[str, Any]) -> dict[str, Any]:
        nonlocal last
        now = time.monotonic()
        if now - last >= JSONL_SYNC_S:
            last = now
            try:
                engine.sync()
            except Exception:
                log.warning("--jsonl worker could not catch up with the database", exc_info=True)
        return handle(req)

    return run


def _serve_jsonl(handle: Callable[[dict[str, Any]], dict[str, Any]], fields: tuple[str, ...]) -> int:
    """One JSON request per stdin line → one JSON response per stdout line, flushed each time.

    Every field is checked; a bad request gets {"error": …} (with "request_id" only when its own
    line carried a usable "id") and the worker goes on with the next line.
    """
    for line in _stdin_lines():
        if line is not None and not line.strip():
            continue
        rid: str | int | None = None
        try:
            if line is None:
                raise ValidationError("request: 这一行不是 UTF-8 文本")
            try:
                req = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValidationError(f"request: 不是合法的 JSON（第 {exc.colno} 列：{exc.msg}）") from None
            if not isinstance(req, dict):
                raise ValidationError(f"request: 每行应为一个 JSON 对象，例如 {{\"{fields[0]}\": …}}")
            rid = request_id(req)
            unknown = sorted(set(req) - {"id", *fields})
            if unknown:
                raise ValidationError(f"{unknown[0]}: 未知字段（可用字段：id、{'、'.join(fields)}）")
            resp = handle(req)
        except KbError as exc:
            resp = {"error": one_line(str(exc))}
        except Exception as exc:  # a bug must not end the worker: answer, log the trace, go on
            log.exception("--jsonl request failed")
            resp = {"error": f"内部错误 (internal)：{type(exc).__name__}: {one_line(str(exc))}"}
        if rid is not None:
            resp = {"request_id": rid, **resp}
        sys.stdout.write(dumps(resp) + "\n")
        sys.stdout.flush()
    return EXIT_OK


def cmd_search(ctx: Context, args: argparse.Namespace) -> int:
    if not args.jsonl:  # checked before the engine loads
        if not (args.query or "").strip():
            raise ValidationError("query: 请给出搜索词 (QUERY)，或使用 --jsonl")
        if problem := length_problem(args.query, QUERY_MAX_CHARS):
            raise ValidationError(f"query: 搜索词{problem}")
    engine = ctx.engine()
    audience = "editor" if args.all_statuses else "agent"

    def run(q: str, limit: int) -> list[dict[str, Any]]:
        return [_hit_dict(h) for h in engine.search(q, limit=limit, audience=audience)]

    if args.jsonl:
        def handle(req: dict[str, Any]) -> dict[str, Any]:
            q = request_text(req, "q", QUERY_MAX_CHARS)
            return {"q": q, "hits": run(q, request_limit(req, args.limit, SEARCH_LIMIT_MAX))}

        return _serve_jsonl(_caught_up(engine, handle), SEARCH_FIELDS)
    hits = run(args.query, args.limit)
    if args.json:
        _print(dumps({"q": args.query, "hits": hits}))
    elif not hits:
        _print("没有找到相关口径 (no results)")
    else:
        for i, h in enumerate(hits, 1):
            badge = "" if h["status"] == "published" else f" [{h['status']}]"
            _print(f"{i:2}. {h['external_id']}  {h['title']}{badge}  ({h['score']:.2f})")
            _print(f"    {h['snippet']}")
    return EXIT_OK


def cmd_suggest(ctx: Context, args: argparse.Namespace) -> int:
    if not args.jsonl:  # checked before the engine loads
        if not (args.text or "").strip():
            raise ValidationError("text: 请给出诉求内容 (TEXT)，或使用 --jsonl")
        given = suggest_request({"text": args.text, "address": args.address, "phone": args.phone,
                                 "request_type": args.request_type}, args.limit)
    engine = ctx.engine()

    def run(req: dict[str, Any]) -> dict[str, Any]:
        result = engine.suggest(req["text"], address=req["address"], phone=req["phone"],
                                request_type=req["request_type"], limit=req["limit"])
        return {"text": req["text"], **result.to_json()}

    if args.jsonl:
        return _serve_jsonl(_caught_up(engine, lambda req: run(suggest_request(req, args.limit))), SUGGEST_FIELDS)
    out = run(given)
    if args.json:
        _print(dumps(out))
    else:
        _print_suggestion(out)
    return EXIT_OK


def _print_suggestion(out: dict[str, Any]) -> None:
    from kb.phones import phone_lines  # phonenumbers loads only when a suggestion is printed

    for a in out.get("alerts", []):
        action = f"转 {a['transfer_to']}" if a.get("emergency", True) else a["transfer_to"]  # a risk: no transfer
        _print(f"‼ 警报 {a['kind']}：{action} —— 匹配「{a['matched']}」")
        _print(f"   {a['script']}")
    _print("推荐口径 (answers)：" if out.get("answers") else "推荐口径 (answers)：没有找到相关口径")
    for i, h in enumerate(out.get("answers", []), 1):
        _print(f"  {i}. {h['external_id']}  {h['title']}  ({h['score']:.2f})")
    if out.get("departments"):
        _print("建议承办单位 (departments)：")
        for i, d in enumerate(out["departments"], 1):
            phones = " / ".join(number for _, number in phone_lines(d.get("phones", {})))
            _print(f"  {i}. {d['name']}  {phones}  — {'；'.join(d.get('reasons', []))}")
    if out.get("categories"):
        _print("可能的分类 (categories)：" + "，".join(c["name"] for c in out["categories"]))
    if out.get("repeat"):
        _print(f"重复来电 (repeat caller)：近 30 天 {len(out['repeat'])} 次")
    if out.get("due_at"):
        _print(f"办理时限 (due_at)：{out['due_at']}")


def cmd_index(ctx: Context, args: argparse.Namespace) -> int:
    engine = ctx.engine(sync=args.index_cmd != "rebuild")
    if args.index_cmd == "rebuild":
        n = engine.rebuild()
        if not args.json:
            _print(f"索引已重建 (index rebuilt)：{n} 条")
    st = engine.index_status()
    db_revision = ctx.kb.revision()
    info = {"path": str(st.path), "revision": st.revision, "database_revision": db_revision,
            "entries": st.entries, "size_bytes": st.size_bytes, "built_at": st.built_at}
    if getattr(args, "json", False):
        _print(dumps(info))
    else:
        lag = db_revision - st.revision
        _print(f"索引 (index)：{st.path}")
        _print(f"修订号 revision {st.revision}（数据库 database {info['database_revision']}"
               + ("，已同步 up to date）" if lag <= 0 else f"，落后 behind {lag}）"))
        _print(f"条目 entries {st.entries} · 大小 size {st.size_bytes / 1024 / 1024:.1f} MB")
    return EXIT_OK


def _copy_progress() -> Callable[[str, str, int, int], None]:
    """Progress of ``db copy`` on stderr: a line per table at each tenth and at the end."""
    shown: dict[tuple[str, str], int] = {}
    phases = {"copy": "复制 (copy)", "verify": "校验 (verify)"}

    def report(phase: str, table: str, done: int, total: int) -> None:
        last = shown.get((phase, table))
        step = max(1, total // 10)
        if (done == total and last != done) or (last is None and total == 0) or \
                (done < total and done - (last or 0) >= step):
            shown[(phase, table)] = done
            _print(f"{phases.get(phase, phase)} {table}：{done}/{total}", sys.stderr)

    return report


def cmd_db(ctx: Context, args: argparse.Namespace) -> int:
    """``db copy --to URL``: everything into an empty database, verified table by table (kb.dbcopy)."""
    from kb.dbcopy import copy_database

    report = copy_database(ctx.db_url, args.to, progress=_copy_progress())
    if args.json:
        _print(dumps(report.to_json()))
    else:
        _print(f"{'表 table':<22}{'源 source':>12}{'目标 target':>14}  {'SHA-256':<18}结果 result")
        for t in report.tables:
            sha, verdict = ((t.source_sha256[:16], "一致 ok") if t.ok else
                            (f"{t.source_sha256[:7]}≠{t.target_sha256[:7]}", "不一致 MISMATCH"))
            _print(f"{t.table:<22}{t.source_rows:>12}{t.target_rows:>14}  {sha:<18}{verdict}")
    if not report.committed:
        _print(f"环境错误 (environment)：校验不一致 (verification failed)，表 {'、'.join(report.mismatched)}："
               "行数或校验和与源不同；目标数据库未做任何更改", sys.stderr)
        return EXIT_ENV
    if not args.json:
        _print(f"已复制 (copied) {report.rows} 行 rows → {report.target}（{report.seconds:.1f} 秒），逐表校验一致")
        _print("搜索索引 (index) 和工单历史 (history) 不需要复制：每个座席从数据库重建")
        if not args.to.startswith("sqlite"):
            _print("下一步：把各座席 huiyin.ini 的 [database] url 改为目标数据库；原来用自己数据库的座席"
                   "启动时会发现索引来自另一个数据库并自动重建（见 DEPLOY.md“从单机到中心”）")
    return EXIT_OK


def cmd_gui(ctx: Context, args: argparse.Namespace) -> int:
    from desktop.app import run_gui

    return run_gui(ctx.paths, ctx.settings, ctx.db_url, self_test=args.self_test)


# ------------------------------------------------------------------- parsing
# argparse's own messages (Python 3.11–3.13), in Chinese
_USAGE_MESSAGES = [(re.compile(p), t) for p, t in (
    (r"argument (?P<arg>[^:]+): invalid choice: (?P<value>.+?) \(choose from (?P<choices>.+)\)",
     "参数 {arg}：无效的选项 {value}（可选：{choices}）"),
    (r"argument (?P<arg>[^:]+): expected one argument", "参数 {arg} 需要一个值"),
    (r"argument (?P<arg>[^:]+): not allowed with argument (?P<other>.+)", "参数 {arg} 不能与 {other} 同时使用"),
    (r"argument (?P<arg>[^:]+): invalid \S+ value: (?P<value>.+)", "参数 {arg}：无效的值 {value}"),
    (r"argument (?P<arg>[^:]+): (?P<message>.+)", "参数 {arg}：{message}"),
    (r"the following arguments are required: (?P<args>.+)", "缺少参数：{args}"),
    (r"unrecognized arguments: (?P<args>.+)", "无法识别的参数：{args}"),
    (r"ambiguous option: (?P<option>\S+) could match (?P<matches>.+)", "选项 {option} 有歧义，可能是：{matches}"),
    (r"one of the arguments (?P<args>.+) is required", "需要以下参数之一：{args}"),
)]


def usage_message(message: str) -> str:
    for pattern, template in _USAGE_MESSAGES:
        if m := pattern.fullmatch(message):
            return template.format(**m.groupdict())
    return message


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # usage errors: exit 2 with one Chinese line
        _print(f"用法错误 (usage)：{one_line(usage_message(message))}（{self.prog} --help 查看用法）", sys.stderr)
        sys.exit(EXIT_USAGE)


def _arg_basedir(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("数据文件夹不能为空")
    if Path(value).expanduser().exists() and not Path(value).expanduser().is_dir():
        raise argparse.ArgumentTypeError(f"不是文件夹：{value}")
    return value


def _arg_db_url(value: str) -> str:
    if problem := db_url_problem(value):
        raise argparse.ArgumentTypeError(problem)
    return value


def _arg_count(maximum: int) -> Callable[[str], int]:
    """An integer 1…maximum (limits, version numbers)."""
    def count(value: str) -> int:
        try:
            number = int(value.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"应为 1–{maximum} 的整数（现为 “{value[:40]}”）") from None
        if problem := limit_problem(number, maximum):
            raise argparse.ArgumentTypeError(problem)
        return number

    return count


def _check_input_file(value: str) -> str:
    """A file to read: it exists, is a file, is not empty and can be opened (else bad input, exit 1)."""
    path = Path(value)
    if not value.strip():
        raise ValidationError("请给出文件路径")
    if path.is_dir():
        raise ValidationError(f"这是一个文件夹，不是文件：{value}")
    if not path.exists():
        raise ValidationError(f"文件不存在：{value}")
    try:
        with path.open("rb") as fh:
            if not fh.read(1):
                raise ValidationError(f"文件是空的：{value}")
    except OSError as exc:
        raise ValidationError(f"无法读取文件：{os_problem(exc)}") from None
    return value


def _check_output_file(value: str) -> str:
    """A file to write: a supported type, in a folder that exists and is writable (none is created)."""
    path = Path(value)
    if not value.strip():
        raise ValidationError("请给出文件路径")
    if path.is_dir():
        raise ValidationError(f"这是一个文件夹，请给出文件名：{value}")
    try:
        detect_format(path)
    except ValidationError as exc:
        raise ValidationError(str(exc).removeprefix("format: ")) from None
    folder = path.parent
    if not folder.is_dir():
        raise ValidationError(f"文件夹不存在：{folder}（不会自动创建，请先创建或检查路径）")
    if not os.access(folder, os.W_OK):
        raise ValidationError(f"没有权限写入文件夹：{folder}")
    return value


def _check_combinations(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """What argparse cannot say by itself."""
    if getattr(args, "jsonl", False) and (getattr(args, "query", None) is not None
                                           or getattr(args, "text", None) is not None):
        parser.error("--jsonl 从标准输入逐行读取请求，不能同时在命令行给出搜索词或诉求内容")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="huiyin", description="回音 Huiyin — 12345 热线知识库与话术助手")
    p.add_argument("--version", action="version", version=f"huiyin {__version__}")
    p.add_argument("--basedir", type=_arg_basedir,
                   help="数据目录 (database, index, logs, settings)；默认系统用户数据目录或 $HUIYIN_HOME")
    p.add_argument("--db", type=_arg_db_url, help="数据库地址 SQLAlchemy URL，例如 postgresql+psycopg://user@host/huiyin")
    p.add_argument("--self-test", action="store_true", help="自检：建库、建索引、搜索、推荐、警报、打开主窗口后退出")
    p.add_argument("-v", "--verbose", action="store_true", help="显示调试日志")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    s = sub.add_parser("init", help="初始化数据库并载入示例知识库")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--empty", action="store_true", help="只建空库，不载入示例")
    g.add_argument("--force-sample", action="store_true", help="已有数据时也载入（按 external_id 更新）")
    s.set_defaults(func=cmd_init)

    s = sub.add_parser("import", help="导入 JSONL/JSON/CSV/XLSX 文件（整文件要么全部成功，要么不做更改）")
    s.add_argument("path")
    s.add_argument("--kind", choices=sorted(KIND_FIELDS), help="数据类型；默认按表头猜测")
    s.add_argument("--dry-run", action="store_true", help="只检查，不写入")
    s.add_argument("--replace", action="store_true",
                   help="整表替换（仅 places 地名库）：删除文件中没有的行；不加时只新增和更新，从不删除")
    s.add_argument("--sheet", help="Excel 文件要读取的工作表名称；默认第一个工作表")
    s.set_defaults(func=cmd_import)

    s = sub.add_parser("export", help="导出为 JSONL/JSON/CSV/XLSX（按文件后缀）")
    s.add_argument("--kind", choices=sorted(KIND_FIELDS), required=True)
    s.add_argument("path", help="输出文件；所在文件夹须已存在")
    s.add_argument("--labels", choices=LABELS,
                   help="zh：枚举字段（诉求类型、状态、层级…）写中文标签，XLSX 表头也用中文；默认写代码。导入两种都认")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("check", help="检查过期、30 天内到期、180 天未审核的条目和未核实的承办单位")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_check)

    s = sub.add_parser("search", help="搜索知识条目")
    s.add_argument("query", nargs="?")
    s.add_argument("--limit", type=_arg_count(SEARCH_LIMIT_MAX), default=10, help=f"1–{SEARCH_LIMIT_MAX}，默认 10")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true")
    g.add_argument("--jsonl", action="store_true", help='每行一个请求 {"q": …, "limit": 10}')
    s.add_argument("--all-statuses", action="store_true", help="编辑视角：包括草稿、待审、过期条目")
    s.set_defaults(func=cmd_search)

    s = sub.add_parser("suggest", help="根据诉求内容推荐口径、承办单位、分类、警报")
    s.add_argument("text", nargs="?")
    s.add_argument("--address", default="")
    s.add_argument("--phone", default="")
    s.add_argument("--request-type", default="", choices=REQUEST_TYPES, help="诉求类型：" + "/".join(REQUEST_TYPES))
    s.add_argument("--limit", type=_arg_count(SUGGEST_LIMIT_MAX), default=5, help=f"1–{SUGGEST_LIMIT_MAX}，默认 5")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true")
    g.add_argument("--jsonl", action="store_true", help='每行一个请求 {"text": …, "address": …, "phone": …}')
    s.set_defaults(func=cmd_suggest)

    s = sub.add_parser("index", help="搜索索引：rebuild 重建 / status 状态")
    s.add_argument("index_cmd", choices=["rebuild", "status"])
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_index)

    s = sub.add_parser("entry", help="条目维护：history 历史 / rollback 回滚")
    esub = s.add_subparsers(dest="entry_cmd", required=True, parser_class=_Parser)
    h = esub.add_parser("history")
    h.add_argument("external_id")
    h.add_argument("--json", action="store_true")
    r = esub.add_parser("rollback")
    r.add_argument("external_id")
    r.add_argument("version", type=_arg_count(2**31 - 1))
    s.set_defaults(func=cmd_entry)

    s = sub.add_parser("db", help="数据库维护：copy 整库复制到另一个空数据库（单机 → 中心）")
    dsub = s.add_subparsers(dest="db_cmd", required=True, parser_class=_Parser)
    c = dsub.add_parser("copy", help="把当前数据库的全部表（含工单和历史）复制到空的目标数据库，逐表校验行数和校验和")
    c.add_argument("--to", required=True, type=_arg_db_url, metavar="URL",
                   help="目标数据库，例如 postgresql+psycopg://user@host/huiyin 或 sqlite:///备份.sqlite3；须为空库")
    c.add_argument("--json", action="store_true", help="在标准输出只打印 JSON 摘要（进度仍在标准错误）")
    s.set_defaults(func=cmd_db)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_combinations(parser, args)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    ctx: Context | None = None
    try:
        gui = args.command is None or args.self_test
        if gui and not args.self_test:
            from desktop.app import missing_display

            if problem := missing_display():  # before Qt aborts the process
                _print(problem, sys.stderr)
                return EXIT_ENV
        if args.command == "import":
            _check_input_file(args.path)
        elif args.command == "export":
            _check_output_file(args.path)
        ctx = Context(args)
        if not gui:  # the GUI reports a bad database in its own dialog
            if problem := db_url_problem(ctx.db_url):  # also from HUIYIN_DB_URL or huiyin.ini
                raise ValidationError(f"database_url: {problem}")
            if args.command != "init":
                ctx.require_initialised()  # the GUI's first start and init create the knowledge base
        ctx.ensure_folders()
        if gui:
            return cmd_gui(ctx, args)
        return int(args.func(ctx, args))
    except ImportRejected as exc:
        _print(str(exc), sys.stderr)
        for err in exc.errors:
            _print(f"  {err}", sys.stderr)
        return EXIT_BAD_INPUT
    except (ValidationError, NotFound) as exc:
        _print(f"错误 (bad input)：{one_line(str(exc))}", sys.stderr)
        return EXIT_BAD_INPUT
    except StorageError as exc:
        _print(f"环境错误 (environment)：{one_line(str(exc))}", sys.stderr)
        return EXIT_ENV
    except KbError as exc:
        _print(f"错误：{one_line(str(exc))}", sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:  # a file or folder that failed after the checks (disk full, removed meanwhile)
        _print(f"环境错误 (environment)：{os_problem(exc)}", sys.stderr)
        return EXIT_ENV
    except KeyboardInterrupt:
        return 130
    finally:
        if ctx is not None:
            ctx.close()


if __name__ == "__main__":
    sys.exit(main())
