"""Fixtures for reception days, rosters and appointments. Shared by several features: add
yours with your feature's prefix (roster_…)."""
from datetime import date, time

import pytest


@pytest.fixture
def roster_year():
    """A year still to come, so every reception day in it is upcoming."""
    from backend.core.timeutil import local_today
    return local_today().year + 1


@pytest.fixture
def roster_make_day(db):
    """A scheduled reception day at a station, built directly (no rule, no slots)."""
    def make(station, on_date: date, **kw):
        from backend.reception.models import ReceptionDay
        day = ReceptionDay(**{"station_id": station.id, "nominal_date": on_date, "date": on_date,
                              "start_time": time(9, 0), "end_time": time(11, 30),
                              "status": "scheduled", **kw})
        db.session.add(day)
        db.session.flush()
        return day
    return make


@pytest.fixture
def roster_station(make_station, make_deputy):
    """A station with n active deputies (代表1…n in id order); returns (station, deputies)."""
    def make(n, **kw):
        station = make_station(**kw)
        return station, [make_deputy(stations=[station], with_code=False) for _ in range(n)]
    return make


@pytest.fixture
def roster_months(roster_make_day):
    """The 15th of every month of a year at a station: one reception day each."""
    def make(station, year):
        return [roster_make_day(station, date(year, month, 15)) for month in range(1, 13)]
    return make


# ---- appointments (appt_…) ----

@pytest.fixture
def appt_make_day(db):
    """A scheduled day with slots [(start "HH:MM", capacity), …] of 30 minutes and the given
    deputies on duty, built directly."""
    def make(station, on_date: date, slots=(("09:00", 2), ("09:30", 2), ("10:00", 1)),
             on_duty=(), **kw):
        from datetime import datetime, timedelta

        from backend.reception.models import ReceptionDay, ReceptionDuty, ReceptionSlot
        day = ReceptionDay(**{"station_id": station.id, "nominal_date": on_date, "date": on_date,
                              "start_time": time(9, 0), "end_time": time(11, 30),
                              "status": "scheduled", **kw})
        for start, capacity in slots:
            begin = datetime.combine(on_date, time.fromisoformat(start))
            day.slots.append(ReceptionSlot(starts_at=begin.time(), capacity=capacity,
                                           ends_at=(begin + timedelta(minutes=30)).time()))
        day.duties = [ReceptionDuty(deputy_id=d.id, source="manual") for d in on_duty]
        db.session.add(day)
        db.session.flush()
        return day
    return make


@pytest.fixture
def appt_world(district, make_deputy, appt_make_day):
    """A station ten days from now: deputies 张 and 李 on duty, 王 a member off duty, slots
    09:00 (2 seats), 09:30 (2) and 10:00 (1)."""
    from datetime import timedelta
    from types import SimpleNamespace

    from backend.core.timeutil import local_today
    station = district.station_a
    zhang, li, wang = (make_deputy(name=n, stations=[station]) for n in ("张明华", "李秀英", "王建国"))
    day = appt_make_day(station, local_today() + timedelta(days=10), on_duty=[zhang, li])
    return SimpleNamespace(station=station, day=day, slots=day.slots, zhang=zhang, li=li,
                           wang=wang)


@pytest.fixture
def appt_at():
    """An aware local time on a day: appt_at(day, "08:00", days=-1) is 8 am the day before."""
    def at(day, hhmm: str, days: int = 0):
        from datetime import datetime, timedelta

        from backend.core.timeutil import LOCAL_TZ
        return datetime.combine(day.date + timedelta(days=days), time.fromisoformat(hhmm),
                                tzinfo=LOCAL_TZ)
    return at


@pytest.fixture
def appt_book(make_resident, appt_at):
    """Book through the operation with the clock two days before the day; `where` is an
    appt_world or a ReceptionDay."""
    def book(where, slot=0, resident=None, **kw):
        from backend.reception.appointments import book as do_book
        day = getattr(where, "day", where)
        return do_book(**{"resident": resident or make_resident(), "day": day,
                          "slot": None if slot is None else day.slots[slot],
                          "topic": "小区加装电梯的事",
                          "now": appt_at(day, "10:00", days=-2), **kw})
    return book


# ---- reception days and iCal feeds (day_…) ----

@pytest.fixture
def day_rule():
    """An unsaved rule with the statutory defaults, for placing days without a database row."""
    def make(**kw):
        from backend.reception.models import ReceptionRule
        return ReceptionRule(**{"day_of_month": 15, "start_time": time(9, 0),
                                "end_time": time(11, 30), "slot_minutes": 30, "seats_per_slot": 3,
                                "weekend_policy": "keep", "holiday_policy": "next",
                                "duty_count": 2, "months_ahead": 3, "cancel_cutoff_hours": 24,
                                **kw})
    return make


@pytest.fixture
def day_today(monkeypatch):
    """Pin "today" for the reception-day pages and operations: day_today(date(2026, 1, 10))."""
    def pin(today: date):
        for where in ("backend.staff.reception_days", "backend.reception.days"):
            monkeypatch.setattr(f"{where}.local_today", lambda: today)
        return today
    return pin


@pytest.fixture
def day_book(db):
    """A live appointment made directly (not through the booking operation): a seat in the
    day's first slot unless told otherwise; bumps the slot's count for a seated status."""
    counter = iter(range(1, 10_000))

    def book(day, *, slot=None, status="booked", resident=None, deputy=None):
        from backend.reception.models import Appointment
        from backend.accounts.resident_model import Resident
        if resident is None:
            resident = Resident()
            db.session.add(resident)
            db.session.flush()
        slot = slot or day.slots[0]
        appt = Appointment(kind="slot", code=f"DAY{next(counter):05d}", resident_id=resident.id,
                           station_id=day.station_id, day_id=day.id, slot_id=slot.id,
                           deputy_id=deputy.id if deputy else None, status=status,
                           topic="小区停车难的问题")
        if status in ("booked", "checked_in"):
            slot.booked += 1
        db.session.add(appt)
        db.session.flush()
        return appt
    return book


@pytest.fixture
def day_on_duty(db):
    def put(day, *deputies):
        from backend.reception.models import ReceptionDuty
        for deputy in deputies:
            db.session.add(ReceptionDuty(day_id=day.id, deputy_id=deputy.id, source="manual"))
        db.session.flush()
        db.session.refresh(day)
    return put


@pytest.fixture
def day_world(db, make_station, make_deputy, make_staff):
    """Two stations without member deputies (so the rotation puts nobody on duty by itself),
    two deputies of no station to put on duty by hand, and one account per role: admin, the
    liaison of A, the liaison of B, a deputy, a department."""
    from types import SimpleNamespace

    from backend.org.models import Department
    station_a = make_station(name="城关街道代表联络站", address="城关路1号")
    station_b = make_station(name="桂花坪街道代表联络站")
    deputy_a = make_deputy(name="王建国", stations=[])
    deputy_b = make_deputy(name="刘芳", stations=[])
    department = Department(name="区住房和城乡建设局")
    db.session.add(department)
    db.session.flush()
    users = {
        "admin": make_staff("admin"),
        "liaison_own": make_staff("liaison", stations=[station_a]),
        "liaison_other": make_staff("liaison", stations=[station_b]),
        "deputy": make_staff("deputy", deputy=deputy_a),
        "department": make_staff("department", department=department),
    }
    return SimpleNamespace(station_a=station_a, station_b=station_b, deputy_a=deputy_a,
                           deputy_b=deputy_b, users=users)


@pytest.fixture
def roster_login(app, db):
    """A fresh browser (client) signed in as the user; several can be open at once."""
    from tests.conftest import post_form

    def do(user, password="correct-horse-9"):
        db.session.commit()
        client = app.test_client()
        resp = post_form(client, "/staff/login", {"username": user.username, "password": password})
        assert resp.status_code == 302, resp.get_data(as_text=True)
        return client
    return do


@pytest.fixture
def roster_world(db, roster_station, roster_make_day, make_staff):
    """Station A with four deputies (代表1…4), each with an account, and its two next reception
    days already filled (代表1 and 代表2 on the first, 代表3 and 代表4 on the second); station B
    with one deputy; a liaison for each station and an admin."""
    from datetime import timedelta
    from types import SimpleNamespace

    from backend.reception.rosters import fill_duties
    from backend.core.timeutil import local_today
    station, deputies = roster_station(4, name="城关街道代表联络站")
    other, (stranger,) = roster_station(1, name="桂花坪街道代表联络站")
    today = local_today()
    days = [roster_make_day(station, today + timedelta(days=n)) for n in (10, 40)]
    for day in days:
        fill_duties(day)
    world = SimpleNamespace(
        station=station, deputies=deputies, other=other, stranger=stranger, days=days, today=today,
        users=[make_staff("deputy", deputy=d) for d in deputies],
        liaison=make_staff("liaison", stations=[station]),
        other_liaison=make_staff("liaison", stations=[other]),
        admin=make_staff("admin"))
    db.session.commit()
    return world


# ---- the record of a reception day (rec_…) ----

@pytest.fixture
def rec_world(db, make_station, make_deputy, make_staff):
    """Station A yesterday: 张 and 李 on duty, 王 a member off duty, one resident booked (and
    checked in) at 09:00; station B with its own deputy; accounts for A's liaison, B's liaison,
    an admin and 张 as a deputy."""
    from datetime import timedelta
    from types import SimpleNamespace

    from backend.reception.models import Appointment, ReceptionDay, ReceptionDuty, ReceptionSlot
    from backend.accounts.resident_model import Resident
    from backend.core.timeutil import local_today
    station = make_station(name="城关街道代表联络站")
    other = make_station(name="桂花坪街道代表联络站")
    zhang, li, wang = (make_deputy(name=n, stations=[station], with_code=False)
                       for n in ("张明华", "李秀英", "王建国"))
    stranger = make_deputy(name="刘芳", stations=[other], with_code=False)
    on = local_today() - timedelta(days=1)
    day = ReceptionDay(station_id=station.id, nominal_date=on, date=on, start_time=time(9, 0),
                       end_time=time(11, 30), status="scheduled",
                       slots=[ReceptionSlot(starts_at=time(9, 0), ends_at=time(9, 30),
                                            capacity=3, booked=1)],
                       duties=[ReceptionDuty(deputy_id=d.id, source="manual") for d in (zhang, li)])
    resident = Resident()
    db.session.add_all([day, resident])
    db.session.flush()
    booking = Appointment(kind="slot", code="REC00001", resident_id=resident.id,
                          station_id=station.id, day_id=day.id, slot_id=day.slots[0].id,
                          deputy_id=zhang.id, status="checked_in", topic="小区加装电梯的事")
    db.session.add(booking)
    db.session.flush()
    return SimpleNamespace(
        station=station, other=other, day=day, zhang=zhang, li=li, wang=wang, stranger=stranger,
        booking=booking, resident=resident,
        liaison=make_staff("liaison", stations=[station]),
        other_liaison=make_staff("liaison", stations=[other]),
        admin=make_staff("admin"), deputy_user=make_staff("deputy", deputy=zhang))

