"""Activity pages beyond the access matrix: a wrong code is refused in Chinese and changes
nothing; guessing codes is stopped after ten tries; bad form input comes back with its errors."""
from datetime import timedelta

import sqlalchemy as sa

from backend.activities import operations as ops
from backend.activities.models import Activity, ActivityAttendance
from backend.core.timeutil import utcnow
from tests.conftest import csrf_token, post_form


def _current(db, make_station, make_deputy, make_staff):
    station = make_station()
    deputy = make_deputy(stations=[station])
    liaison = make_staff("liaison", stations=[station])
    user = make_staff("deputy", deputy=deputy)
    now = utcnow()
    act = ops.create_activity(actor=liaison, kind="meeting", title="代表小组会议", place="联络站",
                              starts_at=now + timedelta(minutes=10),
                              ends_at=now + timedelta(hours=1), station_id=station.id,
                              deputy_ids=[deputy.id])
    db.session.commit()
    return act, user, liaison


def test_guessing_the_code_is_refused_then_stopped(client, login, db, make_station, make_deputy,
                                                   make_staff):
    act, user, _ = _current(db, make_station, make_deputy, make_staff)
    wrong = "000000" if act.checkin_code != "000000" else "111111"
    login(user)
    token = csrf_token(client, f"/staff/activities/{act.id}")
    url = f"/staff/activities/{act.id}/check-in"
    for _ in range(10):
        resp = client.post(url, data={"code": wrong, "csrf_token": token})
        assert resp.status_code == 302
    page = client.get(f"/staff/activities/{act.id}").get_data(as_text=True)
    assert "签到码不对" in page
    resp = client.post(url, data={"code": act.checkin_code, "csrf_token": token})
    assert resp.status_code == 429 and "稍后再试" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(sa.select(ActivityAttendance.status)) == "invited"


def test_a_bad_form_comes_back_with_its_errors_and_creates_nothing(client, login, db,
                                                                   make_station, make_staff):
    station = make_station()
    liaison = make_staff("liaison", stations=[station])
    login(liaison)
    resp = post_form(client, "/staff/activities/new", {
        "kind": "visit", "title": "走访", "day": "2020-01-01", "start": "10:00", "end": "09:00",
        "place": "社区", "station_id": str(station.id)})
    assert resp.status_code == 422
    assert "结束时间应晚于开始时间" in resp.get_data(as_text=True)
    resp = post_form(client, "/staff/activities/new", {
        "kind": "visit", "title": "走访", "day": "2020-01-01", "start": "09:00", "end": "10:00",
        "place": "社区", "station_id": str(station.id)})
    assert resp.status_code == 422 and "活动时间已过" in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 0
