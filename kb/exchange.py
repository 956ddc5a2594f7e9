"""Import of entries, departments, work orders, scripts, rules, bulletins and places; their fields.

The rows come from :mod:`kb.tables` (file formats, headers); :mod:`kb.export` writes the same fields.
A file imports whole or not at all: every row is applied inside one transaction, every bad row is
collected with its row number, field and reason (all of a row's problems, not only the first), and
any error rolls the whole file back. An enumerated field (a request type, a status, a level…) takes
its code or its Chinese label (``complaint`` or ``投诉``, see :mod:`kb.vocab`). An import adds and
updates, it never deletes: the rows of a list-like kind (places) that the file does not mention are
deleted only when a replace is asked for. An unchanged row writes nothing and is counted as
unchanged. One import runs at a time (a second one waits for the first, then finds its rows).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from kb import limits, vocab
from kb import models as m
from kb.actor import Actor
from kb.convert import parse_bool, parse_date, parse_datetime, parse_int, split_list
from kb.dto import Changes, EntryDraft, WorkOrderDraft
from kb.errors import ImportRejected, RowError, StorageError, ValidationError
from kb.permissions import require
from kb.service import KnowledgeBase
from kb.services.directory import upsert_bulletin, upsert_department, upsert_rule, upsert_script
from kb.services.entries import Deferred, finish_entries, upsert_entry, validate_entry_draft
from kb.services.lexicons import apply_places
from kb.services.store import UnitOfWork
from kb.services.work_orders import upsert_work_order, validate_work_order
from kb.tables import HEADER_ALIASES, Rows, read_table

ENTRY_FIELDS = ("external_id", "title", "answer", "aliases", "keywords", "category", "department",
                "basis", "valid_from", "valid_to", "status")
DEPARTMENT_FIELDS = ("external_id", "name", "short_name", "level", "district", "parent", "duties", "phone",
                     "duty_phone", "transfer_phone", "address", "hours", "last_verified", "active")
WORKORDER_FIELDS = ("id", "external_id", "received_at", "phone", "caller_name", "text", "address", "district",
                    "street", "request_type", "urgency", "category", "department", "handling", "entry",
                    "due_at", "status", "returned", "seat")
SCRIPT_FIELDS = ("external_id", "kind", "title", "body")
RULE_FIELDS = ("external_id", "department", "category", "keywords", "district", "priority", "note", "active")
BULLETIN_FIELDS = ("external_id", "title", "body", "starts_at", "ends_at", "pinned")
PLACE_FIELDS = ("district", "street", "aliases")

KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "entries": ENTRY_FIELDS,
    "departments": DEPARTMENT_FIELDS,
    "workorders": WORKORDER_FIELDS,
    "scripts": SCRIPT_FIELDS,
    "rules": RULE_FIELDS,
    "bulletins": BULLETIN_FIELDS,
    "places": PLACE_FIELDS,
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "entries": ("title", "answer"),
    "departments": ("name",),
    "workorders": ("text",),
    "scripts": ("kind", "title", "body"),
    "rules": ("department",),
    "bulletins": ("title",),
    "places": ("district",),
}
# Kinds whose import can replace the whole list (``replace=True``): rows the file does not name are deleted.
REPLACEABLE = ("places",)
KIND_MODELS: dict[str, type[m.Base]] = {
    "entries": m.Entry, "departments": m.Department, "workorders": m.WorkOrder, "scripts": m.Script,
    "rules": m.RoutingRule, "bulletins": m.Bulletin, "places": m.Place,
}
# Enumerated fields by kind: an import reads a code or a label, an export with labels writes the label.
CODED_FIELDS: dict[str, dict[str, vocab.Codes]] = {
    "entries": {"status": vocab.ENTRY_STATUSES},
    "departments": {"level": vocab.DEPARTMENT_LEVELS},
    "workorders": {"request_type": vocab.REQUEST_TYPES, "urgency": vocab.URGENCIES, "handling": vocab.HANDLINGS,
                   "status": vocab.WORKORDER_STATUSES},
    "scripts": {"kind": vocab.SCRIPT_KINDS},
}
# pg_advisory_xact_lock key held by every import: "import" in ASCII.
IMPORT_LOCK_KEY = 0x696D706F7274
# How long an import waits for another one to finish (below PostgreSQL's statement timeout).
IMPORT_LOCK_WAIT_S = 15.0


def _bool_field(value: object, name: str) -> object:
    return parse_bool(value, name, default=False)


# Field → parser (raises ValidationError) checked on every row, so a row lists all its problems.
FIELD_PARSERS: dict[str, Callable[[object, str], object]] = {
    **dict.fromkeys(("valid_from", "valid_to", "last_verified"), parse_date),
    **dict.fromkeys(("received_at", "due_at", "starts_at", "ends_at"), parse_datetime),
    **dict.fromkeys(("active", "pinned", "returned"), _bool_field),
    "priority": parse_int,
}
# Fields whose length the service checks after changing them (a phone number is normalised first).
LENGTH_CHECKED_LATER = {("workorders", "phone")}
# Kinds whose rows name a department that must exist already (departments name their parent in the file).
DEPARTMENT_REFERENCES = ("entries", "rules", "workorders")


@dataclass
class ImportResult:
    kind: str
    rows: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    dry_run: bool = False
    changes: Changes = field(default_factory=Changes)
    notes: list[str] = field(default_factory=list)  # what the user should know: encoding, sheet, ignored columns


# ------------------------------------------------------------------- importing
def _text(rec: Mapping[str, Any], key: str) -> str:
    value = rec.get(key)
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():  # Excel turns codes into floats
        value = int(value)
    return str(value).strip()


def entry_draft(rec: Mapping[str, Any]) -> EntryDraft:
    return EntryDraft(
        external_id=_text(rec, "external_id"),
        title=_text(rec, "title"),
        answer=_text(rec, "answer"),
        aliases=split_list(rec.get("aliases")),
        keywords=split_list(rec.get("keywords")),
        category=_text(rec, "category"),
        department=_text(rec, "department"),
        basis=_text(rec, "basis"),
        valid_from=parse_date(rec.get("valid_from"), "valid_from"),
        valid_to=parse_date(rec.get("valid_to"), "valid_to"),
        status=_text(rec, "status") or "published",  # an imported entry is for the agents unless it says
    )


def work_order_draft(rec: Mapping[str, Any]) -> WorkOrderDraft:
    ext = _text(rec, "external_id")
    wid = _text(rec, "id") or (str(uuid.uuid5(uuid.NAMESPACE_URL, "huiyin:wo:" + ext)) if ext
                               else str(uuid.uuid4()))
    received = parse_datetime(rec.get("received_at"), "received_at")
    if received is None:
        raise ValidationError("received_at: 受理时间不能为空")
    return WorkOrderDraft(
        id=wid,
        external_id=ext,
        received_at=received,
        text=_text(rec, "text"),
        phone=_text(rec, "phone"),
        caller_name=_text(rec, "caller_name"),
        address=_text(rec, "address"),
        district=_text(rec, "district"),
        street=_text(rec, "street"),
        request_type=_text(rec, "request_type") or vocab.REQUEST_TYPES.default,
        urgency=_text(rec, "urgency") or vocab.URGENCIES.default,
        category=_text(rec, "category"),
        department=_text(rec, "department"),
        handling=_text(rec, "handling") or ("dispatched" if _text(rec, "department") else "answered"),
        entry=_text(rec, "entry"),
        due_at=parse_datetime(rec.get("due_at"), "due_at"),
        status=_text(rec, "status"),
        returned=parse_bool(rec.get("returned"), "returned", default=False),
        seat=_text(rec, "seat"),
    )


class _Importer:
    """Applies the rows of one kind inside one unit of work, collecting row errors."""

    def __init__(self, uow: UnitOfWork, kind: str, actor: Actor, *, replace: bool = False) -> None:
        self.uow, self.s, self.kind, self.actor, self.replace = uow, uow.s, kind, actor, replace
        self.caches = uow  # its lookups (departments, categories) serve every row
        self.result = ImportResult(kind=kind, rows=0)
        self.upserted: set[int] = set()
        self.missing_departments: dict[str, list[int]] = {}  # reference → rows naming it
        self.code_errors: dict[int, list[RowError]] = {}  # row → its enumerated fields that are neither code nor label

    def codes(self, rows: Rows) -> Rows:
        """The rows with the code of every enumerated field that holds a code or a label (投诉 → complaint).

        A value that is neither stays as it is and is reported by :meth:`precheck`.
        """
        coded = CODED_FIELDS.get(self.kind, {})
        out: Rows = []
        for n, rec in rows:
            rec = dict(rec)
            for name, codes in coded.items():
                if not _text(rec, name):
                    continue  # empty: the default applies
                try:
                    rec[name] = codes.parse(rec[name], name)
                except ValidationError as exc:
                    self.code_errors.setdefault(n, []).append(RowError(n, name, exc.reason))
            out.append((n, rec))
        return out

    def count(self, created: bool, changed: bool) -> None:
        if created:
            self.result.created += 1
        elif changed:
            self.result.updated += 1
        else:
            self.result.unchanged += 1

    def precheck(self, n: int, rec: dict[str, Any], errors: list[RowError]) -> bool:
        """Check every field of a row on its own; False (problems added to ``errors``) when it cannot be saved.

        The service stops at a row's first problem; this finds the others: values that do not parse,
        values too long for their column, a department that does not exist.
        """
        found: list[RowError] = list(self.code_errors.get(n, ()))
        for key, parse in FIELD_PARSERS.items():
            if key in rec and key in KIND_FIELDS[self.kind]:
                try:
                    parse(rec[key], key)
                except ValidationError as exc:
                    found.append(RowError(n, exc.field or key, exc.reason))
        sized = {k: v.strip() for k, v in rec.items()
                 if isinstance(v, str) and k in KIND_FIELDS[self.kind] and (self.kind, k) not in LENGTH_CHECKED_LATER}
        found.extend(RowError(n, key, reason) for key, reason in limits.problems(KIND_MODELS[self.kind], sized))
        missing = False
        if self.kind in DEPARTMENT_REFERENCES:
            ref = _text(rec, "department")
            if ref and ref not in self.caches.departments:
                self.missing_departments.setdefault(ref, []).append(n)
                missing = True
        empty = {f for f in REQUIRED[self.kind] if not _text(rec, f)}  # reported by _check_required
        if found or missing or empty:
            bad = {e.field for e in found} | empty | ({"department"} if missing else set())
            found.extend(self.draft_problems(n, rec, bad))
            errors.extend(found)
            return False
        return True

    def draft_problems(self, n: int, rec: dict[str, Any], bad: set[str]) -> list[RowError]:
        """The service's own check of a row already known to be bad, on its other fields.

        The fields already reported are left out, or stood in for where the check needs a value.
        """
        clean: dict[str, Any] = {k: v for k, v in rec.items() if k not in bad}
        clean.update(dict.fromkeys(set(REQUIRED[self.kind]) & bad, "-"))
        if "received_at" in bad:
            clean["received_at"] = datetime(2000, 1, 1)
        try:
            if self.kind == "entries":
                validate_entry_draft(entry_draft(clean))
            elif self.kind == "workorders":
                validate_work_order(work_order_draft(clean))
        except ValidationError as exc:
            return [RowError(n, exc.field or "-", exc.reason)]
        return []

    def entries(self, rows: Rows, errors: list[RowError]) -> None:
        for start in range(0, len(rows), 1000):
            chunk = rows[start: start + 1000]
            exts = [_text(r, "external_id") for _, r in chunk if _text(r, "external_id")]
            # Locked (PostgreSQL): an editor's save in flight is waited for, then built upon.
            existing = {e.external_id: e for e in self.s.scalars(
                select(m.Entry).where(m.Entry.external_id.in_(exts)).with_for_update(of=m.Entry))} if exts else {}
            saved: Deferred = []
            for n, rec in chunk:
                if not self.precheck(n, rec, errors):
                    continue
                try:
                    draft = entry_draft(rec)
                    row = existing.get(draft.external_id)
                    _, changed = upsert_entry(self.uow, draft, actor=self.actor, entry=row, action="import",
                                              defer=saved)
                    self.count(row is None, changed)
                except ValidationError as exc:
                    errors.append(RowError(n, exc.field or "-", exc.reason))
            if errors:  # the file is rejected anyway: skip the bookkeeping, keep collecting row errors
                continue
            finish_entries(self.uow, saved, actor=self.actor)
            self.upserted.update(e.id for e, _, _ in saved)

    def departments(self, rows: Rows, errors: list[RowError]) -> None:
        # Parents may come later in the file: retry deferred rows until no progress.
        pending: Rows = []
        in_file = {_text(r, "external_id") or _text(r, "name") for _, r in rows}
        for n, rec in rows:
            if self.precheck(n, rec, errors):
                pending.append((n, rec))
            elif (parent := _text(rec, "parent")) and parent not in self.caches.departments and parent not in in_file:
                errors.append(RowError(n, "parent", f"上级单位不存在：{parent}"))  # a bad row's other problem
        while pending:
            deferred: Rows = []
            last_errors: list[RowError] = []
            for n, rec in pending:
                parent = _text(rec, "parent")
                if parent and parent not in self.caches.departments:
                    deferred.append((n, rec))
                    last_errors.append(RowError(n, "parent", f"上级单位不存在：{parent}"))
                    continue
                try:
                    known = (_text(rec, "external_id") or _text(rec, "name")) in self.caches.departments
                    _, changed = upsert_department(self.uow, rec, actor=self.actor)
                    self.count(not known, changed)
                except ValidationError as exc:
                    errors.append(RowError(n, exc.field or "-", exc.reason))
            if len(deferred) == len(pending):
                errors.extend(last_errors)
                return
            pending = deferred

    def generic(self, rows: Rows, errors: list[RowError], model: type[Any],
                key: Callable[[dict[str, Any]], str], apply: Callable[[dict[str, Any]], bool]) -> None:
        """Rows of a kind without versions; ``key`` gives the identity looked up before ``apply``."""
        for n, rec in rows:
            if not self.precheck(n, rec, errors):
                continue
            try:
                ident = key(rec)
                column = model.id if model is m.WorkOrder else model.external_id
                existed = bool(ident) and self.s.scalar(select(column).where(column == ident)) is not None
                self.count(not existed, apply(rec))
            except ValidationError as exc:
                errors.append(RowError(n, exc.field or "-", exc.reason))

    def places(self, rows: Rows, errors: list[RowError]) -> None:
        from kb.place import Gazetteer

        good = [(n, rec) for n, rec in rows if self.precheck(n, rec, errors)]
        try:
            records = Gazetteer([r for _, r in good]).records()  # validates every record, with record numbers
        except ImportRejected as exc:  # renumber to file rows
            errors.extend(RowError(good[e.row - 1][0], e.field, e.reason) for e in exc.errors)
            return
        if errors:
            return
        counts = apply_places(self.uow, records, actor=self.actor, replace=self.replace)
        self.result.created, self.result.updated = counts.created, counts.updated
        self.result.unchanged, self.result.deleted = counts.unchanged, counts.deleted

    def run(self, rows: Rows) -> list[RowError]:
        errors = _check_required(self.kind, rows)
        self.result.rows = len(rows)
        rows = self.codes(rows)
        if self.kind == "entries":
            self.entries(rows, errors)
        elif self.kind == "departments":
            self.departments(rows, errors)
        elif self.kind == "places":
            self.places(rows, errors)
        elif self.kind == "workorders":
            def save_work_order(r: dict[str, Any]) -> bool:
                return upsert_work_order(self.uow, work_order_draft(r), actor=self.actor)[1]

            self.generic(rows, errors, m.WorkOrder, lambda r: work_order_draft(r).id, save_work_order)
        elif self.kind == "scripts":
            self.generic(rows, errors, m.Script, lambda r: _text(r, "external_id"),
                         lambda r: upsert_script(self.uow, r, actor=self.actor)[1])
        elif self.kind == "rules":
            self.generic(rows, errors, m.RoutingRule, lambda r: _text(r, "external_id"),
                         lambda r: upsert_rule(self.uow, r, actor=self.actor)[1])
        elif self.kind == "bulletins":
            self.generic(rows, errors, m.Bulletin, lambda r: _text(r, "external_id"),
                         lambda r: upsert_bulletin(self.uow, r)[1])
        else:
            raise ValidationError(f"kind: 未知的导入类型：{self.kind}")
        errors.extend(self.department_errors())
        first: dict[tuple[int, str], RowError] = {}
        for e in errors:  # one message per row and field (a required field also fails validation)
            first.setdefault((e.row, e.field), e)
        return sorted(first.values(), key=lambda e: (e.row, e.field))

    def department_errors(self) -> list[RowError]:
        """Unknown departments, one line each (not one per row); one hint when none are imported yet."""
        if not self.missing_departments:
            return []
        if not self.caches.departments:
            rows = sorted(n for ns in self.missing_departments.values() for n in ns)
            return [RowError(rows[0], "department",
                             f"知识库中还没有承办单位，{len(rows)} 行填写的承办单位都找不到：请先导入承办单位"
                             "（huiyin import 承办单位文件 --kind departments，或在导入向导中选「承办单位」），"
                             "再导入本文件")]
        out = []
        for ref, rows in self.missing_departments.items():
            where = ""
            if len(rows) > 1:
                shown = "、".join(str(n) for n in rows[:8]) + ("…" if len(rows) > 8 else "")
                where = f"（共 {len(rows)} 行：第 {shown} 行）"
            out.append(RowError(rows[0], "department", f"承办单位不存在：{ref}{where}"))
        return out


def _check_required(kind: str, rows: Rows) -> list[RowError]:
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for n, rec in rows:
        for f in REQUIRED[kind]:
            if not _text(rec, f):
                errors.append(RowError(n, f, "必填字段为空"))
        ext = _text(rec, "external_id")
        if ext:
            if ext in seen:
                errors.append(RowError(n, "external_id", f"与第 {seen[ext]} 行重复：{ext}"))
            else:
                seen[ext] = n
    return errors


def _columns(rows: Rows) -> list[str]:
    """The field names of the rows (a CSV/XLSX header; every key found in JSON), in file order."""
    return list(dict.fromkeys(k for _, r in rows for k in r))


def _with_headers(fields: Iterable[str]) -> str:
    """Field names with the Chinese headers that stand for them: ``note（备注）``."""
    def named(f: str) -> str:
        chinese = [h for h, v in HEADER_ALIASES.items() if v == f]
        return f + (f"（{'/'.join(chinese)}）" if chinese else "")

    return "、".join(named(f) for f in fields)


def _field_list(kind: str) -> str:
    return _with_headers(KIND_FIELDS[kind])


def _check_columns(kind: str, rows: Rows) -> list[str]:
    """Notes on the columns; ValidationError when none is known or a required one is missing."""
    columns = _columns(rows)
    known = [c for c in columns if c in KIND_FIELDS[kind]]
    if not known:
        raise ValidationError(
            f"header: 表头没有可识别的字段（{'、'.join(columns[:12]) or '空'}）。{kind} 的字段：{_field_list(kind)}")
    missing = [f for f in REQUIRED[kind] if f not in columns]
    if missing:
        raise ValidationError(f"header: 缺少必填列 {'、'.join(missing)}（文件中的列：{'、'.join(columns[:12])}）。"
                              f"{kind} 的字段：{_field_list(kind)}")
    unknown = [c for c in columns if c not in KIND_FIELDS[kind]]
    return [f"忽略了无法识别的列：{_with_headers(unknown)}"] if unknown else []


def guess_kind(rows: Rows) -> str:
    """Guess the kind from the header: the kind whose fields the rows cover best."""
    keys = set(_columns(rows[:50]))
    best = max(KIND_FIELDS, key=lambda k: (len(keys & set(REQUIRED[k])) == len(REQUIRED[k]),
                                           len(keys & set(KIND_FIELDS[k]))))
    if not keys & set(KIND_FIELDS[best]):
        raise ValidationError(f"header: 表头没有可识别的字段（{'、'.join(sorted(keys)[:12]) or '空'}），"
                              "无法判断数据类型：请使用字段名或中文表头，并选择导入类型")
    return best


def _lock_imports(s: Session) -> None:
    """Take the import lock for this transaction: one import at a time, a second one waits for the first.

    PostgreSQL: a transaction-scoped advisory lock, waited for up to IMPORT_LOCK_WAIT_S. SQLite: the
    write lock (``BEGIN IMMEDIATE``, waited for up to the busy timeout), unless the session joins a
    transaction that has begun already.
    """
    conn = s.connection()
    if conn.dialect.name == "postgresql":
        s.execute(text(f"SET LOCAL lock_timeout = '{int(IMPORT_LOCK_WAIT_S * 1000)}ms'"))
        s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK_KEY})
        s.execute(text("SET LOCAL lock_timeout TO DEFAULT"))
    elif conn.dialect.name == "sqlite":
        raw = conn.connection.dbapi_connection
        if raw is not None and not getattr(raw, "in_transaction", True):
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def _database_error(exc: DBAPIError) -> Exception:
    """A database failure during an import, as a message that says what happened (nothing was changed)."""
    code = getattr(exc.orig, "sqlstate", None)
    reason = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)
    if code == "55P03" or "database is locked" in reason:
        return StorageError("另一个导入正在进行（或知识库正被保存），请等它完成后重试；本次导入未做任何更改")
    if code in ("40001", "40P01"):  # serialization failure, deadlock
        return StorageError("数据同时被他人修改，请重试；本次导入未做任何更改")
    if isinstance(exc, IntegrityError):
        return ValidationError(f"数据冲突：{reason}。可能是他人刚好同时保存了相同的记录（请重试），"
                               "或文件中的编号与知识库中已有的记录冲突；本次导入未做任何更改")
    return StorageError(f"数据库错误 (database)：{reason}；本次导入未做任何更改")


def import_rows(kb: KnowledgeBase, kind: str, rows: Rows, *, actor: Actor, dry_run: bool = False,
                replace: bool = False) -> ImportResult:
    """Apply ``rows`` of ``kind`` in one transaction as ``actor``; raise ImportRejected listing every bad row.

    ``replace`` (list-like kinds only, see REPLACEABLE) deletes the rows the file does not name;
    the result counts them in ``deleted``, a dry run too.
    """
    require(actor, "data.import")
    if kind not in KIND_FIELDS:
        raise ValidationError(f"kind: 未知的导入类型：{kind}（可选 {', '.join(KIND_FIELDS)}）")
    if replace and kind not in REPLACEABLE:
        raise ValidationError(f"replace: 只有{'、'.join(REPLACEABLE)}可以整表替换；{kind} 的导入只新增和更新，"
                              "不删除文件中没有的记录")
    if not rows:
        raise ValidationError("没有数据行：文件是空的，或只有表头")
    notes = _check_columns(kind, rows)
    s = kb.store.new_session()
    try:
        _lock_imports(s)
        importer = _Importer(UnitOfWork(kb.store, s), kind, actor, replace=replace)
        errors = importer.run(rows)
        if errors:
            s.rollback()
            raise ImportRejected(errors)
        result = importer.result
        result.dry_run = dry_run
        result.notes = notes
        if dry_run:
            s.rollback()
            return result
        s.commit()
    except DBAPIError as exc:
        s.rollback()
        raise _database_error(exc) from exc
    except BaseException:
        s.rollback()
        raise
    finally:
        s.close()
    result.changes = Changes(entries_upserted=frozenset(importer.upserted),
                             departments=kind in ("departments", "rules"), rules=kind in ("rules", "places"),
                             scripts=kind == "scripts", revision=kb.revision())
    return result


def import_file(kb: KnowledgeBase, path: Path, *, actor: Actor, kind: str | None = None,
                dry_run: bool = False, replace: bool = False, sheet: str | None = None) -> ImportResult:
    table = read_table(path, sheet=sheet)
    result = import_rows(kb, kind or guess_kind(table.rows), table.rows, actor=actor, dry_run=dry_run,
                         replace=replace)
    result.notes[:0] = table.notes
    return result
