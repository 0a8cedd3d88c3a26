"""代表述职: the result rule (with its minimum attendance), planning once per term by the office,
rating on the spot once per resident and only on the day, paper ratings in bulk by the organiser,
the result kept on the deputy's record, and who may see and do what."""
import secrets
from datetime import timedelta

import pytest

from backend.core.timeutil import local_today
from tests.conftest import at_once, csrf_token, post_form

TODAY = local_today()


@pytest.mark.parametrize("s,b,d,minimum,outcome", [
    (6, 2, 2, 10, "satisfied"),
    (5, 1, 4, 10, "basically_satisfied"),   # 满意 exactly half is not more than half
    (5, 0, 5, 10, "dissatisfied"),          # 满意 + 基本满意 exactly half either
    (0, 0, 10, 10, "dissatisfied"),
    (9, 0, 0, 10, None),                    # below the minimum attendance: no result
    (2, 0, 1, 3, "satisfied"),
])
def test_the_rule(s, b, d, minimum, outcome):
    from backend.records.reports import ReportResult
    assert ReportResult(s, b, d, minimum).outcome == outcome


@pytest.fixture
def world(db, make_station, make_deputy, make_staff):
    from backend.org.models import Department, Term

    class World:
        pass
    w = World()
    w.term = Term(name="区第五届", is_current=True)
    db.session.add(w.term)
    db.session.flush()
    w.station, w.other = make_station(), make_station()
    w.deputy = make_deputy(stations=[w.station], name="王建国", term_id=w.term.id,
                           constituency="第三选区")
    w.colleague = make_deputy(stations=[w.station], name="李红", term_id=w.term.id)
    w.no_term = make_deputy(stations=[w.station], name="赵强")
    dept = Department(name="区民政局")
    db.session.add(dept)
    db.session.flush()
    w.users = {
        "admin": make_staff("admin"),
        "liaison_own": make_staff("liaison", stations=[w.station]),
        "liaison_other": make_staff("liaison", stations=[w.other]),
        "deputy_self": make_staff("deputy", deputy=w.deputy),
        "deputy_colleague": make_staff("deputy", deputy=w.colleague),
        "department": make_staff("department", department=dept),
    }
    db.session.commit()
    return w


def _plan(client, login, world, deputy, *, signed_in=False, **kw):
    data = {"deputy_id": deputy.id, "held_on": TODAY.isoformat(), "place": "社区活动中心",
            "constituency": "", "min_attendance": "3"}
    return post_form(client if signed_in else login(world.users["admin"]), "/staff/reports/new",
                     data, **kw)


@pytest.fixture
def report(client, login, world, db):
    from backend.records.report_model import ConstituencyReport
    resp = _plan(client, login, world, world.deputy)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/")})
    return db.session.scalars(db.select(ConstituencyReport)).one()


def test_planned_once_per_term_by_the_office(client, login, world, report, db):
    from backend.records.report_model import ConstituencyReport
    assert (report.term_id, report.constituency) == (world.term.id, "第三选区")
    again = _plan(client, login, world, world.deputy, follow_redirects=True)
    assert "这位代表本届的述职已经安排过了" in again.get_data(as_text=True)
    no_term = _plan(client, login, world, world.no_term, signed_in=True)
    assert no_term.status_code == 422
    assert "这位代表还没有届次" in no_term.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(ConstituencyReport)) == 1
    # The reminder: the colleague of this term is not planned yet; the planned one is not listed.
    unplanned = client.get("/staff/reports").get_data(as_text=True).split('data-testid="unplanned"')[1]
    unplanned = unplanned.split("</div>\n{% endif %}")[0].split('已安排的述职')[0]
    assert "李红" in unplanned and "王建国" not in unplanned and "赵强" not in unplanned


def _resident(client):
    client.set_cookie("lx_resident", secrets.token_urlsafe(32))
    return client


def _rate(client, report, value):
    token = csrf_token(client, f"/r/{report.token}")
    return client.post(f"/r/{report.token}", data={"value": value, "csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)


def test_residents_rate_once_each_on_the_day(app, world, report, db):
    from backend.records.report_model import ReportRating
    first, second = app.test_client(), app.test_client()
    _resident(first)
    _resident(second)
    assert "感谢您的评议" in _rate(first, report, "satisfied")
    again = first.get(f"/r/{report.token}").get_data(as_text=True)
    assert "您已评议：满意" in again and 'data-testid="report-form"' not in again
    page = _rate(second, report, "bogus")
    assert "请选择满意、基本满意或不满意" in page
    assert "满意 1、基本满意 0、不满意 0，共 1 人；参加评议不足 3 人，不作结论" in page
    # The same resident posting again (a replayed form) is refused and changes nothing.
    token = csrf_token(first, "/track")
    first.post(f"/r/{report.token}", data={"value": "dissatisfied", "csrf_token": token})
    values = db.session.scalars(db.select(ReportRating.value)).all()
    assert values == ["satisfied"]


def test_no_rating_on_another_day(app, world, report, db):
    from backend.records.report_model import ReportRating
    report.held_on = TODAY + timedelta(days=1)
    db.session.commit()
    client = _resident(app.test_client())
    assert "只能在述职会当天扫码评议" in _rate(client, report, "satisfied")
    assert db.session.scalar(db.select(db.func.count()).select_from(ReportRating)) == 0
    assert app.test_client().get("/r/not-a-token").status_code == 404


def test_paper_ratings_in_bulk_and_the_result_on_the_record(client, login, world, report, db):
    from backend.records.report_model import ReportRating
    login(world.users["liaison_own"])
    url = f"/staff/reports/{report.id}"
    token = csrf_token(client, url)
    bad = client.post(f"{url}/paper", data={"satisfied": "-1", "csrf_token": token},
                      follow_redirects=True).get_data(as_text=True)
    assert "满意的票数应为 0 或正整数" in bad
    assert db.session.scalar(db.select(db.func.count()).select_from(ReportRating)) == 0
    ok = client.post(f"{url}/paper", data={"satisfied": "4", "basically_satisfied": "1",
                                           "dissatisfied": "2", "csrf_token": token},
                     follow_redirects=True).get_data(as_text=True)
    assert "已录入纸质评议 7 张" in ok
    assert "满意 4、基本满意 1、不满意 2，共 7 人；结果：满意" in ok
    record = client.get(f"/staff/records/deputies/{world.deputy.id}?year={TODAY.year}")
    assert "结果：满意" in record.get_data(as_text=True)


ROLES = ("admin", "liaison_own", "liaison_other", "deputy_self", "deputy_colleague",
         "department")


def allow(*roles):
    return {r: 200 if r in roles else 403 for r in ROLES}


MATRIX = [
    ("/staff/reports", allow("admin", "liaison_own", "liaison_other", "deputy_self",
                             "deputy_colleague")),
    ("/staff/reports/new", allow("admin")),
    ("/staff/reports/{report}", allow("admin", "liaison_own", "deputy_self")),
]


@pytest.mark.parametrize("url,rules", MATRIX)
@pytest.mark.parametrize("role", ("anonymous", *ROLES))
def test_access(client, login, world, report, url, rules, role):
    url = url.format(report=report.id)
    if role == "anonymous":
        assert client.get(url).status_code == 302
        return
    resp = login(world.users[role]).get(url)
    assert resp.status_code == rules[role]
    if role == "liaison_other" and url == "/staff/reports":
        assert "王建国" not in resp.get_data(as_text=True)  # not their station's deputy


@pytest.mark.parametrize("role", ROLES)
def test_who_may_enter_paper(client, login, world, report, db, role):
    from backend.records.report_model import ReportRating
    resp = post_form(login(world.users[role]), f"/staff/reports/{report.id}/paper",
                     {"satisfied": "1", "basically_satisfied": "0", "dissatisfied": "0"},
                     form_url="/staff/")
    allowed = role in ("admin", "liaison_own")
    assert resp.status_code == (302 if allowed else 403)
    assert db.session.scalar(db.select(db.func.count()).select_from(ReportRating)) == allowed


def test_two_taps_at_once_make_one_rating(app, postgres_only, world, report, db, make_resident):
    """Real threads (PostgreSQL only, as the other races here: SQLite takes one writer)."""
    from backend.core.errors import InvalidState
    from backend.records import reports
    from backend.records.report_model import ConstituencyReport, ReportRating
    resident_id, report_id = make_resident().id, report.id
    db.session.commit()

    def tap(value):
        def run():
            from backend.accounts.resident_model import Resident
            return reports.rate_report(db.session.get(ConstituencyReport, report_id), value,
                                       resident=db.session.get(Resident, resident_id))
        return run
    outcomes = at_once(app, tap("satisfied"), tap("dissatisfied"))
    assert sum(isinstance(o, ReportRating) for o in outcomes) == 1
    assert sum(isinstance(o, InvalidState) and o.code == "report_already_rated"
               for o in outcomes) == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(ReportRating)) == 1


def test_residents_who_wrote_to_the_deputy_are_invited(client, login, world, db, make_resident,
                                                        add_message):
    from backend.notifications.models import Notification
    writer, other_writer, held_writer = make_resident(), make_resident(), make_resident()
    for resident, deputy, status in ((writer, world.deputy, None),
                                     (writer, world.deputy, None),  # twice: one notice
                                     (other_writer, world.colleague, None),
                                     (held_writer, world.deputy, "held")):
        m = add_message(world.station, to=deputy, assigned=deputy,
                        at=bj_now(), status=status)
        m.resident_id = resident.id
    db.session.commit()
    assert _plan(client, login, world, world.deputy).status_code == 302
    notes = db.session.scalars(db.select(Notification).filter_by(topic="report.invite")).all()
    assert [n.recipient_id for n in notes] == [writer.id]
    assert notes[0].title.startswith("王建国代表将于") and "社区活动中心" in notes[0].body


def bj_now():  # a moment in the past, as stored (UTC)
    from backend.core.timeutil import utcnow
    return utcnow() - timedelta(days=3)


def _two_station_writers(db, world, make_resident, add_message):
    """The deputy serves two stations; a writer came in through each."""
    world.deputy.stations.append(world.other)
    here, there = make_resident(), make_resident()
    for resident, station in ((here, world.station), (there, world.other)):
        m = add_message(station, to=world.deputy, assigned=world.deputy, at=bj_now())
        m.resident_id = resident.id
    db.session.commit()
    return here, there


def _invited(db):
    from backend.notifications.models import Notification
    return [n.recipient_id for n in db.session.scalars(
        db.select(Notification).filter_by(topic="report.invite"))]


def test_only_writers_through_the_reports_station_are_invited(client, login, world, db,
                                                              make_resident, add_message):
    """Residents have no address on file: the constituency is the report's station."""
    from backend.records.report_model import ConstituencyReport
    here, there = _two_station_writers(db, world, make_resident, add_message)
    resp = post_form(login(world.users["admin"]), "/staff/reports/new",
                     {"deputy_id": world.deputy.id, "held_on": TODAY.isoformat(),
                      "place": "社区活动中心", "constituency": "", "min_attendance": "3",
                      "station_id": world.other.id})
    assert resp.status_code == 302
    assert _invited(db) == [there.id]
    report = db.session.scalars(db.select(ConstituencyReport)).one()
    page = client.get(f"/staff/reports/{report.id}").get_data(as_text=True)
    assert f"通过{world.other.name}给代表写过信的群众" in page


def test_without_a_choice_the_deputys_first_station_is_the_constituency(
        client, login, world, db, make_resident, add_message):
    here, there = _two_station_writers(db, world, make_resident, add_message)
    assert _plan(client, login, world, world.deputy).status_code == 302
    first = world.deputy.primary_station
    assert _invited(db) == [here.id if first.id == world.station.id else there.id]


def test_a_station_not_the_deputys_is_refused_and_nothing_is_planned(world, db, make_station):
    from backend.core.errors import ValidationFailed
    from backend.records.report_model import ConstituencyReport
    from backend.records.reports import plan_report
    elsewhere = make_station()
    with pytest.raises(ValidationFailed) as err:
        plan_report(world.deputy, {"held_on": TODAY, "place": "社区活动中心",
                                   "station_id": elsewhere.id}, actor=world.users["admin"])
    assert err.value.code == "report_station_not_deputys" and "联络站" in err.value.message
    db.session.rollback()
    assert db.session.scalars(db.select(ConstituencyReport)).all() == []
    assert _invited(db) == []
