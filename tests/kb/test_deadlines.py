"""Deadline rules, precedence, working days with make-up days, fallback years, bad records."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta, timezone

import pytest

from kb.deadlines import (
    DEFAULT_RULES,
    REQUEST_TYPES,
    URGENCIES,
    DeadlineRule,
    WorkCalendar,
    compute_due_at,
    find_rule,
    rules_from_records,
    rules_to_records,
)
from kb.errors import ImportRejected, ValidationError

FALLBACK_YEAR = 2099  # no version of chinesecalendar will know this year


@pytest.fixture
def cal() -> WorkCalendar:
    return WorkCalendar()


# ------------------------------------------------------------------ calendar


def test_installed_library_covers_recent_years(cal: WorkCalendar) -> None:
    assert cal.has_official_data(2025)
    assert cal.has_official_data(2026)
    assert not cal.has_official_data(FALLBACK_YEAR)
    assert not cal.has_official_data(2003)


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 2, 14),  # Saturday, make-up day for the Spring Festival
        date(2026, 2, 28),  # Saturday, make-up day for the Spring Festival
        date(2026, 9, 20),  # Sunday, make-up day for National Day
        date(2026, 10, 10),  # Saturday, make-up day for National Day
        date(2025, 9, 28),  # Sunday, make-up day for National Day 2025
    ],
)
def test_make_up_weekend_days_are_workdays(cal: WorkCalendar, day: date) -> None:
    assert day.weekday() >= 5
    assert cal.is_workday(day)


@pytest.mark.parametrize(
    "day",
    [date(2026, 10, 1), date(2026, 10, 5), date(2026, 10, 7), date(2026, 2, 17), date(2026, 1, 2)],
)
def test_holidays_on_weekdays_are_not_workdays(cal: WorkCalendar, day: date) -> None:
    assert day.weekday() < 5
    assert not cal.is_workday(day)


def test_working_days_skip_national_day_and_count_make_up_saturday(cal: WorkCalendar) -> None:
    # 2026-09-30 (Wed); 10-01..10-07 off; 10-08 Thu, 10-09 Fri, 10-10 Sat (make-up) ...
    assert cal.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert cal.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert cal.add_working_days(date(2026, 9, 30), 7) == date(2026, 10, 15)


def test_zero_working_days(cal: WorkCalendar) -> None:
    assert cal.add_working_days(date(2026, 11, 27), 0) == date(2026, 11, 27)  # Friday
    assert cal.add_working_days(date(2026, 11, 28), 0) == date(2026, 11, 30)  # Saturday -> Monday
    with pytest.raises(ValidationError):
        cal.add_working_days(date(2026, 11, 27), -1)


def test_fallback_year_is_monday_to_friday_and_warns_once(
    cal: WorkCalendar, caplog: pytest.LogCaptureFixture
) -> None:
    monday = date(FALLBACK_YEAR, 3, 2)
    assert monday.weekday() == 0
    with caplog.at_level(logging.WARNING, logger="kb.deadlines"):
        week = [cal.is_workday(monday + timedelta(days=i)) for i in range(7)]
        cal.is_workday(date(FALLBACK_YEAR, 6, 1))
    assert week == [True, True, True, True, True, False, False]
    warnings = [r for r in caplog.records if str(FALLBACK_YEAR) in r.getMessage()]
    assert len(warnings) == 1


def test_fallback_keeps_fixed_date_statutory_holidays(cal: WorkCalendar) -> None:
    new_year = date(FALLBACK_YEAR, 1, 1)  # a Thursday
    assert new_year.weekday() == 3
    assert not cal.is_workday(new_year)
    assert not cal.is_workday(date(FALLBACK_YEAR, 10, 1))  # Thursday
    assert not cal.is_workday(date(FALLBACK_YEAR, 5, 1))  # Friday
    assert WorkCalendar(fixed_holidays_in_fallback=False).is_workday(new_year)


def test_admin_calendar_for_uncovered_year() -> None:
    extra_holiday = date(FALLBACK_YEAR, 2, 2)  # a Monday
    extra_workday = date(FALLBACK_YEAR, 2, 7)  # a Saturday
    cal = WorkCalendar(extra_holidays=[extra_holiday], extra_workdays=[extra_workday])
    assert not cal.is_workday(extra_holiday)
    assert cal.is_workday(extra_workday)
    # Friday 01-30: Mon 02-02 is off, Tue..Fri count 1..4, Sat 02-07 counts 5
    assert cal.add_working_days(date(FALLBACK_YEAR, 1, 30), 5) == extra_workday


def test_overrides_win_in_covered_years_too() -> None:
    cal = WorkCalendar(extra_holidays=[date(2026, 11, 30)], extra_workdays=[date(2026, 10, 1)])
    assert not cal.is_workday(date(2026, 11, 30))
    assert cal.is_workday(date(2026, 10, 1))


def test_a_day_cannot_be_both_holiday_and_workday() -> None:
    with pytest.raises(ValidationError, match="2026-12-01"):
        WorkCalendar(extra_holidays=[date(2026, 12, 1)], extra_workdays=[date(2026, 12, 1)])


# ------------------------------------------------------------- compute_due_at


def test_defaults_by_urgency() -> None:
    received = datetime(2026, 10, 1, 23, 30)  # a holiday night: hours do not care
    assert compute_due_at(received, "help", "danger") == datetime(2026, 10, 2, 0, 30)
    assert compute_due_at(received, "complaint", "urgent") == datetime(2026, 10, 2, 1, 30)


def test_defaults_by_type(cal: WorkCalendar) -> None:
    received = datetime(2026, 9, 30, 10, 0)
    due = {t: compute_due_at(received, t, "normal", calendar=cal) for t in REQUEST_TYPES}
    assert due == {
        "consult": datetime(2026, 10, 8, 18, 0),
        "help": datetime(2026, 10, 15, 18, 0),
        "complaint": datetime(2026, 10, 15, 18, 0),
        "report": datetime(2026, 10, 15, 18, 0),
        "suggestion": datetime(2026, 10, 27, 18, 0),
        "praise": None,
    }


def test_working_day_deadline_lands_on_make_up_saturday(cal: WorkCalendar) -> None:
    # Friday before the Spring Festival 2026: the next working day is Saturday 02-14.
    assert compute_due_at(datetime(2026, 2, 13, 9, 0), "consult", "normal", calendar=cal) == datetime(
        2026, 2, 14, 18, 0
    )


def test_receipt_day_is_not_counted_even_late_at_night(cal: WorkCalendar) -> None:
    assert compute_due_at(datetime(2026, 11, 27, 22, 0), "consult", "normal", calendar=cal) == datetime(
        2026, 11, 30, 18, 0
    )
    assert compute_due_at(datetime(2026, 11, 28, 10, 0), "consult", "normal", calendar=cal) == datetime(
        2026, 11, 30, 18, 0
    )


def test_end_of_day_is_configurable() -> None:
    cal = WorkCalendar(end_of_day=time(17, 30))
    assert compute_due_at(datetime(2026, 11, 26, 9, 0), "consult", "normal", calendar=cal) == datetime(
        2026, 11, 27, 17, 30
    )


def test_deadline_crossing_into_an_uncovered_year() -> None:
    cal = WorkCalendar()
    received = datetime(FALLBACK_YEAR - 1, 12, 31, 10, 0)  # 2098-12-31 is a Wednesday
    # 2099-01-01 (Thu) is New Year's Day; Fri 01-02 is the first working day.
    assert compute_due_at(received, "consult", "normal", calendar=cal) == datetime(FALLBACK_YEAR, 1, 2, 18, 0)


def test_time_zone_is_kept(cal: WorkCalendar) -> None:
    beijing = timezone(timedelta(hours=8))
    due = compute_due_at(datetime(2026, 11, 26, 9, 0, tzinfo=beijing), "consult", "normal", calendar=cal)
    assert due == datetime(2026, 11, 27, 18, 0, tzinfo=beijing)
    assert due is not None and due.tzinfo is beijing


def test_default_calendar_is_used_when_none_given() -> None:
    assert compute_due_at(datetime(2026, 9, 30, 10, 0), "consult", "normal") == datetime(2026, 10, 8, 18, 0)


def test_exact_type_beats_wildcard_regardless_of_order() -> None:
    rules = [
        DeadlineRule("*", "normal", 3, "calendar_days", "兜底"),
        DeadlineRule("complaint", "normal", 5, "hours", "投诉"),
    ]
    received = datetime(2026, 11, 26, 9, 0)
    assert compute_due_at(received, "complaint", "normal", rules) == datetime(2026, 11, 26, 14, 0)
    assert compute_due_at(received, "help", "normal", rules) == datetime(2026, 11, 29, 9, 0)
    assert compute_due_at(received, "help", "normal", list(reversed(rules))) == datetime(2026, 11, 29, 9, 0)
    rule = find_rule(rules, "complaint", "normal")
    assert rule is not None and rule.note == "投诉"


def test_wildcard_fallback_in_defaults_when_type_rule_removed() -> None:
    rules = [r for r in DEFAULT_RULES if r.request_type != "help"]
    assert compute_due_at(datetime(2026, 11, 26, 9, 0), "help", "normal", rules) == datetime(
        2026, 11, 27, 9, 0
    )


def test_no_rule_means_no_deadline() -> None:
    rules = [DeadlineRule("complaint", "normal", 5, "hours")]
    assert compute_due_at(datetime(2026, 11, 26, 9, 0), "help", "normal", rules) is None
    assert compute_due_at(datetime(2026, 11, 26, 9, 0), "complaint", "danger", rules) is None


def test_unknown_type_or_urgency() -> None:
    with pytest.raises(ValidationError, match="诉求类型"):
        compute_due_at(datetime(2026, 11, 26), "gossip", "normal")
    with pytest.raises(ValidationError, match="紧急程度"):
        compute_due_at(datetime(2026, 11, 26), "help", "whenever")


def test_defaults_cover_every_pair() -> None:
    for request_type in REQUEST_TYPES:
        for urgency in URGENCIES:
            assert find_rule(DEFAULT_RULES, request_type, urgency) is not None


# ----------------------------------------------------------------- records


def test_records_round_trip() -> None:
    records = rules_to_records(DEFAULT_RULES)
    assert records[0] == {
        "request_type": "*",
        "urgency": "danger",
        "amount": 1,
        "unit": "hours",
        "note": DEFAULT_RULES[0].note,
    }
    assert rules_from_records(records) == list(DEFAULT_RULES)


def test_records_from_spreadsheets_are_accepted() -> None:
    rules = rules_from_records(
        [
            {"request_type": " help ", "urgency": "normal", "amount": "5", "unit": "working_days"},
            {
                "request_type": "report",
                "urgency": "normal",
                "amount": 10.0,
                "unit": "calendar_days",
                "note": None,
            },
        ]
    )
    assert rules == [
        DeadlineRule("help", "normal", 5, "working_days", ""),
        DeadlineRule("report", "normal", 10, "calendar_days", ""),
    ]


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"request_type": "gossip", "urgency": "normal", "amount": 1, "unit": "hours"}, "request_type"),
        ({"request_type": "help", "urgency": "soon", "amount": 1, "unit": "hours"}, "urgency"),
        ({"request_type": "help", "urgency": "normal", "amount": 1, "unit": "weeks"}, "unit"),
        ({"request_type": "help", "urgency": "normal", "amount": -1, "unit": "hours"}, "amount"),
        ({"request_type": "help", "urgency": "normal", "amount": 1.5, "unit": "hours"}, "amount"),
        ({"request_type": "help", "urgency": "normal", "amount": "七", "unit": "hours"}, "amount"),
        ({"request_type": "help", "urgency": "normal", "amount": True, "unit": "hours"}, "amount"),
        ({"request_type": "help", "urgency": "normal", "amount": 0, "unit": "hours"}, "amount"),
        ({"request_type": "help", "urgency": "normal", "amount": 3, "unit": "none"}, "amount"),
        ({"request_type": "help", "urgency": "normal", "unit": "hours"}, "amount"),
        ({"request_type": "help", "urgency": "normal", "amount": 1, "unit": "hours", "amout": 2}, "amout"),
        ({"request_type": "help", "urgency": "normal", "amount": 1, "unit": "hours", "note": 5}, "note"),
    ],
)
def test_bad_record_names_the_field(record: dict[str, object], field: str) -> None:
    good = {"request_type": "consult", "urgency": "normal", "amount": 1, "unit": "working_days"}
    with pytest.raises(ImportRejected) as info:
        rules_from_records([good, record])
    assert [(e.row, e.field) for e in info.value.errors] == [(2, field)]
    assert f"[{field}]" in str(info.value.errors[0])


def test_every_bad_record_is_reported() -> None:
    with pytest.raises(ImportRejected) as info:
        rules_from_records(
            [
                {"request_type": "gossip", "urgency": "soon", "amount": 1, "unit": "hours"},
                "not a dict",  # type: ignore[list-item]
                {"request_type": "help", "urgency": "normal", "amount": 1, "unit": "hours"},
                {"request_type": "help", "urgency": "normal", "amount": 2, "unit": "hours"},
            ]
        )
    assert [(e.row, e.field) for e in info.value.errors] == [
        (1, "request_type"),
        (1, "urgency"),
        (2, "*"),
        (4, "request_type"),
    ]
    assert "重复" in info.value.errors[-1].reason
    assert isinstance(info.value, ValidationError)


def test_rule_constructor_validates() -> None:
    with pytest.raises(ValidationError, match=r"\[unit\]"):
        DeadlineRule("help", "normal", 1, "fortnights")
    with pytest.raises(ValidationError, match=r"\[request_type\]"):
        DeadlineRule("咨询", "normal", 1, "hours")
