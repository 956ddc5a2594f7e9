"""Work orders (工单): the record of each call, saved by its client-generated id, and the lookups agents need."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select

from kb import limits
from kb import models as m
from kb.actor import Actor
from kb.convert import work_order_view
from kb.dto import Changes, WorkOrderDraft, WorkOrderView
from kb.errors import NotFound, ValidationError
from kb.permissions import require
from kb.services.store import Store, UnitOfWork
from kb.vocab import HANDLINGS, REQUEST_TYPES, STATUS_OF_HANDLING, URGENCIES, WORKORDER_STATUSES


def validate_work_order(d: WorkOrderDraft) -> None:
    if not d.id or len(d.id) > 36:
        raise ValidationError("id: 工单编号无效")
    if not d.text.strip():
        raise ValidationError("text: 诉求内容不能为空")
    limits.check(m.WorkOrder, {"external_id": d.external_id, "caller_name": d.caller_name.strip(),
                               "address": d.address.strip(), "district": d.district.strip(),
                               "street": d.street.strip(), "seat": d.seat})
    for codes, value in ((REQUEST_TYPES, d.request_type), (HANDLINGS, d.handling), (URGENCIES, d.urgency)):
        if value not in codes:
            raise ValidationError(f"{codes.name}: 应为 {'/'.join(codes)} 之一：{value}")
    if d.status and d.status not in WORKORDER_STATUSES:
        raise ValidationError(f"status: 应为 {'/'.join(WORKORDER_STATUSES)} 之一：{d.status}")


def upsert_work_order(uow: UnitOfWork, draft: WorkOrderDraft, *, actor: Actor) -> tuple[m.WorkOrder, bool]:
    """Insert or update by the client-generated id (saving twice never duplicates); returns (row, changed).

    An unchanged work order writes nothing (re-importing the same file is a no-op).
    """
    from kb.phones import normalize_phone

    s = uow.s
    draft = limits.clean_fields(draft)
    validate_work_order(draft)
    phone = normalize_phone(draft.phone) if draft.phone.strip() else ""
    limits.check(m.WorkOrder, {"phone": phone})
    limits.check(m.WorkOrder, {"created_by": actor.user_id}, field="user")
    category = uow.category(draft.category)
    department = uow.department(draft.department)
    entry_id = None
    if draft.entry:
        entry_id = s.scalar(select(m.Entry.id).where(m.Entry.external_id == draft.entry))
        if entry_id is None:
            raise ValidationError(f"entry: 知识条目不存在：{draft.entry}")
    if draft.handling == "dispatched" and department is None:
        raise ValidationError("department: 派单必须选择承办单位")
    status = draft.status or STATUS_OF_HANDLING[draft.handling]
    if draft.returned:
        status = "returned"
    values: dict[str, Any] = {
        "external_id": draft.external_id or None, "received_at": draft.received_at, "phone": phone,
        "caller_name": draft.caller_name.strip(), "address": draft.address.strip(),
        "district": draft.district.strip(), "street": draft.street.strip(), "request_type": draft.request_type,
        "urgency": draft.urgency, "text": draft.text.strip(), "category": category, "handling": draft.handling,
        "department": department, "due_at": draft.due_at, "entry_id": entry_id, "status": status,
        "returned": draft.returned, "seat": draft.seat}
    now = uow.now()
    row = s.get(m.WorkOrder, draft.id)
    if row is None:
        row = m.WorkOrder(id=draft.id, created_at=now, created_by=actor.user_id)
        s.add(row)
    elif all(getattr(row, k) == v for k, v in values.items()):
        return row, False
    for k, v in values.items():
        setattr(row, k, v)
    row.updated_at = now
    if status == "closed" and row.closed_at is None:
        row.closed_at = now
    uow.log_change("workorder", 0, "upsert")  # ids are strings: the kind alone tells the history to catch up
    return row, True


class WorkOrderService:
    """``kb.work_orders``: saving a call's work order, repeat callers, open cases, streaming for the history."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def save(self, draft: WorkOrderDraft, *, actor: Actor) -> tuple[WorkOrderView, Changes]:
        require(actor, "workorder.save")
        with self.store.unit() as uow:
            row, _ = upsert_work_order(uow, draft, actor=actor)
            uow.s.flush()
            uow.audit(actor, "save", "work_order", row.id, {"handling": row.handling})
            view = work_order_view(row, draft.entry)
        return view, Changes(workorders=frozenset({view.id}), revision=self.store.revision())

    def by_phone(self, phone: str, *, days: int = 30, limit: int = 20) -> list[WorkOrderView]:
        """Earlier work orders of the same (normalised) number within ``days``."""
        from kb.phones import normalize_phone

        if not phone.strip():
            return []
        try:
            norm = normalize_phone(phone)
        except ValidationError:
            return []
        since = self.store.now() - timedelta(days=days)
        with self.store.session() as s:
            rows = s.scalars(select(m.WorkOrder).where(m.WorkOrder.phone == norm, m.WorkOrder.received_at >= since)
                             .order_by(m.WorkOrder.received_at.desc()).limit(limit))
            return [work_order_view(w) for w in rows]

    def open_cases(self, *, district: str = "", street: str = "", limit: int = 200) -> list[WorkOrderView]:
        """Open (not closed) cases, optionally in one place: repeat-complaint detection."""
        with self.store.session() as s:
            q = select(m.WorkOrder).where(m.WorkOrder.status != "closed")
            if district:
                q = q.where(m.WorkOrder.district == district)
            if street:
                q = q.where(m.WorkOrder.street == street)
            rows = s.scalars(q.order_by(m.WorkOrder.received_at.desc()).limit(limit))
            return [work_order_view(w) for w in rows]

    def get(self, wid: str) -> WorkOrderView:
        with self.store.session() as s:
            row = s.get(m.WorkOrder, wid)
            if row is None:
                raise NotFound(f"工单 (work order) 不存在：{wid}")
            ext = s.scalar(select(m.Entry.external_id).where(m.Entry.id == row.entry_id)) if row.entry_id else ""
            return work_order_view(row, ext or "")

    def iter_all(self, *, since: datetime | None = None, batch: int = 5000) -> Iterator[WorkOrderView]:
        """Work orders by (received_at, id), in batches; ``since`` uses the received_at index."""
        last: tuple[datetime, str] | None = None
        while True:
            with self.store.session() as s:
                q = select(m.WorkOrder)
                if since is not None:
                    q = q.where(m.WorkOrder.received_at >= since)
                if last is not None:  # keyset pagination: no OFFSET scans over a million rows
                    q = q.where(or_(m.WorkOrder.received_at > last[0],
                                    and_(m.WorkOrder.received_at == last[0], m.WorkOrder.id > last[1])))
                rows = list(s.scalars(q.order_by(m.WorkOrder.received_at, m.WorkOrder.id).limit(batch)))
                ext = dict(s.execute(select(m.Entry.id, m.Entry.external_id).where(
                    m.Entry.id.in_({r.entry_id for r in rows if r.entry_id}))).all())
                views = [work_order_view(w, ext.get(w.entry_id or -1, "")) for w in rows]
            if not views:
                return
            yield from views
            last = (views[-1].received_at, views[-1].id)
