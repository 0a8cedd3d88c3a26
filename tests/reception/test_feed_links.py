"""Each owner can find their calendar feed link on their own page, and the feed opens."""
from datetime import date, time, timedelta

from icalendar import Calendar

from backend.reception.models import CalendarFeed, ReceptionDay, ReceptionDuty
from backend.core.timeutil import local_today
from tests.conftest import post_form


def test_a_deputy_makes_and_finds_their_duty_feed(client, login, db, make_station, make_deputy,
                                                  make_staff):
    station = make_station()
    deputy = make_deputy(name="王建国", stations=[station])
    user = make_staff("deputy", deputy=deputy)
    when = local_today() + timedelta(days=10)
    day = ReceptionDay(station_id=station.id, nominal_date=date(when.year, when.month, 1),
                       date=when, start_time=time(9), end_time=time(11, 30))
    db.session.add(day)
    db.session.flush()
    db.session.add(ReceptionDuty(day_id=day.id, deputy_id=deputy.id))
    db.session.commit()
    login(user)
    assert 'data-testid="make-feed"' in client.get("/staff/duties").get_data(as_text=True)
    resp = post_form(client, "/staff/duties/feed", {}, form_url="/staff/duties")
    assert resp.status_code == 302
    feed = db.session.scalar(db.select(CalendarFeed).filter_by(owner_kind="deputy",
                                                               owner_id=deputy.id))
    assert feed.token in client.get("/staff/duties").get_data(as_text=True)
    calendar = Calendar.from_ical(client.get(f"/ical/{feed.token}.ics").data)
    assert len(calendar.walk("VEVENT")) == 1


def test_a_browser_without_bookings_cannot_make_a_resident_feed(client):
    page = client.get("/my/appointments")
    assert page.status_code == 200
    assert post_form(client, "/my/appointments/feed", {}, form_url="/staff/login").status_code == 404


def test_a_resident_makes_and_finds_their_bookings_feed(client, db, make_station, make_deputy):
    from backend.reception.models import ReceptionSlot
    from backend.accounts.resident_model import Resident
    from backend.reception.appointments import book
    station = make_station()
    make_deputy(stations=[station])
    when = local_today() + timedelta(days=10)
    day = ReceptionDay(station_id=station.id, nominal_date=date(when.year, when.month, 1),
                       date=when, start_time=time(9), end_time=time(11, 30))
    db.session.add(day)
    db.session.flush()
    slot = ReceptionSlot(day_id=day.id, starts_at=time(9), ends_at=time(9, 30), capacity=3)
    resident = Resident(web_key="Rk9vQmFyQmF6UXV4UXV1eFF1dXhRdXV4UXV1eFF1dXg")
    db.session.add_all([slot, resident])
    db.session.flush()
    book(resident=resident, day=day, slot=slot, topic="小区加装电梯的补贴政策")
    db.session.commit()
    client.set_cookie("lx_resident", "Rk9vQmFyQmF6UXV4UXV1eFF1dXhRdXV4UXV1eFF1dXg")
    resp = post_form(client, "/my/appointments/feed", {}, form_url="/my/appointments")
    assert resp.status_code == 302
    feed = db.session.scalar(db.select(CalendarFeed).filter_by(owner_kind="resident",
                                                               owner_id=resident.id))
    assert feed.token in client.get("/my/appointments").get_data(as_text=True)
    calendar = Calendar.from_ical(client.get(f"/ical/{feed.token}.ics").data)
    assert len(calendar.walk("VEVENT")) == 1
