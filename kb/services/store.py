"""The store every area service shares: engine, sessions, clock, and the unit of work with its bookkeeping.

A public service method opens one unit of work (:meth:`Store.unit`) and does all its writes inside it; the
unit of work writes the change-log rows (what an index or another seat catches up on) and the audit rows
(who did what), and caches the categories and departments its rows look up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from kb import db, limits
from kb import models as m
from kb.actor import Actor
from kb.errors import KbError, StorageError, ValidationError

R = TypeVar("R", m.Script, m.Bulletin, m.RoutingRule)

# What a change-log row can name (kb.service.KnowledgeBase.changes_since reads them back into a Changes).
CHANGE_KINDS = frozenset({"entry", "department", "script", "rule", "bulletin", "synonym", "dictionary", "alert",
                          "place", "setting", "workorder"})


class Store:
    """Engine, session factory and clock. Thread-safe: every unit of work has a session of its own."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = datetime.now,
                 bind: Connection | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self._sessions = db.session_factory(bind if bind is not None else engine)

    def bound_to(self, conn: Connection) -> Store:
        """This store inside ``conn``'s transaction: every unit of work joins it."""
        return Store(self.engine, clock=self.clock, bind=conn)

    def now(self) -> datetime:
        return self.clock().replace(microsecond=0)

    def new_session(self) -> Session:
        """A session the caller commits, rolls back and closes itself (the importer, which maps errors its way)."""
        return self._sessions()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: commit on success, roll back on any error (database errors become KbErrors)."""
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

    @contextmanager
    def unit(self) -> Iterator[UnitOfWork]:
        """A unit of work: :meth:`session` with the bookkeeping and lookups of :class:`UnitOfWork`."""
        with self.session() as s:
            yield UnitOfWork(self, s)

    def revision(self) -> int:
        """The database-wide change counter (0 for an empty base)."""
        with self.unit() as uow:
            return uow.revision()


class UnitOfWork:
    """One transaction of a service call (or of a whole import): the session, bookkeeping, cached lookups.

    Internal to ``kb``: the area services and the importer (:mod:`kb.exchange`) write through it.
    """

    def __init__(self, store: Store, session: Session) -> None:
        self.store = store
        self.s = session
        self._categories: dict[str, m.Category] | None = None
        self._departments: dict[str, m.Department] | None = None
        self._logged: dict[tuple[str, int, str], int] = {}

    def now(self) -> datetime:
        return self.store.now()

    def revision(self) -> int:
        return int(self.s.scalar(select(func.max(m.ChangeLog.id))) or 0)

    # ------------------------------------------------------------ records
    def put(self, model: type[R], ext: str, values: Mapping[str, Any], *, kind: str, prefix: str,
            stamp: Mapping[str, Any] | None = None) -> tuple[R, bool]:
        """Create or update the ``model`` row whose ``external_id`` is ``ext`` with ``values``.

        Returns (row, changed): equal values write nothing; a change also sets ``stamp`` (who and when,
        not compared), a new row without an id gets ``{prefix}-{id:04d}``, and the change is logged as ``kind``.
        """
        row = self.s.scalar(select(model).where(model.external_id == ext)) if ext else None
        if row is None:
            row = model(external_id=ext, **values, **(stamp or {}))
            self.s.add(row)
        elif all(getattr(row, k) == v for k, v in values.items()):
            return row, False
        else:
            for k, v in {**values, **(stamp or {})}.items():
                setattr(row, k, v)
        self.s.flush()
        if not row.external_id:
            row.external_id = f"{prefix}-{row.id:04d}"
        self.log_change(kind, row.id, "upsert")
        return row, True

    # ------------------------------------------------------------ bookkeeping
    def log_change(self, kind: str, object_id: int, op: str) -> int:
        """A change-log row (the revision an index and the other seats catch up to); returns the new revision.

        ``kind`` is one of :data:`CHANGE_KINDS`; a list kind (synonyms, places, ...) logs ``object_id`` 0, once
        per unit of work however many of its rows changed.
        """
        if kind not in CHANGE_KINDS:
            raise ValueError(f"unknown change-log kind: {kind}")
        key = (kind, object_id, op)
        if object_id == 0 and key in self._logged:
            return self._logged[key]
        row = m.ChangeLog(at=self.now(), kind=kind, object_id=object_id, op=op)
        self.s.add(row)
        self.s.flush()
        self._logged[key] = row.id
        return row.id

    def audit(self, actor: Actor, action: str, kind: str, obj: object,
              detail: Mapping[str, Any] | None = None) -> None:
        self.s.add(m.AuditLog(at=self.now(), user=actor.user_id, action=action, object_kind=kind,
                              object_id=str(obj), detail=dict(detail or {})))

    # ------------------------------------------------------------ lookups
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

    def department(self, ref: str) -> m.Department | None:
        """The department named by external id or exact name; None for an empty reference."""
        if not ref:
            return None
        dept = self.departments.get(ref.strip())
        if dept is None:
            raise ValidationError(f"department: 承办单位不存在：{ref}")
        return dept

    def category(self, path: str) -> m.Category | None:
        """The category for "一级/二级", creating missing levels; None for an empty path."""
        parts = [p.strip() for p in limits.clean_text(path).replace("／", "/").split("/") if p.strip()]
        if not parts:
            return None
        limits.check(m.Category, {"path": "/".join(parts)}, field="category")
        for part in parts:
            limits.check(m.Category, {"name": part}, field="category")
        parent: m.Category | None = None
        for i in range(len(parts)):
            sub = "/".join(parts[: i + 1])
            cat = self.categories.get(sub)
            if cat is None:
                cat = m.Category(name=parts[i], path=sub, parent_id=parent.id if parent else None)
                self.s.add(cat)
                self.s.flush()
                self.categories[sub] = cat
            parent = cat
        return parent
