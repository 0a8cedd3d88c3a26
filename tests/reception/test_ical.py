"""iCal feeds (backend/reception/ical.py, GET /ical/<token>.ics): every feed is parsed back
with icalendar and checked for stable UIDs, local times, Chinese text and links."""
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import current_app
from icalendar import Calendar

from backend.core.extensions import db
from backend.reception.models import CalendarFeed, ReceptionDay
from backend.reception import ical
from backend.reception import days as ops
from backend.core.timeutil import local_today

SHANGHAI = ZoneInfo("Asia/Shanghai")


def fetch(client, owner_kind, owner_id) -> Calendar:
    token = ical.feed_token(owner_kind, owner_id).token
    db.session.commit()
    resp = client.get(f"/ical/{token}.ics")
    assert resp.status_code == 200
    assert resp.mimetype == "text/calendar" and resp.mimetype_params["charset"] == "utf-8"
    cal = Calendar.from_ical(resp.data)
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    return cal


def base() -> str:
    # A live-server test elsewhere in the run may have changed it.
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/")


def events(cal) -> dict[str, object]:
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


@pytest.fixture
def built(day_world):
    """Station A's days from today on, the second one cancelled."""
    today = local_today()
    ops.build_days(today, stations=[day_world.station_a])
    days = list(db.session.scalars(
        db.select(ReceptionDay).filter_by(station_id=day_world.station_a.id)
        .order_by(ReceptionDay.date)))
    ops.cancel_day(days[1], "场地维修", actor=day_world.users["admin"], today=today)
    return days


def test_the_station_feed(client, day_world, built):
    station = day_world.station_a
    cal = fetch(client, "station", station.id)
    assert str(cal["X-WR-CALNAME"]) == "城关街道代表联络站 · 代表接待选民日"
    found = events(cal)
    assert sorted(found) == sorted(f"reception-day-{d.id}@lianxin" for d in built)
    for day in built:
        event = found[f"reception-day-{day.id}@lianxin"]
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        assert event["DTSTART"].params["TZID"] == "Asia/Shanghai"
        assert start == datetime.combine(day.date, time(9, 0), SHANGHAI)
        assert end == datetime.combine(day.date, time(11, 30), SHANGHAI)
        assert str(event["URL"]) == f"{base()}/stations/{station.id}"
        assert str(event["LOCATION"]) == "城关街道代表联络站 城关路1号"
    ok, off = (found[f"reception-day-{day.id}@lianxin"] for day in built[:2])
    assert str(ok["SUMMARY"]) == "代表接待选民日 · 城关街道代表联络站"
    assert str(ok["STATUS"]) == "CONFIRMED" and "已预约0人，共15个名额" in str(ok["DESCRIPTION"])
    assert str(off["STATUS"]) == "CANCELLED"
    assert str(off["SUMMARY"]).startswith("【已取消】")
    assert "本次接待已取消：场地维修" in str(off["DESCRIPTION"])


def test_the_same_owner_keeps_one_token(day_world):
    first = ical.feed_token("station", day_world.station_a.id)
    assert ical.feed_token("station", day_world.station_a.id) is first
    other = ical.feed_token("deputy", day_world.deputy_a.id)
    assert len(first.token) == 43 and other.token != first.token
    assert ical.feed_url(first) == f"{base()}/ical/{first.token}.ics"
    assert db.session.scalar(db.select(db.func.count()).select_from(CalendarFeed)) == 2


@pytest.mark.parametrize("token", ["nope", "x" * 43, "x" * 200])
def test_an_unknown_token_is_404(client, token):
    assert client.get(f"/ical/{token}.ics").status_code == 404


def test_an_inactive_station_has_no_feed(client, day_world):
    token = ical.feed_token("station", day_world.station_a.id).token
    day_world.station_a.is_active = False
    db.session.commit()
    assert client.get(f"/ical/{token}.ics").status_code == 404


def test_a_deputy_feed_lists_only_their_duties(client, day_world, built, day_on_duty):
    day_on_duty(built[0], day_world.deputy_a, day_world.deputy_b)
    day_on_duty(built[1], day_world.deputy_a)
    day_on_duty(built[2], day_world.deputy_b)
    duties = {(d.day_id, d.deputy_id): d.id for day in built for d in day.duties}
    mine = events(fetch(client, "deputy", day_world.deputy_a.id))
    assert sorted(mine) == sorted(
        f"reception-duty-{duties[(day.id, day_world.deputy_a.id)]}@lianxin" for day in built[:2])
    first = mine[f"reception-duty-{duties[(built[0].id, day_world.deputy_a.id)]}@lianxin"]
    assert str(first["SUMMARY"]) == "接待选民值班 · 城关街道代表联络站"
    assert "值班代表：王建国、刘芳" in str(first["DESCRIPTION"])
    assert first.decoded("DTSTART") == datetime.combine(built[0].date, time(9, 0), SHANGHAI)
    second = mine[f"reception-duty-{duties[(built[1].id, day_world.deputy_a.id)]}@lianxin"]
    assert str(second["STATUS"]) == "CANCELLED"


def test_a_resident_feed_lists_their_live_bookings(client, day_world, built, day_book):
    from backend.reception.models import Appointment
    seat = day_book(built[0], slot=built[0].slots[1], deputy=day_world.deputy_a)
    resident = seat.resident
    on_cancelled_day = day_book(built[1], resident=resident)
    day_book(built[2], resident=resident, status="cancelled")
    day_book(built[2])  # someone else's
    agreed = datetime.combine(local_today() + timedelta(days=3), time(15, 0), SHANGHAI)
    meeting = Appointment(kind="request", code="REQ00001", resident_id=resident.id,
                          station_id=day_world.station_a.id, deputy_id=day_world.deputy_b.id,
                          status="accepted", topic="老旧小区改造", requested_at=agreed)
    db.session.add(meeting)
    db.session.flush()

    found = events(fetch(client, "resident", resident.id))
    assert sorted(found) == sorted(f"appointment-{a.id}@lianxin"
                                   for a in (seat, on_cancelled_day, meeting))
    event = found[f"appointment-{seat.id}@lianxin"]
    assert event.decoded("DTSTART") == datetime.combine(built[0].date, time(9, 30), SHANGHAI)
    assert event.decoded("DTEND") == datetime.combine(built[0].date, time(10, 0), SHANGHAI)
    assert str(event["SUMMARY"]) == "约见王建国代表 · 城关街道代表联络站"
    assert f"预约码：{seat.code}" in str(event["DESCRIPTION"])
    assert str(found[f"appointment-{on_cancelled_day.id}@lianxin"]["STATUS"]) == "CANCELLED"
    talk = found[f"appointment-{meeting.id}@lianxin"]
    assert talk.decoded("DTSTART") == agreed
    assert talk.decoded("DTEND") - talk.decoded("DTSTART") == timedelta(minutes=30)


def test_an_empty_feed_is_still_a_calendar(client, day_world):
    cal = fetch(client, "station", day_world.station_b.id)
    assert cal.walk("VEVENT") == []
    assert str(cal["PRODID"]) == ical.PRODID
