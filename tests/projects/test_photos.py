"""Photos on progress reports: cleaned (no EXIF/GPS) and stored with the report, public with
the project, refused whole when one is bad (no report, no file left behind)."""
import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from backend.core.errors import ValidationFailed
from backend.projects import delivery, voting
from backend.projects.models import ProjectPhoto, ProjectUpdate
from tests.conftest import post_form


def _gps_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x8825] = {2: (39.0, 54.0, 0.0)}  # GPS
    out = io.BytesIO()
    Image.new("RGB", (80, 40), (0, 128, 255)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


@pytest.fixture
def project(db, office, voting_round, make_voter, make_staff):
    round_, c = voting_round
    voting.cast_ballot(round_, [c[0].id], actor=make_voter(round_))
    voting.close_vote(round_, actor=office)
    voting.decide(round_, actor=office)
    delivery.start_delivery(round_, actor=office)
    return c[0], make_staff("department", department=c[0].department), c


def _files(app) -> list[Path]:
    return [p for p in (Path(app.config["UPLOAD_DIR"]) / "projects").rglob("*") if p.is_file()]


def test_a_reports_photos_are_cleaned_stored_and_public_with_the_project(app, client, db,
                                                                         project):
    proposal, lead, c = project
    assert Image.open(io.BytesIO(_gps_jpeg())).getexif().get_ifd(0x8825)  # the upload has GPS
    files = set(_files(app))
    update = delivery.report_progress(proposal, progress=30, title="开工", actor=lead,
                                      photos=[_gps_jpeg(), _gps_jpeg()])
    db.session.commit()
    assert len(update.photos) == 2 and len(set(_files(app)) - files) == 2
    page = client.get(f"/projects/{proposal.id}").get_data(as_text=True)
    assert page.count('data-testid="update-photo"') == 2
    url = f"/projects/{proposal.id}/photos/{update.photos[0].id}"
    got = client.get(url)  # anyone: the project is public in delivery
    assert got.status_code == 200 and got.mimetype == "image/jpeg"
    assert got.headers["Cache-Control"] == "private, no-store"
    assert not Image.open(io.BytesIO(got.data)).getexif()  # no EXIF, no GPS
    other = client.get(f"/projects/{c[4].id}/photos/{update.photos[0].id}")  # not its project
    assert other.status_code == 404


@pytest.mark.parametrize("uploads, message", [
    ([None, b"not an image at all"], "第2张照片"),  # the first one stored, then removed
    ([None] * 10, "最多上传9张"),
])
def test_a_bad_photo_refuses_the_report_and_leaves_no_file(app, db, project, uploads, message):
    proposal, lead, _ = project
    uploads = [u if u is not None else _gps_jpeg() for u in uploads]
    files = set(_files(app))  # the upload folder lives for the whole session
    with pytest.raises(ValidationFailed) as err:
        delivery.report_progress(proposal, progress=30, title="开工", actor=lead, photos=uploads)
    assert message in err.value.errors["photos"][0]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProjectUpdate)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProjectPhoto)) == 0
    assert set(_files(app)) == files and proposal.progress == 0


def test_the_department_uploads_on_the_staff_page(app, client, login, db, project):
    proposal, lead, _ = project
    db.session.commit()
    login(lead)
    url = f"/staff/projects/{proposal.id}"
    token_page = client.get(url).get_data(as_text=True)
    assert 'data-testid="progress-photos"' in token_page
    from tests.conftest import csrf_token
    resp = client.post(url + "/progress", data={
        "csrf_token": csrf_token(client, url), "progress": "40", "title": "主体施工",
        "photos": [(io.BytesIO(_gps_jpeg()), "现场.jpg")]}, content_type="multipart/form-data")
    assert resp.status_code == 302
    db.session.expire_all()
    (update,) = db.session.scalars(sa.select(ProjectUpdate)).all()
    assert len(update.photos) == 1 and update.progress == 40
    assert 'data-testid="update-photo"' in client.get(url).get_data(as_text=True)
