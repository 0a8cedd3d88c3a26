"""Times are stored in UTC and shown in Asia/Shanghai."""
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def local(dt: datetime | None) -> datetime | None:
    return dt.astimezone(LOCAL_TZ) if dt else None


def local_today() -> date:
    return utcnow().astimezone(LOCAL_TZ).date()


def format_local(dt: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return local(dt).strftime(fmt) if dt else ""


def people_day(value: date | datetime | None) -> str:
    """A day as people write it: 12月2日, with the year when it is not this year. Datetimes
    are taken in local time. ISO dates are for exports and form fields only."""
    if value is None:
        return ""
    d = local(value).date() if isinstance(value, datetime) else value
    return (f"{d.year}年" if d.year != local_today().year else "") + f"{d.month}月{d.day}日"


def people_time(dt: datetime | None) -> str:
    """12月2日 14:30 in local time (with the year when it is not this year)."""
    return f"{people_day(dt)} {local(dt):%H:%M}" if dt else ""


WEEKDAYS = "一二三四五六日"


def format_date_cn(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日（周{WEEKDAYS[d.weekday()]}）"
