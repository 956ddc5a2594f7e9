"""Export of entries, departments, work orders, scripts, rules, bulletins and places.

A file is written in the format of its suffix (:mod:`kb.tables`) with exactly the import field names
of its kind (:mod:`kb.exchange`), so that an export imports back as it was. Enumerated fields are
written as codes, or as Chinese labels (and, in XLSX, Chinese headers) when asked to.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from kb.convert import FALSE_WORDS, TRUE_WORDS
from kb.errors import ValidationError
from kb.exchange import CODED_FIELDS, KIND_FIELDS
from kb.service import KnowledgeBase
from kb.tables import HEADER_LABELS, KIND_HEADER_LABELS, detect_format


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
                 "status": e.status} for e in kb.entries.iter_all()]
    if kind == "departments":
        return [{"external_id": d.external_id, "name": d.name, "short_name": d.short_name, "level": d.level,
                 "district": d.district, "parent": d.parent_external_id, "duties": d.duties, "phone": d.phone,
                 "duty_phone": d.duty_phone, "transfer_phone": d.transfer_phone, "address": d.address,
                 "hours": d.hours, "last_verified": _plain(d.last_verified), "active": d.active}
                for d in _parents_first(kb.directory.departments(include_inactive=True))]
    if kind == "workorders":
        return [{"id": w.id, "external_id": w.external_id, "received_at": _plain(w.received_at),
                 "phone": w.phone, "caller_name": w.caller_name, "text": w.text, "address": w.address,
                 "district": w.district, "street": w.street, "request_type": w.request_type,
                 "urgency": w.urgency, "category": w.category, "department": w.department_external_id,
                 "handling": w.handling, "entry": w.entry_external_id, "due_at": _plain(w.due_at),
                 "status": w.status, "returned": w.returned, "seat": w.seat} for w in kb.work_orders.iter_all()]
    if kind == "scripts":
        return [{"external_id": s.external_id, "kind": s.kind, "title": s.title, "body": s.body}
                for s in kb.directory.scripts()]
    if kind == "rules":
        return [{"external_id": r.external_id, "department": r.department_external_id, "category": r.category,
                 "keywords": list(r.keywords), "district": r.district, "priority": r.priority, "note": r.note,
                 "active": r.active} for r in kb.directory.routing_rules()]
    if kind == "bulletins":
        return [{"external_id": b.external_id, "title": b.title, "body": b.body,
                 "starts_at": _plain(b.starts_at), "ends_at": _plain(b.ends_at), "pinned": b.pinned}
                for b in kb.directory.bulletins()]
    if kind == "places":
        return kb.lexicons.places()
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


def write_records(records: Iterable[Mapping[str, Any]], path: Path, fields: tuple[str, ...],
                  headers: Mapping[str, str] | None = None) -> int:
    """Write records in the format of ``path``'s suffix; lists become 'a|b' in CSV/XLSX.

    ``headers`` (field → header) names the columns of an XLSX file instead of the field names.
    """
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
            ws.append([(headers or {}).get(f, f) for f in fields])
            for r in flat:
                ws.append([r[f] for f in fields])
            wb.save(tmp)
    tmp.replace(path)
    return len(recs)


LABELS = ("zh",)  # what ``export_file(labels=…)`` can write instead of codes


def labelled(kind: str, records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``records`` of ``kind`` as people read them: Chinese labels for codes, 是/否 for yes/no.

    An import reads them back as they were (:meth:`vocab.Codes.parse`, :func:`kb.convert.parse_bool`).
    """
    coded = CODED_FIELDS.get(kind, {})

    def label(name: str, value: Any) -> Any:
        if isinstance(value, bool):
            return TRUE_WORDS[0] if value else FALSE_WORDS[0]
        if name in coded and isinstance(value, str):
            return coded[name].label(value)
        return value

    return [{f: label(f, v) for f, v in r.items()} for r in records]


def header_labels(kind: str) -> dict[str, str]:
    """The Chinese header of every field of ``kind``."""
    return {f: KIND_HEADER_LABELS.get(kind, {}).get(f, HEADER_LABELS[f]) for f in KIND_FIELDS[kind]}


def export_file(kb: KnowledgeBase, kind: str, path: Path, *, labels: str = "") -> int:
    """Export ``kind`` to ``path``: codes, or with ``labels="zh"`` Chinese labels (and Chinese XLSX headers)."""
    if labels and labels not in LABELS:
        raise ValidationError(f"labels: 不支持的标签语言 {labels}（可选 {'、'.join(LABELS)}）")
    records = export_records(kb, kind)
    if not labels:
        return write_records(records, path, KIND_FIELDS[kind])
    return write_records(labelled(kind, records), path, KIND_FIELDS[kind], header_labels(kind))
