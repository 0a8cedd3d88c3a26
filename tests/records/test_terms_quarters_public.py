"""Records by term (届), quarterly publication of the evaluation, and the public summary on the
deputy's page: a term counts its own dates, a quarter is seen by the deputy only once published,
the public page shows counts (never a resident) and 样本太少 below ten cases."""
import secrets
from datetime import date, timedelta
from io import BytesIO

import pytest
from openpyxl import load_workbook

from backend.core.timeutil import local_today
from tests.conftest import csrf_token
from tests.records.conftest import bj

TODAY = local_today()
LAST = TODAY.year - 1  # a whole past year: all its quarters have ended


@pytest.fixture
def world(db, make_station, make_deputy, make_staff, make_resident, add_message):
    from backend.org.models import Term

    class World:
        pass
    w = World()
    w.station, w.other = make_station(), make_station()
    w.old_term = Term(name="区第四届", starts_on=date(LAST - 5, 1, 1), ends_on=date(LAST, 6, 30))
    w.term = Term(name="区第五届", starts_on=date(LAST, 7, 1), is_current=True)
    db.session.add_all([w.old_term, w.term])
    db.session.flush()
    w.deputy = make_deputy(stations=[w.station], name="王建国", term_id=w.term.id)
    w.colleague = make_deputy(stations=[w.station], name="李红", term_id=w.term.id)
    w.users = {
        "admin": make_staff("admin"),
        "liaison_own": make_staff("liaison", stations=[w.station]),
        "liaison_other": make_staff("liaison", stations=[w.other]),
        "deputy_self": make_staff("deputy", deputy=w.deputy),
        "deputy_colleague": make_staff("deputy", deputy=w.colleague),
    }
    # One message each side of the terms' border (30 June / 1 July, Beijing time).
    w.writer = make_resident(web_key=secrets.token_urlsafe(32))
    for at in (bj(LAST, 6, 30, 23, 30), bj(LAST, 7, 1, 0, 30)):
        m = add_message(w.station, to=w.deputy, assigned=w.deputy, at=at, answered=at + timedelta(days=1))
        m.resident_id = w.writer.id
    db.session.commit()
    return w


# ---- terms ----

def test_a_term_counts_its_own_dates_in_beijing_time(db, world):
    from backend.records.dossier import Period, deputy_record
    new = deputy_record(world.deputy, Period.of_term(world.term, TODAY), today=TODAY)
    old = deputy_record(world.deputy, Period.of_term(world.old_term, TODAY), today=TODAY)
    year = deputy_record(world.deputy, LAST, today=TODAY)
    assert (old.received, new.received, year.received) == (1, 1, 2)
    assert old.period.label == "区第四届" and old.year is None
    # Suggestions and projects go by year: the years whose 1 January is in the term.
    assert Period.of_term(world.term, TODAY).years == (TODAY.year,)
    assert Period.of_term(world.old_term, TODAY).years == tuple(range(LAST - 5, LAST + 1))


def test_a_term_without_dates_is_refused_in_chinese(db, world):
    from backend.core.errors import ValidationFailed
    from backend.org.models import Term
    from backend.records.dossier import Period
    with pytest.raises(ValidationFailed) as err:
        Period.of_term(Term(name="区第三届"), TODAY)
    assert err.value.code == "term_without_dates" and "区第三届" in err.value.message


def test_the_record_page_and_the_excel_by_term(client, login, world):
    c = login(world.users["admin"])
    page = c.get(f"/staff/records/deputies/{world.deputy.id}?term={world.old_term.id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "区第四届履职档案" in text
    assert f"{LAST - 5} 年 1 月 1 日至 {LAST} 年 6 月 30 日" in text
    assert c.get(f"/staff/records/deputies/{world.deputy.id}?term=999999").status_code == 404
    pdf = c.get(f"/staff/records/deputies/{world.deputy.id}.pdf?term={world.old_term.id}")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert f"term-{world.old_term.id}" in pdf.headers["Content-Disposition"]
    listing = c.get("/staff/records").get_data(as_text=True)
    assert f"/staff/records.xlsx?term={world.term.id}" in listing
    resp = c.get(f"/staff/records.xlsx?term={world.term.id}")
    assert resp.status_code == 200
    ws = load_workbook(BytesIO(resp.data)).worksheets[0]
    assert ws.title == "区第五届代表履职"
    header = [c.value for c in ws[1]]
    rows = {r[1]: dict(zip(header, r)) for r in ws.iter_rows(min_row=2, values_only=True)}
    assert rows["王建国"]["收到留言"] == 1 and rows["李红"]["收到留言"] == 0
    assert rows["王建国"]["参与率"] == "—"


def test_a_liaison_of_another_station_cannot_read_a_term_record(client, login, world):
    resp = login(world.users["liaison_other"]).get(
        f"/staff/records/deputies/{world.deputy.id}?term={world.term.id}")
    assert resp.status_code == 403 and "王建国" not in resp.get_data(as_text=True)


# ---- quarterly publication ----

@pytest.fixture
def as_(client, login):
    """Sign in as one user after another on the same client."""
    def do(user):
        if client.get("/staff/").status_code == 200:
            client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/")})
        return login(user)
    return do


def _publish(client, year, quarter):
    token = csrf_token(client, f"/staff/records/quarters?year={year}")
    return client.post(f"/staff/records/quarters/{year}/{quarter}/publish",
                       data={"csrf_token": token})


def test_the_deputy_sees_a_quarter_only_once_published_and_only_their_own(client, as_, world,
                                                                          db):
    url = f"/staff/records/deputies/{world.deputy.id}?year={LAST}"
    own = as_(world.users["deputy_self"]).get(url).get_data(as_text=True)
    assert 'data-testid="quarter-' not in own and "还没有公布的季度评价" in own
    staff = as_(world.users["liaison_own"]).get(url).get_data(as_text=True)
    assert staff.count('data-testid="quarter-') == 4 and "第3季度（未公布）" in staff
    assert _publish(as_(world.users["admin"]), LAST, 3).status_code == 302
    own = as_(world.users["deputy_self"]).get(url).get_data(as_text=True)
    assert own.count('data-testid="quarter-') == 1 and 'data-testid="quarter-3"' in own
    # Another deputy still cannot open this record at all.
    assert as_(world.users["deputy_colleague"]).get(url).status_code == 403


def test_publishing_is_the_offices_once_and_only_for_an_ended_quarter(client, as_, world, db):
    from backend.core.errors import InvalidState
    from backend.records.evaluation_model import EvaluationPublication
    from backend.records.publication import publish_quarter
    assert _publish(as_(world.users["liaison_own"]), LAST, 1).status_code == 403
    assert db.session.scalars(db.select(EvaluationPublication)).all() == []
    admin = as_(world.users["admin"])
    assert _publish(admin, LAST, 1).status_code == 302
    page = admin.get(f"/staff/records/quarters?year={LAST}", follow_redirects=True)
    assert "已公布" in page.get_data(as_text=True)
    _publish(admin, LAST, 1)  # again: refused, still one row
    page = admin.get(f"/staff/records/quarters?year={LAST}").get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(EvaluationPublication)) == 1
    with pytest.raises(InvalidState) as err:
        publish_quarter(TODAY.year, 4, actor=world.users["admin"], today=date(TODAY.year, 12, 31))
    assert err.value.code == "quarter_not_ended" and "还没有结束" in err.value.message
    with pytest.raises(InvalidState) as err:
        publish_quarter(LAST, 1, actor=world.users["admin"])
    assert err.value.code == "quarter_already_published"


def test_publishing_shows_on_the_public_page_at_once(client, world, db):
    from backend.records.publication import publish_quarter
    assert "履职评价" not in _public_page(client, db, world.deputy)
    publish_quarter(LAST, 1, actor=world.users["admin"])
    db.session.commit()
    assert f"{LAST}年第1季度（1月至3月）履职评价" in _public_page(client, db, world.deputy)


def test_a_published_score_is_computed_when_read(client, as_, world, db):
    """Publication freezes nothing: a weight changed afterwards changes the published score."""
    from backend.records.publication import published_evaluations, publish_quarter
    from backend.records.evaluation import CATALOGUE, update_evaluation
    publish_quarter(LAST, 3, actor=world.users["admin"])
    (before,) = published_evaluations(world.deputy)
    items = {i.key: {"is_counted": i.key in ("answer_rate", "activities"), "weight": 50,
                     "target": i.target} for i in CATALOGUE}
    update_evaluation({"items": items, "good_from": 80, "fair_from": 60},
                      actor=world.users["admin"])
    (after,) = published_evaluations(world.deputy)
    assert before.evaluation.score != after.evaluation.score == 100.0


def test_two_offices_publishing_at_once_make_one_row(app, postgres_only, db, world):
    """Two requests race on PostgreSQL: the unique key keeps one, the other is told so."""
    from backend.accounts.models import StaffUser
    from backend.core.errors import InvalidState
    from backend.records.evaluation_model import EvaluationPublication
    from backend.records.publication import publish_quarter
    from tests.conftest import at_once
    admin_id = world.users["admin"].id

    def publish():
        return publish_quarter(LAST, 2, actor=db.session.get(StaffUser, admin_id))
    outcomes = at_once(app, publish, publish)
    refused = [o for o in outcomes if isinstance(o, InvalidState)]
    assert len(refused) == 1 and refused[0].code == "quarter_already_published", outcomes
    assert db.session.scalar(db.select(db.func.count()).select_from(EvaluationPublication)) == 1


# ---- the public summary ----

def _public_page(client, db, deputy):
    from backend.org.codes import ensure_code
    code = ensure_code(deputy)
    db.session.commit()
    return client.get(f"/d/{code.token}").get_data(as_text=True)


def test_the_public_page_shows_counts_and_no_resident(client, db, world, add_message):
    now = bj(TODAY.year, TODAY.month, TODAY.day, 0, 5)
    m = add_message(world.station, to=world.deputy, assigned=world.deputy, at=now, answered=now)
    m.resident_id, m.phone_last4, m.place = world.writer.id, "4321", "幸福小区3栋"
    db.session.commit()
    page = _public_page(client, db, world.deputy)
    assert f"{TODAY.year}年履职情况" in page and 'data-testid="public-summary"' in page
    assert "收到群众留言</dt><dd data-testid=\"summary-收到群众留言\">1 条" in page
    assert "样本太少（1 条）" in page  # one answered of one: no rate from a single case
    assert "幸福小区" not in page and "4321" not in page and "路灯坏了" not in page
    assert "履职评价" not in page  # nothing published


def test_rates_need_ten_cases_and_published_quarters_appear(client, db, world, add_message):
    from backend.records.evaluation_model import EvaluationPublication
    now = bj(TODAY.year, TODAY.month, TODAY.day, 0, 5)
    for i in range(9):
        add_message(world.station, to=world.deputy, assigned=world.deputy, at=now,
                    answered=now if i < 5 else None)
    db.session.commit()
    page = _public_page(client, db, world.deputy)
    assert "样本太少（9 条）" in page and "答复率" in page
    add_message(world.station, to=world.deputy, assigned=world.deputy, at=now)
    db.session.add(EvaluationPublication(year=LAST, quarter=4))
    db.session.commit()
    assert _public_page(client, db, world.deputy) == page  # kept for five minutes
    from backend.records.public_summary import summaries
    summaries.clear()  # five minutes later
    page = _public_page(client, db, world.deputy)
    assert "50.0%（5/10）" in page and "样本太少（10" not in page
    assert f"{LAST}年第4季度（1月至12月）履职评价" in page
