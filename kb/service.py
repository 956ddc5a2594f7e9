"""The knowledge base: one entry point over the area services, for the GUI (on worker threads), the CLI and tests.

``KnowledgeBase.open(url)`` connects; the areas are attributes — ``kb.entries`` (entries and their workflow),
``kb.directory`` (departments, rules, scripts, bulletins, settings), ``kb.lexicons`` (synonyms, dictionary,
alert lexicon, gazetteer), ``kb.work_orders``, ``kb.feedback`` (agents' feedback, search log) and ``kb.users``.
Every public method opens its own unit of work; every mutating one takes an :class:`~kb.actor.Actor`, checks
:mod:`kb.permissions` and returns a :class:`~kb.dto.Changes` naming what changed and the new revision.
What remains here is what crosses the areas: revision, changes, the maintenance check, counts.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, inspect, select, text
from sqlalchemy.exc import DBAPIError

from kb import db
from kb import models as m
from kb.dto import Changes, CheckItem, CheckReport, KbStats
from kb.errors import StorageError, ValidationError
from kb.services.directory import DirectoryService
from kb.services.entries import EXPIRING_DAYS, STALE_DAYS, EntryService
from kb.services.feedback import FeedbackService
from kb.services.lexicons import LexiconService
from kb.services.store import Store
from kb.services.users import UserService
from kb.services.work_orders import WorkOrderService

__all__ = ["DATABASE_ID_SETTING", "KnowledgeBase"]

DATABASE_ID_SETTING = "database_id"


class KnowledgeBase:
    """The areas over one :class:`~kb.services.store.Store`. Thread-safe: each call opens its own session."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = datetime.now,
                 store: Store | None = None) -> None:
        self.store = store or Store(engine, clock=clock)
        self.entries = EntryService(self.store)
        self.directory = DirectoryService(self.store)
        self.lexicons = LexiconService(self.store)
        self.work_orders = WorkOrderService(self.store)
        self.feedback = FeedbackService(self.store)
        self.users = UserService(self.store)

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
        return KnowledgeBase(self.store.engine, store=self.store.bound_to(conn))

    @property
    def url(self) -> str:
        return self.store.engine.url.render_as_string(hide_password=True)

    @property
    def is_shared(self) -> bool:
        return self.store.engine.dialect.name != "sqlite"

    def close(self) -> None:
        self.store.engine.dispose()

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

    # ------------------------------------------------------------ across the areas
    def database_id(self) -> str:
        """A random id this database gets the first time it is asked (a copy made by ``db copy`` keeps it).

        A seat's search index and work-order history record it, so that a seat pointed at another
        database rebuilds them instead of trusting revisions that count another database's changes.
        """
        for _ in range(2):
            with self.store.session() as s:
                row = s.get(m.Setting, DATABASE_ID_SETTING)
                if row is not None:
                    return str(row.value["id"])
            try:
                with self.store.session() as s:
                    s.add(m.Setting(key=DATABASE_ID_SETTING, value={"id": uuid.uuid4().hex}))
            except ValidationError:  # another seat wrote it at the same moment: read theirs
                continue
        raise StorageError("数据库标识无法读取 (database id)")

    def revision(self) -> int:
        """The database-wide change counter (0 for an empty base)."""
        return self.store.revision()

    def changes_since(self, revision: int) -> Changes:
        """Everything changed after ``revision`` (every kind the change log names): what an index or
        another seat must catch up on."""
        log = m.ChangeLog
        with self.store.session() as s:
            rev = int(s.scalar(select(func.max(log.id))) or 0)
            newer = (log.id > revision, log.id <= rev)
            kinds = set(s.scalars(select(log.kind).where(*newer).distinct()))
            rows = s.execute(select(log.object_id, log.op).where(*newer, log.kind == "entry")
                             .order_by(log.id)).all() if "entry" in kinds else []
        upserted: set[int] = set()
        deleted: set[int] = set()
        for oid, op in rows:
            if op == "delete":
                upserted.discard(oid)
                deleted.add(oid)
            else:
                deleted.discard(oid)
                upserted.add(oid)
        return Changes(entries_upserted=frozenset(upserted), entries_deleted=frozenset(deleted),
                       departments="department" in kinds, scripts="script" in kinds,
                       rules=bool(kinds & {"rule", "place"}), lexicon=bool(kinds & {"synonym", "alert"}),
                       dictionary="dictionary" in kinds, synonyms="synonym" in kinds, alerts="alert" in kinds,
                       places="place" in kinds, bulletins="bulletin" in kinds, settings="setting" in kinds,
                       workorders_saved="workorder" in kinds, revision=max(rev, revision))

    def check(self, today: date | None = None) -> CheckReport:
        """Expired, expiring within 30 days, not reviewed for 180 days; stale departments."""
        today = today or self.store.now().date()
        stale = datetime.combine(today - timedelta(days=STALE_DAYS), datetime.min.time())
        items: list[CheckItem] = []
        with self.store.session() as s:
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
        with self.store.session() as s:
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
        with self.store.session() as s:
            return s.scalar(select(m.Entry.id).limit(1)) is None and \
                s.scalar(select(m.Department.id).limit(1)) is None
