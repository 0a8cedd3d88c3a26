"""Who may reach which activity page or action: every row × admin, the station's own liaison,
another station's liaison, an invited deputy, a deputy not invited, a department, a stranger.

One row per page or action; a test fails when an activity page has no row. A refused request
must change nothing: the activities, their attendances, the audit log and the outbox are
compared before and after."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.activities import matters
from backend.activities import operations as ops
from backend.activities.models import Activity, ActivityAttendance
from backend.core.audit_model import AuditEvent
from backend.core.extensions import db
from backend.core.timeutil import utcnow
from backend.notifications.models import Notification
from tests.conftest import csrf_token

ROLES = ("admin", "liaison_own", "liaison_other", "deputy_invited", "deputy_other",
         "department")
OK = "ok"  # 200 for a page; for an action a redirect with a success message


def allow(*roles, refused=403):
    return {role: OK if role in roles else refused for role in ROLES}


ORGANISERS = allow("admin", "liaison_own")
STAFF_LISTS = allow(*ROLES[:5])
NEW = {"kind": "visit", "title": "走访东街社区", "day": "{tomorrow}", "start": "09:00",
       "end": "11:00", "place": "东街社区", "station_id": "{station}", "deputy_ids": "{deputy}",
       "idempotency_key": "matrix-activity-new"}
REPORT = {"kind": "visit", "title": "走访选区居民", "day": "{yesterday}", "start": "09:00",
          "end": "11:00", "place": "南街", "station_id": "{station}",
          "summary": "听取了居民对停车难的意见", "idempotency_key": "matrix-activity-report"}

# (method, URL, form data for a POST, expected by role)
MATRIX = [
    ("GET", "/staff/activities", None, STAFF_LISTS),
    ("GET", "/staff/activities/new", None, allow("admin", "liaison_own", "liaison_other")),
    # the other station's liaison may open the form but not organise for this station
    ("POST", "/staff/activities/new", NEW, ORGANISERS),
    ("GET", "/staff/activities/report", None, allow("deputy_invited", "deputy_other")),
    # a deputy reports only to a station of their own: the other one gets the form back
    ("POST", "/staff/activities/report", REPORT,
     {**allow("deputy_invited"), "deputy_other": 422}),
    ("GET", "/staff/activities/{current}", None, allow("admin", "liaison_own", "deputy_invited")),
    ("POST", "/staff/activities/{current}/answer", {"answer": "excuse", "reason": "外出开会"},
     allow("deputy_invited")),
    ("POST", "/staff/activities/{current}/check-in", {"code": "{code}"}, allow("deputy_invited")),
    ("POST", "/staff/activity-attendances/{attendance}/present", {}, ORGANISERS),
    ("POST", "/staff/activities/{ended}/record", {"summary": "走访了十户居民"}, ORGANISERS),
    ("POST", "/staff/activities/{current}/cancel", {"reason": "暴雨预警"}, ORGANISERS),
    ("POST", "/staff/activities/{current}/invite", {"deputy_ids": "{extra}"}, ORGANISERS),
    ("POST", "/staff/activities/{reported}/confirm", {}, ORGANISERS),
    ("POST", "/staff/activities/{reported}/reject", {"reason": "与上次报备重复"}, ORGANISERS),
    ("POST", "/staff/activities/{held}/items",
     {"summary": "小区北门的下水道堵了一个星期", "resident_consent": "1",
      "idempotency_key": "matrix-activity-item"}, ORGANISERS),
    ("POST", "/staff/activity-items/{item}/message", {}, ORGANISERS),
]

CASES = [pytest.param(method, url, data, role, rules.get(role), id=f"{method} {url} {role}")
         for method, url, data, rules in MATRIX for role in ("anonymous", *ROLES)]


@pytest.fixture
def world(db, make_station, make_deputy, make_staff):
    from backend.org.models import Department

    class World:
        pass
    w = World()
    now = utcnow()
    w.station, other = make_station(), make_station()
    w.deputy, w.extra = make_deputy(stations=[w.station]), make_deputy(stations=[w.station])
    w.other_deputy = make_deputy(stations=[other])
    dept = Department(name="区城管局")
    db.session.add(dept)
    db.session.flush()
    liaison = make_staff("liaison", stations=[w.station])
    w.users = {
        "admin": make_staff("admin"), "liaison_own": liaison,
        "liaison_other": make_staff("liaison", stations=[other]),
        "deputy_invited": make_staff("deputy", deputy=w.deputy),
        "deputy_other": make_staff("deputy", deputy=w.other_deputy),
        "department": make_staff("department", department=dept),
    }
    common = {"actor": liaison, "kind": "visit", "place": "幸福社区", "station_id": w.station.id,
              "deputy_ids": [w.deputy.id]}
    w.current = ops.create_activity(title="走访幸福社区", starts_at=now + timedelta(minutes=30),
                                    ends_at=now + timedelta(hours=2), **common)
    w.ended = ops.create_activity(title="视察老旧小区改造", starts_at=now - timedelta(hours=3),
                                  ends_at=now - timedelta(hours=1),
                                  now=now - timedelta(days=1), **common)
    w.reported = ops.report_activity(
        w.deputy, actor=w.users["deputy_invited"], kind="research", title="调研停车难",
        place="东街", starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=2, hours=-1),
        station_id=w.station.id, summary="走访了三个小区的停车情况")
    w.held = ops.create_activity(title="人民议事厅", starts_at=now - timedelta(hours=3),
                                 ends_at=now - timedelta(hours=1), now=now - timedelta(days=1),
                                 **common)
    ops.record_activity(w.held, actor=liaison, summary="议事顺利进行", now=now)
    w.item = matters.add_item(w.held, actor=liaison, summary="路灯坏了很久，晚上出门不安全",
                              resident_consent=True)
    w.attendance = w.current.attendance_of(w.deputy.id)
    today = (now + timedelta(hours=8)).date()  # Beijing's date
    w.values = {"current": w.current.id, "ended": w.ended.id, "reported": w.reported.id,
                "attendance": w.attendance.id,
                "held": w.held.id, "item": w.item.id, "code": w.current.checkin_code,
                "station": w.station.id, "deputy": w.deputy.id, "extra": w.extra.id,
                "tomorrow": (today + timedelta(days=1)).isoformat(),
                "yesterday": (today - timedelta(days=1)).isoformat()}
    db.session.commit()
    return w


def _fill(text: str, world) -> str:
    return text.format(**world.values)


def _state() -> tuple:
    db.session.expire_all()
    count = lambda model: db.session.scalar(sa.select(sa.func.count()).select_from(model))  # noqa
    rows = db.session.execute(sa.select(
        Activity.id, Activity.status, Activity.summary, ActivityAttendance.deputy_id,
        ActivityAttendance.status).outerjoin(ActivityAttendance)
        .order_by(Activity.id, ActivityAttendance.id)).all()
    return rows, count(AuditEvent), count(Notification)


def test_every_activity_page_is_in_the_matrix(app, world):
    adapter = app.url_map.bind("localhost")
    covered = {(adapter.match(_fill(url, world), method=method)[0], method)
               for method, url, _, _ in MATRIX}
    for rule in app.url_map.iter_rules():
        if app.view_functions[rule.endpoint].__module__ != "backend.staff.activities":
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (rule.endpoint, method) in covered, f"{method} {rule.rule} has no row"


@pytest.mark.parametrize("method,url,data,role,expected", CASES)
def test_access(client, login, world, method, url, data, role, expected):
    url = _fill(url, world)
    if role != "anonymous":
        login(world.users[role])
    before = _state()
    if method == "GET":
        resp = client.get(url)
    else:
        token = csrf_token(client, "/staff/" if role != "anonymous" else "/staff/login")
        form = {key: _fill(value, world) for key, value in data.items()}
        resp = client.post(url, data={**form, "csrf_token": token})
    location = resp.headers.get("Location", "")

    if role == "anonymous":
        assert resp.status_code == 302 and "/staff/login" in location
    elif expected == OK and method == "GET":
        assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    elif expected == OK:
        assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
        with client.session_transaction() as session:
            flashes = session.get("_flashes", [])
        assert {c for c, _ in flashes} == {"success"}, flashes
        assert _state() != before  # it did something
    else:
        assert resp.status_code == expected, resp.get_data(as_text=True)[:2000]
    if role == "anonymous" or expected != OK:
        assert _state() == before


def test_the_code_is_shown_to_the_organiser_never_to_a_deputy(client, login, world):
    code = world.current.checkin_code
    page = login(world.users["deputy_invited"]).get(f"/staff/activities/{world.current.id}")
    assert page.status_code == 200 and code not in page.get_data(as_text=True)
    assert 'data-testid="checkin-code"' not in page.get_data(as_text=True)
    client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/")})
    page = login(world.users["liaison_own"]).get(f"/staff/activities/{world.current.id}")
    assert code in page.get_data(as_text=True)


@pytest.mark.parametrize("role, sees", [("admin", True), ("liaison_own", True),
                                        ("liaison_other", False), ("deputy_invited", True),
                                        ("deputy_other", False)])
def test_the_list_shows_only_ones_own_activities(client, login, world, role, sees):
    text = login(world.users[role]).get("/staff/activities").get_data(as_text=True)
    assert ("走访幸福社区" in text) is sees
    assert ("调研停车难" in text) is sees
