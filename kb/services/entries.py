"""Knowledge entries and their editorial workflow: draft → review → published → archived, versions, rollback."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select

from kb import limits
from kb import models as m
from kb.actor import Actor
from kb.convert import draft_from_snapshot, entry_snapshot, entry_view
from kb.dto import Changes, EntryDraft, EntryVersionView, EntryView
from kb.errors import ConflictError, NotFound, ValidationError
from kb.permissions import require, require_publish
from kb.services.store import Store, UnitOfWork
from kb.vocab import ENTRY_FLOW, ENTRY_STATUSES

log = logging.getLogger(__name__)

STALE_DAYS = 180
EXPIRING_DAYS = 30

Deferred = list[tuple[m.Entry, str, str]]  # (entry, action, note) saved, awaiting finish_entries


def validate_entry_draft(d: EntryDraft) -> None:
    if not d.title.strip():
        raise ValidationError("title: 标题不能为空")
    limits.check(m.Entry, {"title": d.title.strip(), "external_id": d.external_id})
    if not d.answer.strip():
        raise ValidationError("answer: 答复口径不能为空")
    if d.status not in ENTRY_STATUSES:
        raise ValidationError(f"status: 应为 {'/'.join(ENTRY_STATUSES)} 之一：{d.status}")
    if d.valid_from and d.valid_to and d.valid_to < d.valid_from:
        raise ValidationError("valid_to: 失效日期早于生效日期")


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


def upsert_entry(uow: UnitOfWork, draft: EntryDraft, *, actor: Actor, entry: m.Entry | None = None,
                 action: str = "edit", note: str = "", expected_revision: int | None = None,
                 defer: Deferred | None = None) -> tuple[m.Entry, bool]:
    """Create or update one entry inside ``uow``; returns (entry, changed). No permission check: the callers'.

    Lookup order: the given row, else by ``draft.external_id``. An unchanged draft writes nothing
    (re-importing the same file is a no-op). With ``defer`` (bulk imports) the version, change-log and
    audit rows are queued there for :func:`finish_entries`, so a thousand rows cost one flush.
    """
    s = uow.s
    draft = limits.clean_fields(draft)
    validate_entry_draft(draft)
    limits.check(m.Entry, {"updated_by": actor.user_id}, field="user")
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
    category = uow.category(draft.category)
    department = uow.department(draft.department)
    now = uow.now()
    if entry is None:
        entry = m.Entry(external_id=draft.external_id or "", created_at=now, created_by=actor.user_id, revision=0,
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
    entry.updated_by = actor.user_id
    if defer is not None:
        defer.append((entry, action, note))
    else:
        finish_entries(uow, [(entry, action, note)], actor=actor)
    return entry, True


def finish_entries(uow: UnitOfWork, saved: Deferred, *, actor: Actor) -> None:
    """Version, change-log and audit rows for entries just saved (one flush for all)."""
    if not saved:
        return
    s = uow.s
    s.flush()
    now = uow.now()
    versions, changes, audits = [], [], []
    for entry, action, note in saved:
        if not entry.external_id:
            entry.external_id = f"E-{entry.id:06d}"
        versions.append({"entry_id": entry.id, "revision": entry.revision, "snapshot": entry_snapshot(entry),
                         "action": action, "changed_at": now, "changed_by": actor.user_id, "note": note})
        changes.append({"at": now, "kind": "entry", "object_id": entry.id, "op": "upsert"})
        audits.append({"at": now, "user": actor.user_id, "action": action, "object_kind": "entry",
                       "object_id": entry.external_id,
                       "detail": {"revision": entry.revision, "title": entry.title}})
    s.flush()
    # Core executemany: these rows need no identity in the session (much faster on PostgreSQL).
    s.execute(insert(m.EntryVersion), versions)
    s.execute(insert(m.ChangeLog), changes)
    s.execute(insert(m.AuditLog), audits)


def _row(uow: UnitOfWork, entry_id: int) -> m.Entry:
    row = uow.s.get(m.Entry, entry_id)
    if row is None:
        raise NotFound(f"知识条目 (entry) 不存在：{entry_id}")
    return row


class EntryService:
    """``kb.entries``: saving, the review workflow, versions and rollback, reading entries and categories."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # ------------------------------------------------------------ writing
    def save(self, draft: EntryDraft, *, actor: Actor, entry_id: int | None = None,
             expected_revision: int | None = None, note: str = "") -> tuple[EntryView, Changes]:
        """Create (``entry_id`` None) or edit an entry with an optimistic revision check.

        The status changes only through :meth:`transition` (review by a second
        person); a new entry starts as a draft. Bulk imports are the admin path
        that sets a status directly.
        """
        require(actor, "entry.edit")
        with self.store.unit() as uow:
            row = _row(uow, entry_id) if entry_id is not None else None
            current = row.status if row is not None else "draft"
            if draft.status != current:
                raise ValidationError("status: 状态只能通过审核流程修改（送审、发布、归档）")
            row, changed = upsert_entry(uow, draft, actor=actor, entry=row, note=note,
                                        expected_revision=expected_revision)
            uow.s.flush()
            view = entry_view(row)
            rev = uow.revision()
        ids = frozenset({view.id}) if changed else frozenset()
        return view, Changes(entries_upserted=ids, revision=rev)

    def transition(self, entry_id: int, to_status: str, *, actor: Actor, expected_revision: int | None = None,
                   note: str = "", publish_at: datetime | None = None) -> tuple[EntryView, Changes]:
        """Move an entry through draft → review → published → archived.

        Publishing needs a reviewer other than the entry's last editor (:func:`kb.permissions.require_publish`).
        With a future ``publish_at`` the review is recorded now and the entry stays in review until
        :meth:`publish_due` publishes it at that time.
        """
        require(actor, "entry.edit")
        with self.store.unit() as uow:
            row = _row(uow, entry_id)
            if to_status not in ENTRY_FLOW.get(row.status, ()):
                raise ValidationError(f"不能从「{row.status}」改为「{to_status}」")
            if to_status == "published":
                require_publish(actor, row)
            scheduled = to_status == "published" and publish_at is not None and publish_at > uow.now()
            draft = replace(draft_from_snapshot(entry_snapshot(row)), status="review" if scheduled else to_status,
                            publish_at=publish_at if scheduled else None)
            row, _ = upsert_entry(uow, draft, actor=actor, entry=row,
                                  action="schedule_publish" if scheduled else to_status,
                                  note=note, expected_revision=expected_revision)
            if to_status == "published":
                row.reviewed_at = uow.now()
                row.reviewed_by = actor.user_id
            uow.s.flush()
            view = entry_view(row)
            rev = uow.revision()
        return view, Changes(entries_upserted=frozenset({view.id}), revision=rev)

    def delete(self, entry_id: int, *, actor: Actor) -> Changes:
        require(actor, "entry.delete")
        with self.store.unit() as uow:
            row = _row(uow, entry_id)
            ext = row.external_id
            uow.s.delete(row)
            rev = uow.log_change("entry", entry_id, "delete")
            uow.audit(actor, "delete", "entry", ext)
        return Changes(entries_deleted=frozenset({entry_id}), revision=rev)

    def rollback(self, ref: int | str, revision: int, *, actor: Actor,
                 expected_revision: int | None = None) -> tuple[EntryView, Changes]:
        """Restore the content of an earlier version, as a new version (the status stays as it is)."""
        require(actor, "entry.edit")
        entry = self.get(ref)
        with self.store.unit() as uow:
            version = uow.s.scalar(select(m.EntryVersion).where(
                m.EntryVersion.entry_id == entry.id, m.EntryVersion.revision == revision))
            if version is None:
                raise NotFound(f"条目 {entry.external_id} 没有第 {revision} 版")
            row = _row(uow, entry.id)
            draft = replace(draft_from_snapshot(dict(version.snapshot)), status=row.status, publish_at=row.publish_at)
            row, changed = upsert_entry(uow, draft, actor=actor, entry=row, action="rollback",
                                        note=f"回滚到第 {revision} 版", expected_revision=expected_revision)
            uow.s.flush()
            view = entry_view(row)
            rev = uow.revision()
        return view, Changes(entries_upserted=frozenset({view.id}) if changed else frozenset(), revision=rev)

    def keep_theirs(self, entry_id: int, *, actor: Actor, expected_revision: int,
                    detail: Mapping[str, Any]) -> tuple[EntryView, Changes]:
        """Settle a save conflict by keeping the stored version; the discarded draft goes to the audit log
        (action ``conflict_discard``, ``detail``) so it can still be copied. ConflictError when the entry
        changed again since ``expected_revision``."""
        require(actor, "entry.edit")
        with self.store.unit() as uow:
            row = _row(uow, entry_id)
            if row.revision != expected_revision:
                raise ConflictError(f"条目「{row.title}」又被 {row.updated_by or '他人'} 修改",
                                    current_revision=row.revision, expected_revision=expected_revision)
            uow.audit(actor, "conflict_discard", "entry", row.external_id, detail)
            view = entry_view(row)
            rev = uow.revision()
        return view, Changes(revision=rev)

    def publish_due(self, *, actor: Actor) -> Changes:
        """Scheduled publishing: entries in review whose ``publish_at`` has come (a job run as the system)."""
        require(actor, "entry.publish")
        with self.store.unit() as uow:
            now = uow.now()
            rows = list(uow.s.scalars(select(m.Entry).where(
                m.Entry.status == "review", m.Entry.publish_at.is_not(None), m.Entry.publish_at <= now,
                m.Entry.reviewed_by != "")))
            ids = set()
            for row in rows:
                row.status = "published"
                row.revision += 1
                row.updated_at = now
                uow.s.add(m.EntryVersion(entry_id=row.id, revision=row.revision, snapshot=entry_snapshot(row),
                                         action="scheduled_publish", changed_at=now, changed_by=actor.user_id))
                uow.log_change("entry", row.id, "upsert")
                uow.audit(actor, "scheduled_publish", "entry", row.external_id, {"revision": row.revision})
                ids.add(row.id)
            rev = uow.revision()
        return Changes(entries_upserted=frozenset(ids), revision=rev)

    def expire_due(self, *, actor: Actor, today: date | None = None) -> Changes:
        """Archive published entries whose ``valid_to`` has passed, each as a new version by ``actor`` (a job
        run as the system at start-up and every few minutes, next to :meth:`publish_due`).

        An entry an editor saves at the same moment is skipped (revision check) and picked up on the next run.
        """
        require(actor, "entry.edit")
        today = today or self.store.now().date()
        with self.store.session() as s:
            due = list(s.execute(select(m.Entry.id, m.Entry.revision, m.Entry.valid_to).where(
                m.Entry.status == "published", m.Entry.valid_to.is_not(None), m.Entry.valid_to < today)
                .order_by(m.Entry.id)).all())
        changes = Changes(revision=self.store.revision())
        for eid, rev, valid_to in due:
            try:
                _, ch = self.transition(eid, "archived", actor=actor, expected_revision=rev,
                                        note=f"有效期至 {valid_to} 已过，自动下架")
            except (ConflictError, NotFound) as exc:
                log.info("expiry of entry %s skipped: %s", eid, exc)
                continue
            changes = changes | ch
        if changes.entries_upserted:
            log.info("expired %d entries", len(changes.entries_upserted))
        return changes

    # ------------------------------------------------------------ reading
    def get(self, ref: int | str) -> EntryView:
        """By id (int) or external_id (str)."""
        with self.store.session() as s:
            row = (s.get(m.Entry, ref) if isinstance(ref, int)
                   else s.scalar(select(m.Entry).where(m.Entry.external_id == ref)))
            if row is None:
                raise NotFound(f"知识条目 (entry) 不存在：{ref}")
            return entry_view(row)

    def get_many(self, ids: Iterable[int]) -> list[EntryView]:
        wanted = list(ids)
        out: list[EntryView] = []
        with self.store.session() as s:
            for i in range(0, len(wanted), 500):
                chunk = wanted[i: i + 500]
                out.extend(entry_view(e) for e in s.scalars(select(m.Entry).where(m.Entry.id.in_(chunk))))
        return out

    def iter_all(self, batch: int = 2000) -> Iterator[EntryView]:
        """Every entry, in id order, in batches (index rebuilds stream this)."""
        last = 0
        while True:
            with self.store.session() as s:
                rows = [entry_view(e) for e in s.scalars(
                    select(m.Entry).where(m.Entry.id > last).order_by(m.Entry.id).limit(batch))]
            if not rows:
                return
            yield from rows
            last = rows[-1].id

    def find(self, *, status: str | None = None, category: str | None = None, department: str | None = None,
             limit: int = 500, offset: int = 0) -> list[EntryView]:
        """Entries by status, category (with its sub-categories) and department, newest change first."""
        with self.store.session() as s:
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

    def history(self, ref: int | str) -> list[EntryVersionView]:
        entry = self.get(ref)
        with self.store.session() as s:
            rows = s.scalars(select(m.EntryVersion).where(m.EntryVersion.entry_id == entry.id)
                             .order_by(m.EntryVersion.revision))
            return [EntryVersionView(entry_id=v.entry_id, revision=v.revision, action=v.action,
                                     changed_at=v.changed_at, changed_by=v.changed_by, note=v.note,
                                     snapshot=dict(v.snapshot)) for v in rows]

    def categories(self) -> list[str]:
        """All category paths, sorted."""
        with self.store.session() as s:
            return sorted(s.scalars(select(m.Category.path)))
