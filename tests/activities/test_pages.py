"""Activity pages beyond the access matrix: a wrong code is refused in Chinese and changes
nothing; guessing codes is stopped after ten tries; bad form input comes back with its errors."""
from datetime import timedelta

import sqlalchemy as sa

from backend.activities import operations as ops
from backend.activities.models import Activity, ActivityAttendance
from backend.core.audit_model import AuditEvent
from backend.core.timeutil import local_today, utcnow
from tests.conftest import csrf_token, form_keys, post_form


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
        "place": "社区", "station_id": str(station.id)}, keyed=True)
    assert resp.status_code == 422
    assert "结束时间应晚于开始时间" in resp.get_data(as_text=True)
    resp = post_form(client, "/staff/activities/new", {
        "kind": "visit", "title": "走访", "day": "2020-01-01", "start": "09:00", "end": "10:00",
        "place": "社区", "station_id": str(station.id)}, keyed=True)
    assert resp.status_code == 422 and "活动时间已过" in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 0


def _count(db, model, *where):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_the_new_activity_form_posted_twice_makes_one_activity(client, login, db, make_station,
                                                              make_deputy, make_staff):
    """A double click or a browser resubmit sends the page's key again: one activity, one
    invitation, and the page says it was made already, as a success."""
    station = make_station()
    deputy = make_deputy(stations=[station])
    login(make_staff("liaison", stations=[station]))
    url = "/staff/activities/new"
    token, key = form_keys(client, url)
    form = {"kind": "visit", "title": "走访东街社区", "place": "东街社区", "start": "09:00",
            "end": "11:00", "day": (local_today() + timedelta(days=1)).isoformat(),
            "station_id": str(station.id), "deputy_ids": str(deputy.id),
            "csrf_token": token, "idempotency_key": key}
    first, again = client.post(url, data=form), client.post(url, data=form)
    assert first.status_code == again.status_code == 302 and first.location == again.location
    assert "这项活动已经创建过了，没有重复创建" in client.get(again.location).get_data(as_text=True)
    db.session.expire_all()
    assert _count(db, Activity) == 1 and _count(db, ActivityAttendance) == 1
    assert _count(db, AuditEvent, AuditEvent.action == "activity.create") == 1

    # The same key with other words is another activity: refused, nothing made.
    refused = client.post(url, data={**form, "title": "走访西街社区"})
    assert refused.status_code == 422
    assert "该提交编号已用于另一项活动" in refused.get_data(as_text=True)
    # A fresh render has a new key: the same words again are a second activity, on purpose.
    fresh = form_keys(client, url)[1]
    assert fresh != key
    client.post(url, data={**form, "idempotency_key": fresh})
    db.session.expire_all()
    assert _count(db, Activity) == 2
    # Without a key: refused, nothing made.
    missing = client.post(url, data={k: v for k, v in form.items() if k != "idempotency_key"})
    assert missing.status_code == 422
    assert "缺少有效的提交编号，请刷新页面后重试" in missing.get_data(as_text=True)
    db.session.expire_all()
    assert _count(db, Activity) == 2


def test_the_report_form_posted_twice_reports_once(client, login, db, make_station, make_deputy,
                                                   make_staff):
    station = make_station()
    deputy = make_deputy(stations=[station])
    login(make_staff("deputy", deputy=deputy))
    url = "/staff/activities/report"
    token, key = form_keys(client, url)
    form = {"kind": "visit", "title": "走访选区居民", "place": "南街", "start": "09:00",
            "end": "11:00", "day": (local_today() - timedelta(days=1)).isoformat(),
            "station_id": str(station.id), "summary": "听取了居民对停车难的意见",
            "csrf_token": token, "idempotency_key": key}
    first, again = client.post(url, data=form), client.post(url, data=form)
    assert first.status_code == again.status_code == 302 and first.location == again.location
    assert "这项活动已经报备过了，没有重复报备" in client.get(again.location).get_data(as_text=True)
    db.session.expire_all()
    assert _count(db, Activity) == 1 and _count(db, ActivityAttendance) == 1
    assert _count(db, AuditEvent, AuditEvent.action == "activity.report") == 1

    refused = client.post(url, data={**form, "summary": "听取了居民对加装电梯的意见"})
    assert refused.status_code == 422
    assert "该提交编号已用于另一项活动" in refused.get_data(as_text=True)
    missing = client.post(url, data={k: v for k, v in form.items() if k != "idempotency_key"})
    assert missing.status_code == 422
    assert "缺少有效的提交编号，请刷新页面后重试" in missing.get_data(as_text=True)
    db.session.expire_all()
    assert _count(db, Activity) == 1
