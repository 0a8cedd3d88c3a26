"""A proposal's idempotency key, as for messages and activity matters (backend/core/idempotency.py):
a retry answers 200 with the first receipt and records nothing, a race with one key records one
proposal, the proposer's key sent with another proposal is 422 idempotency_conflict, and another
proposer's key stays 409 idempotency_key_conflict. Nothing refused changes anything."""
import re
import uuid

import pytest
import sqlalchemy as sa

from backend.accounts.resident_model import Resident
from backend.core import idempotency
from backend.core.audit_model import AuditEvent
from backend.projects import collection
from backend.projects.models import (
    ProjectEvent, ProjectFollow, ProjectProposal, ProjectProposalPhoto, ProjectRound,
)
from miniprogram_api.auth import session_for
from tests.conftest import at_once, csrf_token

API = "/api/mp/v1"
FORM = {"title": "增设公交站台座椅", "content": "在人民路公交站增设座椅和遮阳棚",
        "reason": "老人候车站得累", "category": "交通"}
OTHER_PROPOSALS = [{"title": "修缮老街路灯"}, {"content": "在解放路公交站增设座椅和遮阳棚"},
                   {"reason": "夏天候车太晒"}, {"category": "养老"}]


def _headers(db, staff=None) -> dict:
    resident = Resident(openid=f"o-{uuid.uuid4().hex[:20]}")
    db.session.add(resident)
    db.session.flush()
    if staff is not None:
        staff.wechat_openid = resident.openid
    db.session.commit()
    return {"Authorization": f"Bearer {session_for(resident, staff)['token']}"}


def _footprint(db) -> tuple:
    """Every row a proposal writes: itself, its event, its audit entry, the proposer following."""
    def count(model, *where):
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))
    return (count(ProjectProposal), count(ProjectEvent), count(ProjectFollow),
            count(AuditEvent, AuditEvent.action == "project.propose"),
            count(ProjectProposalPhoto, ProjectProposalPhoto.proposal_id.is_not(None)))


def _chinese(text: str) -> bool:
    return bool(re.search(r"[\u4e00-\u9fff]", text))


def test_a_retry_answers_200_with_the_first_receipt_and_records_nothing(client, db, make_round):
    make_round()
    headers = _headers(db)
    photo = client.post(API + "/projects/photos", headers=headers,
                        content_type="multipart/form-data", data={"photo": (_png(), "p.png")})
    assert photo.status_code == 201, photo.json
    body = {**FORM, "idempotency_key": "mp-retry-0001", "photo_ids": [photo.json["id"]]}
    first = client.post(API + "/projects", json=body, headers=headers)
    assert first.status_code == 201, first.json
    after_first = _footprint(db)
    assert after_first == (1, 1, 1, 1, 1)
    # the answer was lost: the phone sends it again, with its photo (taken by the first) and
    # the spaces as they were
    again = client.post(API + "/projects", json={**body, "title": f" {FORM['title']} "},
                        headers=headers)
    assert again.status_code == 200, again.json
    assert again.json == first.json
    assert _footprint(db) == after_first


def test_a_deputys_retry_answers_200_with_the_first_receipt(client, db, make_round,
                                                            make_deputy_user):
    make_round()
    headers = _headers(db, make_deputy_user())
    body = {**FORM, "idempotency_key": "deputy-retry-01"}
    first = client.post(API + "/deputy/projects", json=body, headers=headers)
    assert first.status_code == 201, first.json
    after_first = _footprint(db)
    again = client.post(API + "/deputy/projects", json=body, headers=headers)
    assert (again.status_code, again.json) == (200, first.json)
    assert _footprint(db) == after_first


def test_a_retry_after_collection_closed_still_gets_its_receipt(client, db, office, make_round,
                                                                 make_deputy_user):
    """As a message's retry does: the proposal was made while collection was open."""
    from backend.projects import screening
    round_ = make_round()
    resident, deputy = _headers(db), _headers(db, make_deputy_user())
    sent = {}
    for url, headers in ((API + "/projects", resident), (API + "/deputy/projects", deputy)):
        body = {**FORM, "idempotency_key": f"closed-{len(sent)}-key"}
        first = client.post(url, json=body, headers=headers)
        assert first.status_code == 201, first.json
        sent[url] = (body, headers, first.json)
    screening.close_collection(round_, actor=office)
    db.session.commit()
    before = _footprint(db)
    for url, (body, headers, receipt) in sent.items():
        again = client.post(url, json=body, headers=headers)
        assert (again.status_code, again.json) == (200, receipt), again.json
        late = client.post(url, json={**body, "idempotency_key": "closed-new-key"},
                           headers=headers)
        assert (late.status_code, late.json["code"]) == (409, "round_cannot_propose")
    assert _footprint(db) == before


@pytest.mark.parametrize("change", OTHER_PROPOSALS)
def test_the_proposers_key_sent_with_another_proposal_is_refused(client, db, make_round, change):
    """It used to answer with the first proposal, silently dropping the second."""
    make_round()
    headers = _headers(db)
    body = {**FORM, "idempotency_key": "mp-conflict-01"}
    assert client.post(API + "/projects", json=body, headers=headers).status_code == 201
    before = _footprint(db)
    resp = client.post(API + "/projects", json={**body, **change}, headers=headers)
    assert resp.status_code == 422, resp.json
    assert resp.json["code"] == "idempotency_conflict" and _chinese(resp.json["message"])
    assert _footprint(db) == before
    (kept,) = db.session.scalars(sa.select(ProjectProposal)).all()
    assert (kept.title, kept.content, kept.reason, kept.category) == tuple(FORM.values())


@pytest.mark.parametrize("change", OTHER_PROPOSALS[:1] + OTHER_PROPOSALS[-1:])
def test_a_deputys_key_sent_with_another_proposal_is_refused(client, db, make_round,
                                                             make_deputy_user, change):
    make_round()
    headers = _headers(db, make_deputy_user())
    body = {**FORM, "idempotency_key": "deputy-conflict"}
    assert client.post(API + "/deputy/projects", json=body, headers=headers).status_code == 201
    before = _footprint(db)
    resp = client.post(API + "/deputy/projects", json={**body, **change}, headers=headers)
    assert (resp.status_code, resp.json["code"]) == (422, "idempotency_conflict"), resp.json
    assert _footprint(db) == before


def test_a_key_from_last_years_round_is_another_proposal(db, office, make_round, make_resident):
    from backend.core.errors import ValidationFailed
    from backend.projects import screening
    resident = make_resident()
    last_year = make_round(2026)
    collection.propose_as_resident(last_year, FORM, resident=resident,
                                   idempotency_key="mp-year-key-1")
    screening.close_collection(last_year, actor=office)
    with pytest.raises(ValidationFailed) as err:
        collection.propose_as_resident(make_round(2027), FORM, resident=resident,
                                       idempotency_key="mp-year-key-1")
    assert err.value.code == "idempotency_conflict"


def test_another_proposers_key_stays_409(client, db, make_round, make_deputy_user):
    make_round()
    body = {**FORM, "idempotency_key": "mp-someone-01"}
    assert client.post(API + "/projects", json=body, headers=_headers(db)).status_code == 201
    before = _footprint(db)
    for url, headers in ((API + "/projects", _headers(db)),
                         (API + "/deputy/projects", _headers(db, make_deputy_user()))):
        resp = client.post(url, json=body, headers=headers)
        assert resp.status_code == 409, resp.json
        assert resp.json["code"] == "idempotency_key_conflict" and _chinese(resp.json["message"])
    assert _footprint(db) == before


def test_a_request_that_loses_the_race_for_its_key_answers_with_the_winners_proposal(
        client, db, make_round, monkeypatch):
    """The other request with the same key committed between our look-up and our insert: the
    unique column refuses ours, and we answer with theirs (on either database)."""
    round_ = make_round()
    headers = _headers(db)
    resident_id = db.session.scalar(sa.select(Resident.id).order_by(Resident.id.desc()))
    winner, _ = collection.propose_as_resident(
        round_, FORM, resident=db.session.get(Resident, resident_id), idempotency_key="mp-race-01")
    db.session.commit()
    winner_id, before = winner.id, _footprint(db)
    real, looks = idempotency.made_with, []

    def made_with(model, key):  # the first look came too early; the one after the insert sees it
        looks.append(key)
        return None if len(looks) == 1 else real(model, key)
    monkeypatch.setattr(idempotency, "made_with", made_with)
    resp = client.post(API + "/projects", json={**FORM, "idempotency_key": "mp-race-01"},
                       headers=headers)
    assert resp.status_code == 200, resp.json
    assert resp.json["id"] == winner_id
    assert _footprint(db) == before
    other = client.post(API + "/projects", headers=headers,
                        json={**FORM, "title": "修缮老街路灯", "idempotency_key": "mp-race-01"})
    assert (other.status_code, other.json["code"]) == (422, "idempotency_conflict")
    assert _footprint(db) == before


def test_two_requests_racing_with_one_key_record_one_proposal(app, db, postgres_only, make_round,
                                                              make_resident, make_deputy_user):
    """Before add_once the loser's insert failed on the unique column: a 500."""
    round_id = make_round().id
    resident_id, deputy_staff_id = make_resident().id, make_deputy_user().id
    db.session.commit()

    def as_resident():
        from backend.core.extensions import db as tdb
        proposal, created = collection.propose_as_resident(
            tdb.session.get(ProjectRound, round_id), FORM,
            resident=tdb.session.get(Resident, resident_id), idempotency_key="race-resident")
        return proposal.id, created

    def as_deputy():
        from backend.accounts.models import StaffUser
        from backend.core.extensions import db as tdb
        proposal, created = collection.propose_as_deputy_once(
            tdb.session.get(ProjectRound, round_id), FORM,
            actor=tdb.session.get(StaffUser, deputy_staff_id), idempotency_key="race-deputy")
        return proposal.id, created

    for send in (as_resident, as_deputy):
        outcomes = at_once(app, send, send, send)
        assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
        assert len({proposal_id for proposal_id, _ in outcomes}) == 1
        assert sorted(created for _, created in outcomes) == [False, False, True]
    assert _footprint(db) == (2, 2, 1, 2, 0)


def test_the_portal_form_refuses_its_key_with_another_proposal(client, db, make_round):
    make_round()
    db.session.commit()
    page = client.get("/projects/new").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    token = csrf_token(client, "/projects/new")
    first = client.post("/projects/new", data={**FORM, "idempotency_key": key, "csrf_token": token})
    assert first.status_code == 302
    before = _footprint(db)
    other = client.post("/projects/new", data={**FORM, "title": "修缮老街路灯",
                                               "idempotency_key": key, "csrf_token": token})
    text = other.get_data(as_text=True)
    assert other.status_code == 422 and "该提交编号已用于另一个项目建议" in text
    assert "修缮老街路灯" in text  # what they wrote is kept, under a fresh key
    assert re.search(r'name="idempotency_key" value="([^"]+)"', text).group(1) != key
    assert _footprint(db) == before


def test_the_api_document_says_a_retry_answers_200(client):
    paths = client.get(API + "/openapi.json").json["paths"]
    for path in ("/projects", "/deputy/projects"):
        responses = paths[path]["post"]["responses"]
        assert {"201", "200", "409", "422"} <= set(responses), path
        assert "重复提交" in responses["200"]["description"]


def _png():
    import io

    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", (80, 40), "white").save(out, "PNG")
    out.seek(0)
    return out
