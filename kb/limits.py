"""What the database accepts, checked before it is asked: one rule for SQLite and PostgreSQL.

PostgreSQL enforces declared lengths (``String(n)``) and refuses NUL characters; SQLite does
neither. So the knowledge base checks both itself, from the model metadata (one place: a column
added later is checked without code):

* :func:`clean_text` / :func:`clean` strip control characters (tab, line feed and carriage return
  stay) and lone surrogates, so no escape sequence is ever stored (a NUL in a JSON column would be
  kept as ``\\u0000``).
* :func:`check` (one field at a time, for a ValidationError naming the caller's field) and
  :func:`problems` (every field, for an import that lists them all) compare values with the model:
  string lengths, 32-bit integers (PostgreSQL's INTEGER; SQLite stores 64 bits), no NaN in JSON.
* :func:`guard` makes every session check every row it flushes, the net under the service's
  own checks: a value nobody checked is still bad input, never a database error.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import JSON, BigInteger, Integer, String, event, inspect
from sqlalchemy.orm import Session, sessionmaker

from kb.errors import ValidationError
from kb.models import Base

T = TypeVar("T")

# C0 controls except \t \n \r, DEL, C1 controls, and UTF-16 surrogates (not encodable as UTF-8).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(value: str) -> str:
    """``value`` without control characters; tab, line feed and carriage return are kept."""
    return _CONTROL.sub("", value) if _CONTROL.search(value) else value


def clean(value: T) -> T:
    """Strings inside ``value`` (a str, or lists, tuples and dicts of them) cleaned; other values unchanged."""
    if not _has_control(value):
        return value
    if isinstance(value, str):
        return clean_text(value)  # type: ignore[return-value]
    if isinstance(value, list | tuple):
        return type(value)(clean(v) for v in value)
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}  # type: ignore[return-value]
    return value


def _has_control(value: Any) -> bool:
    if isinstance(value, str):
        return _CONTROL.search(value) is not None
    if isinstance(value, list | tuple):
        return any(_has_control(v) for v in value)
    if isinstance(value, dict):
        return any(_has_control(k) or _has_control(v) for k, v in value.items())
    return False


def clean_fields(obj: T) -> T:
    """A frozen dataclass (a draft) with every string field cleaned; ``obj`` itself when nothing changed."""
    assert dataclasses.is_dataclass(obj) and not isinstance(obj, type)
    changes = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        cleaned = clean(value)
        if cleaned != value:
            changes[f.name] = cleaned
    return dataclasses.replace(obj, **changes) if changes else obj


@cache
def max_lengths(model: type[Base]) -> Mapping[str, int]:
    """Attribute name → declared length of every ``String(n)`` column of ``model``."""
    out: dict[str, int] = {}
    for attr in inspect(model).column_attrs:
        column_type = attr.columns[0].type
        if isinstance(column_type, String) and column_type.length:
            out[attr.key] = column_type.length
    return out


# PostgreSQL's INTEGER is 32 bits; SQLite stores 64 and would take what PostgreSQL refuses.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


@cache
def _rules(model: type[Base]) -> Mapping[str, tuple[str, int]]:
    """Attribute name → what PostgreSQL enforces on it: ("length", n), ("int32", 0) or ("json", 0)."""
    out: dict[str, tuple[str, int]] = {key: ("length", n) for key, n in max_lengths(model).items()}
    for attr in inspect(model).column_attrs:
        column_type = attr.columns[0].type
        if isinstance(column_type, Integer) and not isinstance(column_type, BigInteger):
            out[attr.key] = ("int32", 0)
        elif isinstance(column_type, JSON):
            out[attr.key] = ("json", 0)
    return out


def _non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, list | tuple):
        return any(_non_finite(v) for v in value)
    if isinstance(value, dict):
        return any(_non_finite(v) for v in value.values())
    return False


def _problem(rule: tuple[str, int], value: Any) -> str | None:
    kind, limit = rule
    if kind == "length" and isinstance(value, str) and len(value) > limit:
        return f"不能超过 {limit} 个字符（现为 {len(value)} 个）"
    if kind == "int32" and isinstance(value, int) and not isinstance(value, bool) and not INT_MIN <= value <= INT_MAX:
        return f"应在 {INT_MIN} 到 {INT_MAX} 之间（现为 {value}）"
    if kind == "json" and _non_finite(value):
        return "不能包含 NaN 或无穷大的数值"
    return None


def problems(model: type[Base], values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(attribute, reason) for every value in ``values`` its column would refuse on PostgreSQL:
    a string too long, an integer beyond 32 bits, a NaN or infinity inside JSON."""
    rules = _rules(model)
    found = ((key, _problem(rules[key], value)) for key, value in values.items() if key in rules)
    return [(key, reason) for key, reason in found if reason]


def check(model: type[Base], values: Mapping[str, Any], *, field: str = "") -> dict[str, Any]:
    """``values`` cleaned (see :func:`clean`), or a ValidationError for the first one the column refuses.

    The error names the attribute, or ``field`` when given (e.g. "category" for a category path).
    """
    cleaned = {key: clean(value) for key, value in values.items()}
    found = problems(model, cleaned)
    if found:
        key, reason = found[0]
        raise ValidationError(f"{field or key}: {reason}", field=field or key)
    return cleaned


@cache
def _row_plan(model: type[Base]) -> tuple[tuple[str, tuple[str, int] | None], ...]:
    rules = _rules(model)
    return tuple((attr.key, rules.get(attr.key)) for attr in inspect(model).column_attrs)


def check_row(row: Base) -> None:
    """Clean and check every loaded column value of an ORM row in place (the flush guard).

    Reads the instance's own dict: a value that is not loaded is not being written, and reading it
    through the attribute would cost a query.
    """
    model = type(row)
    values = row.__dict__
    for key, rule in _row_plan(model):
        value = values.get(key)
        if isinstance(value, str | list | tuple | dict) and _has_control(value):
            value = clean(value)
            setattr(row, key, value)
        if rule is not None and value is not None:
            reason = _problem(rule, value)
            if reason:
                raise ValidationError(f"{key}: {model.__tablename__}.{key} {reason}", field=key)


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    for row in (*session.new, *session.dirty):
        if isinstance(row, Base):
            check_row(row)


def guard(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """Make every session of ``factory`` check the rows it flushes; returns ``factory``."""
    event.listen(factory, "before_flush", _before_flush)
    return factory
