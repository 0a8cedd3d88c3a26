"""The record pages: who may see which (each refusal a 403 that shows nothing), what the deputy's
page says, the all-deputies Excel read back, and the dashboard's months and bars."""
from datetime import date
from io import BytesIO

import pytest
from openpyxl import load_workbook

from backend.core.timeutil import local_today
from tests.conftest import csrf_token
from tests.records.conftest import bj

YEAR = local_today().year


@pytest.fixture
def world(db, make_station, make_deputy, make_staff, add_message, add_reception_day,
          add_activity):
    from backend.org.models import Department

    class World:
        pass
    w = World()
    w.station, w.other = make_station(), make_station()
    w.deputy = make_deputy(stations=[w.station], name="王建国")
    w.colleague = make_deputy(stations=[w.station], name="李红")
    w.stranger = make_deputy(stations=[w.other], name="赵强")
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
    jan = bj(YEAR, 1, 5, 9)
    add_message(w.station, to=w.deputy, assigned=w.deputy, at=jan, answered=bj(YEAR, 1, 7, 9),
                ratings=[("satisfied", bj(YEAR, 1, 8, 9))])
    add_message(w.station, to=w.deputy, assigned=w.deputy, at=jan)
    add_message(w.other, to=w.stranger, assigned=w.stranger, at=jan)
    add_reception_day(w.station, date(YEAR, 1, 15), duty=[w.deputy], present=[w.deputy],
                      walk_ins=17)
    add_activity(at=bj(YEAR, 1, 20, 9), attendances={w.deputy: "attended", w.colleague: "absent"})
    db.session.commit()
    return w


ROLES = ("admin", "liaison_own", "liaison_other", "deputy_self", "deputy_colleague",
         "department")


def allow(*roles):
    return {r: 200 if r in roles else 403 for r in ROLES}


MATRIX = [
    ("/staff/records/deputies/{deputy}", allow("admin", "liaison_own", "deputy_self")),
    ("/staff/records/deputies/{deputy}.pdf", allow("admin", "liaison_own", "deputy_self")),
    ("/staff/records/me", {**allow(), "deputy_self": 302, "deputy_colleague": 302}),
    ("/staff/records", allow("admin", "liaison_own", "liaison_other")),
    ("/staff/records.xlsx", allow("admin")),
    ("/staff/figures", allow("admin", "liaison_own", "liaison_other")),
    ("/staff/figures?station={station}", allow("admin", "liaison_own")),
    ("/staff/records/evaluation", allow("admin")),
    ("/staff/records/responsiveness", allow("admin", "liaison_own", "liaison_other")),
    ("/staff/records/quarters", allow("admin", "liaison_own", "liaison_other")),
    ("POST /staff/records/quarters/{last_year}/4/publish",
     {**allow(), "admin": 302}),
]


def test_every_record_page_is_in_the_matrix(app, world):
    adapter = app.url_map.bind("localhost")
    covered = {adapter.match(url.split("?")[0].split(" ")[-1].format(
                   deputy=1, station=1, last_year=2025),
                   method="POST" if url.startswith("POST ") else "GET")[0]
               for url, _ in MATRIX}
    for rule in app.url_map.iter_rules():
        if app.view_functions[rule.endpoint].__module__ in ("backend.staff.records",
                                                             "backend.staff.record_evaluation",
                                                             "backend.staff.record_quarters"):
            assert rule.endpoint in covered, f"{rule.rule} has no row"


def _published() -> int:
    from backend.core.extensions import db
    from backend.records.evaluation_model import EvaluationPublication
    return db.session.scalar(db.select(db.func.count()).select_from(EvaluationPublication))


@pytest.mark.parametrize("url,rules", MATRIX)
@pytest.mark.parametrize("role", ("anonymous", *ROLES))
def test_access(client, login, world, url, rules, role):
    method, _, url = url.rpartition(" ")
    url = url.format(deputy=world.deputy.id, station=world.station.id, last_year=YEAR - 1)
    if role == "anonymous" and method == "POST":
        resp = client.post(url, data={"csrf_token": csrf_token(client, "/staff/login")})
        assert resp.status_code == 302 and "/staff/login" in resp.headers["Location"]
        assert _published() == 0
        return
    if role == "anonymous":
        resp = client.get(url)
        assert resp.status_code == 302 and "/staff/login" in resp.headers["Location"]
        return
    if method == "POST":
        c = login(world.users[role])
        resp = c.post(url, data={"csrf_token": csrf_token(c, "/staff/")})
        assert _published() == (1 if resp.status_code == 302 else 0)
    else:
        resp = login(world.users[role]).get(url)
    assert resp.status_code == rules[role], resp.get_data(as_text=True)[:1000]
    if resp.status_code == 403:
        assert "王建国" not in resp.get_data(as_text=True)


def test_my_record_leads_each_deputy_to_their_own(client, login, world):
    resp = login(world.users["deputy_colleague"]).get("/staff/records/me?year=%d" % YEAR)
    assert resp.headers["Location"].endswith(f"/staff/records/deputies/{world.colleague.id}"
                                             f"?year={YEAR}")


def test_the_deputy_page_shows_the_year(client, login, world):
    text = login(world.users["deputy_self"]).get(
        f"/staff/records/deputies/{world.deputy.id}?year={YEAR}").get_data(as_text=True)
    assert "王建国的履职档案" in text
    assert "2 条" in text and "1 条（答复率 50.0%）" in text
    assert "2 个工作日（据 1 条已答复留言）" in text
    assert "满意 1、基本满意 0、不满意 0（满意率 100.0%）" in text
    assert "参与率" in text and "100.0%" in text


def test_a_bad_year_is_a_clear_error(client, login, world):
    resp = login(world.users["admin"]).get("/staff/records?year=19x")
    assert resp.status_code == 400 and "年份" in resp.get_data(as_text=True)


def test_the_excel_reads_back(client, login, world):
    resp = login(world.users["admin"]).get(f"/staff/records.xlsx?year={YEAR}")
    ws = load_workbook(BytesIO(resp.data)).active
    rows = list(ws.iter_rows(values_only=True))
    header = rows[0]
    by_name = {r[1]: dict(zip(header, r)) for r in rows[1:]}
    assert set(by_name) == {"王建国", "李红", "赵强"}
    w = by_name["王建国"]
    assert (w["收到留言"], w["已答复"], w["答复用时中位数（工作日）"], w["满意"]) == (2, 1, 2, 1)
    assert (w["值班"], w["到岗"], w["参加"], w["参与率"]) == (1, 1, 1, 1.0)
    assert by_name["李红"]["缺席"] == 1 and by_name["李红"]["参与率"] == 0
    assert by_name["赵强"]["参与率"] == "—" and by_name["赵强"]["收到留言"] == 1


def test_the_dashboard_shows_the_month_and_the_district(client, login, world):
    text = login(world.users["admin"]).get(f"/staff/figures?year={YEAR}").get_data(as_text=True)
    assert 'data-testid="figures-district"' in text
    assert "接待群众 17 人次，收集留言 3 条" in text  # the district
    assert "<svg" in text and "1月 3" in text
    client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/")})
    own = login(world.users["liaison_own"]).get(f"/staff/figures?year={YEAR}")
    own_text = own.get_data(as_text=True)
    assert 'data-testid="figures-district"' not in own_text
    assert "接待群众 17 人次，收集留言 2 条" in own_text


def test_the_deputy_page_lists_the_activities_behind_the_counts(client, login, world, db,
                                                               add_activity):
    """Each counted activity is a line: date, kind, title, the deputy's part; a 议事 also its
    topic and what was agreed, never the residents' names. Cancelled ones and other years' are
    not listed; the link to the activity is there only for whoever may open it."""
    d = world.deputy
    talk = add_activity(at=bj(YEAR, 3, 5, 9), kind="deliberation", title="老旧小区加装电梯议事会",
                        station=world.station, attendances={d: "attended"}, topic="三号楼加装电梯",
                        resident_count=12, resident_names="张三、李四", agreed="按楼层分摊费用，六月开工")
    add_activity(at=bj(YEAR, 4, 1, 9), title="专题培训", kind="training", attendances={d: "excused"})
    add_activity(at=bj(YEAR, 4, 2, 9), title="取消的视察", status="cancelled", attendances={d: "invited"})
    add_activity(at=bj(YEAR - 1, 12, 30, 9), title="去年的走访", attendances={d: "attended"})
    own = add_activity(at=bj(YEAR, 5, 6, 9), title="走访本选区群众", origin="reported",
                       status="confirmed", station=world.station, attendances={d: "attended"})
    db.session.commit()
    text = login(world.users["liaison_own"]).get(
        f"/staff/records/deputies/{d.id}?year={YEAR}").get_data(as_text=True)
    section = text[text.index('data-testid="activities"'):text.index("向选民述职")]
    assert "1月20日" in section and "走访选民 · 走访选民 · 已到" in section
    assert ("3月5日" in section and "议事 · 老旧小区加装电梯议事会 · 已到；议题：三号楼加装电梯；"
            "议定事项：按楼层分摊费用，六月开工" in section)
    assert "培训 · 专题培训 · 请假（出差）" in section
    assert "走访选民 · 走访本选区群众 · 本人报备，已确认" in section
    assert "取消的视察" not in section and "去年的走访" not in section
    assert "张三" not in text
    assert section.index("1月20日") < section.index("3月5日") < section.index("5月6日")
    assert f'href="/staff/activities/{talk.id}"' in section and f'href="/staff/activities/{own.id}"' in section
    # The office's own activity (no station) is not the station liaison's to open: text, no link.
    office_visit = section[section.index('data-testid="activity-'):section.index("3月5日")]
    assert "走访选民" in office_visit and "href" not in office_visit


def test_a_deputy_with_no_activity_sees_the_empty_line(client, login, world):
    text = login(world.users["admin"]).get(
        f"/staff/records/deputies/{world.stranger.id}?year={YEAR}").get_data(as_text=True)
    assert "本年度没有计入档案的活动" in text
