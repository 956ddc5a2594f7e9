"""The ``huiyin`` command line. Qt is imported only when the GUI starts.

Exit codes: 0 ok · 1 bad input (invalid file, unknown id, rejected import) ·
2 usage error · 3 environment (database or index unavailable).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from kb import __version__
from kb import settings as settings_mod
from kb.errors import ImportRejected, KbError, NotFound, StorageError, ValidationError
from kb.exchange import KIND_FIELDS, export_file, import_file
from kb.paths import AppPaths
from kb.service import KnowledgeBase

if TYPE_CHECKING:  # imported when a command needs an engine
    from concurrent.futures import ThreadPoolExecutor

    from indexer.engine import Engine

EXIT_OK, EXIT_BAD_INPUT, EXIT_USAGE, EXIT_ENV = 0, 1, 2, 3
log = logging.getLogger("huiyin.cli")


class Context:
    """What every command needs: folders, settings, the database URL."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.paths = AppPaths.resolve(args.basedir).ensure()
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
        result = import_file(ctx.kb, path, kind=args.kind, user=ctx.settings.user_name, dry_run=args.dry_run,
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
    n = export_file(ctx.kb, args.kind, Path(args.path))
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
        versions = ctx.kb.entry_history(args.external_id)
        if args.json:
            _print(dumps([asdict(v) for v in versions]))
            return EXIT_OK
        for v in versions:
            _print(f"v{v.revision}  {v.changed_at:%Y-%m-%d %H:%M:%S}  {v.changed_by or '-'}  {v.action}"
                   f"  {v.snapshot.get('status', '')}  {v.snapshot.get('title', '')}"
                   + (f"  ({v.note})" if v.note else ""))
        return EXIT_OK
    view, changes = ctx.kb.rollback_entry(args.external_id, args.version, user=ctx.settings.user_name)
    _print(f"已回滚 (rolled back)：{view.external_id} 现为第 {view.revision} 版，内容同第 {args.version} 版")
    if changes.entries_upserted:
        _sync_index_quietly(ctx)
    return EXIT_OK


def _hit_dict(hit: Any) -> dict[str, Any]:
    return {"id": hit.id, "external_id": hit.external_id, "title": hit.title, "score": round(hit.score, 4),
            "snippet": hit.snippet, "status": hit.status, "category": hit.category}


def _serve_jsonl(handle: Callable[[dict[str, Any]], dict[str, Any]]) -> int:
    """One JSON request per stdin line → one JSON response per stdout line, flushed each time."""
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            if not isinstance(req, dict):
                raise ValidationError("request: 每行应为一个 JSON 对象")
            resp = handle(req)
        except json.JSONDecodeError as exc:
            resp = {"error": f"不是合法的 JSON：{exc.msg}"}
        except KbError as exc:
            resp = {"error": str(exc)}
        if isinstance(req, dict) and "id" in req and "request_id" not in resp:
            resp = {"request_id": req["id"], **resp}
        sys.stdout.write(dumps(resp) + "\n")
        sys.stdout.flush()
    return EXIT_OK


def cmd_search(ctx: Context, args: argparse.Namespace) -> int:
    engine = ctx.engine()
    audience = "editor" if args.all_statuses else "agent"

    def run(q: str, limit: int) -> list[dict[str, Any]]:
        return [_hit_dict(h) for h in engine.search(q, limit=limit, audience=audience)]

    if args.jsonl:
        def handle(req: dict[str, Any]) -> dict[str, Any]:
            q = str(req.get("q") or "")
            return {"q": q, "hits": run(q, int(req.get("limit") or args.limit))}

        return _serve_jsonl(handle)
    if not args.query:
        raise ValidationError("query: 请给出搜索词 (QUERY)，或使用 --jsonl")
    hits = run(args.query, args.limit)
    if args.json:
        _print(dumps({"q": args.query, "hits": hits}))
    elif not hits:
        _print("没有找到结果 (no results)")
    else:
        for i, h in enumerate(hits, 1):
            badge = "" if h["status"] == "published" else f" [{h['status']}]"
            _print(f"{i:2}. {h['external_id']}  {h['title']}{badge}  ({h['score']:.2f})")
            _print(f"    {h['snippet']}")
    return EXIT_OK


def cmd_suggest(ctx: Context, args: argparse.Namespace) -> int:
    engine = ctx.engine()

    def run(req: dict[str, Any]) -> dict[str, Any]:
        text = str(req.get("text") or "")
        result = engine.suggest(text, address=str(req.get("address") or ""), phone=str(req.get("phone") or ""),
                                request_type=str(req.get("request_type") or ""),
                                limit=int(req.get("limit") or 5))
        return {"text": text, **result.to_json()}

    if args.jsonl:
        return _serve_jsonl(run)
    if not args.text:
        raise ValidationError("text: 请给出诉求内容 (TEXT)，或使用 --jsonl")
    out = run({"text": args.text, "address": args.address, "phone": args.phone, "limit": args.limit,
               "request_type": args.request_type})
    if args.json:
        _print(dumps(out))
    else:
        _print_suggestion(out)
    return EXIT_OK


def _print_suggestion(out: dict[str, Any]) -> None:
    for a in out.get("alerts", []):
        _print(f"‼ 警报 {a['kind']}：转 {a['transfer_to']} —— 匹配「{a['matched']}」")
        _print(f"   {a['script']}")
    _print("推荐口径 (answers)：" if out.get("answers") else "推荐口径 (answers)：无")
    for i, h in enumerate(out.get("answers", []), 1):
        _print(f"  {i}. {h['external_id']}  {h['title']}  ({h['score']:.2f})")
    if out.get("departments"):
        _print("建议承办单位 (departments)：")
        for i, d in enumerate(out["departments"], 1):
            phones = " / ".join(d.get("phones", {}).values())
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


def cmd_gui(ctx: Context, args: argparse.Namespace) -> int:
    from desktop.app import run_gui

    return run_gui(ctx.paths, ctx.settings, ctx.db_url, self_test=args.self_test)


# ------------------------------------------------------------------- parsing
class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # usage errors exit 2 with a Chinese hint
        self.print_usage(sys.stderr)
        _print(f"用法错误 (usage)：{message}", sys.stderr)
        sys.exit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="huiyin", description="回音 Huiyin — 12345 热线知识库与话术助手")
    p.add_argument("--version", action="version", version=f"huiyin {__version__}")
    p.add_argument("--basedir", help="数据目录 (database, index, logs, settings)；默认系统用户数据目录或 $HUIYIN_HOME")
    p.add_argument("--db", help="数据库地址 SQLAlchemy URL，例如 postgresql+psycopg://user@host/huiyin")
    p.add_argument("--self-test", action="store_true", help="自检：建库、建索引、搜索、推荐、警报、打开主窗口后退出")
    p.add_argument("-v", "--verbose", action="store_true", help="显示调试日志")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    s = sub.add_parser("init", help="初始化数据库并载入示例知识库")
    s.add_argument("--empty", action="store_true", help="只建空库，不载入示例")
    s.add_argument("--force-sample", action="store_true", help="已有数据时也载入（按 external_id 更新）")
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
    s.add_argument("path")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("check", help="检查过期、30 天内到期、180 天未审核的条目和未核实的承办单位")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_check)

    s = sub.add_parser("search", help="搜索知识条目")
    s.add_argument("query", nargs="?")
    s.add_argument("--limit", type=int, default=10)
    s.add_argument("--json", action="store_true")
    s.add_argument("--jsonl", action="store_true", help='每行一个请求 {"q": …, "limit": 10}')
    s.add_argument("--all-statuses", action="store_true", help="编辑视角：包括草稿、待审、过期条目")
    s.set_defaults(func=cmd_search)

    s = sub.add_parser("suggest", help="根据诉求内容推荐口径、承办单位、分类、警报")
    s.add_argument("text", nargs="?")
    s.add_argument("--address", default="")
    s.add_argument("--phone", default="")
    s.add_argument("--request-type", default="", help="consult/help/complaint/report/suggestion/praise")
    s.add_argument("--limit", type=int, default=5)
    s.add_argument("--json", action="store_true")
    s.add_argument("--jsonl", action="store_true", help='每行一个请求 {"text": …, "address": …, "phone": …}')
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
    r.add_argument("version", type=int)
    s.set_defaults(func=cmd_entry)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    ctx: Context | None = None
    try:
        ctx = Context(args)
        if args.command is None or args.self_test:
            return cmd_gui(ctx, args)
        return int(args.func(ctx, args))
    except ImportRejected as exc:
        _print(str(exc), sys.stderr)
        for err in exc.errors:
            _print(f"  {err}", sys.stderr)
        return EXIT_BAD_INPUT
    except (ValidationError, NotFound) as exc:
        _print(f"错误 (bad input)：{exc}", sys.stderr)
        return EXIT_BAD_INPUT
    except StorageError as exc:
        _print(f"环境错误 (environment)：{exc}", sys.stderr)
        return EXIT_ENV
    except KbError as exc:
        _print(f"错误：{exc}", sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    finally:
        if ctx is not None:
            ctx.close()


if __name__ == "__main__":
    sys.exit(main())
