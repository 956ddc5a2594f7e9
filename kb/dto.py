"""Frozen dataclasses handed to the indexer, the GUI and the CLI (never ORM objects)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from kb import vocab


@dataclass(frozen=True)
class Changes:
    """What a mutation changed, so views and the index refresh only that."""

    entries_upserted: frozenset[int] = frozenset()
    entries_deleted: frozenset[int] = frozenset()
    departments: bool = False
    categories: bool = False
    scripts: bool = False
    rules: bool = False
    lexicon: bool = False
    dictionary: bool = False
    workorders: frozenset[str] = frozenset()
    revision: int = 0
    # Kinds only the change log names (another seat's changes, read by KnowledgeBase.changes_since).
    synonyms: bool = False  # lexicon is set too
    alerts: bool = False  # alert kinds, patterns and example sentences; lexicon is set too
    places: bool = False  # the gazetteer (rules is set too: the router reads places)
    bulletins: bool = False
    settings: bool = False  # center-wide settings (the deadline rules)
    workorders_saved: bool = False  # work orders saved somewhere (ids unknown): the history catches up

    def __or__(self, other: Changes) -> Changes:
        return Changes(
            entries_upserted=(self.entries_upserted | other.entries_upserted) - other.entries_deleted,
            entries_deleted=self.entries_deleted | other.entries_deleted,
            departments=self.departments or other.departments,
            categories=self.categories or other.categories,
            scripts=self.scripts or other.scripts,
            rules=self.rules or other.rules,
            lexicon=self.lexicon or other.lexicon,
            dictionary=self.dictionary or other.dictionary,
            workorders=self.workorders | other.workorders,
            revision=max(self.revision, other.revision),
            synonyms=self.synonyms or other.synonyms,
            alerts=self.alerts or other.alerts,
            places=self.places or other.places,
            bulletins=self.bulletins or other.bulletins,
            settings=self.settings or other.settings,
            workorders_saved=self.workorders_saved or other.workorders_saved,
        )

    @property
    def empty(self) -> bool:
        return self == Changes(revision=self.revision)


@dataclass(frozen=True)
class ListCounts:
    """What storing a list (places, synonyms, words, alert lines) did to its rows."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0

    @property
    def written(self) -> bool:
        return bool(self.created or self.updated or self.deleted)

    def __add__(self, other: ListCounts) -> ListCounts:
        return ListCounts(self.created + other.created, self.updated + other.updated,
                          self.unchanged + other.unchanged, self.deleted + other.deleted)


@dataclass(frozen=True)
class DepartmentView:
    id: int
    external_id: str
    name: str
    short_name: str
    level: str
    parent_external_id: str
    district: str
    duties: str
    phone: str
    duty_phone: str
    transfer_phone: str
    hours: str
    address: str
    last_verified: date | None
    active: bool
    revision: int
    updated_at: datetime

    @property
    def phones(self) -> dict[str, str]:
        """Non-empty phones by role: hotline, duty, transfer (三方转接)."""
        pairs = {"hotline": self.phone, "duty": self.duty_phone, "transfer": self.transfer_phone}
        return {k: v for k, v in pairs.items() if v}


@dataclass(frozen=True)
class EntryView:
    """An entry as the indexer and the GUI see it."""

    id: int
    external_id: str
    title: str
    answer: str
    aliases: tuple[str, ...]
    keywords: tuple[str, ...]
    category: str  # path "社会保障/医疗保险" or ""
    department_id: int | None
    department_external_id: str
    department_name: str
    basis: str
    valid_from: date | None
    valid_to: date | None
    status: str
    revision: int
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str
    reviewed_at: datetime | None = None
    reviewed_by: str = ""
    publish_at: datetime | None = None

    def valid_on(self, day: date) -> bool:
        """Inside its validity dates on ``day`` (either bound may be open)."""
        if self.valid_from and day < self.valid_from:
            return False
        return not (self.valid_to and day > self.valid_to)

    def visible_to_agents(self, day: date) -> bool:
        return self.status == "published" and self.valid_on(day)


@dataclass(frozen=True)
class EntryDraft:
    """What an editor (or an import) submits for an entry."""

    title: str
    answer: str
    external_id: str = ""
    aliases: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    category: str = ""
    department: str = ""  # external_id or exact name
    basis: str = ""
    valid_from: date | None = None
    valid_to: date | None = None
    status: str = vocab.ENTRY_STATUSES.default
    publish_at: datetime | None = None


@dataclass(frozen=True)
class EntryVersionView:
    entry_id: int
    revision: int
    action: str
    changed_at: datetime
    changed_by: str
    note: str
    snapshot: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class ScriptView:
    id: int
    external_id: str
    kind: str
    title: str
    body: str
    updated_at: datetime


@dataclass(frozen=True)
class BulletinView:
    id: int
    external_id: str
    title: str
    body: str
    starts_at: datetime
    ends_at: datetime | None
    pinned: bool


@dataclass(frozen=True)
class RoutingRuleView:
    id: int
    external_id: str
    department_id: int
    department_external_id: str
    category: str
    keywords: tuple[str, ...]
    district: str
    priority: int
    note: str
    active: bool


@dataclass(frozen=True)
class WorkOrderDraft:
    """A work order as the agent's form (or an import) submits it."""

    id: str  # client-generated UUID
    received_at: datetime
    text: str
    phone: str = ""
    caller_name: str = ""
    address: str = ""
    district: str = ""
    street: str = ""
    request_type: str = vocab.REQUEST_TYPES.default
    urgency: str = vocab.URGENCIES.default
    category: str = ""
    handling: str = vocab.HANDLINGS.default
    department: str = ""  # external_id or exact name
    due_at: datetime | None = None
    entry: str = ""  # entry external_id
    status: str = ""  # derived from handling when empty
    returned: bool = False
    seat: str = ""
    external_id: str = ""


@dataclass(frozen=True)
class WorkOrderView:
    id: str
    external_id: str
    received_at: datetime
    phone: str
    caller_name: str
    address: str
    district: str
    street: str
    request_type: str
    urgency: str
    text: str
    category: str
    handling: str
    department_id: int | None
    department_external_id: str
    department_name: str
    due_at: datetime | None
    entry_id: int | None
    entry_external_id: str
    status: str
    returned: bool
    seat: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class CheckItem:
    kind: str  # expired | expiring | unreviewed | dept_unverified
    external_id: str
    title: str
    detail: str


@dataclass(frozen=True)
class CheckReport:
    items: tuple[CheckItem, ...]

    def of_kind(self, kind: str) -> list[CheckItem]:
        return [i for i in self.items if i.kind == kind]


@dataclass(frozen=True)
class KbStats:
    revision: int
    entries: int
    published: int
    departments: int
    scripts: int
    work_orders: int
