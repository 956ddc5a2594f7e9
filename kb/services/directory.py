"""The directory agents dispatch and speak from: departments, routing rules, scripts, bulletins, settings."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from kb import limits
from kb import models as m
from kb.actor import Actor
from kb.convert import department_view, parse_bool, parse_date, parse_datetime, rule_view, split_list
from kb.dto import BulletinView, Changes, DepartmentView, RoutingRuleView, ScriptView
from kb.errors import NotFound, ValidationError
from kb.permissions import require
from kb.services.store import Store, UnitOfWork


# ------------------------------------------------------------ rows inside a unit of work (service and importer)
def upsert_department(uow: UnitOfWork, data: Mapping[str, Any], *, actor: Actor) -> tuple[m.Department, bool]:
    """Create or update a department from field values (import and editor); returns (row, changed)."""
    s = uow.s
    data = limits.clean(dict(data))
    ext = str(data.get("external_id") or "").strip()
    name = str(data.get("name") or "").strip()
    if not name:
        raise ValidationError("name: 名称不能为空")
    level = str(data.get("level") or "city").strip()
    if level not in m.DEPARTMENT_LEVELS:
        raise ValidationError(f"level: 应为 {'/'.join(m.DEPARTMENT_LEVELS)} 之一：{level}")
    row = uow.departments.get(ext) if ext else uow.departments.get(name)
    parent_ref = str(data.get("parent") or "").strip()
    parent = uow.departments.get(parent_ref) if parent_ref else None
    if parent_ref and parent is None:
        raise ValidationError(f"parent: 上级单位不存在：{parent_ref}")
    values: dict[str, Any] = {
        "name": name,
        "short_name": str(data.get("short_name") or ""),
        "level": level,
        "parent_id": parent.id if parent else None,
        "district": str(data.get("district") or ""),
        "duties": str(data.get("duties") or ""),
        "phone": str(data.get("phone") or ""),
        "duty_phone": str(data.get("duty_phone") or ""),
        "transfer_phone": str(data.get("transfer_phone") or ""),
        "hours": str(data.get("hours") or ""),
        "address": str(data.get("address") or ""),
        "last_verified": parse_date(data.get("last_verified"), "last_verified"),
        "active": parse_bool(data.get("active"), "active", default=True),
    }
    limits.check(m.Department, {"external_id": ext, "updated_by": actor.user_id, **values})
    now = uow.now()
    if row is None:
        row = m.Department(external_id=ext, revision=0, updated_at=now, **values)
        s.add(row)
    elif all(getattr(row, k) == v for k, v in values.items()):
        return row, False
    else:
        for k, v in values.items():
            setattr(row, k, v)
    row.revision += 1
    row.updated_at = now
    row.updated_by = actor.user_id
    s.flush()
    if not row.external_id:
        row.external_id = f"D-{row.id:05d}"
    uow.add_department(row)
    uow.log_change("department", row.id, "upsert")
    uow.audit(actor, "save", "department", row.external_id, {"name": row.name})
    return row, True


def upsert_script(uow: UnitOfWork, data: Mapping[str, Any], *, actor: Actor) -> tuple[m.Script, bool]:
    data = limits.clean(dict(data))
    ext = str(data.get("external_id") or "").strip()
    title = str(data.get("title") or "").strip()
    body = str(data.get("body") or "").strip()
    kind = str(data.get("kind") or "").strip()
    for field, value in (("title", title), ("body", body), ("kind", kind)):
        if not value:
            raise ValidationError(f"{field}: 不能为空")
    limits.check(m.Script, {"external_id": ext, "title": title, "body": body, "kind": kind,
                            "updated_by": actor.user_id})
    row, changed = uow.put(m.Script, ext, {"kind": kind, "title": title, "body": body}, kind="script", prefix="S",
                           stamp={"updated_at": uow.now(), "updated_by": actor.user_id})
    if not changed:
        return row, False
    uow.audit(actor, "save", "script", row.external_id)
    return row, True


def upsert_bulletin(uow: UnitOfWork, data: Mapping[str, Any]) -> tuple[m.Bulletin, bool]:
    """Create or update a bulletin; returns (bulletin, changed): an unchanged one writes nothing."""
    data = limits.clean(dict(data))
    ext = str(data.get("external_id") or "").strip()
    starts = parse_datetime(data.get("starts_at"), "starts_at") or uow.now()
    values = {"title": str(data.get("title") or "").strip(), "body": str(data.get("body") or ""),
              "starts_at": starts, "ends_at": parse_datetime(data.get("ends_at"), "ends_at"),
              "pinned": parse_bool(data.get("pinned"), "pinned", default=False)}
    if not values["title"]:
        raise ValidationError("title: 不能为空")
    limits.check(m.Bulletin, {"external_id": ext, **values})
    return uow.put(m.Bulletin, ext, values, kind="bulletin", prefix="B")


def upsert_rule(uow: UnitOfWork, data: Mapping[str, Any], *, actor: Actor) -> tuple[m.RoutingRule, bool]:
    """Create or update a routing rule; returns (rule, changed): an unchanged one writes nothing."""
    data = limits.clean(dict(data))
    ext = str(data.get("external_id") or "").strip()
    dept = uow.department(str(data.get("department") or ""))
    if dept is None:
        raise ValidationError("department: 路由规则必须指定承办单位")
    try:
        priority = int(data.get("priority") or 50)
    except (TypeError, ValueError):
        raise ValidationError(f"priority: 应为整数：{data.get('priority')}") from None
    values = {"department_id": dept.id, "category": str(data.get("category") or ""),
              "keywords": list(split_list(data.get("keywords"))), "district": str(data.get("district") or ""),
              "priority": priority, "note": str(data.get("note") or ""),
              "active": parse_bool(data.get("active"), "active", default=True)}
    limits.check(m.RoutingRule, {"external_id": ext, **values})
    row, changed = uow.put(m.RoutingRule, ext, values, kind="rule", prefix="R")
    if not changed:
        return row, False
    uow.audit(actor, "save", "routing_rule", row.external_id, {"department": dept.external_id})
    return row, True


def _script_view(r: m.Script) -> ScriptView:
    return ScriptView(id=r.id, external_id=r.external_id, kind=r.kind, title=r.title, body=r.body,
                      updated_at=r.updated_at)


def _bulletin_view(b: m.Bulletin) -> BulletinView:
    return BulletinView(id=b.id, external_id=b.external_id, title=b.title, body=b.body, starts_at=b.starts_at,
                        ends_at=b.ends_at, pinned=b.pinned)


class DirectoryService:
    """``kb.directory``: departments, routing rules, scripts, bulletins and the center's settings."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # ------------------------------------------------------------ departments
    def save_department(self, data: Mapping[str, Any], *, actor: Actor, new: bool = False
                        ) -> tuple[DepartmentView, Changes]:
        """Create or update a department; with ``new``, an existing id or name is an error, not an update."""
        require(actor, "directory.edit")
        with self.store.unit() as uow:
            if new:
                for key in ("external_id", "name"):
                    value = str(data.get(key) or "").strip()
                    if value and value in uow.departments:
                        raise ValidationError(f"{key}: 已存在：{value}")
            row, _ = upsert_department(uow, data, actor=actor)
            parent = uow.s.get(m.Department, row.parent_id) if row.parent_id else None
            view = department_view(row, parent.external_id if parent else "")
            rev = uow.revision()
        return view, Changes(departments=True, revision=rev)

    def departments(self, *, include_inactive: bool = False) -> list[DepartmentView]:
        with self.store.session() as s:
            rows = list(s.scalars(select(m.Department).order_by(m.Department.level, m.Department.name)))
            by_id = {d.id: d.external_id for d in rows}
            return [department_view(d, by_id.get(d.parent_id or -1, "")) for d in rows
                    if include_inactive or d.active]

    def get_department(self, ref: int | str) -> DepartmentView:
        with self.store.session() as s:
            row = (s.get(m.Department, ref) if isinstance(ref, int) else s.scalar(
                select(m.Department).where((m.Department.external_id == ref) | (m.Department.name == ref))))
            if row is None:
                raise NotFound(f"承办单位 (department) 不存在：{ref}")
            parent = s.get(m.Department, row.parent_id) if row.parent_id else None
            return department_view(row, parent.external_id if parent else "")

    # ------------------------------------------------------------ scripts
    def save_script(self, data: Mapping[str, Any], *, actor: Actor) -> tuple[ScriptView, Changes]:
        require(actor, "directory.edit")
        with self.store.unit() as uow:
            row, _ = upsert_script(uow, data, actor=actor)
            view = _script_view(row)
        return view, Changes(scripts=True, revision=self.store.revision())

    def delete_script(self, external_id: str, *, actor: Actor) -> Changes:
        self._delete(m.Script, external_id, actor=actor, kind="script", label="话术", log_kind="script")
        return Changes(scripts=True, revision=self.store.revision())

    def scripts(self, kind: str | None = None) -> list[ScriptView]:
        with self.store.session() as s:
            q = select(m.Script).order_by(m.Script.kind, m.Script.external_id)
            if kind:
                q = q.where(m.Script.kind == kind)
            return [_script_view(r) for r in s.scalars(q)]

    # ------------------------------------------------------------ bulletins
    def save_bulletin(self, data: Mapping[str, Any], *, actor: Actor) -> BulletinView:
        require(actor, "directory.edit")
        with self.store.unit() as uow:
            row, changed = upsert_bulletin(uow, data)
            if changed:
                uow.audit(actor, "save", "bulletin", row.external_id, {"title": row.title})
            return _bulletin_view(row)

    def bulletins(self, *, active_at: datetime | None = None) -> list[BulletinView]:
        with self.store.session() as s:
            q = select(m.Bulletin).order_by(m.Bulletin.pinned.desc(), m.Bulletin.starts_at.desc())
            if active_at is not None:
                q = q.where(m.Bulletin.starts_at <= active_at,
                            (m.Bulletin.ends_at.is_(None)) | (m.Bulletin.ends_at >= active_at))
            return [_bulletin_view(b) for b in s.scalars(q)]

    # ------------------------------------------------------------ routing rules
    def save_rule(self, data: Mapping[str, Any], *, actor: Actor) -> tuple[RoutingRuleView, Changes]:
        require(actor, "directory.edit")
        with self.store.unit() as uow:
            row, _ = upsert_rule(uow, data, actor=actor)
            dept = uow.s.get(m.Department, row.department_id)
            view = rule_view(row, dept.external_id if dept else "")
        return view, Changes(rules=True, revision=self.store.revision())

    def delete_rule(self, external_id: str, *, actor: Actor) -> Changes:
        self._delete(m.RoutingRule, external_id, actor=actor, kind="routing_rule", label="路由规则", log_kind="rule")
        return Changes(rules=True, revision=self.store.revision())

    def routing_rules(self) -> list[RoutingRuleView]:
        with self.store.session() as s:
            ext = dict(s.execute(select(m.Department.id, m.Department.external_id)).all())
            return [rule_view(r, ext.get(r.department_id, "")) for r in s.scalars(
                select(m.RoutingRule).order_by(m.RoutingRule.priority.desc(), m.RoutingRule.id))]

    def _delete(self, model: type[m.RoutingRule] | type[m.Script], external_id: str, *, actor: Actor,
                kind: str, label: str, log_kind: str) -> None:
        require(actor, "directory.edit")
        with self.store.unit() as uow:
            row_id = uow.s.scalar(select(model.id).where(model.external_id == external_id))
            row = uow.s.get(model, row_id) if row_id is not None else None
            if row_id is None or row is None:
                raise NotFound(f"{label}不存在：{external_id}")
            uow.log_change(log_kind, row_id, "delete")
            uow.s.delete(row)
            uow.audit(actor, "delete", kind, external_id)

    # ------------------------------------------------------------ settings
    def setting(self, key: str) -> dict[str, Any] | None:
        """A stored setting of the center (e.g. the deadline rules), None when not set."""
        with self.store.session() as s:
            row = s.get(m.Setting, key)
            return dict(row.value) if row else None

    def set_setting(self, key: str, value: Mapping[str, Any], *, actor: Actor) -> None:
        require(actor, "settings.edit")
        limits.check(m.Setting, {"key": key})
        with self.store.unit() as uow:
            row = uow.s.get(m.Setting, key)
            if row is None:
                uow.s.add(m.Setting(key=key, value=dict(value)))
            elif row.value == dict(value):
                return
            else:
                row.value = dict(value)
            uow.log_change("setting", 0, "upsert")
            uow.audit(actor, "set", "setting", key)
