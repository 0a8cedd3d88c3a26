"""The upload side of WeChat's asynchronous image check: a mini-program resident's photo is sent
to mediaCheckAsync with a signed, lapsing URL WeChat fetches it from, and its trace id is kept
so the verdict (tests/wechat_push) finds it. WeChat down refuses no upload; without the push
configured, or for a web resident, WeChat is not asked."""
import io
import json
from urllib.parse import urlsplit

import pytest
import responses

from backend.messages import operations as ops
from backend.messages.models import MessagePhoto
from tests.api.conftest import image_bytes
from tests.conftest import FAKE_WECHAT

CHECK_URL = FAKE_WECHAT + "wxa/media_check_async"


@pytest.fixture
def push_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_PUSH_TOKEN", "lianxin-push")
    monkeypatch.setitem(app.config, "WECHAT_PUSH_AES_KEY", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR")
    monkeypatch.setitem(app.config, "WECHAT_APPID", "wx0123456789abcdef")


def _upload(api, token):
    return api.post("/photos", token, data={"photo": (io.BytesIO(image_bytes()), "p.jpg")},
                    content_type="multipart/form-data")


def test_upload_asks_wechat_and_keeps_the_trace_id(api, client, db, wechat, push_on, make_resident,
                                                   token_for, monkeypatch):
    resident = make_resident()
    wechat.add(responses.POST, CHECK_URL, json={"errcode": 0, "errmsg": "ok", "trace_id": "tr-001"})
    resp = _upload(api, token_for(resident))
    assert resp.status_code == 201, resp.get_json()
    photo = db.session.get(MessagePhoto, resp.get_json()["id"])
    assert photo.media_trace_id == "tr-001"
    sent = json.loads([c for c in wechat.calls if c.request.url.startswith(CHECK_URL)][0].request.body)
    assert sent["openid"] == resident.openid and sent["media_type"] == 2 and sent["version"] == 2
    # WeChat fetches the photo from the URL it was given, without any token of ours.
    fetch = urlsplit(sent["media_url"]).path
    assert fetch.startswith("/wechat/media/")
    fetched = client.get(fetch)
    assert fetched.status_code == 200 and fetched.headers["Content-Type"] == "image/jpeg"
    assert fetched.data[:3] == b"\xff\xd8\xff"
    assert "no-store" in fetched.headers["Cache-Control"]
    # A forged or lapsed link shows nothing.
    assert client.get(fetch[:-3] + "AAA").status_code == 404
    assert client.get(f"/wechat/media/{photo.id}").status_code == 404
    monkeypatch.setattr(ops, "MEDIA_FETCH_MAX_AGE", -1)
    lapsed = client.get(fetch)
    assert lapsed.status_code == 404 and lapsed.get_json()["code"] == "media_not_found"


def test_wechat_down_refuses_no_upload(api, db, wechat, push_on, make_resident, token_for):
    wechat.add(responses.POST, CHECK_URL, json={"errcode": 45009, "errmsg": "reach max api daily quota limit"})
    resp = _upload(api, token_for(make_resident()))
    assert resp.status_code == 201
    assert db.session.get(MessagePhoto, resp.get_json()["id"]).media_trace_id is None


def test_without_the_push_wechat_is_not_asked(api, db, wechat, make_resident, token_for):
    resp = _upload(api, token_for(make_resident()))
    assert resp.status_code == 201
    assert not [c for c in wechat.calls if c.request.url.startswith(CHECK_URL)]
    assert db.session.get(MessagePhoto, resp.get_json()["id"]).media_trace_id is None


def test_a_web_resident_photo_is_not_sent_to_wechat(db, wechat, push_on, make_resident):
    photo = ops.store_photo(image_bytes(), resident=make_resident(openid=None, web_key="k" * 43))
    assert photo.media_trace_id is None
    assert not [c for c in wechat.calls if c.request.url.startswith(CHECK_URL)]
