"""iCalendar feeds (RFC 5545) that phones subscribe to: a station's reception days, a deputy's
duties, a resident's bookings. Each feed is reached by an unguessable token (``CalendarFeed``);
the token is the only key, so nothing in a feed goes beyond what its owner may see.

Times are written with TZID=Asia/Shanghai and the VTIMEZONE is always included (which also
keeps an empty feed a valid calendar: RFC 5545 wants at least one component).
"""
import secrets
from datetime import date, datetime, time, timedelta

from icalendar import Calendar, Event, Timezone
from sqlalchemy.orm import selectinload

from backend.core.adapters import public_url
from backend.core.errors import NotFound
from backend.core.extensions import db
from backend.reception.models import Appointment, CalendarFeed, ReceptionDay, ReceptionDuty
from backend.org.models import Deputy, Station
from backend.accounts.resident_model import Resident
from backend.reception.days import seats
from backend.core.timeutil import LOCAL_TZ, local, utcnow

PRODID = "-//连心桥//代表接待选民日//ZH"
RESIDENT_STATUSES = ("booked", "checked_in", "accepted")
HISTORY = timedelta(days=180)  # how far back a feed reaches, so it never grows without end
REQUEST_MINUTES = 30  # a meeting asked for outside reception days has no slot: assume this long
REFRESH = timedelta(hours=1)
TOKEN_MAX = 64


# ---- tokens ----

def feed_token(owner_kind: str, owner_id: int) -> CalendarFeed:
    """The owner's feed, made on first use. (Two first uses racing: the unique owner key
    refuses the second, whose request fails once and finds the feed on retry.)"""
    feed = find_feed(owner_kind, owner_id)
    if feed is None:
        feed = CalendarFeed(owner_kind=owner_kind, owner_id=owner_id,
                            token=secrets.token_urlsafe(32))
        db.session.add(feed)
        db.session.flush()
    return feed


def find_feed(owner_kind: str, owner_id: int) -> CalendarFeed | None:
    return db.session.scalar(db.select(CalendarFeed).filter_by(owner_kind=owner_kind,
                                                               owner_id=owner_id))


def feed_url(feed: CalendarFeed) -> str:
    return public_url(f"/ical/{feed.token}.ics")


def feed_for_token(token: str) -> bytes:
    """The calendar a token opens; NotFound for an unknown token or an owner no longer shown."""
    feed = None
    if token and len(token) <= TOKEN_MAX:
        feed = db.session.scalar(db.select(CalendarFeed).filter_by(token=token))
    if feed is None:
        raise NotFound("日历订阅链接无效", code="feed_unknown")
    model, build = FEEDS[feed.owner_kind]
    owner = db.session.get(model, feed.owner_id)
    if owner is None or not getattr(owner, "is_active", True):
        raise NotFound("日历订阅链接无效", code="feed_unknown")
    return build(owner)


# ---- the three feeds ----

def station_feed(station: Station, today: date | None = None) -> bytes:
    days = db.session.scalars(
        db.select(ReceptionDay)
        .where(ReceptionDay.station_id == station.id, ReceptionDay.date >= _since(today))
        .order_by(ReceptionDay.date).options(*_DAY_LOADS)).all()
    events = [_day_event(f"reception-day-{day.id}@lianxin", day, "代表接待选民日", _day_lines(day))
              for day in days]
    return _calendar(f"station-{station.id}", f"{station.name} · 代表接待选民日", events)


def deputy_feed(deputy: Deputy, today: date | None = None) -> bytes:
    """Only this deputy's duties."""
    duties = db.session.scalars(
        db.select(ReceptionDuty).join(ReceptionDuty.day)
        .where(ReceptionDuty.deputy_id == deputy.id, ReceptionDay.date >= _since(today))
        .order_by(ReceptionDay.date)
        .options(*(selectinload(ReceptionDuty.day).options(load) for load in _DAY_LOADS))).all()
    events = [_day_event(f"reception-duty-{duty.id}@lianxin", duty.day, "接待选民值班",
                         _day_lines(duty.day)) for duty in duties]
    return _calendar(f"deputy-{deputy.id}", f"{deputy.name} · 接待选民值班", events)


def resident_feed(resident: Resident, today: date | None = None) -> bytes:
    appointments = db.session.scalars(
        db.select(Appointment)
        .where(Appointment.resident_id == resident.id, Appointment.status.in_(RESIDENT_STATUSES))
        .order_by(Appointment.id)).all()
    since = datetime.combine(_since(today), time(), LOCAL_TZ)
    events = [e for e in map(_appointment_event, appointments)
              if e is not None and e.start >= since]
    return _calendar(f"resident-{resident.id}", "我的代表约见", events)


# ---- building blocks ----

_DAY_LOADS = (selectinload(ReceptionDay.station), selectinload(ReceptionDay.slots),
              selectinload(ReceptionDay.duties).joinedload(ReceptionDuty.deputy))


def _since(today: date | None) -> date:
    return (today or local(utcnow()).date()) - HISTORY


def _calendar(uid: str, name: str, events: list[Event]) -> bytes:
    cal = Calendar.new(prodid=PRODID, name=name, uid=f"feed-{uid}@lianxin",
                       refresh_interval=REFRESH)
    cal.add("x-wr-timezone", "Asia/Shanghai")
    cal.add("x-published-ttl", REFRESH)
    cal.add_component(Timezone.from_tzid("Asia/Shanghai"))
    for event in events:
        cal.add_component(event)
    return cal.to_ical()


def _vevent(uid: str, station: Station, begins: datetime, ends: datetime, what: str,
            lines: list[str], cancelled: bool = False) -> Event:
    # Many phone calendars show only the summary, so a cancellation is said there too.
    return Event.new(
        uid=uid, stamp=utcnow(), start=begins, end=ends,
        summary=f"{'【已取消】' if cancelled else ''}{what} · {station.name}",
        location=" ".join(x for x in (station.name, station.address) if x),
        description="\n".join(lines), url=public_url(f"/stations/{station.id}"),
        status="CANCELLED" if cancelled else "CONFIRMED")


def _day_event(uid: str, day: ReceptionDay, what: str, lines: list[str],
               start: time | None = None, end: time | None = None) -> Event:
    return _vevent(uid, day.station, datetime.combine(day.date, start or day.start_time, LOCAL_TZ),
                   datetime.combine(day.date, end or day.end_time, LOCAL_TZ), what, lines,
                   cancelled=day.status == "cancelled")


def _day_lines(day: ReceptionDay) -> list[str]:
    lines = [f"本次接待已取消：{day.cancel_reason}" if day.status == "cancelled"
             else day.moved_reason]
    names = "、".join(d.deputy.name for d in day.duties)
    if names:
        lines.append(f"值班代表：{names}")
    booked, capacity = seats(day)
    if capacity:
        lines.append(f"已预约{booked}人，共{capacity}个名额")
    return [line for line in lines if line]


def _appointment_event(appt: Appointment) -> Event | None:
    uid = f"appointment-{appt.id}@lianxin"
    who = appt.deputy.name if appt.deputy is not None else None
    what = f"约见{who}代表" if who else "代表接待选民日"
    lines = [f"预约码：{appt.code}", f"事项：{appt.topic}"]
    if appt.kind == "slot" and appt.day is not None:
        slot, day = appt.slot, appt.day
        news = _day_lines(day)[:1] if day.status == "cancelled" or day.moved_reason else []
        return _day_event(uid, day, what, [*lines, *news], slot.starts_at if slot else None,
                          slot.ends_at if slot else None)
    agreed = appt.proposed_at or appt.requested_at  # accepted as offered, or as asked
    if agreed is None:
        return None
    begins = local(agreed)
    return _vevent(uid, appt.station, begins, begins + timedelta(minutes=REQUEST_MINUTES),
                   what, lines)


FEEDS = {"station": (Station, station_feed), "deputy": (Deputy, deputy_feed),
         "resident": (Resident, resident_feed)}
