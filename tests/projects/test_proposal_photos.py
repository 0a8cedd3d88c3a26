"""Residents' photos on their proposals: cleaned of EXIF/GPS, private to the proposer and the
office and liaisons until the office marks each one 可公开 during screening; bad uploads are
refused in Chinese with nothing stored; the mini-program uploads ahead and claims by id."""
import io
import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from backend.core.errors import Forbidden, InvalidState
from backend.core.timeutil import utcnow
from backend.projects import photo_files, proposal_photos, screening
from backend.projects.models import ProjectProposal, ProjectProposalPhoto
from miniprogram_api.auth import session_for
from tests.conftest import csrf_token, post_form
from tests.projects.test_photos import _gps_jpeg

FORM = {"title": "修缮老街路灯", "category": "交通", "content": "解放路老街路灯多处不亮，夜里行人不便",
        "reason": "老人晚上出门容易摔倒"}
API = "/api/mp/v1"


def _files(app) -> set[str]:
    root = Path(app.config["UPLOAD_DIR"]) / "proposals"
    return {p.name for p in root.rglob("*") if p.is_file()}


def _propose(client, photos, **extra):
    page = client.get("/projects/new").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    data = {**FORM, **extra, "idempotency_key": key,
            "csrf_token": csrf_token(client, "/projects/new"),
            "photos": [(io.BytesIO(p), f"现场{n}.jpg") for n, p in enumerate(photos, 1)]}
    return client.post("/projects/new", data=data, content_type="multipart/form-data")


def _count(db, model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def proposed(app, db, make_round):
    """A resident's proposal with two photos, sent from the portal form."""
    round_ = make_round()
    db.session.commit()
    proposer = app.test_client()
    resp = _propose(proposer, [_gps_jpeg(), _gps_jpeg()])
    assert resp.status_code == 302, resp.get_data(as_text=True)
    proposal = db.session.scalar(sa.select(ProjectProposal))
    return round_, proposal, proposer, [p.id for p in proposal.photos]


def _urls(proposal, photo_id):
    return (f"/projects/{proposal.id}/proposal-photos/{photo_id}",
            f"/staff/projects/{proposal.id}/proposal-photos/{photo_id}")


def test_photos_are_stored_cleaned_and_private_to_the_proposer(app, db, proposed):
    _, proposal, proposer, ids = proposed
    assert len(ids) == 2
    public_url, _ = _urls(proposal, ids[0])
    got = proposer.get(public_url)
    assert got.status_code == 200 and got.mimetype == "image/jpeg"
    assert got.headers["Cache-Control"] == "private, no-store"
    assert not Image.open(io.BytesIO(got.data)).getexif()  # no EXIF, no GPS
    page = proposer.get(f"/projects/{proposal.id}").get_data(as_text=True)
    assert page.count('data-testid="proposal-photo"') == 2
    assert page.count('data-testid="photo-private"') == 2
    anonymous = app.test_client()
    assert anonymous.get(public_url).status_code == 404
    assert 'data-testid="proposal-photo"' not in anonymous.get(
        f"/projects/{proposal.id}").get_data(as_text=True)
    other = app.test_client()
    assert _propose(other, []).status_code == 302  # another resident, with their own proposal
    assert other.get(public_url).status_code == 404


ROLES_BEFORE = {"admin": 200, "liaison": 200, "deputy": 404, "department": 403}


@pytest.mark.parametrize("role", list(ROLES_BEFORE))
def test_staff_before_and_after_the_office_makes_it_public(app, client, login, db, office,
                                                          proposed, make_staff, make_station,
                                                          make_deputy, make_department, role):
    round_, proposal, _, ids = proposed
    user = {"admin": office, "liaison": make_staff("liaison", stations=[make_station()]),
            "deputy": make_staff("deputy", deputy=make_deputy()),
            "department": make_staff("department", department=make_department())}[role]
    _, staff_url = _urls(proposal, ids[0])
    login(user)
    assert client.get(staff_url).status_code == ROLES_BEFORE[role]
    proposal_photos.set_public(db.session.get(ProjectProposalPhoto, ids[0]), True, actor=office)
    db.session.commit()
    # Departments see no proposal before it is a candidate they lead: still refused.
    assert client.get(staff_url).status_code == (403 if role == "department" else 200)
    _, other_url = _urls(proposal, ids[1])
    assert client.get(other_url).status_code == ROLES_BEFORE[role]  # approved one by one


def test_the_office_approves_on_the_staff_page_with_the_warning(app, client, login, db, office,
                                                                proposed):
    _, proposal, proposer, ids = proposed
    login(office)
    page_url = f"/staff/projects/{proposal.id}"
    page = client.get(page_url).get_data(as_text=True)
    assert 'data-testid="privacy-check"' in page and "人脸" in page and "车牌" in page
    assert page.count('data-testid="photo-public"') == 2
    done = post_form(client, f"{page_url}/proposal-photos/{ids[0]}/public", {},
                     form_url=page_url, follow_redirects=True).get_data(as_text=True)
    assert "照片已设为可公开" in done
    public_url, _ = _urls(proposal, ids[0])
    anonymous = app.test_client()
    assert anonymous.get(public_url).status_code == 200
    assert anonymous.get(_urls(proposal, ids[1])[0]).status_code == 404
    shown = anonymous.get(f"/projects/{proposal.id}").get_data(as_text=True)
    assert shown.count('data-testid="proposal-photo"') == 1
    post_form(client, f"{page_url}/proposal-photos/{ids[0]}/private", {}, form_url=page_url)
    assert anonymous.get(public_url).status_code == 404


def test_only_the_office_and_only_while_screening(db, office, proposed, make_staff,
                                                  make_station, make_department):
    round_, proposal, _, ids = proposed
    photo = db.session.get(ProjectProposalPhoto, ids[0])
    with pytest.raises(Forbidden):
        proposal_photos.set_public(photo, True,
                                   actor=make_staff("liaison", stations=[make_station()]))
    screening.close_collection(round_, actor=office)
    screening.nominate(proposal, department_id=make_department().id, estimated_cost=1000,
                       plan="年内完成路灯更换和验收", actor=office)
    assert proposal_photos.set_public(photo, True, actor=office).public_at is not None
    round_.status = "voting"  # past screening
    with pytest.raises(InvalidState) as err:
        proposal_photos.set_public(db.session.get(ProjectProposalPhoto, ids[1]), True, actor=office)
    assert err.value.code == "photo_cannot_publish"


@pytest.mark.parametrize("photos, message", [
    ("bad_second", "第2张照片：文件不是有效的图片"),
    ("ten", "最多上传9张照片"),
])
def test_bad_uploads_are_refused_in_chinese_and_nothing_is_stored(app, db, make_round, photos,
                                                                  message):
    make_round()
    db.session.commit()
    before = _files(app)
    uploads = {"bad_second": [_gps_jpeg(), b"not an image"], "ten": [_gps_jpeg()] * 10}[photos]
    resp = _propose(app.test_client(), uploads)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and message in page
    assert FORM["content"] in page  # what they wrote is kept
    assert _count(db, ProjectProposal) == 0 and _count(db, ProjectProposalPhoto) == 0
    assert _files(app) == before


def _mp_token(db, make_resident):
    resident = make_resident(openid=f"o-{uuid.uuid4().hex[:20]}")
    db.session.commit()
    return resident, {"Authorization": f"Bearer {session_for(resident)['token']}"}


def test_mini_program_uploads_ahead_and_claims_its_own_photos_only(app, client, db, make_round,
                                                                   make_resident):
    make_round()
    owner, headers = _mp_token(db, make_resident)
    _, others = _mp_token(db, make_resident)
    up = client.post(API + "/projects/photos", headers=headers, content_type="multipart/form-data",
                     data={"photo": (io.BytesIO(_gps_jpeg()), "p.jpg")})
    assert up.status_code == 201, up.json
    photo_id = up.json["id"]
    bad = client.post(API + "/projects/photos", headers=headers, content_type="multipart/form-data",
                      data={"photo": (io.BytesIO(b"not an image"), "p.jpg")})
    assert bad.status_code == 422 and "图片" in bad.json["message"] + str(bad.json["errors"])
    assert _count(db, ProjectProposalPhoto) == 1
    body = {**FORM, "idempotency_key": "mp-photo-0001", "photo_ids": [photo_id]}
    stolen = client.post(API + "/projects", json={**body, "idempotency_key": "mp-photo-0002"},
                         headers=others)
    assert stolen.status_code == 422 and "照片无效或已被使用" in str(stolen.json["errors"])
    assert _count(db, ProjectProposal) == 0
    made = client.post(API + "/projects", json=body, headers=headers)
    assert made.status_code == 201, made.json
    detail = client.get(API + f"/projects/{made.json['id']}", headers=headers).json
    assert detail["photos"] == [{"id": photo_id, "width": 80, "height": 40, "is_public": False}]
    assert client.get(API + f"/projects/{made.json['id']}", headers=others).json["photos"] == []
    url = API + f"/projects/{made.json['id']}/photos/{photo_id}"
    assert client.get(url, headers=headers).status_code == 200
    assert client.get(url, headers=others).status_code == 404


def test_an_unsent_upload_is_swept_after_a_day_a_sent_one_never(app, client, db, make_round,
                                                                make_resident, proposed):
    _, proposal, _, ids = proposed
    _, headers = _mp_token(db, make_resident)
    up = client.post(API + "/projects/photos", headers=headers, content_type="multipart/form-data",
                     data={"photo": (io.BytesIO(_gps_jpeg()), "p.jpg")})
    unsent = db.session.get(ProjectProposalPhoto, up.json["id"]).storage_key
    report = photo_files.sweep(utcnow() + timedelta(days=2))
    db.session.commit()
    assert report.unsent_photos == [unsent]
    db.session.expire_all()
    assert [p.id for p in db.session.get(ProjectProposal, proposal.id).photos] == ids
    assert _count(db, ProjectProposalPhoto) == 2
    assert unsent.rsplit("/", 1)[-1] not in _files(app)
