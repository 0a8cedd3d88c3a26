"""Who may reach which livelihood-project page, action and endpoint: every one × every role.
A refused role gets 403 (anonymous staff: the login page; a resident: 404 for what is not
theirs to see) and nothing changes; an allowed one gets the page or a success flash."""
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.accounts.resident_model import Resident
from backend.core.audit_model import AuditEvent
from backend.core.timeutil import local_today
from backend.projects import delivery, voting
from backend.projects.delivery import rating_summary
from miniprogram_api.auth import session_for
from tests.conftest import post_form

SOON = local_today() + timedelta(days=30)

ROLES = ("anonymous", "admin", "liaison", "deputy", "department", "other_department")


@pytest.fixture
def world(db, office, voting_round, make_staff, make_voter, make_department, make_station):
    round_, c = voting_round
    w = type("World", (), {})()
    w.round, w.c = round_, c
    w.users = {"admin": office, "liaison": make_staff("liaison", stations=[make_station()]),
               "deputy": make_voter(round_),
               "department": make_staff("department", department=c[0].department),
               "other_department": make_staff("department", department=make_department())}
    voting.cast_ballot(round_, [c[0].id, c[1].id, c[2].id], actor=make_voter(round_))
    voting.close_vote(round_, actor=office)
    voting.decide(round_, actor=office)
    delivery.start_delivery(round_, actor=office)  # c0..c2 delivering, c3, c4 unchosen
    delivery.report_progress(c[1], progress=100, title="全部完工", actor=w.users["department"])
    w.m = delivery.plan_milestone(c[0], title="完成设计招标", due_on=SOON, actor=office)
    db.session.commit()
    return w


def _as(client, login, w, role):
    if role != "anonymous":
        login(w.users[role])
    return client


STAFF_PAGES = [
    ("/staff/projects", {"admin", "liaison", "deputy", "department", "other_department"}),
    ("/staff/projects/{c0}", {"admin", "liaison", "deputy", "department"}),
    ("/staff/projects/{c3}", {"admin", "liaison", "deputy", "department"}),  # its unchosen one
    ("/staff/projects/ballot", {"deputy"}),
    ("/staff/projects/rounds/{round}/results", {"admin", "liaison", "deputy"}),
]


def _fill(url, w):
    return url.format(c0=w.c[0].id, c1=w.c[1].id, c3=w.c[3].id, round=w.round.id, m=w.m.id)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("url, allowed", STAFF_PAGES)
def test_staff_pages(client, login, world, role, url, allowed):
    resp = _as(client, login, world, role).get(_fill(url, world))
    if role == "anonymous":
        assert resp.status_code == 302 and "/staff/login" in resp.location
    else:
        assert resp.status_code == (200 if role in allowed else 403), resp.get_data(as_text=True)


STAFF_ACTIONS = [
    # url, form, allowed roles, what shows it happened
    ("/staff/projects/{c3}/reserve", {}, {"admin"}, lambda w: w.c[3].status == "reserve"),
    ("/staff/projects/{c0}/progress", {"progress": "50", "title": "主体施工完成"},
     {"department"}, lambda w: w.c[0].progress == 50),
    ("/staff/projects/{c1}/rate", {"value": "satisfied"}, {"deputy"},
     lambda w: rating_summary(w.c[1]).total == 1),
    ("/staff/projects/{c0}/milestone", {"title": "主体施工", "due_on": SOON.isoformat()},
     {"admin", "department"}, lambda w: len(w.c[0].milestones) == 2),
    ("/staff/projects/milestones/{m}/done", {}, {"department"}, lambda w: w.m.done_on is not None),
    ("/staff/projects/{c0}/nominate", {}, {"admin"}, None),
    ("/staff/projects/{c3}/carry-over", {}, {"admin"}, None),  # not in the reserve: bounced  # screening over: office bounced
    ("/staff/projects/rounds/{round}/close-vote", {}, {"admin"}, None),  # wrong state: flashed
    ("/staff/projects/rounds/{round}/register-present", {"present_ids": "1"}, {"admin"},
     None),  # the vote is over: nobody joins the electorate
    ("/staff/projects/rounds/{round}/runoff", {}, {"admin"}, None),  # no tie: nothing to run off
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("url, form, allowed, done", STAFF_ACTIONS)
def test_staff_actions(app, client, login, db, world, role, url, form, allowed, done):
    _as(client, login, world, role)
    audits = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    target = _fill(url, world)
    resp = post_form(client, target, form, form_url="/staff/projects") if role != "anonymous" \
        else client.post(target, data=form)
    db.session.expire_all()
    after = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    if role == "anonymous":
        assert resp.status_code in (302, 400) and after == audits
    elif role in allowed:
        assert resp.status_code == 302
        if done is not None:
            assert done(world) and after == audits + 1
        else:
            assert after == audits  # refused by the state, flashed, nothing written
    else:
        assert resp.status_code == 403 and after == audits


@pytest.mark.parametrize("role", ("admin", "liaison", "department"))
def test_only_deputies_cast_a_ballot(client, login, db, voting_round, make_staff, make_station,
                                     make_department, role, office):
    round_, c = voting_round
    user = {"admin": office, "liaison": make_staff("liaison", stations=[make_station()]),
            "department": make_staff("department", department=make_department())}[role]
    login(user)
    resp = post_form(client, "/staff/projects/ballot", {"candidate_ids": [str(c[0].id)]},
                     form_url="/staff/projects")
    assert resp.status_code == 403
    assert round_.ballots_cast == 0


def test_deputy_casts_on_the_portal_once(client, login, db, voting_round, make_voter):
    round_, c = voting_round
    login(make_voter(round_))
    page = client.get("/staff/projects/ballot").get_data(as_text=True)
    assert 'data-testid="ballot"' in page and c[0].title in page
    resp = post_form(client, "/staff/projects/ballot",
                     {"candidate_ids": [str(c[0].id), str(c[1].id)]}, follow_redirects=True)
    assert "投票成功" in resp.get_data(as_text=True)
    again = post_form(client, "/staff/projects/ballot", {"candidate_ids": [str(c[2].id)]},
                      form_url="/staff/projects", follow_redirects=True)
    assert "选票投出后不能更改" in again.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(type(round_), round_.id).ballots_cast == 1


# ---- residents: portal and mini-program ----

def test_resident_sees_public_and_own_but_not_anothers_rejected(client, db, office, make_round,
                                                                make_proposal, make_resident):
    from backend.projects import screening
    round_ = make_round()
    owner = make_resident(web_key="k" * 43)
    rejected = make_proposal(round_, resident=owner)
    screening.reject(rejected, "与已有项目重复", actor=office)
    public = make_proposal(round_)
    db.session.commit()
    assert client.get(f"/projects/{public.id}").status_code == 200
    assert client.get(f"/projects/{rejected.id}").status_code == 403  # a stranger's browser
    client.set_cookie("lx_resident", "k" * 43)
    from backend.core.ratelimit import RESIDENT_COOKIE
    client.set_cookie(RESIDENT_COOKIE, "k" * 43)
    page = client.get(f"/projects/{rejected.id}")
    assert page.status_code == 200 and "与已有项目重复" in page.get_data(as_text=True)


def test_public_results_only_once_decided(client, db, voting_round, office, make_voter):
    round_, c = voting_round
    db.session.commit()
    assert client.get(f"/projects/results/{round_.year}").status_code == 404
    voting.cast_ballot(round_, [c[0].id], actor=make_voter(round_))
    voting.close_vote(round_, actor=office)
    db.session.commit()
    assert client.get(f"/projects/results/{round_.year}").status_code == 404
    voting.decide(round_, actor=office)
    db.session.commit()
    page = client.get(f"/projects/results/{round_.year}").get_data(as_text=True)
    assert c[0].title in page and "当选" in page


def _token(db, staff=None):
    resident = Resident(openid=f"o-{uuid.uuid4().hex[:20]}")
    db.session.add(resident)
    db.session.flush()
    if staff is not None:
        staff.wechat_openid = resident.openid
    db.session.commit()
    return session_for(resident, staff)["token"]


API = "/api/mp/v1"


@pytest.mark.parametrize("who, status", [("none", 401), ("resident", 403), ("liaison", 403),
                                         ("deputy", 200)])
def test_api_ballot_is_for_deputies_only(client, db, voting_round, make_voter, make_staff,
                                         make_station, who, status):
    round_, c = voting_round
    staff = {"none": None, "resident": None, "deputy": make_voter(round_),
             "liaison": make_staff("liaison", stations=[make_station()])}[who]
    token = None if who == "none" else _token(db, staff)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    got = client.get(API + "/deputy/projects/ballot", headers=headers)
    assert got.status_code == status, got.json
    cast = client.post(API + "/deputy/projects/ballot", json={"candidate_ids": [c[0].id]},
                       headers=headers)
    assert cast.status_code == status
    if status == 200:
        assert cast.json["has_voted"] is True and "votes" not in str(cast.json)
        twice = client.post(API + "/deputy/projects/ballot", json={"candidate_ids": [c[1].id]},
                            headers=headers)
        assert twice.status_code == 409 and twice.json["code"] == "already_voted"
    db.session.expire_all()
    assert db.session.get(type(round_), round_.id).ballots_cast == (1 if status == 200 else 0)


def test_api_resident_proposes_supports_once(client, db, make_round):
    make_round()
    a, b = _token(db), _token(db)
    body = {"title": "增设公交站台座椅", "content": "在人民路公交站增设座椅和遮阳棚",
            "reason": "老人候车站得累", "category": "交通", "idempotency_key": "mp-key-0001"}
    made = client.post(API + "/projects", json=body, headers={"Authorization": f"Bearer {a}"})
    assert made.status_code == 201 and made.json["number"].startswith("MS2027-")
    retry = client.post(API + "/projects", json=body, headers={"Authorization": f"Bearer {a}"})
    assert retry.status_code == 200 and retry.json == made.json
    pid = made.json["id"]
    own = client.post(f"{API}/projects/{pid}/support", headers={"Authorization": f"Bearer {a}"})
    assert own.status_code == 409 and own.json["code"] == "project_own_proposal"
    ok = client.post(f"{API}/projects/{pid}/support", headers={"Authorization": f"Bearer {b}"})
    assert ok.status_code == 200 and ok.json["supports"] == 1
    bad = client.post(API + "/projects", json={**body, "title": "", "idempotency_key": "mp-key-2"},
                      headers={"Authorization": f"Bearer {a}"})
    assert bad.status_code == 422 and bad.json["message"]
    listed = client.get(API + "/projects", headers={"Authorization": f"Bearer {b}"})
    assert [p["id"] for p in listed.json["items"]] == [pid]


def test_api_offers_similar_proposals(client, db, make_round, make_proposal):
    round_ = make_round()
    lift = make_proposal(round_, title="幸福小区老楼加装电梯")
    make_proposal(round_, title="修缮老街路灯", content="解放路老街路灯多处不亮，夜里行人不便")
    token = _token(db)
    got = client.get(API + "/projects?q=加装电梯", headers={"Authorization": f"Bearer {token}"})
    assert [p["id"] for p in got.json["items"]] == [lift.id]


def test_api_deputy_proposes_once_per_key_and_only_while_collecting(client, db, office,
                                                                    make_round, make_deputy_user):
    from backend.projects import screening
    from backend.projects.models import ProjectProposal
    round_ = make_round()
    deputy = make_deputy_user()
    headers = {"Authorization": f"Bearer {_token(db, deputy)}"}
    body = {"title": "老街路灯改造", "content": "更换老街两侧损坏的路灯", "reason": "夜里出行不安全",
            "category": "交通", "idempotency_key": "deputy-key-0001"}
    first = client.post(API + "/deputy/projects", json=body, headers=headers)
    again = client.post(API + "/deputy/projects", json=body, headers=headers)  # a retry
    assert (first.status_code, again.status_code) == (201, 200), first.json
    assert first.json == again.json and first.json["number"].startswith("MS2027-")
    (made,) = db.session.scalars(sa.select(ProjectProposal)).all()
    assert (made.author_kind, made.deputy_id, made.staff_id) == ("deputy", deputy.deputy_id,
                                                                 deputy.id)
    resident = {"Authorization": f"Bearer {_token(db)}"}
    assert client.post(API + "/deputy/projects", json={**body, "idempotency_key": "resident-k-1"},
                       headers=resident).status_code == 403
    bad = client.post(API + "/deputy/projects", json={**body, "title": "", "idempotency_key": "k" * 10},
                      headers=headers)
    assert bad.status_code == 422 and "title" in bad.json["errors"]
    screening.close_collection(round_, actor=office)
    db.session.commit()
    late = client.post(API + "/deputy/projects", json={**body, "idempotency_key": "deputy-key-0002"},
                       headers=headers)
    assert late.status_code == 409 and late.json["code"] == "round_cannot_propose"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProjectProposal)) == 1
