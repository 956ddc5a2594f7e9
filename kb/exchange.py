"""Import and export of entries, departments, work orders, scripts and more.

Formats by file suffix: ``.jsonl``, ``.json`` (an array of objects), ``.csv``
(UTF-8, with or without BOM) and ``.xlsx`` (first sheet, header row). A file
imports whole or not at all: every row is applied inside one transaction,
every bad row is collected with its row number, field and reason, and any
error rolls the whole file back.
"""

from __future__ import annotations

import csv
import json
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb import models as m
from kb.convert import parse_date, parse_datetime, split_list
from kb.dto import Changes, EntryDraft, WorkOrderDraft
from kb.errors import ImportRejected, RowError, StorageError, ValidationError
from kb.service import Caches, KnowledgeBase

log = logging.getLogger(__name__)

FORMATS = ("jsonl", "json", "csv", "xlsx")

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
LIST_FIELDS = {"aliases", "keywords"}
# Import files written by people often use Chinese headers.
HEADER_ALIASES = {
    "编号": "external_id", "标题": "title", "问题": "title", "答复": "answer", "答复口径": "answer",
    "口径": "answer", "问法": "aliases", "关键词": "keywords", "分类": "category", "承办单位": "department",
    "政策依据": "basis", "生效日期": "valid_from", "失效日期": "valid_to", "状态": "status",
    "名称": "name", "简称": "short_name", "层级": "level", "属地": "district", "区": "district",
    "上级": "parent", "职责": "duties", "电话": "phone", "值班电话": "duty_phone", "转接电话": "transfer_phone",
    "地址": "address", "办公时间": "hours", "核实日期": "last_verified",
}


@dataclass
class ImportResult:
    kind: str
    rows: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    dry_run: bool = False
    changes: Changes = field(default_factory=Changes)


# --------------------------------------------------------------------- reading
def detect_format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise ValidationError(f"format: 不支持的文件类型 .{suffix}（支持 {', '.join(FORMATS)}）")
    return suffix


def read_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """Rows of a file as (row number, record). CSV/XLSX count the header as row 1."""
    fmt = detect_format(path)
    if not path.exists():
        raise StorageError(f"文件不存在：{path}")
    try:
        if fmt == "jsonl":
            return list(_read_jsonl(path))
        if fmt == "json":
            return _read_json(path)
        if fmt == "csv":
            return _read_csv(path)
        return _read_xlsx(path)
    except UnicodeDecodeError as exc:
        raise ValidationError(f"encoding: 文件不是 UTF-8 编码：{exc}") from exc
    except OSError as exc:
        raise StorageError(f"无法读取文件 {path}：{exc}") from exc


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    errors: list[RowError] = []
    rows: list[tuple[int, dict[str, Any]]] = []
    with path.open(encoding="utf-8-sig") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                errors.append(RowError(n, "json", f"不是合法的 JSON：{exc.msg}"))
                continue
            if not isinstance(obj, dict):
                errors.append(RowError(n, "json", "每行应为一个 JSON 对象"))
                continue
            rows.append((n, obj))
    if errors:
        raise ImportRejected(errors)
    return iter(rows)


def _read_json(path: Path) -> list[tuple[int, dict[str, Any]]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise ImportRejected([RowError(exc.lineno, "json", f"不是合法的 JSON：{exc.msg}")]) from exc
    if isinstance(data, dict):  # {"entries": [...]} is accepted too
        lists = [v for v in data.values() if isinstance(v, list)]
        data = lists[0] if len(lists) == 1 else None
    if not isinstance(data, list):
        raise ImportRejected([RowError(1, "json", "应为 JSON 数组 [ {…}, {…} ]")])
    bad = [RowError(i, "json", "应为 JSON 对象") for i, o in enumerate(data, 1) if not isinstance(o, dict)]
    if bad:
        raise ImportRejected(bad)
    return list(enumerate(data, start=1))


def _normalise_header(name: object) -> str:
    key = str(name or "").strip().lstrip("\ufeff")
    return HEADER_ALIASES.get(key, key)


def _read_csv(path: Path) -> list[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = [_normalise_header(h) for h in next(reader, [])]
        rows = []
        for n, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue
            rows.append((n, dict(zip(header, values, strict=False))))
    return rows


def _read_xlsx(path: Path) -> list[tuple[int, dict[str, Any]]]:
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ValidationError(f"format: 不是有效的 Excel (xlsx) 文件：{exc}") from exc
    try:
        ws = wb.worksheets[0]
        it = ws.iter_rows(values_only=True)
        header = [_normalise_header(h) for h in next(it, ())]
        rows = []
        for n, values in enumerate(it, start=2):
            if all(v is None or str(v).strip() == "" for v in values):
                continue
            rows.append((n, {h: ("" if v is None else v) for h, v in zip(header, values, strict=False) if h}))
        return rows
    finally:
        wb.close()


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
        status=_text(rec, "status") or "published",
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
        request_type=_text(rec, "request_type") or "consult",
        urgency=_text(rec, "urgency") or "normal",
        category=_text(rec, "category"),
        department=_text(rec, "department"),
        handling=_text(rec, "handling") or ("dispatched" if _text(rec, "department") else "answered"),
        entry=_text(rec, "entry"),
        due_at=parse_datetime(rec.get("due_at"), "due_at"),
        status=_text(rec, "status"),
        returned=_text(rec, "returned").lower() in ("1", "true", "yes", "是"),
        seat=_text(rec, "seat"),
    )


class _Importer:
    """Applies the rows of one kind inside one session, collecting row errors."""

    def __init__(self, kb: KnowledgeBase, s: Session, kind: str, user: str) -> None:
        self.kb, self.s, self.kind, self.user = kb, s, kind, user
        self.caches = Caches(s)
        self.result = ImportResult(kind=kind, rows=0)
        self.upserted: set[int] = set()

    def count(self, created: bool, changed: bool) -> None:
        if created:
            self.result.created += 1
        elif changed:
            self.result.updated += 1
        else:
            self.result.unchanged += 1

    def entries(self, rows: list[tuple[int, dict[str, Any]]], errors: list[RowError]) -> None:
        for start in range(0, len(rows), 1000):
            chunk = rows[start: start + 1000]
            exts = [_text(r, "external_id") for _, r in chunk if _text(r, "external_id")]
            existing = {e.external_id: e for e in self.s.scalars(
                select(m.Entry).where(m.Entry.external_id.in_(exts)))} if exts else {}
            saved: list[tuple[m.Entry, str, str]] = []
            for n, rec in chunk:
                try:
                    draft = entry_draft(rec)
                    row = existing.get(draft.external_id)
                    _, changed = self.kb.upsert_entry(self.s, draft, user=self.user, caches=self.caches,
                                                      entry=row, action="import", defer=saved)
                    self.count(row is None, changed)
                except ValidationError as exc:
                    errors.append(RowError(n, exc.field or "-", exc.reason))
            if errors:  # the file is rejected anyway: skip the bookkeeping, keep collecting row errors
                continue
            self.kb.finish_entries(self.s, saved, user=self.user)
            self.upserted.update(e.id for e, _, _ in saved)

    def departments(self, rows: list[tuple[int, dict[str, Any]]], errors: list[RowError]) -> None:
        # Parents may come later in the file: retry deferred rows until no progress.
        pending = rows
        while pending:
            deferred: list[tuple[int, dict[str, Any]]] = []
            last_errors: list[RowError] = []
            for n, rec in pending:
                parent = _text(rec, "parent")
                if parent and parent not in self.caches.departments:
                    deferred.append((n, rec))
                    last_errors.append(RowError(n, "parent", f"上级单位不存在：{parent}"))
                    continue
                try:
                    known = (_text(rec, "external_id") or _text(rec, "name")) in self.caches.departments
                    _, changed = self.kb.upsert_department(self.s, rec, user=self.user, caches=self.caches)
                    self.count(not known, changed)
                except ValidationError as exc:
                    errors.append(RowError(n, exc.field or "-", exc.reason))
            if len(deferred) == len(pending):
                errors.extend(last_errors)
                return
            pending = deferred

    def generic(self, rows: list[tuple[int, dict[str, Any]]], errors: list[RowError], model: type[Any],
                key: Callable[[dict[str, Any]], str], apply: Callable[[dict[str, Any]], bool]) -> None:
        """Rows of a kind without versions; ``key`` gives the identity looked up before ``apply``."""
        for n, rec in rows:
            try:
                ident = key(rec)
                column = model.id if model is m.WorkOrder else model.external_id
                existed = bool(ident) and self.s.scalar(select(column).where(column == ident)) is not None
                self.count(not existed, apply(rec))
            except ValidationError as exc:
                errors.append(RowError(n, exc.field or "-", exc.reason))

    def run(self, rows: list[tuple[int, dict[str, Any]]]) -> list[RowError]:
        errors = _check_required(self.kind, rows)
        self.result.rows = len(rows)
        if self.kind == "entries":
            self.entries(rows, errors)
        elif self.kind == "departments":
            self.departments(rows, errors)
        elif self.kind == "workorders":
            def save_work_order(r: dict[str, Any]) -> bool:
                self.kb.upsert_work_order(self.s, work_order_draft(r), user=self.user, caches=self.caches)
                return True

            self.generic(rows, errors, m.WorkOrder, lambda r: work_order_draft(r).id, save_work_order)
        elif self.kind == "scripts":
            self.generic(rows, errors, m.Script, lambda r: _text(r, "external_id"),
                         lambda r: self.kb.upsert_script(self.s, r, user=self.user)[1])
        elif self.kind == "rules":
            self.generic(rows, errors, m.RoutingRule, lambda r: _text(r, "external_id"),
                         lambda r: bool(self.kb.upsert_rule(self.s, r, self.caches, user=self.user)))
        elif self.kind == "bulletins":
            self.generic(rows, errors, m.Bulletin, lambda r: _text(r, "external_id"),
                         lambda r: bool(self.kb.upsert_bulletin(self.s, r)))
        else:
            raise ValidationError(f"kind: 未知的导入类型：{self.kind}")
        first: dict[tuple[int, str], RowError] = {}
        for e in errors:  # one message per row and field (a required field also fails validation)
            first.setdefault((e.row, e.field), e)
        return sorted(first.values(), key=lambda e: (e.row, e.field))


def _check_required(kind: str, rows: list[tuple[int, dict[str, Any]]]) -> list[RowError]:
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


def guess_kind(rows: list[tuple[int, dict[str, Any]]]) -> str:
    """Guess the kind from the header: the kind whose fields the rows cover best."""
    keys = set().union(*(r.keys() for _, r in rows[:50])) if rows else set()
    best = max(KIND_FIELDS, key=lambda k: (len(keys & set(REQUIRED[k])) == len(REQUIRED[k]),
                                           len(keys & set(KIND_FIELDS[k]))))
    return best


def import_rows(kb: KnowledgeBase, kind: str, rows: list[tuple[int, dict[str, Any]]], *, user: str,
                dry_run: bool = False) -> ImportResult:
    """Apply ``rows`` of ``kind`` in one transaction; raise ImportRejected listing every bad row."""
    if kind == "places":
        from kb.place import Gazetteer

        records = [r for _, r in rows]
        try:
            Gazetteer(records)  # validates every record, with record numbers
        except ImportRejected as exc:  # renumber to file rows
            numbers = [n for n, _ in rows]
            raise ImportRejected([RowError(numbers[e.row - 1], e.field, e.reason) for e in exc.errors]) from None
        if not dry_run:
            kb.set_places(records, user=user)
        return ImportResult(kind=kind, rows=len(rows), updated=len(rows), dry_run=dry_run)
    if kind not in KIND_FIELDS:
        raise ValidationError(f"kind: 未知的导入类型：{kind}（可选 {', '.join(KIND_FIELDS)}）")
    s = kb._sessions()
    try:
        importer = _Importer(kb, s, kind, user)
        errors = importer.run(rows)
        if errors:
            s.rollback()
            raise ImportRejected(errors)
        result = importer.result
        result.dry_run = dry_run
        if dry_run:
            s.rollback()
            return result
        s.commit()
    except BaseException:
        s.rollback()
        raise
    finally:
        s.close()
    result.changes = Changes(entries_upserted=frozenset(importer.upserted),
                             departments=kind in ("departments", "rules"), rules=kind == "rules",
                             scripts=kind == "scripts", revision=kb.revision())
    return result


def import_file(kb: KnowledgeBase, path: Path, *, kind: str | None = None, user: str = "import",
                dry_run: bool = False) -> ImportResult:
    rows = read_rows(path)
    return import_rows(kb, kind or guess_kind(rows), rows, user=user, dry_run=dry_run)


# ------------------------------------------------------------------- exporting
def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    if value is None:
        return ""
    return value


def export_records(kb: KnowledgeBase, kind: str) -> list[dict[str, Any]]:
    """Records of ``kind`` with exactly the import field names."""
    if kind == "entries":
        return [{"external_id": e.external_id, "title": e.title, "answer": e.answer, "aliases": list(e.aliases),
                 "keywords": list(e.keywords), "category": e.category, "department": e.department_external_id,
                 "basis": e.basis, "valid_from": _plain(e.valid_from), "valid_to": _plain(e.valid_to),
                 "status": e.status} for e in kb.iter_entries()]
    if kind == "departments":
        return [{"external_id": d.external_id, "name": d.name, "short_name": d.short_name, "level": d.level,
                 "district": d.district, "parent": d.parent_external_id, "duties": d.duties, "phone": d.phone,
                 "duty_phone": d.duty_phone, "transfer_phone": d.transfer_phone, "address": d.address,
                 "hours": d.hours, "last_verified": _plain(d.last_verified), "active": d.active}
                for d in _parents_first(kb.departments(include_inactive=True))]
    if kind == "workorders":
        return [{"id": w.id, "external_id": w.external_id, "received_at": _plain(w.received_at),
                 "phone": w.phone, "caller_name": w.caller_name, "text": w.text, "address": w.address,
                 "district": w.district, "street": w.street, "request_type": w.request_type,
                 "urgency": w.urgency, "category": w.category, "department": w.department_external_id,
                 "handling": w.handling, "entry": w.entry_external_id, "due_at": _plain(w.due_at),
                 "status": w.status, "returned": w.returned, "seat": w.seat} for w in kb.iter_work_orders()]
    if kind == "scripts":
        return [{"external_id": s.external_id, "kind": s.kind, "title": s.title, "body": s.body}
                for s in kb.scripts()]
    if kind == "rules":
        return [{"external_id": r.external_id, "department": r.department_external_id, "category": r.category,
                 "keywords": list(r.keywords), "district": r.district, "priority": r.priority, "note": r.note,
                 "active": r.active} for r in kb.routing_rules()]
    if kind == "bulletins":
        return [{"external_id": b.external_id, "title": b.title, "body": b.body,
                 "starts_at": _plain(b.starts_at), "ends_at": _plain(b.ends_at), "pinned": b.pinned}
                for b in kb.bulletins()]
    if kind == "places":
        return kb.places()
    raise ValidationError(f"kind: 未知的导出类型：{kind}（可选 {', '.join(KIND_FIELDS)}）")


def _parents_first(depts: list[Any]) -> list[Any]:
    by_ext = {d.external_id: d for d in depts}
    done: set[str] = set()
    out: list[Any] = []

    def visit(d: Any) -> None:
        if d.external_id in done:
            return
        done.add(d.external_id)
        parent = by_ext.get(d.parent_external_id)
        if parent is not None:
            visit(parent)
        out.append(d)

    for d in depts:
        visit(d)
    return out


def write_records(records: Iterable[Mapping[str, Any]], path: Path, fields: tuple[str, ...]) -> int:
    """Write records in the format of ``path``'s suffix; lists become 'a|b' in CSV/XLSX."""
    fmt = detect_format(path)
    recs = [{f: _plain(r.get(f)) for f in fields} for r in records]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if fmt == "jsonl":
        with tmp.open("w", encoding="utf-8") as fh:
            for r in recs:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    elif fmt == "json":
        tmp.write_text(json.dumps(recs, ensure_ascii=False, indent=1), encoding="utf-8")
    else:
        flat = [{f: "|".join(v) if isinstance(v, list) else v for f, v in r.items()} for r in recs]
        if fmt == "csv":
            with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
                w = csv.DictWriter(fh, fieldnames=list(fields))
                w.writeheader()
                w.writerows(flat)
        else:
            from openpyxl import Workbook

            wb = Workbook(write_only=True)
            ws = wb.create_sheet()
            ws.append(list(fields))
            for r in flat:
                ws.append([r[f] for f in fields])
            wb.save(tmp)
    tmp.replace(path)
    return len(recs)


def export_file(kb: KnowledgeBase, kind: str, path: Path) -> int:
    return write_records(export_records(kb, kind), path, KIND_FIELDS[kind])
