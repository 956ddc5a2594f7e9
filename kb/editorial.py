"""Editor-side queries and operations over the knowledge base (no Qt).

Everything here runs on a worker thread of the GUI or in the CLI and returns
frozen dataclasses. Writes go through the area services of
:class:`~kb.service.KnowledgeBase` (``kb.entries``), so versions, the change
log, the audit log and the permission checks stay in one place; reads that
span several tables run here, in a session of ``kb.store``.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Select, func, or_, select

from kb import models as m
from kb.actor import Actor
from kb.convert import draft_from_snapshot, entry_view
from kb.dto import Changes, EntryDraft, EntryView
from kb.errors import ValidationError
from kb.service import KnowledgeBase
from kb.services.entries import EXPIRING_DAYS, STALE_DAYS
from kb.vocab import ENTRY_FLOW, ENTRY_STATUSES, FLAG_KINDS, GAP_KINDS, VERSION_ACTIONS

log = logging.getLogger(__name__)

STATUS_LABELS = ENTRY_STATUSES.labels
ACTION_LABELS = VERSION_ACTIONS.labels
# Editable fields of an entry, in the order the editor shows them (diff, conflict view).
FIELD_LABELS: dict[str, str] = {
    "title": "标题", "answer": "答复口径", "aliases": "问法", "keywords": "关键词", "category": "分类",
    "department": "承办单位", "basis": "政策依据", "valid_from": "生效日期", "valid_to": "失效日期",
    "status": "状态",
}


# ------------------------------------------------------------------ entry list
@dataclass(frozen=True)
class EntryFilter:
    """What the editor's entry table shows. Empty fields do not filter.

    ``expiring``/``expired``/``flagged``/``unreviewed`` are combined with AND,
    like the other fields. ``text`` matches a substring of the title, answer,
    aliases, keywords, basis or external id (case- and width-insensitive).
    ``ids`` restricts the list to these entries, in this order (the ranked
    result of a full-text search).
    """

    status: str = ""
    category: str = ""  # a path; includes its sub-categories
    department: str = ""  # external_id or exact name
    expiring: bool = False  # published, valid_to within EXPIRING_DAYS, not yet past
    expired: bool = False  # valid_to already past (whatever the status)
    flagged: bool = False  # unresolved 过时/有误 feedback from agents
    unreviewed: bool = False  # published, last review (or edit) more than STALE_DAYS ago
    text: str = ""
    ids: tuple[int, ...] | None = None
    limit: int = 500


@dataclass(frozen=True)
class EntryListItem:
    """One row of the entry table: the entry plus its open agent flags."""

    entry: EntryView
    flags: int = 0  # unresolved outdated/wrong feedback
    expired: bool = False
    expiring: bool = False
    unreviewed: bool = False


def _today(kb: KnowledgeBase) -> date:
    return kb.store.clock().date()


def normalise_text(text: str) -> str:
    """Width-, case- and space-insensitive form used for matching and grouping.

    NFKC folds full-width letters, digits and punctuation (ＡＢＣ１２３，) to
    their ASCII forms, which is how the same query typed on different IMEs differs.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"\s+", " ", folded).strip()


def _entry_matches_text(e: m.Entry, needle: str) -> bool:
    hay = " ".join([e.external_id, e.title, e.answer, e.basis, *(e.aliases or ()), *(e.keywords or ())])
    return needle in normalise_text(hay)


def _open_flags(kb: KnowledgeBase, entry_ids: Iterable[int] | None = None) -> dict[int, int]:
    with kb.store.session() as s:
        q = (select(m.Feedback.entry_id, func.count(m.Feedback.id))
             .where(m.Feedback.kind.in_(FLAG_KINDS), m.Feedback.resolved.is_(False),
                    m.Feedback.entry_id.is_not(None))
             .group_by(m.Feedback.entry_id))
        if entry_ids is not None:
            q = q.where(m.Feedback.entry_id.in_(list(entry_ids)))
        return {int(eid): int(n) for eid, n in s.execute(q).all() if eid is not None}


def list_entries(kb: KnowledgeBase, flt: EntryFilter | None = None) -> list[EntryListItem]:
    """Entries for the editor's table, newest change first (or in ``flt.ids`` order)."""
    flt = flt or EntryFilter()
    today = _today(kb)
    soon = today + timedelta(days=EXPIRING_DAYS)
    stale = datetime.combine(today - timedelta(days=STALE_DAYS), datetime.min.time())
    flags = _open_flags(kb)
    if flt.ids is not None and not flt.ids:
        return []
    with kb.store.session() as s:
        q: Select[m.Entry] = select(m.Entry).order_by(m.Entry.updated_at.desc(), m.Entry.id.desc())
        if flt.status:
            q = q.where(m.Entry.status == flt.status)
        if flt.category:
            q = q.join(m.Category, m.Entry.category_id == m.Category.id).where(
                or_(m.Category.path == flt.category, m.Category.path.startswith(flt.category + "/")))
        if flt.department:
            q = q.join(m.Department, m.Entry.department_id == m.Department.id).where(
                or_(m.Department.external_id == flt.department, m.Department.name == flt.department))
        if flt.expiring:
            q = q.where(m.Entry.status == "published", m.Entry.valid_to.is_not(None),
                        m.Entry.valid_to >= today, m.Entry.valid_to <= soon)
        if flt.expired:
            q = q.where(m.Entry.valid_to.is_not(None), m.Entry.valid_to < today)
        if flt.unreviewed:
            q = q.where(m.Entry.status == "published", func.coalesce(m.Entry.reviewed_at, m.Entry.updated_at) < stale)
        if flt.flagged:
            q = q.where(m.Entry.id.in_(list(flags)))
        if flt.ids is not None:
            q = q.where(m.Entry.id.in_(list(flt.ids)))
        needle = normalise_text(flt.text)
        # The text filter runs in Python: aliases/keywords are JSON (escaped \\uXXXX in SQLite),
        # and width folding is not portable SQL. The SQL filters above cut the rows first.
        rows = [e for e in s.scalars(q).unique() if not needle or _entry_matches_text(e, needle)]
        if flt.ids is not None:
            rank = {eid: i for i, eid in enumerate(flt.ids)}
            rows.sort(key=lambda e: rank.get(e.id, len(rank)))
        out: list[EntryListItem] = []
        for e in rows[: flt.limit]:
            view = entry_view(e)
            last_review = e.reviewed_at or e.updated_at
            out.append(EntryListItem(
                entry=view, flags=flags.get(e.id, 0),
                expired=bool(e.valid_to and e.valid_to < today),
                expiring=bool(e.status == "published" and e.valid_to and today <= e.valid_to <= soon),
                unreviewed=e.status == "published" and last_review < stale))
        return out


def allowed_transitions(status: str) -> tuple[str, ...]:
    """Statuses an entry in ``status`` may move to (the service's workflow)."""
    return ENTRY_FLOW.get(status, ())


# -------------------------------------------------------------------- drafts
def draft_of(entry: EntryView) -> EntryDraft:
    """The draft that saves ``entry`` unchanged (the editor form starts from this)."""
    return EntryDraft(
        external_id=entry.external_id, title=entry.title, answer=entry.answer, aliases=entry.aliases,
        keywords=entry.keywords, category=entry.category, department=entry.department_external_id,
        basis=entry.basis, valid_from=entry.valid_from, valid_to=entry.valid_to, status=entry.status,
        publish_at=entry.publish_at)


def draft_values(d: EntryDraft) -> dict[str, str]:
    """Each editable field of ``d`` as display text (diff and conflict view)."""
    return {
        "title": d.title.strip(), "answer": d.answer.strip(), "aliases": "\n".join(d.aliases),
        "keywords": "、".join(d.keywords), "category": d.category, "department": d.department,
        "basis": d.basis, "valid_from": d.valid_from.isoformat() if d.valid_from else "",
        "valid_to": d.valid_to.isoformat() if d.valid_to else "", "status": d.status,
    }


def snapshot_values(snapshot: dict[str, Any]) -> dict[str, str]:
    """Display text of a stored version snapshot, like :func:`draft_values`."""
    return draft_values(draft_from_snapshot(snapshot))


# ----------------------------------------------------------------- conflicts
@dataclass(frozen=True)
class Conflict:
    """Two editors saved the same entry: what each has, and a three-way merge.

    ``base`` is the version the editor started from, ``theirs`` what is in the
    database now, ``mine`` what the editor tried to save. ``merged`` takes every
    field changed on one side only from that side; ``conflicting`` names the
    fields both sides changed differently (``merged`` holds *mine* for those).
    """

    entry_id: int
    base_revision: int
    mine: EntryDraft
    theirs: EntryView
    base: EntryDraft | None
    merged: EntryDraft
    conflicting: tuple[str, ...]
    changed_mine: tuple[str, ...]
    changed_theirs: tuple[str, ...]

    @property
    def current_revision(self) -> int:
        return self.theirs.revision


_MERGE_FIELDS = ("title", "answer", "aliases", "keywords", "category", "department", "basis",
                 "valid_from", "valid_to", "status", "publish_at")


def _same(a: object, b: object) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.strip() == b.strip()
    return a == b


def load_conflict(kb: KnowledgeBase, entry_id: int, mine: EntryDraft, base_revision: int) -> Conflict:
    """Gather what the conflict view shows after a :class:`ConflictError` on save."""
    theirs = kb.entries.get(entry_id)
    theirs_draft = draft_of(theirs)
    base: EntryDraft | None = None
    for v in kb.entries.history(entry_id):
        if v.revision == base_revision:
            base = replace(draft_from_snapshot(dict(v.snapshot)), publish_at=theirs.publish_at)
    merged = mine
    conflicting: list[str] = []
    changed_mine: list[str] = []
    changed_theirs: list[str] = []
    for name in _MERGE_FIELDS:
        mv, tv = getattr(mine, name), getattr(theirs_draft, name)
        bv = getattr(base, name) if base is not None else None
        if _same(mv, tv):
            continue
        if base is None:  # no common ancestor: every difference is a conflict
            conflicting.append(name)
            continue
        mine_changed, theirs_changed = not _same(mv, bv), not _same(tv, bv)
        if mine_changed:
            changed_mine.append(name)
        if theirs_changed:
            changed_theirs.append(name)
        if theirs_changed and not mine_changed:
            merged = replace(merged, **{name: tv})
        elif mine_changed and theirs_changed:
            conflicting.append(name)
    return Conflict(entry_id=entry_id, base_revision=base_revision, mine=mine, theirs=theirs, base=base,
                    merged=merged, conflicting=tuple(conflicting), changed_mine=tuple(changed_mine),
                    changed_theirs=tuple(changed_theirs))


Choice = Literal["mine", "theirs", "merged"]


def resolve_conflict(kb: KnowledgeBase, conflict: Conflict, choice: Choice, *, actor: Actor,
                     merged: EntryDraft | None = None) -> tuple[EntryView, Changes]:
    """Settle a conflict; nothing typed by either editor is lost.

    * ``mine``: save my draft over theirs (theirs stays in the history).
    * ``merged``: save ``merged`` (by default :attr:`Conflict.merged`).
    * ``theirs``: keep the database as it is; my discarded draft is kept in
      the audit log (action ``conflict_discard``) so it can still be copied.

    Raises :class:`ConflictError` again when the entry changed once more
    since the conflict was loaded; the caller reloads and asks again.
    """
    expected = conflict.current_revision
    if choice == "theirs":
        return kb.entries.keep_theirs(conflict.entry_id, actor=actor, expected_revision=expected, detail={
            "revision": expected, "base_revision": conflict.base_revision, "discarded": draft_values(conflict.mine)})
    if choice == "mine":
        draft, note = conflict.mine, f"冲突处理：保留我的修改（覆盖第 {expected} 版）"
    elif choice == "merged":
        draft, note = merged or conflict.merged, f"冲突处理：合并第 {expected} 版与我的修改"
    else:
        raise ValidationError(f"choice: 应为 mine/theirs/merged 之一：{choice}")
    # Status moves only through the workflow: the resolution never changes it behind a reviewer's back.
    draft = replace(draft, status=conflict.theirs.status)
    return kb.entries.save(draft, actor=actor, entry_id=conflict.entry_id, expected_revision=expected, note=note)


# ------------------------------------------------------------- knowledge gaps
GapKind = str  # a code of kb.vocab.GAP_KINDS
GAP_LABELS = GAP_KINDS.labels


@dataclass(frozen=True)
class Gap:
    """One knowledge gap: a query agents keep asking, or an entry agents flagged.

    Search gaps carry the normalised ``query`` (the editor creates an entry
    from it); feedback gaps carry the entry (the editor opens it).
    """

    kind: GapKind
    query: str
    count: int
    last_at: datetime
    entry_id: int | None = None
    entry_external_id: str = ""
    entry_title: str = ""
    notes: tuple[str, ...] = ()
    samples: tuple[str, ...] = field(default=())  # original spellings of the query, most frequent first

    @property
    def label(self) -> str:
        return GAP_LABELS[self.kind]


def _search_gaps(kb: KnowledgeBase, since: datetime | None) -> list[Gap]:
    with kb.store.session() as s:
        # Group by the raw hit count (no bound parameters: PostgreSQL would not match
        # "hits > $1" in the select list with "hits > $2" in GROUP BY).
        picked_expr = m.SearchLog.picked_entry_id.is_not(None)
        q = (select(m.SearchLog.query, m.SearchLog.hits, picked_expr,
                    func.count(m.SearchLog.id), func.max(m.SearchLog.at))
             .group_by(m.SearchLog.query, m.SearchLog.hits, picked_expr))
        if since is not None:
            q = q.where(m.SearchLog.at >= since)
        rows = s.execute(q).all()

    @dataclass
    class Acc:
        empty: int = 0
        shown: int = 0
        picked: int = 0
        last_empty: datetime = datetime.min
        last_shown: datetime = datetime.min
        spellings: dict[str, int] = field(default_factory=dict)

    groups: dict[str, Acc] = {}
    for query, hits, picked, n, last in rows:
        key = normalise_text(query)
        if not key:
            continue
        acc = groups.setdefault(key, Acc())
        acc.spellings[query.strip()] = acc.spellings.get(query.strip(), 0) + int(n)
        if picked:
            acc.picked += int(n)
        elif hits > 0:
            acc.shown += int(n)
            acc.last_shown = max(acc.last_shown, last)
        else:
            acc.empty += int(n)
            acc.last_empty = max(acc.last_empty, last)
    gaps: list[Gap] = []
    for key, acc in groups.items():
        samples = tuple(sorted(acc.spellings, key=lambda sp: -acc.spellings[sp])[:5])
        if acc.empty:
            gaps.append(Gap("no_result", key, acc.empty, acc.last_empty, samples=samples))
        if acc.shown and not acc.picked:  # results were shown, and not once used
            gaps.append(Gap("not_picked", key, acc.shown, acc.last_shown, samples=samples))
    return gaps


def _feedback_gaps(kb: KnowledgeBase, since: datetime | None) -> list[Gap]:
    with kb.store.session() as s:
        q = (select(m.Feedback, m.Entry.external_id, m.Entry.title)
             .outerjoin(m.Entry, m.Feedback.entry_id == m.Entry.id)
             .where(m.Feedback.kind.in_(FLAG_KINDS), m.Feedback.resolved.is_(False))
             .order_by(m.Feedback.at.desc()))
        if since is not None:
            q = q.where(m.Feedback.at >= since)
        rows = [(f.entry_id, f.kind, f.note, f.query, f.at, ext or "", title or "") for f, ext, title in s.execute(q)]
    groups: dict[tuple[int | None, str], list[tuple[Any, ...]]] = {}
    for row in rows:
        # Feedback without an entry (deleted since) groups by what the agent searched for.
        key = (row[0], row[1]) if row[0] is not None else (None, row[1] + "\0" + normalise_text(row[3]))
        groups.setdefault(key, []).append(row)
    gaps: list[Gap] = []
    for items in groups.values():
        eid, kind, _, query, last, ext, title = items[0]
        notes = tuple(dict.fromkeys(str(i[2]).strip() for i in items if str(i[2]).strip()))[:5]
        samples = tuple(dict.fromkeys(normalise_text(str(i[3])) for i in items if str(i[3]).strip()))[:5]
        gaps.append(Gap(kind, title or normalise_text(query), len(items), last, entry_id=eid,
                        entry_external_id=ext, entry_title=title, notes=notes, samples=samples))
    return gaps


def knowledge_gaps(kb: KnowledgeBase, *, since: datetime | None = None, limit: int = 100) -> list[Gap]:
    """Searches with no result, results never picked and open agent feedback, most frequent first.

    Queries are grouped by :func:`normalise_text`. A query counts as "never
    picked" when results were shown (``hits > 0``) and no search of it ever
    recorded a picked entry.
    """
    gaps = _search_gaps(kb, since) + _feedback_gaps(kb, since)
    gaps.sort(key=lambda g: (-g.count, -g.last_at.timestamp(), g.kind, g.query))
    return gaps[:limit]


def draft_for_gap(gap: Gap) -> EntryDraft:
    """A new-entry draft seeded from a search gap: the query as title and as an alias."""
    aliases = tuple(dict.fromkeys(s for s in (gap.query, *gap.samples) if s))
    return EntryDraft(title=gap.samples[0] if gap.samples else gap.query, answer="", aliases=aliases)


# ------------------------------------------------------ updates for agents
UpdateKind = Literal["new", "changed", "withdrawn"]
UPDATE_LABELS: dict[str, str] = {"new": "新增", "changed": "更新", "withdrawn": "下架"}


@dataclass(frozen=True)
class EntryUpdate:
    """An entry agents should know about: published, changed or withdrawn since a time."""

    kind: UpdateKind
    entry: EntryView
    changed_at: datetime
    changed_by: str
    changed_fields: tuple[str, ...] = ()  # for "changed": which fields differ from what agents saw before

    @property
    def label(self) -> str:
        return UPDATE_LABELS[self.kind]


_AGENT_FIELDS = ("title", "answer", "aliases", "keywords", "category", "department", "basis",
                 "valid_from", "valid_to")


def updates_since(kb: KnowledgeBase, when: datetime, *, limit: int = 200) -> list[EntryUpdate]:
    """What changed for agents after ``when`` (the "updates since your last shift" list), newest first.

    Only what agents can see counts: an entry published after ``when`` is
    "new" (or "changed" when it was already published before), a published
    entry archived since is "withdrawn". Drafts and review edits are not listed.
    """
    with kb.store.session() as s:
        touched = list(s.scalars(select(m.EntryVersion.entry_id).where(m.EntryVersion.changed_at > when)
                                 .distinct()))
        out: list[EntryUpdate] = []
        for i in range(0, len(touched), 500):
            chunk = touched[i: i + 500]
            versions: dict[int, list[m.EntryVersion]] = {}
            for v in s.scalars(select(m.EntryVersion).where(m.EntryVersion.entry_id.in_(chunk))
                               .order_by(m.EntryVersion.revision)):
                versions.setdefault(v.entry_id, []).append(v)
            entries = {e.id: e for e in s.scalars(select(m.Entry).where(m.Entry.id.in_(chunk))).unique()}
            for eid, vs in versions.items():
                row = entries.get(eid)
                if row is None:
                    continue
                before = [v for v in vs if v.changed_at <= when]
                after = [v for v in vs if v.changed_at > when]
                seen = before[-1].snapshot if before and before[-1].snapshot.get("status") == "published" else None
                last = after[-1]
                if row.status == "published":
                    if seen is None:
                        kind: UpdateKind = "new"
                        diff: tuple[str, ...] = ()
                    else:
                        now_snap = last.snapshot
                        diff = tuple(f for f in _AGENT_FIELDS if seen.get(f) != now_snap.get(f))
                        if not diff:
                            continue
                        kind = "changed"
                    # When it became what agents see now: the last published version after ``when``.
                    pub = [v for v in after if v.snapshot.get("status") == "published"]
                    last = pub[-1] if pub else last
                elif seen is not None or any(
                        v.snapshot.get("status") == "published" for v in after[:-1]):
                    kind, diff = "withdrawn", ()
                else:
                    continue
                out.append(EntryUpdate(kind=kind, entry=entry_view(row), changed_at=last.changed_at,
                                       changed_by=last.changed_by, changed_fields=diff))
    out.sort(key=lambda u: (u.changed_at, u.entry.id), reverse=True)
    return out[:limit]


def changed_field_names(old: EntryDraft, new: EntryDraft) -> tuple[str, ...]:
    """The editable fields that differ between two drafts."""
    a, b = draft_values(old), draft_values(new)
    return tuple(n for n in FIELD_LABELS if a[n] != b[n])
