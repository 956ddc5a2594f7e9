"""Deadlines (办理时限, ``due_at``) of dispatched cases: configurable rules and working days.

Rules
-----
A :class:`DeadlineRule` maps (request type, urgency) to an amount of time. The most
specific rule wins: an exact request type beats the wildcard ``"*"``; urgency is
always exact. A rule with unit ``"none"`` (amount 0) means "no deadline" and
:func:`compute_due_at` returns ``None``, as it does when no rule applies.

Units:

* ``hours`` – clock hours from the moment the call was received, nights and holidays
  included (emergencies do not wait for Monday);
* ``calendar_days`` – whole days (24 h each) from the moment received;
* ``working_days`` – counted with :class:`WorkCalendar`; the day of receipt is not
  counted (the usual Chinese rule for periods, 期间开始之日不计算在内) and the deadline
  is the *end* of the N-th working day after it (18:00 by default). A call received
  on Monday with "1 working day" is due Tuesday 18:00; one received on Friday night
  or Saturday is due Monday 18:00. Amount 0 means "the end of this working day"
  (or of the next one if received on a day off).
* ``none`` – no deadline (amount must be 0).

Default rules and where they come from
--------------------------------------
Beijing's 接诉即办 system rests on the 《北京市接诉即办工作条例》 (passed by the
Standing Committee of the Beijing People's Congress on 2021-09-24, in force the same
day). As publicly summarised (the article text was not re-checked verbatim for this
module, so treat the numbers as defaults to review, not as legal advice), it
requires: urgent requests involving emergencies or possible loss of life or property
to be handled immediately (立即办理); time-critical requests about water,
electricity, gas and heating within 24 hours; ordinary requests within 7 days;
complicated cases may be extended (commonly reported as up to 15 days). Many 12345
centres (and the press, e.g. "普通事项 7 个工作日内必须办结，复杂情况最长不超过 15 个
工作日") count those days as working days, and answer consults they could not
answer on the call within 1–2 working days. The national guideline
(国办发〔2020〕53号) asks for emergencies to be transferred to 110/119/120/122 or
handled at once, without fixing a number of days.

From this, ``DEFAULT_RULES`` are:

=========== ========= ================ =============================================
type        urgency   deadline         why
=========== ========= ================ =============================================
``*``       danger    1 hour           "立即办理" made measurable: first feedback
                                       within one hour (stricter than the 2 h many
                                       centres use)
``*``       urgent    2 hours          fast response to 及时性诉求 (the 条例's ceiling
                                       for 水电气热 is 24 h; raise it if wanted)
``*``       normal    24 hours         fallback: dispatch and contact the caller
                                       within a day (used only when no type rule)
consult     normal    1 working day    a consult not answered on the call
help        normal    7 working days   "一般诉求 7 日内"
complaint   normal    7 working days   idem
report      normal    7 working days   idem
suggestion  normal    15 working days  suggestions need study: the extended ceiling
praise      normal    none             nothing to handle; passed on for information
=========== ========= ================ =============================================

Every number is one record away from a change (:func:`rules_from_records`): a centre
that reads "7 日" as calendar days sets ``unit`` to ``calendar_days``.

Working-day calendar
--------------------
:class:`WorkCalendar` uses ``chinese_calendar.is_workday``, which knows the State
Council's holidays *and* the make-up working days (调休上班, e.g. Saturday
2026-02-28 is a workday, the 2026 National Day week is not). The installed
``chinesecalendar`` 1.11.0 has data for 2004–2026 and raises ``NotImplementedError``
for other years; the State Council publishes the next year's calendar around
November, so deadlines crossing New Year 2027 hit that gap. For an uncovered year the
calendar falls back to Monday–Friday minus the fixed-date statutory holidays of the
《全国年节及纪念日放假办法》 as revised in 2024 (1 Jan; 1–2 May; 1–3 Oct — the lunar
holidays and the make-up days cannot be predicted), logs one warning per year, and
honours ``extra_holidays`` / ``extra_workdays`` so an admin can type in the official
calendar as soon as it is published (they also override the library for covered
years, e.g. for a local arrangement). Pass ``fixed_holidays_in_fallback=False`` for
a plain Monday–Friday fallback.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final

import chinese_calendar

from kb import vocab
from kb.errors import ImportRejected, RowError, ValidationError

__all__ = [
    "ANY_TYPE",
    "DEFAULT_END_OF_DAY",
    "DEFAULT_RULES",
    "FIXED_STATUTORY_HOLIDAYS",
    "REQUEST_TYPES",
    "UNITS",
    "URGENCIES",
    "DeadlineRule",
    "WorkCalendar",
    "compute_due_at",
    "default_calendar",
    "find_rule",
    "rules_from_records",
    "rules_to_records",
]

log = logging.getLogger(__name__)

REQUEST_TYPES: Final = vocab.REQUEST_TYPES.codes
ANY_TYPE: Final = "*"
URGENCIES: Final = vocab.URGENCIES.codes
UNITS: Final = vocab.DEADLINE_UNITS.codes
DEFAULT_END_OF_DAY: Final = time(18, 0)

_FIELDS: Final = ("request_type", "urgency", "amount", "unit", "note")
_REQUIRED: Final = ("request_type", "urgency", "amount", "unit")
_MAX_AMOUNT: Final = 10_000
# Fixed-date statutory holidays (month, day), 全国年节及纪念日放假办法 (2024 revision, from 2025).
FIXED_STATUTORY_HOLIDAYS: Final = frozenset({(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)})


@dataclass(frozen=True)
class DeadlineRule:
    """How long a (request type, urgency) pair has; ``request_type`` may be ``"*"``."""

    request_type: str
    urgency: str
    amount: int
    unit: str
    note: str = ""

    def __post_init__(self) -> None:
        problems = _rule_problems(self.request_type, self.urgency, self.amount, self.unit, self.note)
        if problems:
            field, reason = problems[0]
            raise ValidationError(f"办理时限规则有误 [{field}]：{reason}")


def _rule_problems(
    request_type: object, urgency: object, amount: object, unit: object, note: object
) -> list[tuple[str, str]]:
    """(field, Chinese reason) for every broken field of a would-be rule."""
    problems: list[tuple[str, str]] = []
    if request_type != ANY_TYPE and request_type not in REQUEST_TYPES:
        allowed = f"{vocab.REQUEST_TYPES.choices()}、{ANY_TYPE}（任意类型）"
        problems.append(("request_type", f"“{request_type}”不是有效的诉求类型，应为 {allowed} 之一"))
    if urgency not in URGENCIES:
        problems.append(("urgency", f"“{urgency}”不是有效的紧急程度，应为 {vocab.URGENCIES.choices()} 之一"))
    if unit not in UNITS:
        problems.append(("unit", f"“{unit}”不是有效的时限单位，应为 {vocab.DEADLINE_UNITS.choices()} 之一"))
    if not isinstance(amount, int) or isinstance(amount, bool):
        problems.append(("amount", f"“{amount}”不是整数"))
    elif amount < 0 or amount > _MAX_AMOUNT:
        problems.append(("amount", f"时限数值应在 0 到 {_MAX_AMOUNT} 之间，实际为 {amount}"))
    elif unit == "none" and amount != 0:
        problems.append(("amount", "单位为 none（不设时限）时数值必须为 0"))
    elif amount == 0 and unit in UNITS and unit != "none" and unit != "working_days":  # 0 hours, 0 days
        problems.append(("amount", "时限为 0 没有意义；不设时限请用单位 none"))
    if not isinstance(note, str):
        problems.append(("note", "说明必须是文字"))
    return problems


DEFAULT_RULES: Final[tuple[DeadlineRule, ...]] = (
    DeadlineRule("*", "danger", 1, "hours", "涉及生命财产安全的紧急诉求：立即派单、立即处置，1 小时内反馈"),
    DeadlineRule("*", "urgent", 2, "hours", "紧急诉求（如停水、停电、停气、停热）：2 小时内响应处置"),
    DeadlineRule("*", "normal", 24, "hours", "一般诉求兜底：24 小时内派单并联系诉求人"),
    DeadlineRule("consult", "normal", 1, "working_days", "咨询：未能即时答复的，1 个工作日内答复"),
    DeadlineRule("help", "normal", 7, "working_days", "求助：7 个工作日内办结"),
    DeadlineRule("complaint", "normal", 7, "working_days", "投诉：7 个工作日内办结"),
    DeadlineRule("report", "normal", 7, "working_days", "举报：7 个工作日内办结"),
    DeadlineRule("suggestion", "normal", 15, "working_days", "建议：15 个工作日内答复"),
    DeadlineRule("praise", "normal", 0, "none", "表扬：无需办理时限"),
)


class WorkCalendar:
    """Chinese working days: official holidays and make-up workdays, with admin overrides.

    ``extra_holidays`` and ``extra_workdays`` win over everything else; for years the
    ``chinese_calendar`` package has no data for, the rest of the year is Monday–Friday
    (minus :data:`FIXED_STATUTORY_HOLIDAYS` unless ``fixed_holidays_in_fallback`` is
    false) and a warning is logged once per year.
    """

    def __init__(
        self,
        *,
        extra_holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
        end_of_day: time = DEFAULT_END_OF_DAY,
        fixed_holidays_in_fallback: bool = True,
    ) -> None:
        self.extra_holidays: frozenset[date] = frozenset(extra_holidays)
        self.extra_workdays: frozenset[date] = frozenset(extra_workdays)
        both = sorted(self.extra_holidays & self.extra_workdays)
        if both:
            days = "、".join(d.isoformat() for d in both)
            raise ValidationError(f"工作日历有误：{days} 同时被设为节假日和工作日")
        self.end_of_day = end_of_day
        self.fixed_holidays_in_fallback = fixed_holidays_in_fallback
        self._coverage: dict[int, bool] = {}
        self._warned: set[int] = set()
        self._lock = threading.Lock()

    def has_official_data(self, year: int) -> bool:
        """Whether the installed ``chinese_calendar`` knows the holidays of ``year``."""
        covered = self._coverage.get(year)
        if covered is None:
            try:
                chinese_calendar.is_workday(date(year, 1, 1))
                covered = True
            except NotImplementedError:
                covered = False
            self._coverage[year] = covered
        return covered

    def is_workday(self, day: date) -> bool:
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        if self.has_official_data(day.year):
            return bool(chinese_calendar.is_workday(day))
        self._warn_fallback(day.year)
        if self.fixed_holidays_in_fallback and (day.month, day.day) in FIXED_STATUTORY_HOLIDAYS:
            return False
        return day.weekday() < 5

    def _warn_fallback(self, year: int) -> None:
        with self._lock:
            if year in self._warned:
                return
            self._warned.add(year)
        log.warning(
            "No official holiday calendar for %d in chinese_calendar; counting Monday-Friday "
            "(minus fixed-date statutory holidays) as working days, with %d admin-entered "
            "holidays / workdays. Add the published "
            "calendar (extra_holidays / extra_workdays) or upgrade chinesecalendar.",
            year,
            sum(1 for d in self.extra_holidays | self.extra_workdays if d.year == year),
        )

    def add_working_days(self, start: date, count: int) -> date:
        """The ``count``-th working day after ``start`` (``start`` itself not counted).

        ``count == 0`` returns ``start`` if it is a working day, else the next one.
        """
        if count < 0:
            raise ValidationError(f"工作日数不能为负数：{count}")
        day = start
        if count == 0:
            while not self.is_workday(day):
                day += timedelta(days=1)
            return day
        remaining = count
        while remaining:
            day += timedelta(days=1)
            if self.is_workday(day):
                remaining -= 1
        return day

    def working_deadline(self, received_at: datetime, count: int) -> datetime:
        """End of the ``count``-th working day after ``received_at``, in its time zone."""
        day = self.add_working_days(received_at.date(), count)
        return datetime.combine(day, self.end_of_day, tzinfo=received_at.tzinfo)


_default_calendar: WorkCalendar | None = None
_default_lock = threading.Lock()


def default_calendar() -> WorkCalendar:
    """The shared calendar used when :func:`compute_due_at` is given none (warns once per year)."""
    global _default_calendar
    with _default_lock:
        if _default_calendar is None:
            _default_calendar = WorkCalendar()
        return _default_calendar


def find_rule(rules: Sequence[DeadlineRule], request_type: str, urgency: str) -> DeadlineRule | None:
    """The rule for (``request_type``, ``urgency``): exact type first, then ``"*"``; first of equals."""
    fallback: DeadlineRule | None = None
    for rule in rules:
        if rule.urgency != urgency:
            continue
        if rule.request_type == request_type:
            return rule
        if rule.request_type == ANY_TYPE and fallback is None:
            fallback = rule
    return fallback


def compute_due_at(
    received_at: datetime,
    request_type: str,
    urgency: str,
    rules: Sequence[DeadlineRule] = DEFAULT_RULES,
    calendar: WorkCalendar | None = None,
) -> datetime | None:
    """The deadline of a case received at ``received_at``, or ``None`` if it has none.

    The result keeps ``received_at``'s time zone (or lack of one).
    """
    if request_type not in REQUEST_TYPES:
        raise ValidationError(f"未知的诉求类型：“{request_type}”")
    if urgency not in URGENCIES:
        raise ValidationError(f"未知的紧急程度：“{urgency}”")
    rule = find_rule(rules, request_type, urgency)
    if rule is None or rule.unit == "none":
        return None
    if rule.unit == "hours":
        return received_at + timedelta(hours=rule.amount)
    if rule.unit == "calendar_days":
        return received_at + timedelta(days=rule.amount)
    return (calendar or default_calendar()).working_deadline(received_at, rule.amount)


def rules_to_records(rules: Iterable[DeadlineRule]) -> list[dict[str, object]]:
    """Plain dicts (JSON / settings / Excel rows) for ``rules``; inverse of :func:`rules_from_records`."""
    return [
        {
            "request_type": r.request_type,
            "urgency": r.urgency,
            "amount": r.amount,
            "unit": r.unit,
            "note": r.note,
        }
        for r in rules
    ]


def rules_from_records(records: Iterable[Mapping[str, object]]) -> list[DeadlineRule]:
    """Build rules from plain dicts, validating all of them.

    Raises :class:`kb.errors.ImportRejected` (a :class:`ValidationError`) listing every
    problem as a :class:`kb.errors.RowError` with the 1-based record number and the
    field name; nothing is returned unless every record is valid. ``note`` is
    optional; ``amount`` may be an int, an integral float or a digit string (what
    spreadsheets produce); a type, an urgency or a unit may be its code or its Chinese
    label (投诉, 紧急, 工作日). Two rules for the same (type, urgency) are rejected.
    """
    errors: list[RowError] = []
    rules: list[DeadlineRule] = []
    seen: dict[tuple[str, str], int] = {}
    for row, raw in enumerate(records, start=1):
        record: object = raw  # JSON may hold anything: check at run time
        if not isinstance(record, Mapping):
            errors.append(RowError(row, "*", "每条规则必须是一个字典（键值对）"))
            continue
        row_errors = [RowError(row, str(key), "未知字段") for key in record if key not in _FIELDS]
        row_errors += [RowError(row, key, "缺少必填字段") for key in _REQUIRED if key not in record]
        if row_errors:
            errors += row_errors
            continue
        request_type = _code(vocab.REQUEST_TYPES, record["request_type"])
        urgency = _code(vocab.URGENCIES, record["urgency"])
        unit = _code(vocab.DEADLINE_UNITS, record["unit"])
        amount = _integer(record["amount"])
        note = record.get("note", "")
        note = "" if note is None else note
        problems = _rule_problems(request_type, urgency, amount, unit, note)
        if problems:
            errors += [RowError(row, field, reason) for field, reason in problems]
            continue
        assert isinstance(request_type, str) and isinstance(urgency, str) and isinstance(unit, str)
        assert isinstance(amount, int) and isinstance(note, str)
        key = (request_type, urgency)
        if key in seen:
            errors.append(
                RowError(row, "request_type", f"与第 {seen[key]} 条规则重复（{key[0]} / {key[1]}）")
            )
            continue
        seen[key] = row
        rules.append(DeadlineRule(request_type, urgency, amount, unit, note))
    if errors:
        raise ImportRejected(errors)
    return rules


def _text(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _code(codes: vocab.Codes, value: object) -> object:
    """The code of a code or a label (投诉 or complaint); anything else as it is, for the message."""
    return (codes.lookup(value) or _text(value)) if isinstance(value, str) else value


def _integer(value: object) -> object:
    """Accept what spreadsheets and JSON produce for a whole number; leave anything else as is."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value
