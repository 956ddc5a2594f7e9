"""The knowledge-base service: one unit of work per call, plain dataclasses out.

Used alike by the GUI (on worker threads), the CLI and the tests. Every
mutation returns a :class:`~kb.dto.Changes` naming what changed and the new
database revision.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, inspect, or_, select, text
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from kb import db, limits
from kb import models as m
from kb.convert import (
    department_view,
    draft_from_snapshot,
    entry_snapshot,
    entry_view,
    parse_bool,
    parse_date,
    parse_datetime,
    rule_view,
    split_list,
    work_order_view,
)
from kb.dto import (
    BulletinView,
    Changes,
    CheckItem,
    CheckReport,
    DepartmentView,
    EntryDraft,
    EntryVersionView,
    EntryView,
    KbStats,
    ListCounts,
    RoutingRuleView,
    ScriptView,
    WorkOrderDraft,
    WorkOrderView,
)
from kb.errors import ConflictError, KbError, NotFound, StorageError, ValidationError

log = logging.getLogger(__name__)

# Allowed status transitions of the editorial workflow.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("review", "archived"),
    "review": ("published", "draft", "archived"),
    "published": ("archived", "draft"),
    "archived": ("draft",),
}
STALE_DAYS = 180
EXPIRING_DAYS = 30


class Caches:
    """Lookups reused across the rows of one unit of work (imports touch thousands)."""

    def __init__(self, s: Session) -> None:
        self.s = s
        self._categories: dict[str, m.Category] | None = None
        self._departments: dict[str, m.Department] | None = None

    @property
    def categories(self) -> dict[str, m.Category]:
        if self._categories is None:
            self._categories = {c.path: c for c in self.s.scalars(select(m.Category))}
        return self._categories

    @property
    def departments(self) -> dict[str, m.Department]:
        """By external_id and by exact name (external ids win)."""
        if self._departments is None:
            rows = list(self.s.scalars(select(m.Department)))
            self._departments = {d.name: d for d in rows}
            self._departments.update({d.external_id: d for d in rows})
        return self._departments

    def add_department(self, d: m.Department) -> None:
        self.departments[d.name] = d
        self.departments[d.external_id] = d


class KnowledgeBase:
    """Facade over the database. Thread-safe: each call opens its own session."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = datetime.now) -> None:
        self.engine = engine
        self._sessions = db.session_factory(engine)
        self.clock = clock

    # ------------------------------------------------------------------ setup
    @classmethod
    def open(cls, url: str, *, upgrade: bool = True, clock: Callable[[], datetime] = datetime.now
             ) -> KnowledgeBase:
        """Connect and (by default) upgrade the schema to the newest migration."""
        engine = db.make_engine(url)
        if upgrade:
            db.upgrade(engine)
        return cls(engine, clock=clock)

    def bound_to(self, conn: Connection) -> KnowledgeBase:
        """This knowledge base inside ``conn``'s transaction: every call joins it, and any failure rolls
        all of it back (the set-up loads whole or not at all, see :func:`kb.db.setup_transaction`)."""
        bound = KnowledgeBase(self.engine, clock=self.clock)
        bound._sessions = db.session_factory(conn)
        return bound

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def is_shared(self) -> bool:
        return self.engine.dialect.name != "sqlite"

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commit on success, roll back on any error."""
        s = self._sessions()
        try:
            yield s
            s.commit()
        except KbError:
            s.rollback()
            raise
        except IntegrityError as exc:
            s.rollback()
            raise ValidationError(f"数据冲突 (integrity)：{exc.orig}") from exc
        except DataError as exc:  # a value the database refuses (too long, NUL, out of range): bad input
            s.rollback()
            raise ValidationError(f"内容不符合数据库要求 (data)：{exc.orig}") from exc
        except DBAPIError as exc:
            s.rollback()
            raise StorageError(f"数据库错误 (database)：{exc.orig}") from exc
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    # ----------------------------------------------------------- bookkeeping
    def _now(self) -> datetime:
        return self.clock().replace(microsecond=0)

    def _log_change(self, s: Session, kind: str, object_id: int, op: str) -> int:
        row = m.ChangeLog(at=self._now(), kind=kind, object_id=object_id, op=op)
        s.add(row)
        s.flush()
        return row.id

    def _audit(self, s: Session, user: str, action: str, kind: str, obj: object,
               detail: Mapping[str, Any] | None = None) -> None:
        s.add(m.AuditLog(at=self._now(), user=user, action=action, object_kind=kind,
                         object_id=str(obj), detail=dict(detail or {})))

    def revision(self) -> int:
        """The database-wide change counter (0 for an empty base)."""
        with self.session() as s:
            return int(s.scalar(select(func.max(m.ChangeLog.id))) or 0)

    def changes_since(self, revision: int) -> Changes:
        """Entries changed after ``revision``: what an index or another seat must catch up on."""
        with self.session() as s:
            rows = s.execute(
                select(m.ChangeLog.id, m.ChangeLog.kind, m.ChangeLog.object_id, m.ChangeLog.op)
                .where(m.ChangeLog.id > revision).order_by(m.ChangeLog.id)
            ).all()
        upserted: set[int] = set()
        deleted: set[int] = set()
        departments = False
        rev = revision
        for rid, kind, oid, op in rows:
            rev = rid
            if kind == "entry":
                if op == "delete":
                    upserted.discard(oid)
                    deleted.add(oid)
                else:
                    deleted.discard(oid)
                    upserted.add(oid)
            elif kind == "department":
                departments = True
        return Changes(entries_upserted=frozenset(upserted), entries_deleted=frozenset(deleted),
                       departments=departments, revision=rev)

    # ------------------------------------------------------------ categories
    def ensure_category(self, s: Session, path: str, caches: Caches) -> m.Category | None:
        """The category for "一级/二级", creating missing levels."""
        parts = [p.strip() for p in limits.clean_text(path).replace("／", "/").split("/") if p.strip()]
        if not parts:
            return None
        limits.check(m.Category, {"path": "/".join(parts)}, field="category")
        for part in parts:
            limits.check(m.Category, {"name": part}, field="category")
        parent: m.Category | None = None
        for i in range(len(parts)):
            sub = "/".join(parts[: i + 1])
            cat = caches.categories.get(sub)
            if cat is None:
                cat = m.Category(name=parts[i], path=sub, parent_id=parent.id if parent else None)
                s.add(cat)
                s.flush()
                caches.categories[sub] = cat
            parent = cat
        return parent

    def categories(self) -> list[str]:
        """All category paths, sorted."""
        with self.session() as s:
            return sorted(s.scalars(select(m.Category.path)))

    # --------------------------------------------------------------- entries
    def _resolve_department(self, ref: str, caches: Caches) -> m.Department | None:
        if not ref:
            return None
        dept = caches.departments.get(ref.strip())
        if dept is None:
            raise ValidationError(f"department: 承办单位不存在：{ref}")
        return dept

    def upsert_entry(self, s: Session, draft: EntryDraft, *, user: str, caches: Caches,
                     entry: m.Entry | None = None, action: str = "edit", note: str = "",
                     expected_revision: int | None = None,
                     defer: list[tuple[m.Entry, str, str]] | None = None) -> tuple[m.Entry, bool]:
        """Create or update one entry inside ``s``; returns (entry, changed).

        Lookup order: the given row, else by ``draft.external_id``. An unchanged
        draft writes nothing (re-importing the same file is a no-op). With
        ``defer`` (bulk imports) the version, change-log and audit rows are
        queued there for :meth:`finish_entries`, so a thousand rows cost one flush.
        """
        draft = limits.clean_fields(draft)
        _validate_entry_draft(draft)
        limits.check(m.Entry, {"updated_by": user}, field="user")
        if entry is None and draft.external_id and defer is None:  # bulk callers look up in batches
            entry = s.scalar(select(m.Entry).where(m.Entry.external_id == draft.external_id))
        if entry is not None and entry.id is not None and defer is None:
            # Lock the row (PostgreSQL): a save of this entry in flight elsewhere is waited for and what it
            # committed is read, so the loser of a race gets the conflict, never a duplicate version.
            current = s.scalar(select(m.Entry.revision).where(m.Entry.id == entry.id).with_for_update())
            if current is None:
                raise NotFound(f"知识条目 (entry) 已被删除：{entry.external_id}")
            if current != entry.revision:
                s.refresh(entry)
        if entry is not None and expected_revision is not None and entry.revision != expected_revision:
            raise ConflictError(
                f"条目「{entry.title}」已被 {entry.updated_by or '他人'} 于 {entry.updated_at:%H:%M:%S} 修改",
                current_revision=entry.revision, expected_revision=expected_revision)
        category = self.ensure_category(s, draft.category, caches)
        department = self._resolve_department(draft.department, caches)
        now = self._now()
        if entry is None:
            entry = m.Entry(external_id=draft.external_id or "", created_at=now, created_by=user, revision=0,
                            title="", answer="")
            s.add(entry)
            action = "create" if action == "edit" else action
        elif entry_snapshot(entry) == _draft_snapshot(draft, entry.external_id, category, department):
            return entry, False
        entry.title = draft.title.strip()
        entry.answer = draft.answer.strip()
        entry.aliases = list(draft.aliases)
        entry.keywords = list(draft.keywords)
        entry.category = category
        entry.department = department
        entry.basis = draft.basis
        entry.valid_from = draft.valid_from
        entry.valid_to = draft.valid_to
        entry.status = draft.status
        entry.publish_at = draft.publish_at
        entry.revision += 1
        entry.updated_at = now
        entry.updated_by = user
        if defer is not None:
            defer.append((entry, action, note))
        else:
            self.finish_entries(s, [(entry, action, note)], user=user)
        return entry, True

    def finish_entries(self, s: Session, saved: list[tuple[m.Entry, str, str]], *, user: str) -> None:
        """Version, change-log and audit rows for entries just saved (one flush for all)."""
        if not saved:
            return
        s.flush()
        now = self._now()
        versions, changes, audits = [], [], []
        for entry, action, note in saved:
            if not entry.external_id:
                entry.external_id = f"E-{entry.id:06d}"
            versions.append({"entry_id": entry.id, "revision": entry.revision, "snapshot": entry_snapshot(entry),
                             "action": action, "changed_at": now, "changed_by": user, "note": note})
            changes.append({"at": now, "kind": "entry", "object_id": entry.id, "op": "upsert"})
            audits.append({"at": now, "user": user, "action": action, "object_kind": "entry",
                           "object_id": entry.external_id,
                           "detail": {"revision": entry.revision, "title": entry.title}})
        s.flush()
        # Core executemany: these rows need no identity in the session (much faster on PostgreSQL).
        s.execute(insert(m.EntryVersion), versions)
        s.execute(insert(m.ChangeLog), changes)
        s.execute(insert(m.AuditLog), audits)

    def save_entry(self, draft: EntryDraft, *, user: str, entry_id: int | None = None,
                   expected_revision: int | None = None, note: str = "") -> tuple[EntryView, Changes]:
        """Create (``entry_id`` None) or edit an entry with an optimistic revision check.

        The status changes only through :meth:`transition` (review by a second
        person); a new entry starts as a draft. Bulk imports are the admin path
        that sets a status directly.
        """
        with self.session() as s:
            caches = Caches(s)
            row = None
            if entry_id is not None:
                row = s.get(m.Entry, entry_id)
                if row is None:
                    raise NotFound(f"知识条目 (entry) 不存在：{entry_id}")
            current = row.status if row is not None else "draft"
            if draft.status != current:
                raise ValidationError("status: 状态只能通过审核流程修改（送审、发布、归档）")
            row, changed = self.upsert_entry(s, draft, user=user, caches=caches, entry=row, note=note,
                                             expected_revision=expected_revision)
            s.flush()
            view = entry_view(row)
            rev = int(s.scalar(select(func.max(m.ChangeLog.id))) or 0)
        ids = frozenset({view.id}) if changed else frozenset()
        return view, Changes(entries_upserted=ids, revision=rev)

    def transition(self, entry_id: int, to_status: str, *, user: str, expected_revision: int | None = None,
                   note: str = "", publish_at: datetime | None = None) -> tuple[EntryView, Changes]:
        """Move an entry through draft → review → published → archived.

        Publishing needs a reviewer other than the entry's last editor. With a
        future ``publish_at`` the review is recorded now and the entry stays in
        review until :meth:`publish_due` publishes it at that time.
        """
        with self.session() as s:
            row = s.get(m.Entry, entry_id)
            if row is None:
                raise NotFound(f"知识条目 (entry) 不存在：{entry_id}")
            if to_status not in TRANSITIONS.get(row.status, ()):
                raise ValidationError(f"不能从「{row.status}」改为「{to_status}」")
            if to_status == "published" and row.updated_by == user:
                raise ValidationError("发布需要作者以外的审核人 (reviewer ≠ author)")
            scheduled = to_status == "published" and publish_at is not None and publish_at > self._now()
            draft = replace(draft_from_snapshot(entry_snapshot(row)), status="review" if scheduled else to_status,
                            publish_at=publish_at if scheduled else None)
            row, _ = self.upsert_entry(s, draft, user=user, caches=Caches(s), entry=row,
                                       action="schedule_publish" if scheduled else to_status,
                                       note=note, expected_revision=expected_revision)
            if to_status == "published":
                row.reviewed_at = self._now()
                row.reviewed_by = user
            s.flush()
            view = entry_view(row)
            rev = int(s.scalar(select(func.max(m.ChangeLog.id))) or 0)
        return view, Changes(entries_upserted=frozenset({view.id}), revision=rev)

    def delete_entry(self, entry_id: int, *, user: str) -> Changes:
        with self.session() as s:
            row = s.get(m.Entry, entry_id)
            if row is None:
                raise NotFound(f"知识条目 (entry) 不存在：{entry_id}")
            ext = row.external_id
            s.delete(row)
            rev = self._log_change(s, "entry", entry_id, "delete")
            self._audit(s, user, "delete", "entry", ext)
        return Changes(entries_deleted=frozenset({entry_id}), revision=rev)

    def get_entry(self, ref: int | str) -> EntryView:
        """By id (int) or external_id (str)."""
        with self.session() as s:
            row = (s.get(m.Entry, ref) if isinstance(ref, int)
                   else s.scalar(select(m.Entry).where(m.Entry.external_id == ref)))
            if row is None:
                raise NotFound(f"知识条目 (entry) 不存在：{ref}")
            return entry_view(row)

    def get_entries(self, ids: Iterable[int]) -> list[EntryView]:
        wanted = list(ids)
        out: list[EntryView] = []
        with self.session() as s:
            for i in range(0, len(wanted), 500):
                chunk = wanted[i: i + 500]
                out.extend(entry_view(e) for e in s.scalars(select(m.Entry).where(m.Entry.id.in_(chunk))))
        return out

    def iter_entries(self, batch: int = 2000) -> Iterator[EntryView]:
        """Every entry, in id order, in batches (index rebuilds stream this)."""
        last = 0
        while True:
            with self.session() as s:
                rows = [entry_view(e) for e in s.scalars(
                    select(m.Entry).where(m.Entry.id > last).order_by(m.Entry.id).limit(batch))]
            if not rows:
                return
            yield from rows
            last = rows[-1].id

    def list_entries(self, *, status: str | None = None, category: str | None = None,
                     department: str | None = None, limit: int = 500, offset: int = 0) -> list[EntryView]:
        with self.session() as s:
            q = select(m.Entry).order_by(m.Entry.updated_at.desc(), m.Entry.id.desc())
            if status:
                q = q.where(m.Entry.status == status)
            if category:
                q = q.join(m.Category, m.Entry.category_id == m.Category.id).where(
                    (m.Category.path == category) | m.Category.path.startswith(category + "/"))
            if department:
                q = q.join(m.Department, m.Entry.department_id == m.Department.id).where(
                    (m.Department.external_id == department) | (m.Department.name == department))
            return [entry_view(e) for e in s.scalars(q.limit(limit).offset(offset)).unique()]

    def entry_history(self, ref: int | str) -> list[EntryVersionView]:
        entry = self.get_entry(ref)
        with self.session() as s:
            rows = s.scalars(select(m.EntryVersion).where(m.EntryVersion.entry_id == entry.id)
                             .order_by(m.EntryVersion.revision))
            return [EntryVersionView(entry_id=v.entry_id, revision=v.revision, action=v.action,
                                     changed_at=v.changed_at, changed_by=v.changed_by, note=v.note,
                                     snapshot=dict(v.snapshot)) for v in rows]

    def rollback_entry(self, ref: int | str, revision: int, *, user: str,
                       expected_revision: int | None = None) -> tuple[EntryView, Changes]:
        """Restore the content of an earlier version, as a new version (the status stays as it is)."""
        entry = self.get_entry(ref)
        with self.session() as s:
            version = s.scalar(select(m.EntryVersion).where(
                m.EntryVersion.entry_id == entry.id, m.EntryVersion.revision == revision))
            if version is None:
                raise NotFound(f"条目 {entry.external_id} 没有第 {revision} 版")
            row = s.get(m.Entry, entry.id)
            assert row is not None
            draft = replace(draft_from_snapshot(dict(version.snapshot)), status=row.status, publish_at=row.publish_at)
            row, changed = self.upsert_entry(s, draft, user=user, caches=Caches(s), entry=row, action="rollback",
                                             note=f"回滚到第 {revision} 版", expected_revision=expected_revision)
            s.flush()
            view = entry_view(row)
            rev = int(s.scalar(select(func.max(m.ChangeLog.id))) or 0)
        return view, Changes(entries_upserted=frozenset({view.id}) if changed else frozenset(), revision=rev)

    def publish_due(self) -> Changes:
        """Scheduled publishing: entries in review whose ``publish_at`` has come."""
        now = self._now()
        with self.session() as s:
            rows = list(s.scalars(select(m.Entry).where(
                m.Entry.status == "review", m.Entry.publish_at.is_not(None), m.Entry.publish_at <= now,
                m.Entry.reviewed_by != "")))
            ids = set()
            for row in rows:
                row.status = "published"
                row.revision += 1
                row.updated_at = now
                s.add(m.EntryVersion(entry_id=row.id, revision=row.revision, snapshot=entry_snapshot(row),
                                     action="scheduled_publish", changed_at=now, changed_by="system"))
                self._log_change(s, "entry", row.id, "upsert")
                self._audit(s, "system", "scheduled_publish", "entry", row.external_id, {"revision": row.revision})
                ids.add(row.id)
            rev = int(s.scalar(select(func.max(m.ChangeLog.id))) or 0)
        return Changes(entries_upserted=frozenset(ids), revision=rev)

    # ----------------------------------------------------------- departments
    def upsert_department(self, s: Session, data: Mapping[str, Any], *, user: str, caches: Caches
                          ) -> tuple[m.Department, bool]:
        """Create or update a department from field values (import and editor)."""
        data = limits.clean(dict(data))
        ext = str(data.get("external_id") or "").strip()
        name = str(data.get("name") or "").strip()
        if not name:
            raise ValidationError("name: 名称不能为空")
        level = str(data.get("level") or "city").strip()
        if level not in m.DEPARTMENT_LEVELS:
            raise ValidationError(f"level: 应为 {'/'.join(m.DEPARTMENT_LEVELS)} 之一：{level}")
        row = caches.departments.get(ext) if ext else caches.departments.get(name)
        parent_ref = str(data.get("parent") or "").strip()
        parent = caches.departments.get(parent_ref) if parent_ref else None
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
        limits.check(m.Department, {"external_id": ext, "updated_by": user, **values})
        now = self._now()
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
        row.updated_by = user
        s.flush()
        if not row.external_id:
            row.external_id = f"D-{row.id:05d}"
        caches.add_department(row)
        self._log_change(s, "department", row.id, "upsert")
        self._audit(s, user, "save", "department", row.external_id, {"name": row.name})
        return row, True

    def save_department(self, data: Mapping[str, Any], *, user: str, new: bool = False
                        ) -> tuple[DepartmentView, Changes]:
        """Create or update a department; with ``new``, an existing id or name is an error, not an update."""
        with self.session() as s:
            caches = Caches(s)
            if new:
                for key in ("external_id", "name"):
                    value = str(data.get(key) or "").strip()
                    if value and value in caches.departments:
                        raise ValidationError(f"{key}: 已存在：{value}")
            row, _ = self.upsert_department(s, data, user=user, caches=caches)
            parent = s.get(m.Department, row.parent_id) if row.parent_id else None
            view = department_view(row, parent.external_id if parent else "")
            rev = int(s.scalar(select(func.max(m.ChangeLog.id))) or 0)
        return view, Changes(departments=True, revision=rev)

    def departments(self, *, include_inactive: bool = False) -> list[DepartmentView]:
        with self.session() as s:
            rows = list(s.scalars(select(m.Department).order_by(m.Department.level, m.Department.name)))
            by_id = {d.id: d.external_id for d in rows}
            return [department_view(d, by_id.get(d.parent_id or -1, "")) for d in rows
                    if include_inactive or d.active]

    def get_department(self, ref: int | str) -> DepartmentView:
        with self.session() as s:
            row = (s.get(m.Department, ref) if isinstance(ref, int) else s.scalar(
                select(m.Department).where((m.Department.external_id == ref) | (m.Department.name == ref))))
            if row is None:
                raise NotFound(f"承办单位 (department) 不存在：{ref}")
            parent = s.get(m.Department, row.parent_id) if row.parent_id else None
            return department_view(row, parent.external_id if parent else "")

    # --------------------------------------------------------------- scripts
    def upsert_script(self, s: Session, data: Mapping[str, Any], *, user: str) -> tuple[m.Script, bool]:
        data = limits.clean(dict(data))
        ext = str(data.get("external_id") or "").strip()
        title = str(data.get("title") or "").strip()
        body = str(data.get("body") or "").strip()
        kind = str(data.get("kind") or "").strip()
        for field, value in (("title", title), ("body", body), ("kind", kind)):
            if not value:
                raise ValidationError(f"{field}: 不能为空")
        limits.check(m.Script, {"external_id": ext, "title": title, "body": body, "kind": kind, "updated_by": user})
        row = s.scalar(select(m.Script).where(m.Script.external_id == ext)) if ext else None
        now = self._now()
        if row is None:
            row = m.Script(external_id=ext, kind=kind, title=title, body=body, updated_at=now, updated_by=user)
            s.add(row)
        elif (row.kind, row.title, row.body) == (kind, title, body):
            return row, False
        else:
            row.kind, row.title, row.body, row.updated_at, row.updated_by = kind, title, body, now, user
        s.flush()
        if not row.external_id:
            row.external_id = f"S-{row.id:04d}"
        self._audit(s, user, "save", "script", row.external_id)
        return row, True

    def save_script(self, data: Mapping[str, Any], *, user: str) -> tuple[ScriptView, Changes]:
        with self.session() as s:
            r, _ = self.upsert_script(s, data, user=user)
            view = ScriptView(id=r.id, external_id=r.external_id, kind=r.kind, title=r.title, body=r.body,
                              updated_at=r.updated_at)
        return view, Changes(scripts=True, revision=self.revision())

    def delete_script(self, external_id: str, *, user: str) -> Changes:
        self._delete_by_external_id(m.Script, external_id, user=user, kind="script", label="话术")
        return Changes(scripts=True, revision=self.revision())

    def scripts(self, kind: str | None = None) -> list[ScriptView]:
        with self.session() as s:
            q = select(m.Script).order_by(m.Script.kind, m.Script.external_id)
            if kind:
                q = q.where(m.Script.kind == kind)
            return [ScriptView(id=r.id, external_id=r.external_id, kind=r.kind, title=r.title, body=r.body,
                               updated_at=r.updated_at) for r in s.scalars(q)]

    # ------------------------------------------------------------- bulletins
    def upsert_bulletin(self, s: Session, data: Mapping[str, Any]) -> tuple[m.Bulletin, bool]:
        """Create or update a bulletin; returns (bulletin, changed): an unchanged one writes nothing."""
        data = limits.clean(dict(data))
        ext = str(data.get("external_id") or "").strip()
        row = s.scalar(select(m.Bulletin).where(m.Bulletin.external_id == ext)) if ext else None
        starts = parse_datetime(data.get("starts_at"), "starts_at") or self._now()
        values = {"title": str(data.get("title") or "").strip(), "body": str(data.get("body") or ""),
                  "starts_at": starts, "ends_at": parse_datetime(data.get("ends_at"), "ends_at"),
                  "pinned": parse_bool(data.get("pinned"), "pinned", default=False)}
        if not values["title"]:
            raise ValidationError("title: 不能为空")
        limits.check(m.Bulletin, {"external_id": ext, **values})
        if row is None:
            row = m.Bulletin(external_id=ext, **values)
            s.add(row)
        elif all(getattr(row, k) == v for k, v in values.items()):
            return row, False
        else:
            for k, v in values.items():
                setattr(row, k, v)
        s.flush()
        if not row.external_id:
            row.external_id = f"B-{row.id:04d}"
        return row, True

    def bulletins(self, *, active_at: datetime | None = None) -> list[BulletinView]:
        with self.session() as s:
            q = select(m.Bulletin).order_by(m.Bulletin.pinned.desc(), m.Bulletin.starts_at.desc())
            if active_at is not None:
                q = q.where(m.Bulletin.starts_at <= active_at,
                            (m.Bulletin.ends_at.is_(None)) | (m.Bulletin.ends_at >= active_at))
            return [BulletinView(id=b.id, external_id=b.external_id, title=b.title, body=b.body,
                                 starts_at=b.starts_at, ends_at=b.ends_at, pinned=b.pinned)
                    for b in s.scalars(q)]

    # -------------------------------------------------------- routing rules
    def upsert_rule(self, s: Session, data: Mapping[str, Any], caches: Caches, *, user: str = "import"
                    ) -> tuple[m.RoutingRule, bool]:
        """Create or update a routing rule; returns (rule, changed): an unchanged one writes nothing."""
        data = limits.clean(dict(data))
        ext = str(data.get("external_id") or "").strip()
        dept = self._resolve_department(str(data.get("department") or ""), caches)
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
        row = s.scalar(select(m.RoutingRule).where(m.RoutingRule.external_id == ext)) if ext else None
        if row is None:
            row = m.RoutingRule(external_id=ext, **values)
            s.add(row)
        elif all(getattr(row, k) == v for k, v in values.items()):
            return row, False
        else:
            for k, v in values.items():
                setattr(row, k, v)
        s.flush()
        if not row.external_id:
            row.external_id = f"R-{row.id:04d}"
        self._audit(s, user, "save", "routing_rule", row.external_id, {"department": dept.external_id})
        return row, True

    def save_rule(self, data: Mapping[str, Any], *, user: str) -> tuple[RoutingRuleView, Changes]:
        with self.session() as s:
            row, _ = self.upsert_rule(s, data, Caches(s), user=user)
            dept = s.get(m.Department, row.department_id)
            view = rule_view(row, dept.external_id if dept else "")
        return view, Changes(rules=True, revision=self.revision())

    def delete_rule(self, external_id: str, *, user: str) -> Changes:
        self._delete_by_external_id(m.RoutingRule, external_id, user=user, kind="routing_rule", label="路由规则")
        return Changes(rules=True, revision=self.revision())

    def _delete_by_external_id(self, model: type[m.RoutingRule] | type[m.Script], external_id: str, *,
                               user: str, kind: str, label: str) -> None:
        with self.session() as s:
            row = s.scalar(select(model).where(model.external_id == external_id))
            if row is None:
                raise NotFound(f"{label}不存在：{external_id}")
            s.delete(row)
            self._audit(s, user, "delete", kind, external_id)

    def routing_rules(self) -> list[RoutingRuleView]:
        with self.session() as s:
            ext = dict(s.execute(select(m.Department.id, m.Department.external_id)).all())
            return [rule_view(r, ext.get(r.department_id, "")) for r in s.scalars(
                select(m.RoutingRule).order_by(m.RoutingRule.priority.desc(), m.RoutingRule.id))]

    # ------------------------------------------- lexicons: synonyms, words
    def synonyms(self) -> dict[str, list[str]]:
        """colloquial term → official terms (applied by the search at query time)."""
        out: dict[str, list[str]] = {}
        with self.session() as s:
            for term, canonical in s.execute(select(m.Synonym.term, m.Synonym.canonical)
                                             .order_by(m.Synonym.id)):
                out.setdefault(term, []).append(canonical)
        return out

    def set_synonyms(self, pairs: Iterable[tuple[str, str]], *, user: str, replace: bool = True) -> Changes:
        """Store synonym pairs: with ``replace`` exactly these, else these added to the base's."""
        clean = [{"term": a.strip(), "canonical": b.strip()} for a, b in pairs if a.strip() and b.strip()]
        with self.session() as s:
            counts = _sync_list(s, m.Synonym, ("term", "canonical"), clean, replace=replace)
            self._audit_list(s, user, "synonyms", counts, replace=replace)
        return Changes(lexicon=True, revision=self.revision())

    def dict_words(self) -> list[tuple[str, int | None, str]]:
        with self.session() as s:
            return [(w.word, w.freq, w.pos) for w in s.scalars(select(m.DictWord).order_by(m.DictWord.id))]

    def set_dict_words(self, words: Iterable[tuple[str, int | None, str]], *, user: str,
                       replace: bool = True) -> Changes:
        """Store dictionary words: with ``replace`` exactly these, else these added to (or updating) the base's."""
        clean = [{"word": w.strip(), "freq": f, "pos": p} for w, f, p in words if w.strip()]
        with self.session() as s:
            counts = _sync_list(s, m.DictWord, ("word",), clean, replace=replace)
            self._audit_list(s, user, "dictionary", counts, replace=replace)
        return Changes(dictionary=True, revision=self.revision())

    def alert_records(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(terms, kinds) of the alert lexicon as plain records."""
        with self.session() as s:
            return _alert_rows(s)

    def set_alert_records(self, terms: Iterable[Mapping[str, Any]], kinds: Iterable[Mapping[str, Any]], *,
                          user: str, replace: bool = True) -> Changes:
        """Store the alert lexicon: with ``replace`` exactly these lines and kinds, else these laid over the
        base's (a line is known by kind, pattern and polarity, a kind by its code). The result is checked whole."""
        from kb.alerts import AlertLexicon

        new_terms, new_kinds = [dict(t) for t in terms], [dict(k) for k in kinds]
        with self.session() as s:
            if not replace:
                old_terms, old_kinds = _alert_rows(s)
                new_terms = _overlay(old_terms, new_terms, ALERT_TERM_KEY)
                new_kinds = _overlay(old_kinds, new_kinds, ("kind",))
            lexicon = AlertLexicon.from_records(new_terms, new_kinds)  # validates every pattern
            kind_rows = [{"kind": k.kind, "label": k.label, "transfer_to": k.transfer_to, "script": k.script,
                          "severity": k.severity} for k in lexicon.kinds]
            term_rows = [{"kind": t.kind, "pattern": t.pattern, "polarity": t.polarity, "note": t.note}
                         for t in lexicon.terms]
            counts = _sync_list(s, m.AlertKindRow, ("kind",), kind_rows, replace=True)
            counts += _sync_list(s, m.AlertTermRow, ALERT_TERM_KEY, term_rows, replace=True)
            self._audit_list(s, user, "alert_lexicon", counts, replace=replace)
        return Changes(lexicon=True, revision=self.revision())

    def places(self) -> list[dict[str, Any]]:
        with self.session() as s:
            return [{"district": p.district, "street": p.street, "aliases": list(p.aliases or ())}
                    for p in s.scalars(select(m.Place).order_by(m.Place.id))]

    def set_places(self, records: Iterable[Mapping[str, Any]], *, user: str, replace: bool = True) -> Changes:
        """Store gazetteer records: with ``replace`` exactly these, else these added to (or updating) the base's."""
        with self.session() as s:
            self.apply_places(s, records, user=user, replace=replace)
        return Changes(rules=True, revision=self.revision())

    def apply_places(self, s: Session, records: Iterable[Mapping[str, Any]], *, user: str, replace: bool
                     ) -> ListCounts:
        """Gazetteer records into ``s``, by (district, street): new places are added, changed aliases updated,
        unchanged places not written; places the records do not name stay, or are deleted with ``replace``."""
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for r in records:
            district = str(r.get("district") or "").strip()
            if not district:
                raise ValidationError("district: 不能为空")
            street = str(r.get("street") or "").strip()
            rows[(district, street)] = {"district": district, "street": street,
                                        "aliases": list(split_list(r.get("aliases")))}
        counts = _sync_list(s, m.Place, ("district", "street"), list(rows.values()), replace=replace)
        self._audit_list(s, user, "gazetteer", counts, replace=replace)
        return counts

    def _audit_list(self, s: Session, user: str, kind: str, counts: ListCounts, *, replace: bool) -> None:
        if counts.written:  # an unchanged list writes nothing, not even an audit line
            self._audit(s, user, "replace" if replace else "merge", kind, counts.created + counts.updated
                        + counts.unchanged, asdict(counts))

    def get_setting(self, key: str) -> dict[str, Any] | None:
        with self.session() as s:
            row = s.get(m.Setting, key)
            return dict(row.value) if row else None

    def set_setting(self, key: str, value: Mapping[str, Any], *, user: str) -> None:
        limits.check(m.Setting, {"key": key})
        with self.session() as s:
            row = s.get(m.Setting, key)
            if row is None:
                s.add(m.Setting(key=key, value=dict(value)))
            else:
                row.value = dict(value)
            self._audit(s, user, "set", "setting", key)

    # ----------------------------------------------------------- work orders
    def upsert_work_order(self, s: Session, draft: WorkOrderDraft, *, user: str, caches: Caches
                          ) -> tuple[m.WorkOrder, bool]:
        """Insert or update by the client-generated id (saving twice never duplicates); returns (row, changed).

        An unchanged work order writes nothing (re-importing the same file is a no-op).
        """
        draft = limits.clean_fields(draft)
        _validate_work_order(draft)
        from kb.phones import normalize_phone

        phone = normalize_phone(draft.phone) if draft.phone.strip() else ""
        limits.check(m.WorkOrder, {"phone": phone})
        limits.check(m.WorkOrder, {"created_by": user}, field="user")
        category = self.ensure_category(s, draft.category, caches)
        department = self._resolve_department(draft.department, caches)
        entry_id = None
        if draft.entry:
            entry_id = s.scalar(select(m.Entry.id).where(m.Entry.external_id == draft.entry))
            if entry_id is None:
                raise ValidationError(f"entry: 知识条目不存在：{draft.entry}")
        if draft.handling == "dispatched" and department is None:
            raise ValidationError("department: 派单必须选择承办单位")
        status = draft.status or {"answered": "closed", "transferred": "closed"}.get(draft.handling, "dispatched")
        if draft.returned:
            status = "returned"
        values: dict[str, Any] = {
            "external_id": draft.external_id or None, "received_at": draft.received_at, "phone": phone,
            "caller_name": draft.caller_name.strip(), "address": draft.address.strip(),
            "district": draft.district.strip(), "street": draft.street.strip(), "request_type": draft.request_type,
            "urgency": draft.urgency, "text": draft.text.strip(), "category": category, "handling": draft.handling,
            "department": department, "due_at": draft.due_at, "entry_id": entry_id, "status": status,
            "returned": draft.returned, "seat": draft.seat}
        now = self._now()
        row = s.get(m.WorkOrder, draft.id)
        if row is None:
            row = m.WorkOrder(id=draft.id, created_at=now, created_by=user)
            s.add(row)
        elif all(getattr(row, k) == v for k, v in values.items()):
            return row, False
        for k, v in values.items():
            setattr(row, k, v)
        row.updated_at = now
        if status == "closed" and row.closed_at is None:
            row.closed_at = now
        return row, True

    def save_work_order(self, draft: WorkOrderDraft, *, user: str) -> tuple[WorkOrderView, Changes]:
        with self.session() as s:
            row, _ = self.upsert_work_order(s, draft, user=user, caches=Caches(s))
            s.flush()
            self._audit(s, user, "save", "work_order", row.id, {"handling": row.handling})
            view = work_order_view(row, draft.entry)
        return view, Changes(workorders=frozenset({view.id}), revision=self.revision())

    def work_orders_by_phone(self, phone: str, *, days: int = 30, limit: int = 20) -> list[WorkOrderView]:
        """Earlier work orders of the same (normalised) number within ``days``."""
        from kb.phones import normalize_phone

        if not phone.strip():
            return []
        try:
            norm = normalize_phone(phone)
        except ValidationError:
            return []
        since = self._now() - timedelta(days=days)
        with self.session() as s:
            rows = s.scalars(select(m.WorkOrder).where(m.WorkOrder.phone == norm, m.WorkOrder.received_at >= since)
                             .order_by(m.WorkOrder.received_at.desc()).limit(limit))
            return [work_order_view(w) for w in rows]

    def open_work_orders(self, *, district: str = "", street: str = "", limit: int = 200) -> list[WorkOrderView]:
        """Open (not closed) cases, optionally in one place: repeat-complaint detection."""
        with self.session() as s:
            q = select(m.WorkOrder).where(m.WorkOrder.status != "closed")
            if district:
                q = q.where(m.WorkOrder.district == district)
            if street:
                q = q.where(m.WorkOrder.street == street)
            rows = s.scalars(q.order_by(m.WorkOrder.received_at.desc()).limit(limit))
            return [work_order_view(w) for w in rows]

    def get_work_order(self, wid: str) -> WorkOrderView:
        with self.session() as s:
            row = s.get(m.WorkOrder, wid)
            if row is None:
                raise NotFound(f"工单 (work order) 不存在：{wid}")
            ext = s.scalar(select(m.Entry.external_id).where(m.Entry.id == row.entry_id)) if row.entry_id else ""
            return work_order_view(row, ext or "")

    def iter_work_orders(self, *, since: datetime | None = None, batch: int = 5000) -> Iterator[WorkOrderView]:
        """Work orders by (received_at, id), in batches; ``since`` uses the received_at index."""
        last: tuple[datetime, str] | None = None
        while True:
            with self.session() as s:
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

    # ------------------------------------------------- feedback, search log
    def add_feedback(self, entry_id: int | None, kind: str, *, note: str = "", query: str = "",
                     user: str = "") -> None:
        if kind not in ("useful", "outdated", "wrong"):
            raise ValidationError(f"kind: 反馈类型应为 useful/outdated/wrong：{kind}")
        with self.session() as s:
            s.add(m.Feedback(entry_id=entry_id, kind=kind, note=note, query=query, at=self._now(), by=user))

    def log_search(self, mode: str, query: str, hits: int, *, picked_entry_id: int | None = None,
                   user: str = "") -> None:
        with self.session() as s:
            s.add(m.SearchLog(at=self._now(), mode=mode, query=query[:1000], hits=hits,
                              picked_entry_id=picked_entry_id, by=user))

    # ---------------------------------------------------------------- users
    def create_user(self, username: str, *, role: str = "agent", password: str = "",
                    display_name: str = "") -> None:
        from argon2 import PasswordHasher

        if role not in m.ROLES:
            raise ValidationError(f"role: 应为 {'/'.join(m.ROLES)} 之一：{role}")
        limits.check(m.User, {"username": username, "display_name": display_name})
        with self.session() as s:
            if s.scalar(select(m.User).where(m.User.username == username)):
                raise ValidationError(f"用户已存在：{username}")
            s.add(m.User(username=username, role=role, display_name=display_name or username,
                         password_hash=PasswordHasher().hash(password) if password else ""))

    def verify_user(self, username: str, password: str) -> str | None:
        """The user's role when the password matches, else None."""
        from argon2 import PasswordHasher
        from argon2.exceptions import VerificationError

        with self.session() as s:
            user = s.scalar(select(m.User).where(m.User.username == username, m.User.active.is_(True)))
            if user is None or not user.password_hash:
                return None
            try:
                PasswordHasher().verify(user.password_hash, password)
            except VerificationError:
                return None
            return user.role

    def end_shift(self, username: str, at: datetime | None = None) -> None:
        """Record the end of ``username``'s shift ("updates since your last shift" starts here)."""
        when = at or self._now()
        with self.session() as s:
            user = s.scalar(select(m.User).where(m.User.username == username))
            if user is None:
                user = m.User(username=username, display_name=username, role="agent")
                s.add(user)
            user.last_shift_end = when

    @staticmethod
    def probe(url: str) -> str | None:
        """Connect without creating anything; the schema revision found there (None: empty database).

        Raises StorageError when the database cannot be reached.
        """
        engine = db.make_engine(url)
        try:
            with engine.connect() as conn:
                if not inspect(conn).has_table("alembic_version"):
                    return None
                return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar() or "") or None
        except DBAPIError as exc:
            raise StorageError(f"无法连接数据库 (database)：{exc.orig}") from exc
        finally:
            engine.dispose()

    # ---------------------------------------------------------- check/stats
    def check(self, today: date | None = None) -> CheckReport:
        """Expired, expiring within 30 days, not reviewed for 180 days; stale departments."""
        today = today or self._now().date()
        stale = datetime.combine(today - timedelta(days=STALE_DAYS), datetime.min.time())
        items: list[CheckItem] = []
        with self.session() as s:
            for e in s.scalars(select(m.Entry).where(m.Entry.status == "published").order_by(m.Entry.external_id)):
                if e.valid_to and e.valid_to < today:
                    items.append(CheckItem("expired", e.external_id, e.title, f"已于 {e.valid_to} 失效"))
                elif e.valid_to and e.valid_to <= today + timedelta(days=EXPIRING_DAYS):
                    items.append(CheckItem("expiring", e.external_id, e.title, f"将于 {e.valid_to} 到期"))
                last_review = e.reviewed_at or e.updated_at
                if last_review < stale:
                    items.append(CheckItem("unreviewed", e.external_id, e.title,
                                           f"上次审核 {last_review:%Y-%m-%d}，超过 {STALE_DAYS} 天"))
            for d in s.scalars(select(m.Department).where(m.Department.active.is_(True))
                               .order_by(m.Department.external_id)):
                if d.last_verified is None or d.last_verified < stale.date():
                    when = d.last_verified.isoformat() if d.last_verified else "从未核实"
                    items.append(CheckItem("dept_unverified", d.external_id, d.name, f"上次核实：{when}"))
        return CheckReport(tuple(items))

    def stats(self) -> KbStats:
        with self.session() as s:
            def count(q: Any) -> int:
                return int(s.scalar(q) or 0)

            return KbStats(
                revision=count(select(func.max(m.ChangeLog.id))),
                entries=count(select(func.count(m.Entry.id))),
                published=count(select(func.count(m.Entry.id)).where(m.Entry.status == "published")),
                departments=count(select(func.count(m.Department.id))),
                scripts=count(select(func.count(m.Script.id))),
                work_orders=count(select(func.count(m.WorkOrder.id))),
            )

    def is_empty(self) -> bool:
        with self.session() as s:
            return s.scalar(select(m.Entry.id).limit(1)) is None and \
                s.scalar(select(m.Department.id).limit(1)) is None


ALERT_TERM_KEY = ("kind", "pattern", "polarity")


def _alert_rows(s: Session) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    term = m.AlertTermRow  # plain rows, not ORM objects: thousands of example lines
    terms = [{"kind": kind, "pattern": pattern, "polarity": polarity, "note": note}
             for kind, pattern, polarity, note in s.execute(
                 select(term.kind, term.pattern, term.polarity, term.note).order_by(term.id))]
    kinds = [{"kind": k.kind, "label": k.label, "transfer_to": k.transfer_to, "script": k.script,
              "severity": k.severity} for k in s.scalars(select(m.AlertKindRow))]
    return terms, kinds


def _overlay(base: list[dict[str, Any]], given: list[dict[str, Any]], key: tuple[str, ...]) -> list[dict[str, Any]]:
    """``base`` with ``given`` laid over it by ``key``: a given record replaces its namesake, new ones follow."""
    out = {tuple(r.get(k) for k in key): r for r in base}
    for r in given:
        out[tuple(r.get(k) for k in key)] = r
    return list(out.values())


def _sync_list(s: Session, model: type[m.Base], key: tuple[str, ...], records: list[dict[str, Any]], *,
               replace: bool) -> ListCounts:
    """Make ``model``'s table hold ``records`` (the last of several with one ``key`` wins): new rows are
    inserted, changed ones updated, unchanged ones not written; the other rows stay, or go with ``replace``."""
    wanted = {tuple(r[k] for k in key): r for r in records}
    existing = {tuple(getattr(row, k) for k in key): row for row in s.scalars(select(model))}
    created = updated = unchanged = 0
    for ident, rec in wanted.items():
        row = existing.pop(ident, None)
        if row is None:
            s.add(model(**rec))
            created += 1
        elif all(getattr(row, f) == v for f, v in rec.items()):
            unchanged += 1
        else:
            for f, v in rec.items():
                setattr(row, f, v)
            updated += 1
    deleted = 0
    if replace:
        for row in existing.values():
            s.delete(row)
            deleted += 1
    return ListCounts(created=created, updated=updated, unchanged=unchanged, deleted=deleted)


def _draft_snapshot(draft: EntryDraft, external_id: str, category: m.Category | None,
                    department: m.Department | None) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "title": draft.title.strip(),
        "answer": draft.answer.strip(),
        "aliases": list(draft.aliases),
        "keywords": list(draft.keywords),
        "category": category.path if category else "",
        "department": department.external_id if department else "",
        "basis": draft.basis,
        "valid_from": draft.valid_from.isoformat() if draft.valid_from else "",
        "valid_to": draft.valid_to.isoformat() if draft.valid_to else "",
        "status": draft.status,
        "publish_at": draft.publish_at.isoformat(sep=" ") if draft.publish_at else "",
    }


def _validate_entry_draft(d: EntryDraft) -> None:
    if not d.title.strip():
        raise ValidationError("title: 标题不能为空")
    limits.check(m.Entry, {"title": d.title.strip(), "external_id": d.external_id})
    if not d.answer.strip():
        raise ValidationError("answer: 答复口径不能为空")
    if d.status not in m.ENTRY_STATUSES:
        raise ValidationError(f"status: 应为 {'/'.join(m.ENTRY_STATUSES)} 之一：{d.status}")
    if d.valid_from and d.valid_to and d.valid_to < d.valid_from:
        raise ValidationError("valid_to: 失效日期早于生效日期")


def _validate_work_order(d: WorkOrderDraft) -> None:
    if not d.id or len(d.id) > 36:
        raise ValidationError("id: 工单编号无效")
    if not d.text.strip():
        raise ValidationError("text: 诉求内容不能为空")
    limits.check(m.WorkOrder, {"external_id": d.external_id, "caller_name": d.caller_name.strip(),
                               "address": d.address.strip(), "district": d.district.strip(),
                               "street": d.street.strip(), "seat": d.seat})
    if d.request_type not in m.REQUEST_TYPES:
        raise ValidationError(f"request_type: 应为 {'/'.join(m.REQUEST_TYPES)} 之一：{d.request_type}")
    if d.handling not in m.HANDLINGS:
        raise ValidationError(f"handling: 应为 {'/'.join(m.HANDLINGS)} 之一：{d.handling}")
    if d.urgency not in ("danger", "urgent", "normal"):
        raise ValidationError(f"urgency: 应为 danger/urgent/normal 之一：{d.urgency}")
    if d.status and d.status not in m.WORKORDER_STATUSES:
        raise ValidationError(f"status: 应为 {'/'.join(m.WORKORDER_STATUSES)} 之一：{d.status}")
