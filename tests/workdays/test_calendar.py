"""The working-day calendar, checked against the State Council's 2026 schedule (as shipped by
chinesecalendar 1.11): New Year Jan 1–3 (work Sun Jan 4); Spring Festival Feb 15–23 (work Sat
Feb 14, Sat Feb 28); Mid-Autumn Sep 25–27; National Day Oct 1–7 (work Sun Sep 20, Sat Oct 10).
2027 is not shipped, so it falls back to weekends until an admin enters it."""
import logging
from datetime import date, datetime, timedelta, timezone

import chinese_calendar
import pytest
import sqlalchemy as sa

from backend.workdays import calendar as workdays
from backend.workdays.holidays import add_override
from backend.workdays.calendar import (
    add_workdays, coverage, coverage_notice, day_info, due_at, due_date, holiday_name, is_holiday,
    is_workday, next_workday, previous_workday, unknown_years, workdays_between,
)

D = date.fromisoformat


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch):
    # The warning is once per year per process; each test starts as a new process would.
    monkeypatch.setattr(workdays, "_warned_years", set())


@pytest.fixture
def warnings_logged(caplog):
    caplog.set_level(logging.WARNING, logger="lianxin.workdays")
    return lambda: [r for r in caplog.records if r.name == "lianxin.workdays"]


def test_the_shipped_data_is_what_these_tests_assume():
    assert max(chinese_calendar.holidays).year == 2026
    assert chinese_calendar.is_holiday(D("2026-02-15"))
    assert chinese_calendar.is_workday(D("2026-02-14"))  # Saturday, 调休
    assert chinese_calendar.is_workday(D("2026-09-20"))  # Sunday, 调休
    assert chinese_calendar.is_workday(D("2026-10-10"))  # Saturday, 调休


# ---- single days in 2026 ----

def test_spring_festival_2026():
    assert is_holiday(D("2026-02-15")) and not is_workday(D("2026-02-15"))
    assert holiday_name(D("2026-02-15")) == "春节"
    assert all(is_holiday(D("2026-02-15") + timedelta(days=i)) for i in range(9))  # to Feb 23
    assert is_workday(D("2026-02-24"))


def test_a_swapped_saturday_is_a_working_day_named_after_its_holiday():
    day = day_info(D("2026-02-14"))
    assert day.is_workday and not day.is_holiday and day.is_swapped_workday
    assert day.name == "春节" and holiday_name(D("2026-02-14")) is None
    assert is_workday(D("2026-09-20")) and is_workday(D("2026-10-10"))


def test_national_day_2026_and_plain_weekends():
    assert all(holiday_name(D(f"2026-10-0{i}")) == "国庆节" for i in range(1, 8))
    assert is_workday(D("2026-10-08"))
    plain_saturday = D("2026-03-07")
    assert not is_workday(plain_saturday) and not is_holiday(plain_saturday)
    assert holiday_name(plain_saturday) is None and day_info(plain_saturday).source == "official"


def test_next_and_previous_working_day():
    assert next_workday(D("2026-09-30")) == D("2026-10-08")
    assert next_workday(D("2026-09-30"), inclusive=True) == D("2026-09-30")
    assert next_workday(D("2026-10-03"), inclusive=True) == D("2026-10-08")
    assert previous_workday(D("2026-10-08")) == D("2026-09-30")
    assert previous_workday(D("2026-10-12")) == D("2026-10-10")  # the swapped Saturday
    assert previous_workday(D("2026-09-21")) == D("2026-09-20")  # the swapped Sunday


# ---- counting ----

@pytest.mark.parametrize("received, two, fifteen", [
    # Wed before National Day: Oct 8, 9 | …, Sat Oct 10, …, Oct 27
    ("2026-09-30", "2026-10-09", "2026-10-27"),
    # Fri a week earlier: the swapped Sunday Sep 20 counts, Mid-Autumn and National Day don't
    ("2026-09-18", "2026-09-21", "2026-10-15"),
    # received on Mid-Autumn (Fri): counting starts on Mon Sep 28
    ("2026-09-25", "2026-09-29", "2026-10-22"),
    # Fri before Spring Festival: the swapped Saturday Feb 14 is day 1
    ("2026-02-13", "2026-02-24", "2026-03-12"),
    # received on a holiday (Sun Feb 15): Feb 24 is day 1, Sat Feb 28 is day 5
    ("2026-02-15", "2026-02-25", "2026-03-13"),
])
def test_add_workdays_against_the_2026_schedule(received, two, fifteen):
    assert add_workdays(D(received), 2) == D(two)
    assert add_workdays(D(received), 15) == D(fifteen)
    assert workdays_between(D(received), D(fifteen)) == 15


def test_zero_days_means_the_day_itself_or_the_next_working_day():
    assert add_workdays(D("2026-09-30"), 0) == D("2026-09-30")
    assert add_workdays(D("2026-10-01"), 0) == D("2026-10-08")
    with pytest.raises(ValueError):
        add_workdays(D("2026-09-30"), -1)


def test_workdays_between():
    assert workdays_between(D("2026-09-30"), D("2026-09-30")) == 0
    assert workdays_between(D("2026-09-30"), D("2026-10-07")) == 0
    assert workdays_between(D("2026-09-30"), D("2026-10-10")) == 3
    assert workdays_between(D("2026-10-10"), D("2026-09-30")) == -3


def test_due_at_is_the_end_of_the_local_due_day():
    # 01:00 on Sep 30 in Shanghai is still Sep 29 in UTC: the local date is what counts.
    received = datetime(2026, 9, 29, 17, 0, tzinfo=timezone.utc)
    assert due_date(received, 2) == D("2026-10-09")
    assert due_at(received, 2) == datetime(2026, 10, 9, 15, 59, 59, tzinfo=timezone.utc)
    with pytest.raises(ValueError):
        due_at(datetime(2026, 9, 30, 9, 0), 2)  # naive


# ---- years chinesecalendar does not know ----

def test_2027_falls_back_to_weekends_and_warns_once(warnings_logged):
    assert coverage(2027) == "weekends_only"
    assert is_workday(D("2027-01-01"))  # a Friday, New Year's Day in reality
    assert not is_workday(D("2027-01-02")) and not is_holiday(D("2027-01-02"))
    assert add_workdays(D("2027-01-01"), 2) == D("2027-01-05")
    warnings = warnings_logged()
    assert len(warnings) == 1 and "2027" in warnings[0].getMessage()
    assert unknown_years(2025, 2028) == [2027, 2028]
    assert "2027年、2028年的法定节假日尚未录入" in coverage_notice(2026, 2028)
    assert coverage_notice(2025, 2026) is None


def test_counting_across_the_year_end_into_an_unknown_year(warnings_logged):
    # Wed Dec 30: Thu Dec 31 is day 1, Fri Jan 1 2027 counts as a plain Friday.
    assert add_workdays(D("2026-12-30"), 2) == D("2027-01-01")
    assert len(warnings_logged()) == 1


def test_admin_rows_make_2027_admin_kept(warnings_logged):
    add_override(D("2027-01-01"), "holiday", "元旦", actor=None)
    assert coverage(2027) == "admin"
    assert holiday_name(D("2027-01-01")) == "元旦" and not is_workday(D("2027-01-01"))
    assert add_workdays(D("2026-12-30"), 2) == D("2027-01-04")
    # Days the notice doesn't list follow the week, without the missing-data warning.
    assert not is_workday(D("2027-01-02")) and day_info(D("2027-01-04")).source == "admin"
    assert warnings_logged() == []
    assert unknown_years(2026, 2027) == []


def test_an_override_wins_over_chinesecalendar():
    add_override(D("2026-10-08"), "holiday", "台风停工", actor=None)
    add_override(D("2026-10-03"), "workday", "国庆调休", actor=None)
    assert coverage(2026) == "admin"
    assert not is_workday(D("2026-10-08")) and holiday_name(D("2026-10-08")) == "台风停工"
    assert is_workday(D("2026-10-03"))
    assert is_holiday(D("2026-10-04"))  # days without a row keep the official data
    assert add_workdays(D("2026-09-30"), 2) == D("2026-10-09")  # Oct 3, Oct 9


# ---- caching ----

@pytest.fixture
def count_queries(db):
    seen = []

    def listener(conn, cursor, statement, *args):
        if "holiday_overrides" in statement:
            seen.append(statement)
    sa.event.listen(db.engine, "before_cursor_execute", listener)
    yield seen
    sa.event.remove(db.engine, "before_cursor_execute", listener)


def test_one_query_per_year_and_changes_are_seen(count_queries):
    for n in range(1, 40):
        add_workdays(D("2026-09-01"), n)
    assert len(count_queries) == 1
    add_override(D("2026-09-02"), "holiday", "测试", actor=None)
    assert not is_workday(D("2026-09-02"))


def test_a_rollback_forgets_cached_rows(db):
    add_override(D("2027-03-01"), "holiday", "测试", actor=None)
    assert not is_workday(D("2027-03-01"))
    db.session.rollback()
    assert is_workday(D("2027-03-01"))
