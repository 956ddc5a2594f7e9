"""ORM row → frozen view conversions, and field parsing shared by service and import."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from kb import models as m
from kb.dto import DepartmentView, EntryDraft, EntryView, RoutingRuleView, WorkOrderView
from kb.errors import ValidationError


def entry_view(e: m.Entry) -> EntryView:
    return EntryView(
        id=e.id,
        external_id=e.external_id,
        title=e.title,
        answer=e.answer,
        aliases=tuple(e.aliases or ()),
        keywords=tuple(e.keywords or ()),
        category=e.category.path if e.category else "",
        department_id=e.department_id,
        department_external_id=e.department.external_id if e.department else "",
        department_name=e.department.name if e.department else "",
        basis=e.basis,
        valid_from=e.valid_from,
        valid_to=e.valid_to,
        status=e.status,
        revision=e.revision,
        created_at=e.created_at,
        created_by=e.created_by,
        updated_at=e.updated_at,
        updated_by=e.updated_by,
        reviewed_at=e.reviewed_at,
        reviewed_by=e.reviewed_by,
        publish_at=e.publish_at,
    )


def department_view(d: m.Department, parent_external_id: str = "") -> DepartmentView:
    return DepartmentView(
        id=d.id,
        external_id=d.external_id,
        name=d.name,
        short_name=d.short_name,
        level=d.level,
        parent_external_id=parent_external_id,
        district=d.district,
        duties=d.duties,
        phone=d.phone,
        duty_phone=d.duty_phone,
        transfer_phone=d.transfer_phone,
        hours=d.hours,
        address=d.address,
        last_verified=d.last_verified,
        active=d.active,
        revision=d.revision,
        updated_at=d.updated_at,
    )


def rule_view(r: m.RoutingRule, department_external_id: str) -> RoutingRuleView:
    return RoutingRuleView(
        id=r.id,
        external_id=r.external_id,
        department_id=r.department_id,
        department_external_id=department_external_id,
        category=r.category,
        keywords=tuple(r.keywords or ()),
        district=r.district,
        priority=r.priority,
        note=r.note,
        active=r.active,
    )


def work_order_view(w: m.WorkOrder, entry_external_id: str = "") -> WorkOrderView:
    return WorkOrderView(
        id=w.id,
        external_id=w.external_id or "",
        received_at=w.received_at,
        phone=w.phone,
        caller_name=w.caller_name,
        address=w.address,
        district=w.district,
        street=w.street,
        request_type=w.request_type,
        urgency=w.urgency,
        text=w.text,
        category=w.category.path if w.category else "",
        handling=w.handling,
        department_id=w.department_id,
        department_external_id=w.department.external_id if w.department else "",
        department_name=w.department.name if w.department else "",
        due_at=w.due_at,
        entry_id=w.entry_id,
        entry_external_id=entry_external_id,
        status=w.status,
        returned=w.returned,
        seat=w.seat,
        created_by=w.created_by,
        created_at=w.created_at,
    )


def entry_snapshot(e: m.Entry) -> dict[str, Any]:
    """The editable content of an entry as JSON-safe values (history, diff, rollback)."""
    return {
        "external_id": e.external_id,
        "title": e.title,
        "answer": e.answer,
        "aliases": list(e.aliases or ()),
        "keywords": list(e.keywords or ()),
        "category": e.category.path if e.category else "",
        "department": e.department.external_id if e.department else "",
        "basis": e.basis,
        "valid_from": e.valid_from.isoformat() if e.valid_from else "",
        "valid_to": e.valid_to.isoformat() if e.valid_to else "",
        "status": e.status,
        "publish_at": e.publish_at.isoformat(sep=" ") if e.publish_at else "",
    }


def draft_from_snapshot(snap: dict[str, Any]) -> EntryDraft:
    return EntryDraft(
        external_id=str(snap.get("external_id", "")),
        title=str(snap["title"]),
        answer=str(snap["answer"]),
        aliases=tuple(snap.get("aliases") or ()),
        keywords=tuple(snap.get("keywords") or ()),
        category=str(snap.get("category", "")),
        department=str(snap.get("department", "")),
        basis=str(snap.get("basis", "")),
        valid_from=parse_date(snap.get("valid_from"), "valid_from"),
        valid_to=parse_date(snap.get("valid_to"), "valid_to"),
        status=str(snap.get("status", "draft")),
        publish_at=parse_datetime(snap.get("publish_at"), "publish_at"),
    )


def parse_date(value: object, field: str) -> date | None:
    """ISO date (2026-01-31), 2026/1/31, 2026年1月31日, a datetime, or empty."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if not text:
        return None
    for sep in ("年", "月", "/", "."):
        text = text.replace(sep, "-")
    text = text.replace("日", "").split(" ")[0].split("T")[0]
    try:
        y, mo, d = (int(p) for p in text.split("-"))
        return date(y, mo, d)
    except (ValueError, TypeError):
        raise ValidationError(f"{field}: 日期格式不正确（应为 2026-01-31）：{value}") from None


def parse_datetime(value: object, field: str) -> datetime | None:
    """ISO datetime, '2019/4/25 9:32:09', a bare date (midnight), or empty."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    text = str(value).strip().replace("T", " ")
    if not text:
        return None
    day_part, _, time_part = text.partition(" ")
    day = parse_date(day_part, field)
    assert day is not None
    if not time_part:
        return datetime(day.year, day.month, day.day)
    try:
        pieces = [int(float(p)) for p in time_part.split("+")[0].split(":")]
        while len(pieces) < 3:
            pieces.append(0)
        return datetime(day.year, day.month, day.day, pieces[0], pieces[1], pieces[2])
    except ValueError:
        raise ValidationError(f"{field}: 时间格式不正确（应为 2026-01-31 09:30）：{value}") from None


def split_list(value: object) -> tuple[str, ...]:
    """A list field from JSON (a list) or from CSV/XLSX ('a|b', 'a；b', 'a,b')."""
    if value is None or value == "":
        return ()
    if isinstance(value, list | tuple):
        return tuple(str(v).strip() for v in value if str(v).strip())
    text = str(value)
    for sep in ("；", ";", "，", ",", "、", "\n"):
        text = text.replace(sep, "|")
    return tuple(p.strip() for p in text.split("|") if p.strip())


TRUE_WORDS = ("是", "启用", "true", "1")
FALSE_WORDS = ("否", "停用", "false", "0")


def parse_bool(value: object, field: str, *, default: bool) -> bool:
    """是/否, 启用/停用, true/false, 1/0 (an Excel TRUE/FALSE or 1/0 cell too); empty gives ``default``."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if not text:
        return default
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValidationError(f"{field}: 应为 是/否、启用/停用、true/false 或 1/0：{value}")


def parse_int(value: object, field: str) -> int | None:
    """An integer (an Excel cell may hold 5.0), or None when empty."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValidationError(f"{field}: 应为整数：{value}")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    try:
        return int(str(value).strip())
    except ValueError:
        raise ValidationError(f"{field}: 应为整数：{value}") from None
