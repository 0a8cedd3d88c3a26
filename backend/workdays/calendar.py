"""The Chinese working-day calendar: message clocks and reception days count in it.

Where a day's status comes from, first match wins:
1. ``HolidayOverride`` rows typed in by admins from the State Council's notice;
2. ``chinesecalendar`` for the years it ships (2004–2026 in 1.11);
3. plain weekends (Monday–Friday working), with a warning logged once per year per process.

``coverage(year)`` says which of these a year relies on, so pages can ask admins to fill the gap.

Vocabulary: a *working day* (工作日) is a day people work, including a swapped weekend working
day (调休上班); a *holiday* (法定节假日) is a day inside a statutory holiday period, including the
weekend days the notice lists in it. An ordinary weekend is neither a working day nor a holiday.

Overrides are loaded one year per query and kept on the current database session (one request,
job or command); the holiday operations and any rollback drop that cache.
"""
import functools
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import chinese_calendar
from sqlalchemy import event
from sqlalchemy.orm import Session

from backend.core.cache import TTLCache
from backend.core.extensions import db
from backend.core.timeutil import LOCAL_TZ

log = logging.getLogger("lianxin.workdays")

OFFICIAL_YEARS = range(min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year + 1)
COVERAGE_LABELS = {"official": "已内置国家公布的安排", "admin": "已由管理员录入",
                   "weekends_only": "尚未录入，按周一至周五计算"}
# A longer run of rest days can only be a mistake in the admin table; stop rather than loop.
MAX_REST_RUN = 60
_CACHE_KEY = "lianxin_workday_overrides"
_warned_years: set[int] = set()
_process_cache = TTLCache(ttl_seconds=60)


@dataclass(frozen=True)
class Day:
    date: date
    is_workday: bool
    is_holiday: bool
    name: str | None  # the holiday's name, on holidays and on its swapped working days
    source: str  # where the status came from: "admin" | "official" | "weekends_only"

    @property
    def is_swapped_workday(self) -> bool:
        return self.is_workday and self.date.weekday() >= 5


# ---- one day ----

def day_info(d: date) -> Day:
    d = _as_date(d)
    overrides = _overrides(d.year)
    if d in overrides:
        kind, name = overrides[d]
        return Day(d, kind == "workday", kind == "holiday", name, "admin")
    if d.year in OFFICIAL_YEARS:
        return _official_day(d)
    # An admin-kept year lists only the notice's days; every other day follows the week.
    if not overrides:
        _warn_weekends_only(d.year)
    return Day(d, d.weekday() < 5, False, None, "admin" if overrides else "weekends_only")


def is_workday(d: date) -> bool:
    return day_info(d).is_workday


def is_holiday(d: date) -> bool:
    """A statutory holiday day (not an ordinary weekend)."""
    return day_info(d).is_holiday


def holiday_name(d: date) -> str | None:
    """The holiday's Chinese name on a holiday day, else None (also on swapped working days)."""
    info = day_info(d)
    return info.name if info.is_holiday else None


def next_workday(d: date, *, inclusive: bool = False) -> date:
    """The first working day after ``d`` (or ``d`` itself when ``inclusive`` and it is one)."""
    return _step_to_workday(_as_date(d), 1, inclusive)


def previous_workday(d: date, *, inclusive: bool = False) -> date:
    """The last working day before ``d`` (or ``d`` itself when ``inclusive`` and it is one)."""
    return _step_to_workday(_as_date(d), -1, inclusive)


# ---- counting ----

def add_workdays(start: date | datetime, n: int) -> date:
    """The day a task received on ``start`` is due when it has ``n`` working days.

    The day of receipt is never counted (as the Civil Code counts periods): the due day is the
    ``n``-th working day strictly after it. So a message received on a non-working day starts
    counting from the next working day, which is day 1; a message received on Friday evening and
    one received on Sunday are due on the same day. ``n == 0`` means "by the end of the day of
    receipt", moved to the next working day when that is not one. An aware datetime is taken
    on its Asia/Shanghai date.
    """
    if n < 0:
        raise ValueError("n must not be negative")
    d = _as_date(start)
    if n == 0:
        return next_workday(d, inclusive=True)
    for _ in range(n):
        d = next_workday(d)
    return d


def workdays_between(a: date | datetime, b: date | datetime) -> int:
    """Working days in (a, b]: the days counted so far for a task received on ``a``, as of ``b``.

    The inverse of ``add_workdays``: ``workdays_between(a, add_workdays(a, n)) == n`` for n ≥ 1.
    Negative when ``b`` is before ``a``.
    """
    a, b = _as_date(a), _as_date(b)
    if b < a:
        return -workdays_between(b, a)
    return sum(1 for i in range(1, (b - a).days + 1) if is_workday(a + timedelta(days=i)))


def due_date(received_at: datetime, n: int) -> date:
    """The local (Asia/Shanghai) due day for something received at the aware ``received_at``."""
    return add_workdays(received_at, n)


def due_at(received_at: datetime, n: int) -> datetime:
    """The deadline as an aware UTC datetime: 23:59:59 Asia/Shanghai on ``due_date``.

    Overdue means ``now > due_at``. 23:59:59 (not next midnight) so that the deadline shows
    as the due day itself wherever it is printed in local time.
    """
    local_end = datetime.combine(due_date(received_at, n), time(23, 59, 59), tzinfo=LOCAL_TZ)
    return local_end.astimezone(timezone.utc)


# ---- coverage ----

def coverage(year: int) -> str:
    """"admin" once a year has any override row; else "official" if chinesecalendar knows it;
    else "weekends_only"."""
    if _overrides(year):
        return "admin"
    return "official" if year in OFFICIAL_YEARS else "weekends_only"


def unknown_years(from_year: int, to_year: int) -> list[int]:
    """The years in [from_year, to_year] whose working days fall back to plain weekends."""
    return [y for y in range(from_year, to_year + 1) if coverage(y) == "weekends_only"]


def coverage_notice(from_year: int, to_year: int) -> str | None:
    """The banner for staff pages when some year in range has no holiday data, else None."""
    years = unknown_years(from_year, to_year)
    if not years:
        return None
    listed = "、".join(f"{y}年" for y in years)
    return (f"{listed}的法定节假日尚未录入，工作日按周一至周五计算，"
            "请管理员在「节假日设置」中补录")


def year_schedule(year: int) -> list[Day]:
    """Every day of the year that is not a plain weekday or plain weekend: holidays and swaps."""
    day, end, out = date(year, 1, 1), date(year, 12, 31), []
    while day <= end:
        info = day_info(day)
        if info.is_holiday or info.is_workday != (day.weekday() < 5):
            out.append(info)
        day += timedelta(days=1)
    return out


def invalidate() -> None:
    """Forget the cached overrides; the operations that change the table call this."""
    db.session.info.pop(_CACHE_KEY, None)
    _process_cache.clear()


# ---- internals ----

def _as_date(value: date | datetime) -> date:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use aware datetimes")
        return value.astimezone(LOCAL_TZ).date()
    return value


def _overrides(year: int) -> dict[date, tuple[str, str]]:
    """{date: (kind, name)} for a year: kept on the session (one request sees one table) and,
    across requests, in a short per-process cache so the hot path does not query every time."""
    cache = db.session.info.setdefault(_CACHE_KEY, {})
    if year not in cache:
        cache[year] = _process_cache.get(year, lambda: _load_overrides(year))
    return cache[year]


def _load_overrides(year: int) -> dict[date, tuple[str, str]]:
    from backend.workdays.models import HolidayOverride
    rows = db.session.execute(
        db.select(HolidayOverride.date, HolidayOverride.kind, HolidayOverride.name)
        .where(HolidayOverride.date.between(date(year, 1, 1), date(year, 12, 31))))
    return {row.date: (row.kind, row.name) for row in rows}


@functools.lru_cache(maxsize=4096)  # the package's data never changes while we run
def _official_day(d: date) -> Day:
    is_holiday, english = chinese_calendar.get_holiday_detail(d)
    name = chinese_calendar.Holiday(english).chinese if english else None
    # get_holiday_detail calls every rest day a holiday; only listed days are statutory ones.
    return Day(d, not is_holiday, d in chinese_calendar.holidays, name, "official")


def _step_to_workday(d: date, step: int, inclusive: bool) -> date:
    if not inclusive:
        d += timedelta(days=step)
    for _ in range(MAX_REST_RUN):
        if is_workday(d):
            return d
        d += timedelta(days=step)
    raise ValueError(f"no working day within {MAX_REST_RUN} days of {d}; check the holiday table")


def _warn_weekends_only(year: int) -> None:
    if year not in _warned_years:
        _warned_years.add(year)
        log.warning("%s年的节假日安排尚未录入，暂按周一至周五计算工作日；"
                    "请管理员在「节假日设置」中录入当年的放假和调休安排", year)


@event.listens_for(Session, "after_commit")
def _drop_cache_on_commit(session):
    # The next transaction may see a table another one changed since.
    session.info.pop(_CACHE_KEY, None)


@event.listens_for(Session, "after_soft_rollback")
def _drop_cache_on_rollback(session, previous_transaction):
    # Rows read inside a rolled-back transaction may never have existed.
    if session.info.pop(_CACHE_KEY, None):
        _process_cache.clear()
