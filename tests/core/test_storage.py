"""File storage (issue #12): the local disk and the S3-compatible object store keep the same
interface, against a real S3 server over HTTP (moto_server, tests/object_store.py). Residents'
photos in the store stay private: written without a public grant, read back only through the
app's access-checked routes; an unreachable store answers a coded 503 and keeps nothing."""
import io
import urllib.error
import urllib.request

import pytest

from backend import create_app
from backend.core.errors import Unavailable
from backend.core.storage import LocalStorage, StorageMisconfigured, storage_from_config
from backend.core.storage_s3 import S3Storage
from backend.messages.models import MessagePhoto
from tests.object_store import REGION, s3_client

JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")


def test_saves_reads_streams_and_deletes(each_storage):
    data = b"\xff\xd8" + bytes(range(256)) * 600  # several stream chunks
    key = each_storage.save(data, "messages", "jpg")
    assert key.startswith("messages/") and key.endswith(".jpg")
    assert each_storage.exists(key)
    assert each_storage.read(key) == data
    chunks, size = each_storage.stream(key)
    chunks = list(chunks)
    assert size == len(data) and b"".join(chunks) == data and len(chunks) > 1
    each_storage.delete(key)
    assert not each_storage.exists(key)


def test_a_missing_key_reads_as_missing_and_deletes_quietly(each_storage):
    missing = "messages/" + "0" * 24 + ".jpg"
    with pytest.raises(FileNotFoundError):
        each_storage.read(missing)
    with pytest.raises(FileNotFoundError):
        each_storage.stream(missing)
    assert not each_storage.exists(missing) and not each_storage.exists(None)
    each_storage.delete(missing)


@pytest.mark.parametrize("key", ["../outside.jpg", "messages/../../outside.jpg", "/etc/passwd"])
def test_keys_that_leave_the_store_are_refused(each_storage, key):
    with pytest.raises(ValueError):
        each_storage.read(key)


def test_objects_are_private_under_the_prefix(s3_storage, s3_endpoint, s3_bucket):
    key = s3_storage.save(JPEG, "messages", "jpg")
    raw = s3_client(s3_endpoint)
    stored = raw.get_object(Bucket=s3_bucket, Key=f"app/{key}")
    assert stored["Body"].read() == JPEG and stored["ContentType"] == "image/jpeg"
    grants = raw.get_object_acl(Bucket=s3_bucket, Key=f"app/{key}")["Grants"]
    assert not [g for g in grants if g["Grantee"].get("Type") == "Group"]  # no AllUsers grant
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{s3_endpoint}/{s3_bucket}/app/{key}", timeout=5)
    assert refused.value.code == 403  # no one reads it from the bucket without credentials


def test_a_photo_upload_lands_in_the_store_and_is_streamed_back(client, db, each_storage):
    from backend.accounts.resident_model import Resident
    from miniprogram_api.auth import session_for
    from tests.api.conftest import image_bytes
    resident = Resident(openid="o-storage-test")
    db.session.add(resident)
    db.session.commit()
    headers = {"Authorization": f"Bearer {session_for(resident)['token']}"}
    resp = client.post("/api/mp/v1/photos", headers=headers, content_type="multipart/form-data",
                       data={"photo": (io.BytesIO(image_bytes()), "p.jpg")})
    assert resp.status_code == 201, resp.get_json()
    photo = db.session.get(MessagePhoto, resp.get_json()["id"])
    assert each_storage.exists(photo.storage_key)
    served = client.get(f"/api/mp/v1/photos/{photo.id}", headers=headers)
    assert served.status_code == 200 and served.data == each_storage.read(photo.storage_key)
    assert served.headers["Content-Length"] == str(len(served.data))
    assert "no-store" in served.headers["Cache-Control"]


@pytest.fixture
def unreachable_store(app):
    import socket
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    saved = app.extensions["lianxin_storage"]
    app.extensions["lianxin_storage"] = S3Storage(
        bucket="lianxin-down", endpoint_url=f"http://127.0.0.1:{port}", region=REGION)
    yield app.extensions["lianxin_storage"]
    app.extensions["lianxin_storage"] = saved


def test_an_unreachable_store_refuses_an_upload_with_a_code_and_keeps_nothing(
        client, db, unreachable_store, monkeypatch):
    from backend.accounts.resident_model import Resident
    from miniprogram_api.auth import session_for
    from tests.api.conftest import image_bytes
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with pytest.raises(Unavailable) as down:
        unreachable_store.save(JPEG, "messages", "jpg")
    assert down.value.code == "storage_unavailable"
    resident = Resident(openid="o-storage-down")
    db.session.add(resident)
    db.session.commit()
    resp = client.post("/api/mp/v1/photos", content_type="multipart/form-data",
                       headers={"Authorization": f"Bearer {session_for(resident)['token']}"},
                       data={"photo": (io.BytesIO(image_bytes()), "p.jpg")})
    body = resp.get_json()
    assert resp.status_code == 503 and body["code"] == "storage_unavailable"
    assert "照片暂时无法保存" in body["message"]
    assert db.session.scalar(db.select(db.func.count()).select_from(MessagePhoto)) == 0


def test_an_unreachable_store_gives_the_portal_form_back_with_the_text(
        client, db, make_deputy, unreachable_store, monkeypatch):
    from backend.messages.models import Message
    from backend.org.codes import active_code
    from tests.portal.helpers import jpeg, send
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    url = f"/d/{active_code(make_deputy()).token}/write"
    db.session.commit()
    body = "楼道里的声控灯坏了三个月，晚上上下楼看不见台阶。"
    resp = send(client, url, body=body, photos=[(jpeg(), "楼道.jpg")])
    page = resp.get_data(as_text=True)
    assert resp.status_code == 503 and resp.headers["Retry-After"]
    assert "照片暂时无法保存" in page and body in page  # the resident's words are still there
    assert db.session.scalar(db.select(db.func.count()).select_from(Message)) == 0
    assert send(client, url, body=body).status_code == 302  # without the photo it goes now
    assert db.session.scalar(db.select(db.func.count()).select_from(Message)) == 1


def test_readyz_checks_the_store_only_when_one_is_configured(app, client, s3_storage,
                                                             unreachable_store):
    # unreachable_store is the app's storage now
    down = client.get("/readyz")
    assert down.status_code == 503 and down.get_json()["checks"]["storage"]["ok"] is False
    app.extensions["lianxin_storage"] = s3_storage
    up = client.get("/readyz")
    assert up.status_code == 200 and up.get_json()["checks"]["storage"] == {"ok": True,
                                                                           "detail": "ok"}


def test_readyz_has_no_store_check_on_local_disk(client):
    assert "storage" not in client.get("/readyz").get_json()["checks"]


def test_the_backend_is_chosen_by_config(tmp_path):
    local = storage_from_config({"UPLOAD_DIR": str(tmp_path)}, tmp_path)
    assert isinstance(local, LocalStorage) and local.root == tmp_path
    s3 = storage_from_config({"STORAGE_BACKEND": "S3", "S3_BUCKET": "photos",
                              "S3_ENDPOINT_URL": "http://minio:9000", "S3_PREFIX": "/lianxin/"},
                             tmp_path)
    assert isinstance(s3, S3Storage)
    assert (s3.bucket, s3.endpoint_url, s3.prefix, s3.addressing_style) == (
        "photos", "http://minio:9000", "lianxin/", "path")


@pytest.mark.parametrize("settings, says", [
    ({"STORAGE_BACKEND": "s3"}, "S3_BUCKET"),
    ({"STORAGE_BACKEND": "ftp"}, "STORAGE_BACKEND 只能是"),
])
def test_the_app_refuses_to_start_on_storage_it_cannot_use(tmp_path, settings, says):
    with pytest.raises(StorageMisconfigured, match=says):
        create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/x.sqlite",
                   **settings)


def test_a_sweep_removes_only_the_folders_old_files(each_storage):
    pending = each_storage.save(b"xlsx", "imports", "xlsx")
    photo = each_storage.save(JPEG, "messages", "jpg")
    each_storage.sweep("imports", 3600)
    assert each_storage.exists(pending)
    each_storage.sweep("imports", -60)  # everything there is "older" than a minute from now
    assert not each_storage.exists(pending) and each_storage.exists(photo)
    each_storage.delete(photo)


def test_keys_in_lists_one_folders_keys_with_their_age_on_both_backends(each_storage):
    """The orphaned-photo sweep (projects/photo_files) lists a folder the same way on disk and
    in the object store: keys the store can read back, and a recent UTC time."""
    from datetime import datetime, timedelta, timezone
    inside = {each_storage.save(b"a", "project-sweep-test", "jpg"),
              each_storage.save(b"b", "project-sweep-test", "jpg")}
    outside = each_storage.save(b"c", "project-sweep-other", "jpg")
    listed = dict(each_storage.keys_in("project-sweep-test"))
    assert set(listed) == inside and outside not in listed
    now = datetime.now(timezone.utc)
    assert all(now - timedelta(minutes=5) < when <= now + timedelta(minutes=1)
               for when in listed.values())
    assert all(each_storage.read(key) in (b"a", b"b") for key in listed)
    assert list(each_storage.keys_in("project-sweep-none")) == []
    for key in inside | {outside}:
        each_storage.delete(key)
