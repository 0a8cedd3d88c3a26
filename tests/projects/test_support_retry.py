"""Supporting (附议) again is not an error: a retry whose answer was lost, a double tap, a second
device answer as the first support did (200, the proposal and its count) and change nothing; the
count never takes one resident twice, racing requests included (PostgreSQL). The proposer's own
support and a new support after collection closed stay 409."""
import re
import uuid

import pytest
import sqlalchemy as sa

from backend.accounts.resident_model import Resident
from backend.projects import collection, screening
from backend.projects.models import ProjectFollow, ProjectProposal, ProjectSupport
from miniprogram_api.auth import session_for
from tests.conftest import at_once, csrf_token

API = "/api/mp/v1"


def _resident_headers(db) -> tuple[int, dict]:
    resident = Resident(openid=f"o-{uuid.uuid4().hex[:20]}")
    db.session.add(resident)
    db.session.commit()
    return resident.id, {"Authorization": f"Bearer {session_for(resident)['token']}"}


def _footprint(db) -> tuple[int, int]:
    """What a support writes: the support, and the supporter following the proposal."""
    def count(model):
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))
    return count(ProjectSupport), count(ProjectFollow)


def test_supporting_again_answers_200_with_the_same_answer(client, db, make_round, make_proposal):
    proposal = make_proposal(make_round())
    db.session.commit()
    _, headers = _resident_headers(db)
    url = f"{API}/projects/{proposal.id}/support"
    first = client.post(url, headers=headers)
    assert first.status_code == 200, first.json
    assert first.json["supports"] == 1
    after_first = _footprint(db)
    assert after_first == (1, 2)  # the proposer follows their own proposal
    again = client.post(url, headers=headers)
    assert (again.status_code, again.json) == (200, first.json)
    assert _footprint(db) == after_first


def test_the_operation_says_whether_the_support_was_counted_now(db, make_round, make_proposal,
                                                                make_resident):
    proposal, resident = make_proposal(make_round()), make_resident()
    row, created = collection.support(proposal, resident=resident)
    again, created_again = collection.support(proposal, resident=resident)
    assert (created, created_again) == (True, False)
    assert again.id == row.id and collection.support_count(proposal) == 1


def test_a_retry_after_collection_closed_still_answers_200(client, db, office, make_round,
                                                           make_proposal):
    """As a proposal's retry gets its receipt: the support was counted while collection was open.
    A resident who had not supported is still refused."""
    round_ = make_round()
    proposal = make_proposal(round_)
    db.session.commit()
    _, headers = _resident_headers(db)
    url = f"{API}/projects/{proposal.id}/support"
    first = client.post(url, headers=headers)
    assert first.status_code == 200, first.json
    screening.close_collection(round_, actor=office)
    db.session.commit()
    before = _footprint(db)
    again = client.post(url, headers=headers)
    assert again.status_code == 200, again.json
    assert (again.json["id"], again.json["supports"]) == (proposal.id, 1)
    late = client.post(url, headers=_resident_headers(db)[1])
    assert (late.status_code, late.json["code"]) == (409, "project_cannot_support")
    assert re.search(r"[\u4e00-\u9fff]", late.json["message"])
    assert _footprint(db) == before


def test_the_proposers_own_support_stays_409_and_is_never_counted(client, db, make_round):
    make_round()
    db.session.commit()
    _, headers = _resident_headers(db)
    made = client.post(API + "/projects", headers=headers, json={
        "title": "增设公交站台座椅", "content": "在人民路公交站增设座椅和遮阳棚",
        "reason": "老人候车站得累", "category": "交通", "idempotency_key": "support-own-01"})
    assert made.status_code == 201, made.json
    before = _footprint(db)
    for _ in range(2):
        own = client.post(f"{API}/projects/{made.json['id']}/support", headers=headers)
        assert (own.status_code, own.json["code"]) == (409, "project_own_proposal")
    assert _footprint(db) == before == (0, 1)


def test_a_request_that_loses_the_race_keeps_the_rest_of_its_transaction(
        db, make_round, make_proposal, make_resident, monkeypatch):
    """The other request committed the support between our look-up and our insert: the unique
    constraint refuses ours, only its savepoint is rolled back (it used to roll back the whole
    session and answer 409), and we answer with theirs (on either database)."""
    round_ = make_round()
    proposal, resident, other = make_proposal(round_), make_resident(), make_proposal(round_)
    winner, _ = collection.support(proposal, resident=resident)
    db.session.commit()
    winner_id = winner.id
    collection.follow(other, resident=resident)  # this request's own work, not yet committed
    looked = iter([None])  # the first look-up came too early; later ones see the winner
    real = collection._support_of
    monkeypatch.setattr(collection, "_support_of",
                        lambda p, r: next(looked, None) or real(p, r))
    row, created = collection.support(proposal, resident=resident)
    assert (row.id, created) == (winner_id, False)
    db.session.commit()
    assert collection.support_count(proposal) == 1
    assert resident.id in {f.resident_id for f in db.session.scalars(
        sa.select(ProjectFollow).filter_by(proposal_id=other.id))}


def test_two_devices_supporting_at_once_count_once(app, db, postgres_only, make_round,
                                                   make_proposal, make_resident):
    """The same resident three times at the same instant (a double tap, a retry, a second phone):
    one support, the others answered with it; nobody gets an error."""
    proposal = make_proposal(make_round())
    resident_id = make_resident().id
    db.session.commit()
    proposal_id = proposal.id
    outcomes = at_once(app, *[_supporter(proposal_id, resident_id)] * 3)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert len({support_id for support_id, _ in outcomes}) == 1
    assert sorted(created for _, created in outcomes) == [False, False, True]
    db.session.expire_all()
    assert collection.support_count(db.session.get(ProjectProposal, proposal_id)) == 1
    assert _footprint(db) == (1, 2)


def test_different_residents_supporting_at_once_all_count(app, db, postgres_only, make_round,
                                                          make_proposal, make_resident):
    proposal = make_proposal(make_round())
    ids = [make_resident().id for _ in range(3)]
    db.session.commit()
    proposal_id = proposal.id
    outcomes = at_once(app, *[_supporter(proposal_id, rid) for rid in ids])
    assert [created for _, created in outcomes] == [True, True, True], outcomes
    db.session.expire_all()
    assert collection.support_count(db.session.get(ProjectProposal, proposal_id)) == 3


def _supporter(proposal_id, resident_id):
    def run():
        from backend.core.extensions import db as tdb
        row, created = collection.support(tdb.session.get(ProjectProposal, proposal_id),
                                          resident=tdb.session.get(Resident, resident_id))
        return row.id, created
    return run


def test_a_double_tap_on_the_portal_shows_the_project_not_an_error(client, db, make_round,
                                                                   make_proposal):
    proposal = make_proposal(make_round())
    db.session.commit()
    page_url = f"/projects/{proposal.id}"
    token = csrf_token(client, page_url)
    assert 'data-testid="support"' in client.get(page_url).get_data(as_text=True)
    for _ in range(2):
        tap = client.post(f"{page_url}/support", data={"csrf_token": token})
        assert tap.status_code == 302 and tap.location.endswith(page_url), tap.status_code
    assert _footprint(db) == (1, 2)
    page = client.get(page_url).get_data(as_text=True)
    assert re.search(r'data-testid="supports">1<', page)
    assert 'data-testid="support"' not in page and 'data-testid="supported"' in page


def test_the_portal_refuses_the_proposers_own_support_in_chinese(client, db, make_round):
    from tests.conftest import post_form
    make_round()
    db.session.commit()
    page = client.get("/projects/new").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    made = post_form(client, "/projects/new", {
        "title": "增设公交站台座椅", "content": "在人民路公交站增设座椅和遮阳棚",
        "reason": "老人候车站得累", "category": "交通", "idempotency_key": key})
    assert made.status_code == 302
    proposal_id = db.session.scalar(sa.select(ProjectProposal.id))
    own = post_form(client, f"/projects/{proposal_id}/support", {},
                    form_url="/projects/new")
    assert own.status_code == 409 and "这是您自己提出的项目" in own.get_data(as_text=True)
    assert _footprint(db) == (0, 1)


def test_the_api_document_says_supporting_again_answers_200(client):
    responses = client.get(API + "/openapi.json").json["paths"][
        "/projects/{proposal_id}/support"]["post"]["responses"]
    assert "201" not in responses  # the first support is 200, as it always was
    assert "成功" in responses["200"]["description"]
    assert "重复提交" in responses["200"]["description"]
    assert {"project_cannot_support", "project_own_proposal"} <= set(
        re.findall(r"[a-z_]+", responses["409"]["description"]))
    assert "project_already_supported" not in str(responses)
