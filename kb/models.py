"""SQLAlchemy 2 typed ORM models. Only ``kb`` imports this module.

Times are naive local wall-clock times of the call center (a hotline serves
one city), written by the application, never by the database server.

A ``String(n)`` length is a rule of the product, checked before any write by
:mod:`kb.limits` on SQLite and PostgreSQL alike; free text is ``Text``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from kb import vocab

# The codes of the checked columns (kb.vocab declares them; these names are kept for the callers).
ENTRY_STATUSES = vocab.ENTRY_STATUSES.codes
DEPARTMENT_LEVELS = vocab.DEPARTMENT_LEVELS.codes
REQUEST_TYPES = vocab.REQUEST_TYPES.codes
HANDLINGS = vocab.HANDLINGS.codes
WORKORDER_STATUSES = vocab.WORKORDER_STATUSES.codes
ROLES = vocab.ROLES.codes


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[str]: JSON}


class ChangeLog(Base):
    """The database-wide change counter: every change to indexed data appends a row.

    ``id`` is the revision. An index or another seat catches up by reading the
    rows after the revision it last saw.
    """

    __tablename__ = "change_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    kind: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int] = mapped_column(Integer)
    op: Mapped[str] = mapped_column(String(16))


class Category(Base):
    __tablename__ = "category"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(String(400), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("category.id", ondelete="RESTRICT"))
    code: Mapped[str] = mapped_column(String(32), default="")


class Department(Base):
    __tablename__ = "department"
    __table_args__ = (CheckConstraint(vocab.DEPARTMENT_LEVELS.check_sql("level"), name="ck_department_level"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    short_name: Mapped[str] = mapped_column(String(100), default="")
    level: Mapped[str] = mapped_column(String(16), default=vocab.DEPARTMENT_LEVELS.default)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="SET NULL"))
    district: Mapped[str] = mapped_column(String(50), default="")
    duties: Mapped[str] = mapped_column(Text, default="")
    # Free text (several numbers with their hours, notes): a length limit would protect nothing.
    phone: Mapped[str] = mapped_column(Text, default="")
    duty_phone: Mapped[str] = mapped_column(Text, default="")
    transfer_phone: Mapped[str] = mapped_column(Text, default="")
    hours: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    last_verified: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    updated_by: Mapped[str] = mapped_column(String(64), default="")


class Entry(Base):
    __tablename__ = "entry"
    __table_args__ = (CheckConstraint(vocab.ENTRY_STATUSES.check_sql("status"), name="ck_entry_status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    answer: Mapped[str] = mapped_column(Text)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("category.id", ondelete="SET NULL"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="SET NULL"))
    basis: Mapped[str] = mapped_column(Text, default="")
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=vocab.ENTRY_STATUSES.default, index=True)
    publish_at: Mapped[datetime | None] = mapped_column(DateTime)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    updated_by: Mapped[str] = mapped_column(String(64), default="")
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)
    reviewed_by: Mapped[str] = mapped_column(String(64), default="")

    category: Mapped[Category | None] = relationship(lazy="joined")
    department: Mapped[Department | None] = relationship(lazy="joined")


class EntryVersion(Base):
    """A snapshot of an entry after each save, for history, diff and rollback."""

    __tablename__ = "entry_version"
    __table_args__ = (UniqueConstraint("entry_id", "revision", name="uq_entry_version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    action: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[datetime] = mapped_column(DateTime)
    changed_by: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(Text, default="")


class Script(Base):
    __tablename__ = "script"
    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    updated_by: Mapped[str] = mapped_column(String(64), default="")


class WorkOrder(Base):
    __tablename__ = "work_order"
    __table_args__ = (
        CheckConstraint(vocab.REQUEST_TYPES.check_sql("request_type"), name="ck_wo_request_type"),
        CheckConstraint(vocab.HANDLINGS.check_sql("handling"), name="ck_wo_handling"),
        CheckConstraint(vocab.WORKORDER_STATUSES.check_sql("status"), name="ck_wo_status"),
        Index("ix_wo_phone_received", "phone", "received_at"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # client-generated UUID
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    received_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    phone: Mapped[str] = mapped_column(String(32), default="")
    caller_name: Mapped[str] = mapped_column(String(100), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    district: Mapped[str] = mapped_column(String(50), default="")
    street: Mapped[str] = mapped_column(String(50), default="")
    request_type: Mapped[str] = mapped_column(String(16), default=vocab.REQUEST_TYPES.default)
    urgency: Mapped[str] = mapped_column(String(16), default=vocab.URGENCIES.default)
    text: Mapped[str] = mapped_column(Text, default="")
    category_id: Mapped[int | None] = mapped_column(ForeignKey("category.id", ondelete="SET NULL"))
    handling: Mapped[str] = mapped_column(String(16), default=vocab.HANDLINGS.default)
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="SET NULL"), index=True
    )
    due_at: Mapped[datetime | None] = mapped_column(DateTime)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entry.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default=vocab.WORKORDER_STATUSES.default)
    returned: Mapped[bool] = mapped_column(Boolean, default=False)
    seat: Mapped[str] = mapped_column(String(64), default="")
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)

    category: Mapped[Category | None] = relationship(lazy="joined")
    department: Mapped[Department | None] = relationship(lazy="joined")


class FollowUp(Base):
    __tablename__ = "follow_up"
    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[str] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    resolved: Mapped[bool] = mapped_column(Boolean)
    satisfied: Mapped[bool | None] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text, default="")
    by: Mapped[str] = mapped_column(String(64), default="")


class Bulletin(Base):
    __tablename__ = "bulletin"
    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column(DateTime)
    ends_at: Mapped[datetime | None] = mapped_column(DateTime)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)


class User(Base):
    __tablename__ = "app_user"
    __table_args__ = (CheckConstraint(vocab.ROLES.check_sql("role"), name="ck_user_role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(16), default=vocab.ROLES.default)
    password_hash: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_shift_end: Mapped[datetime | None] = mapped_column(DateTime)


class AuditLog(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    user: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(32))
    object_kind: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class RoutingRule(Base):
    __tablename__ = "routing_rule"
    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(400), default="")
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    district: Mapped[str] = mapped_column(String(50), default="")
    priority: Mapped[int] = mapped_column(Integer, default=50)
    note: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Synonym(Base):
    __tablename__ = "synonym"
    __table_args__ = (UniqueConstraint("term", "canonical", name="uq_synonym"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    term: Mapped[str] = mapped_column(String(100), index=True)
    canonical: Mapped[str] = mapped_column(String(100))


class DictWord(Base):
    """A word of the jieba user dictionary, editable by knowledge editors."""

    __tablename__ = "dict_word"
    id: Mapped[int] = mapped_column(primary_key=True)
    word: Mapped[str] = mapped_column(String(100), unique=True)
    freq: Mapped[int | None] = mapped_column(Integer)
    pos: Mapped[str] = mapped_column(String(16), default="")


class AlertKindRow(Base):
    __tablename__ = "alert_kind"
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    label: Mapped[str] = mapped_column(String(100))
    transfer_to: Mapped[str] = mapped_column(Text)  # an instruction: "119；燃气泄漏同时告知燃气抢修 96777"
    script: Mapped[str] = mapped_column(Text)
    severity: Mapped[int] = mapped_column(Integer, default=1)


class AlertTermRow(Base):
    __tablename__ = "alert_term"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    pattern: Mapped[str] = mapped_column(Text)  # example lines are whole sentences (the shipped ones reach 323)
    polarity: Mapped[str] = mapped_column(String(16), default=vocab.ALERT_POLARITIES.default)
    note: Mapped[str] = mapped_column(Text, default="")


class Place(Base):
    """Gazetteer: districts (street '') and streets/towns with aliases."""

    __tablename__ = "place"
    __table_args__ = (UniqueConstraint("district", "street", name="uq_place"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    district: Mapped[str] = mapped_column(String(50))
    street: Mapped[str] = mapped_column(String(50), default="")
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)


class Feedback(Base):
    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entry.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # vocab.FEEDBACK_KINDS
    note: Mapped[str] = mapped_column(Text, default="")
    query: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime)
    by: Mapped[str] = mapped_column(String(64), default="")
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)


class SearchLog(Base):
    """What agents searched for and whether they used a result (knowledge gaps)."""

    __tablename__ = "search_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    mode: Mapped[str] = mapped_column(String(16))  # vocab.SEARCH_MODES
    query: Mapped[str] = mapped_column(Text)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    picked_entry_id: Mapped[int | None] = mapped_column(ForeignKey("entry.id", ondelete="SET NULL"))
    by: Mapped[str] = mapped_column(String(64), default="")


class Setting(Base):
    """Shared settings stored in the database (deadline rules, city defaults)."""

    __tablename__ = "setting"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
