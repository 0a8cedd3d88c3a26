"""The appointment pages: a resident books, waits, cancels and asks for a meeting; staff check
people in, mark no-shows, cancel and answer meeting requests; nobody sees what is not theirs.
Includes the last-seat race through the live server on PostgreSQL."""
import re
import threading
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa

from backend.reception.models import Appointment, ReceptionSlot
from backend.reception import appointments as ops
from backend.org.codes import active_code
from backend.core.timeutil import local_today
from tests.conftest import CSRF_RE, csrf_token

DETAIL_RE = re.compile(r"/my/appointments/(\d+)$")


def _book_data(world, slot=0, **kw):
    return {"day_id": world.day.id, "slot_id": world.slots[slot].id, "deputy_id": "",
            "topic": "小区想加装电梯，想听听代表的意见", "action": "book", **kw}


def _post(client, url, data, form_url=None):
    return client.post(url, data={**data, "csrf_token": csrf_token(client, form_url or url)})


def _book(client, world, **kw):
    url = f"/stations/{world.station.id}/book"
    return _post(client, url, _book_data(world, **kw))


def _only(db) -> Appointment:
    db.session.rollback()  # a fresh look: requests wrote in their own sessions
    return db.session.scalars(sa.select(Appointment)).one()


# ---- links to the booking page ----

def test_station_page_links_to_booking(client, db, appt_world):
    db.session.commit()
    html = client.get(f"/stations/{appt_world.station.id}").get_data(as_text=True)
    assert f'href="/stations/{appt_world.station.id}/book"' in html and "预约接待" in html


def test_deputy_page_links_to_booking_only_when_on_duty_soon(client, db, appt_world):
    db.session.commit()
    on_duty = client.get(f"/d/{active_code(appt_world.zhang).token}").get_data(as_text=True)
    assert "预约接待（" in on_duty and f"deputy={appt_world.zhang.id}" in on_duty
    off_duty = client.get(f"/d/{active_code(appt_world.wang).token}").get_data(as_text=True)
    assert "预约接待" not in off_duty


# ---- the resident ----

def test_booking_page_shows_slots_seats_and_deputies_on_duty(client, db, appt_world, appt_book):
    appt_book(appt_world, slot=2)  # the one seat at 10:00 is taken
    db.session.commit()
    html = client.get(f"/stations/{appt_world.station.id}/book").get_data(as_text=True)
    assert "09:00–09:30" in html and "还剩 2 个名额" in html
    assert "已约满 · 可候补" in html
    assert "张明华代表" in html and "李秀英代表" in html and "王建国" not in html
    assert "由联络站安排" in html and 'name="csrf_token"' in html


def test_book_then_see_the_code_and_the_list(client, db, appt_world):
    db.session.commit()
    resp = _book(client, appt_world, deputy_id=appt_world.li.id, contact_name="陈阿姨",
                 phone="13800131234")
    assert resp.status_code == 302 and DETAIL_RE.search(resp.headers["Location"])
    a = _only(db)
    assert (a.status, a.deputy_id, a.contact_name) == ("booked", appt_world.li.id, "陈阿姨")
    assert a.resident.web_key  # made on this first booking, known by the cookie
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "预约成功" in page and f"{a.code[:4]} {a.code[4:]}" in page and "李秀英代表" in page
    mine = client.get("/my/appointments").get_data(as_text=True)
    assert a.code in mine and "取消预约" in mine


def test_bad_input_keeps_the_form_and_books_nothing(client, db, appt_world):
    db.session.commit()
    resp = _book(client, appt_world, topic="", phone="123")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "请用几句话说明想谈的事" in html and "请填写11位手机号码，或留空" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 0


def test_a_full_slot_offers_the_waitlist(client, db, appt_world, appt_book):
    appt_book(appt_world, slot=2)
    db.session.commit()
    resp = _book(client, appt_world, slot=2)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "该时段已约满，您可以选择其他时段或登记候补" in html
    assert 'value="waitlist"' in html
    resp = _book(client, appt_world, slot=2, action="waitlist")
    assert resp.status_code == 302
    db.session.rollback()
    waiting = db.session.scalars(sa.select(Appointment).filter_by(status="waitlisted")).one()
    assert waiting.slot_id == appt_world.slots[2].id
    assert "已登记候补" in client.get(resp.headers["Location"]).get_data(as_text=True)


def test_resident_cancels_and_the_waiting_resident_moves_up(client, db, appt_world, make_resident,
                                                           appt_at):
    db.session.commit()
    resp = _book(client, appt_world, slot=2)
    mine = int(DETAIL_RE.search(resp.headers["Location"]).group(1))
    db.session.rollback()
    waiter = ops.join_waitlist(resident=make_resident(), day=appt_world.day,
                               slot=appt_world.slots[2], topic="等一个空位",
                               now=appt_at(appt_world.day, "10:00", days=-2))
    db.session.commit()
    resp = _post(client, f"/my/appointments/{mine}/cancel", {}, form_url=f"/my/appointments/{mine}")
    assert resp.status_code == 302
    db.session.rollback()
    assert db.session.get(Appointment, mine).status == "cancelled"
    assert db.session.get(Appointment, waiter.id).status == "booked"
    assert "预约已取消" in client.get("/my/appointments").get_data(as_text=True)


def test_nobody_else_sees_or_cancels_a_booking(client, db, appt_world, app):
    db.session.commit()
    resp = _book(client, appt_world)
    detail = resp.headers["Location"]
    a = _only(db)
    stranger = app.test_client()
    assert stranger.get(detail).status_code == 404
    assert a.code not in stranger.get("/my/appointments").get_data(as_text=True)
    token = csrf_token(stranger, f"/stations/{appt_world.station.id}/book")
    assert stranger.post(f"{detail}/cancel", data={"csrf_token": token}).status_code == 404
    assert _only(db).status == "booked"


def test_ask_for_a_meeting_outside_reception_days(client, db, appt_world):
    db.session.commit()
    url = f"/stations/{appt_world.station.id}/meet"
    form = client.get(url).get_data(as_text=True)
    assert "王建国代表" in form  # any deputy of the station, not only those on duty
    when = local_today() + timedelta(days=3)
    resp = _post(client, url, {"deputy_id": appt_world.wang.id, "date": when.isoformat(),
                               "time": "15:00", "topic": "想当面反映停车难"})
    assert resp.status_code == 302
    a = _only(db)
    assert (a.kind, a.status, a.deputy_id) == ("request", "requested", appt_world.wang.id)
    assert ops.meeting_time(a).astimezone(ops.LOCAL_TZ).strftime("%Y-%m-%d %H:%M") == \
        f"{when.isoformat()} 15:00"
    resp = _post(client, url, {"date": "", "time": "", "topic": "想当面反映停车难"})
    assert resp.status_code == 422 and "请选择希望见面的日期和时间" in resp.get_data(as_text=True)


def test_booking_posts_share_the_residents_booking_budget(client, db, app, appt_world):
    db.session.commit()
    app.config["BOOKING_RATE_PER_RESIDENT"] = "2 per 10 minutes"
    try:
        meet = f"/stations/{appt_world.station.id}/meet"
        when = (local_today() + timedelta(days=3)).isoformat()
        asked = [_post(client, meet, {"date": when, "time": "15:00", "topic": "想当面反映停车难"}
                       ).status_code for _ in range(2)]
        refused = _book(client, appt_world)
    finally:
        app.config["BOOKING_RATE_PER_RESIDENT"] = "5 per 10 minutes;20 per day"
    assert asked == [302, 302] and refused.status_code == 429
    assert "提交太频繁了，请10分钟后再试" in refused.get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)
                             .filter_by(kind="slot")) == 0


# ---- the last seat, through the web, on both databases ----

def test_last_seat_race_through_the_live_server(live_server, db, appt_world):
    slot = appt_world.slots[0]
    slot.booked = slot.capacity - 1
    db.session.commit()
    url = f"{live_server}/stations/{appt_world.station.id}/book"
    data = _book_data(appt_world)  # read here: the threads have no app context
    sessions, tokens = [], []
    for _ in range(10):  # each its own browser: resident cookie, session and CSRF token
        s = requests.Session()
        tokens.append(CSRF_RE.search(s.get(url, timeout=10).text).group(1))
        sessions.append(s)
    barrier, answers = threading.Barrier(10), [None] * 10

    def post(i):
        barrier.wait()
        answers[i] = sessions[i].post(url, data={**data, "csrf_token": tokens[i]},
                                      allow_redirects=False, timeout=30)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [r for r in answers if r.status_code == 302]
    lost = [r for r in answers if r.status_code == 409]
    assert len(won) == 1 and DETAIL_RE.search(won[0].headers["Location"])
    assert len(lost) == 9 and all("已约满" in r.text for r in lost)
    db.session.rollback()
    assert db.session.get(ReceptionSlot, slot.id).booked == slot.capacity
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 1


# ---- staff ----

@pytest.fixture
def staff(make_staff, make_station, appt_world):
    """staff("liaison") and so on, each made on first use (password hashing is slow)."""
    recipes = {
        "admin": lambda: make_staff("admin"),
        "liaison": lambda: make_staff("liaison", stations=[appt_world.station]),
        "liaison_other": lambda: make_staff("liaison", stations=[make_station()]),
        "deputy_on_duty": lambda: make_staff("deputy", deputy=appt_world.zhang),
        "deputy_off_duty": lambda: make_staff("deputy", deputy=appt_world.wang),
        "deputy_other": lambda: make_staff("deputy", deputy=appt_world.li),
    }
    made = {}

    def get(who):
        if who not in made:
            made[who] = recipes[who]()
        return made[who]
    return get


@pytest.fixture
def signed_in(app, db):
    """A fresh browser signed in as the given staff user (one browser per person)."""
    def sign_in(user):
        db.session.commit()
        browser = app.test_client()
        resp = _post(browser, "/staff/login", {"username": user.username,
                                                "password": "correct-horse-9"})
        assert resp.status_code == 302
        return browser
    return sign_in


@pytest.mark.parametrize("who, status", [
    ("admin", 200), ("liaison", 200), ("liaison_other", 403), ("deputy_on_duty", 200),
    ("deputy_off_duty", 403), (None, 302),
])
def test_who_sees_a_days_list(client, db, signed_in, appt_world, appt_book, staff, who, status):
    a = appt_book(appt_world, contact_name="陈阿姨", phone="13800131234")
    browser = signed_in(staff(who)) if who else client
    resp = browser.get(f"/staff/reception-days/{appt_world.day.id}/appointments")
    html = resp.get_data(as_text=True)
    assert resp.status_code == status
    if status == 200:
        assert a.code in html and "138****1234" in html and "13800131234" not in html
        assert ('data-testid="checkin-form"' in html) == (who in ("admin", "liaison"))
    else:
        assert a.code not in html


def test_check_in_by_code_on_the_day(db, signed_in, appt_world, appt_make_day, appt_book, staff):
    today = appt_make_day(appt_world.station, local_today(), slots=(("23:00", 2),),
                          nominal_date=local_today() - timedelta(days=40))
    a, later = appt_book(today), appt_book(appt_world)
    liaison = signed_in(staff("liaison"))
    url = f"/staff/reception-days/{today.id}/appointments"
    assert _post(liaison, f"/staff/reception-days/{today.id}/check-in", {"code": a.code.lower()},
                 form_url=url).status_code == 302
    assert "已签到：预约码" in liaison.get(url).get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(Appointment, a.id).status == "checked_in"
    # Another day's code is refused on this day's page, and on its own day it is too early.
    _post(liaison, f"/staff/reception-days/{today.id}/check-in", {"code": later.code},
          form_url=url)
    assert "这个预约码不是本接待日的预约" in liaison.get(url).get_data(as_text=True)
    day_url = f"/staff/reception-days/{appt_world.day.id}/appointments"
    _post(liaison, f"/staff/reception-days/{appt_world.day.id}/check-in", {"code": later.code},
          form_url=day_url)
    assert "只能在接待日当天" in liaison.get(day_url).get_data(as_text=True)
    assert db.session.get(Appointment, later.id).status == "booked"


def test_other_stations_liaison_cannot_act(db, signed_in, appt_world, appt_book, staff):
    a = appt_book(appt_world)
    stranger = signed_in(staff("liaison_other"))
    token = csrf_token(stranger, "/staff/appointments")
    for url in (f"/staff/reception-days/{appt_world.day.id}/check-in",
                f"/staff/appointments/{a.id}/cancel", f"/staff/appointments/{a.id}/no-show"):
        resp = stranger.post(url, data={"csrf_token": token, "code": a.code, "reason": "试试"})
        assert resp.status_code == 403, url
    assert _only(db).status == "booked"


def test_no_show_after_the_slot_and_staff_cancel_with_a_reason(db, signed_in, appt_world,
                                                               appt_make_day, appt_book, staff):
    past = appt_make_day(appt_world.station, local_today() - timedelta(days=1),
                         nominal_date=local_today() - timedelta(days=70))
    gone, coming = appt_book(past), appt_book(appt_world)
    liaison = signed_in(staff("liaison"))
    url = f"/staff/reception-days/{past.id}/appointments"
    assert 'data-testid="no-show"' in liaison.get(url).get_data(as_text=True)
    _post(liaison, f"/staff/appointments/{gone.id}/no-show", {}, form_url=url)
    day_url = f"/staff/reception-days/{appt_world.day.id}/appointments"
    _post(liaison, f"/staff/appointments/{coming.id}/cancel", {"reason": ""}, form_url=day_url)
    assert "请填写取消原因" in liaison.get(day_url).get_data(as_text=True)
    _post(liaison, f"/staff/appointments/{coming.id}/cancel", {"reason": "代表临时出差"},
          form_url=day_url)
    db.session.rollback()
    assert db.session.get(Appointment, gone.id).status == "no_show"
    coming = db.session.get(Appointment, coming.id)
    assert (coming.status, coming.cancel_reason) == ("cancelled", "代表临时出差")


def _ask(browser, world, deputy_id, topic="想当面反映停车难", time="15:00"):
    when = (local_today() + timedelta(days=3)).isoformat()
    return _post(browser, f"/stations/{world.station.id}/meet",
                 {"deputy_id": deputy_id, "date": when, "time": time, "topic": topic})


def test_meeting_requests_answered_by_the_deputy_or_the_liaison(db, app, signed_in, appt_world,
                                                                staff):
    db.session.commit()
    resident = app.test_client()
    _ask(resident, appt_world, appt_world.zhang.id)
    _ask(resident, appt_world, "")
    to_zhang, to_station = db.session.scalars(sa.select(Appointment).order_by(Appointment.id)).all()

    other = signed_in(staff("deputy_other"))  # not addressed: sees and answers neither
    assert "想当面反映停车难" not in other.get("/staff/meeting-requests").get_data(as_text=True)
    token = csrf_token(other, "/staff/meeting-requests")
    assert other.post(f"/staff/meeting-requests/{to_zhang.id}/accept",
                      data={"csrf_token": token}).status_code == 403

    zhang = signed_in(staff("deputy_on_duty"))
    assert zhang.get("/staff/meeting-requests").get_data(as_text=True).count(
        'data-testid="request"') == 1
    _post(zhang, f"/staff/meeting-requests/{to_zhang.id}/accept", {"note": "请到二楼会议室"},
          form_url="/staff/meeting-requests")

    liaison = signed_in(staff("liaison"))
    new_time = f"{(local_today() + timedelta(days=4)).isoformat()}T10:00"
    _post(liaison, f"/staff/meeting-requests/{to_station.id}/propose",
          {"at": new_time, "note": "那天下午代表开会"}, form_url="/staff/meeting-requests")
    db.session.rollback()
    assert db.session.get(Appointment, to_zhang.id).status == "accepted"
    assert db.session.get(Appointment, to_station.id).status == "proposed"

    detail = f"/my/appointments/{to_station.id}"
    page = resident.get(detail).get_data(as_text=True)
    assert "代表建议了新的时间" in page and "那天下午代表开会" in page
    _post(resident, f"{detail}/accept", {}, form_url=detail)
    db.session.rollback()
    assert db.session.get(Appointment, to_station.id).status == "accepted"


def test_declined_meeting_shows_the_reason_to_the_resident(db, app, signed_in, appt_world, staff):
    db.session.commit()
    resident = app.test_client()
    detail = _ask(resident, appt_world, "", topic="想反映噪音扰民", time="09:30").headers["Location"]
    a = _only(db)
    liaison = signed_in(staff("liaison"))
    _post(liaison, f"/staff/meeting-requests/{a.id}/decline", {"reason": "此事请拨打12345热线"},
          form_url="/staff/meeting-requests")
    page = resident.get(detail).get_data(as_text=True)
    assert "约见未能安排" in page and "此事请拨打12345热线" in page


def test_messages_do_not_spend_the_booking_budget(client, db, app, appt_world, monkeypatch):
    """A resident who wrote their five messages can still book (issue 14: 提交太频繁了)."""
    from tests.portal.helpers import send
    monkeypatch.setitem(app.config, "SUBMIT_RATE_PER_RESIDENT", "5 per 10 minutes")
    db.session.commit()
    write = f"/d/{active_code(appt_world.zhang).token}/write"
    sent = [send(client, write, body=f"第{n}件事：小区门口的路灯坏了很久了").status_code
            for n in range(6)]
    assert sent == [302] * 5 + [429]
    booked = _book(client, appt_world)
    assert booked.status_code == 302, booked.get_data(as_text=True)
    assert _only(db).status == "booked"
