"""WeChat's message push at /wechat/push: the URL check, safe-mode pushes checked and opened with
WeChat's published vectors, tampered and replayed ones refused with a 4xx and nothing changed,
and the two events we act on: a photo's media-check verdict and subscribe-message choices.
Pushes are made the way WeChat makes them, with wechatpy's WeChatCrypto (the test plays WeChat)."""
import hashlib
import json
import time
import uuid

import pytest
import sqlalchemy as sa
from wechatpy.crypto import WeChatCrypto

from backend.accounts.resident_model import SubscribeGrant
from backend.core.adapters import get_storage
from backend.core.audit_model import AuditEvent
from backend.core.push_nonces import WeChatPushNonce
from backend.core.wechat import PushRefused, open_push
from backend.messages.models import Message, MessageEvent, MessagePhoto
from tests.conftest import at_once

# wechatpy's published vector for the AES message crypt.
VECTOR = dict(token="123456", aes_key="kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR",
              appid="wx49f0ab532d5d035a", msg_signature="74d92dfeb87ba7c714f89d98870ae5eb62dff26d",
              timestamp="1411525903", nonce="461056294")
VECTOR_ENCRYPT = (
    "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDX"
    "zF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug"
    "/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZl"
    "F3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb"
    "++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=")
# The push-signature vector of /work/shared/wechat/README.md (wechatpy's tests).
URL_CHECK = dict(token="test", timestamp="1410685589", nonce="test",
                 signature="f21891de399b4e33a1a93c9a7b8a8fffb5a443ff")

TOKEN, AES_KEY, APPID = "lianxin-push", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", "wxlianxin0000001"
JPEG = b"\xff\xd8\xff\xe0 a stored photo's bytes"
TPL_MSG, TPL_REC = "TPL-MSG-answered", "TPL-REC-reminder"


def _signature(token, timestamp, nonce, *more):
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, *more])).encode()).hexdigest()


def _vector_body(encrypt=VECTOR_ENCRYPT) -> bytes:
    return (f"<xml><ToUserName><![CDATA[{VECTOR['appid']}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>").encode()


def _vector_query(**changes) -> dict:
    query = {"signature": _signature(VECTOR["token"], VECTOR["timestamp"], VECTOR["nonce"]),
             "timestamp": VECTOR["timestamp"], "nonce": VECTOR["nonce"],
             "encrypt_type": "aes", "msg_signature": VECTOR["msg_signature"]}
    query.update(changes)
    return {k: v for k, v in query.items() if v is not None}


@pytest.fixture
def vector_push(app, monkeypatch):
    """The app configured as the vector's receiver; the vector is from 2014: age check off."""
    for key, value in {"WECHAT_PUSH_TOKEN": VECTOR["token"], "WECHAT_PUSH_AES_KEY": VECTOR["aes_key"],
                       "WECHAT_APPID": VECTOR["appid"], "WECHAT_PUSH_MAX_AGE_SECONDS": 0}.items():
        monkeypatch.setitem(app.config, key, value)


@pytest.fixture
def push(app, client, monkeypatch):
    """Sends a message as WeChat would: encrypted for our AES key and signed with our token."""
    for key, value in {"WECHAT_PUSH_TOKEN": TOKEN, "WECHAT_PUSH_AES_KEY": AES_KEY,
                       "WECHAT_APPID": APPID, "WECHAT_PUSH_MAX_AGE_SECONDS": 300,
                       "WECHAT_TEMPLATES": {"message.answered": TPL_MSG,
                                            "reception.reminder": TPL_REC}}.items():
        monkeypatch.setitem(app.config, key, value)

    def send(message, *, as_json=False, timestamp=None, nonce=None, client=client):
        timestamp = str(timestamp if timestamp is not None else int(time.time()))
        nonce = nonce or uuid.uuid4().hex[:10]
        plain = json.dumps(message, ensure_ascii=False) if isinstance(message, dict) else message
        envelope = WeChatCrypto(TOKEN, AES_KEY, APPID).encrypt_message(plain, nonce, timestamp)
        encrypt = envelope.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
        body = json.dumps({"ToUserName": "gh_lianxin", "Encrypt": encrypt}) if as_json else envelope
        query = {"signature": _signature(TOKEN, timestamp, nonce), "timestamp": timestamp,
                 "nonce": nonce, "encrypt_type": "aes",
                 "msg_signature": _signature(TOKEN, timestamp, nonce, encrypt)}
        return client.post("/wechat/push", query_string=query, data=body,
                           content_type="application/json" if as_json else "text/xml")
    return send


def _nonces(db) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(WeChatPushNonce))


# ---- the published vectors ----

def test_published_vector_opens_to_its_message():
    message = open_push(VECTOR["token"], VECTOR["aes_key"], VECTOR["appid"],
                        signature=_signature(VECTOR["token"], VECTOR["timestamp"], VECTOR["nonce"]),
                        timestamp=VECTOR["timestamp"], nonce=VECTOR["nonce"],
                        msg_signature=VECTOR["msg_signature"], body=_vector_body(), now=time.time(),
                        max_age_seconds=0)
    assert message["Content"] == "test" and message["FromUserName"] == "messense"
    with pytest.raises(PushRefused) as stale:  # the same, with the default window: from 2014
        open_push(VECTOR["token"], VECTOR["aes_key"], VECTOR["appid"],
                  signature=_signature(VECTOR["token"], VECTOR["timestamp"], VECTOR["nonce"]),
                  timestamp=VECTOR["timestamp"], nonce=VECTOR["nonce"],
                  msg_signature=VECTOR["msg_signature"], body=_vector_body(), now=time.time(),
                  max_age_seconds=300)
    assert stale.value.code == "push_stale"


def test_published_vector_is_taken_once(client, db, vector_push):
    first = client.post("/wechat/push", query_string=_vector_query(), data=_vector_body(),
                        content_type="text/xml")
    assert first.status_code == 200 and first.get_data(as_text=True) == "success"
    assert _nonces(db) == 1
    again = client.post("/wechat/push", query_string=_vector_query(), data=_vector_body(),
                        content_type="text/xml")
    assert again.status_code == 409 and again.get_json()["code"] == "push_replayed"
    assert "已经处理过" in again.get_json()["message"]
    assert _nonces(db) == 1


def test_url_check_answers_echostr_only_when_signed(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_PUSH_TOKEN", URL_CHECK["token"])
    monkeypatch.setitem(app.config, "WECHAT_PUSH_AES_KEY", AES_KEY)
    monkeypatch.setitem(app.config, "WECHAT_APPID", APPID)
    query = {k: URL_CHECK[k] for k in ("signature", "timestamp", "nonce")}
    ok = client.get("/wechat/push", query_string={**query, "echostr": "5837397520665636"})
    assert ok.status_code == 200 and ok.get_data(as_text=True) == "5837397520665636"
    for bad in ({**query, "signature": "f21891de399b4e33a1a93c9a7b8a8fffb5a443fe"},
                {**query, "timestamp": "1410685590"}, {**query, "nonce": "tesT"},
                {k: v for k, v in query.items() if k != "signature"}):
        resp = client.get("/wechat/push", query_string={**bad, "echostr": "5837397520665636"})
        assert resp.status_code in (400, 403), bad
        assert "5837397520665636" not in resp.get_data(as_text=True)
        assert resp.get_json()["code"] == "push_bad_signature"


def _flip(text: str, at: int = 5) -> str:
    return text[:at] + ("0" if text[at] != "0" else "1") + text[at + 1:]


def _resigned(encrypt: str) -> dict:
    """A tampered Encrypt with a valid message signature: as if the token leaked, not the key."""
    return _vector_query(msg_signature=_signature(VECTOR["token"], VECTOR["timestamp"],
                                                  VECTOR["nonce"], encrypt))


TAMPERED = {
    "signature flipped": (_vector_query(signature=_flip(_vector_query()["signature"])), _vector_body(),
                          403, "push_bad_signature"),
    "signature missing": (_vector_query(signature=None), _vector_body(), 400, "push_bad_signature"),
    "msg_signature flipped": (_vector_query(msg_signature=_flip(VECTOR["msg_signature"])),
                              _vector_body(), 403, "push_bad_signature"),
    "msg_signature missing": (_vector_query(msg_signature=None), _vector_body(), 403,
                              "push_bad_signature"),
    "Encrypt changed, not re-signed": (_vector_query(), _vector_body(_flip(VECTOR_ENCRYPT, 40)), 403,
                                       "push_bad_signature"),
    "Encrypt changed and re-signed": (_resigned(_flip(VECTOR_ENCRYPT, 40)),
                                      _vector_body(_flip(VECTOR_ENCRYPT, 40)), 400,
                                      "push_undecryptable"),
    "Encrypt truncated and re-signed": (_resigned(VECTOR_ENCRYPT[:-8]), _vector_body(VECTOR_ENCRYPT[:-8]),
                                        400, "push_undecryptable"),
    "Encrypt not base64, re-signed": (_resigned("不是密文"), _vector_body("不是密文"), 400,
                                      "push_undecryptable"),
    "timestamp changed": (_vector_query(timestamp="1411525904"), _vector_body(), 403,
                          "push_bad_signature"),
    "nonce changed": (_vector_query(nonce="461056295"), _vector_body(), 403, "push_bad_signature"),
    "plain mode": (_vector_query(encrypt_type=None), _vector_body(), 400, "push_not_encrypted"),
    "no Encrypt element": (_vector_query(), b"<xml><ToUserName>x</ToUserName></xml>", 400,
                           "push_unreadable"),
    "not XML or JSON": (_vector_query(), b"hello", 400, "push_unreadable"),
    "empty body": (_vector_query(), b"", 400, "push_unreadable"),
    "XML with an entity": (_vector_query(), b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "'
                           + b"A" * 50 + b'">]><xml><Encrypt>&a;</Encrypt></xml>', 400,
                           "push_unreadable"),
    "timestamp not a number": (_vector_query(timestamp="abc", signature=_signature(
        VECTOR["token"], "abc", VECTOR["nonce"])), _vector_body(), 400, "push_bad_timestamp"),
}


@pytest.mark.parametrize("name", sorted(TAMPERED))
def test_tampered_vector_is_refused_and_changes_nothing(client, db, vector_push, name):
    query, body, status, code = TAMPERED[name]
    resp = client.post("/wechat/push", query_string=query, data=body, content_type="text/xml")
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.get_json()["code"] == code
    assert _nonces(db) == 0
    # Refused, not spent: the genuine push still goes through afterwards.
    genuine = client.post("/wechat/push", query_string=_vector_query(), data=_vector_body(),
                          content_type="text/xml")
    assert genuine.status_code == 200


def test_vector_for_another_app_is_refused(client, db, vector_push, app, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_APPID", "wx0000000000000000")
    resp = client.post("/wechat/push", query_string=_vector_query(), data=_vector_body(),
                       content_type="text/xml")
    assert resp.status_code == 403 and resp.get_json()["code"] == "push_wrong_app"
    assert _nonces(db) == 0


def test_push_without_settings_is_not_there(client):
    resp = client.post("/wechat/push", query_string=_vector_query(), data=_vector_body())
    assert resp.status_code == 404 and resp.get_json()["code"] == "push_not_configured"


def test_age_window(push, db):
    ping = {"ToUserName": "gh", "FromUserName": "o-nobody", "CreateTime": 1, "MsgType": "event",
            "Event": "something_else"}
    now = int(time.time())
    assert push(ping, timestamp=now - 290).status_code == 200
    assert push(ping, timestamp=now + 290).status_code == 200
    for off in (now - 310, now + 310):
        resp = push(ping, timestamp=off)
        assert resp.status_code == 403 and resp.get_json()["code"] == "push_stale"
    assert _nonces(db) == 2


# ---- events ----

def _risky(trace_id, label=20002, suggest="risky"):
    return {"ToUserName": "gh_lianxin", "FromUserName": "o-writer", "CreateTime": int(time.time()),
            "MsgType": "event", "Event": "wxa_media_check", "appid": APPID, "trace_id": trace_id,
            "version": 2, "errcode": 0, "errmsg": "ok",
            "detail": [{"strategy": "content_model", "errcode": 0, "suggest": suggest,
                        "label": label, "prob": 90}],
            "result": {"suggest": suggest, "label": label}}


@pytest.fixture
def photo_message(db, make_resident, make_deputy):
    """A sent message with two photos; the second has a media-check trace id."""
    from backend.messages import operations as ops

    def make():
        resident = make_resident(openid=f"o-{uuid.uuid4().hex[:8]}")
        storage = get_storage()
        photos = [ops.add_photo(resident=resident, storage_key=storage.save(JPEG, "messages", "jpg"),
                                width=1, height=1, size_bytes=len(JPEG)) for _ in range(2)]
        photos[1].media_trace_id = f"trace-{uuid.uuid4().hex[:12]}"
        sub = ops.submit_message(resident=resident, deputy=make_deputy(), idempotency_key=uuid.uuid4().hex,
                                 body="楼道里堆满了杂物，存在消防隐患。", photo_ids=[p.id for p in photos])
        db.session.commit()
        return sub.message, photos
    return make


@pytest.mark.parametrize("as_json", [False, True])
def test_risky_photo_is_hidden_and_its_message_held(push, db, photo_message, as_json):
    message, (kept, risky) = photo_message()
    assert message.status == "new" and len(message.photos) == 2
    resp = push(_risky(risky.media_trace_id) if as_json else _xml_risky(risky.media_trace_id),
                as_json=as_json)
    assert resp.status_code == 200 and resp.get_data(as_text=True) == "success"
    db.session.expire_all()
    message = db.session.get(Message, message.id)
    assert db.session.get(MessagePhoto, risky.id).hidden_at is not None
    assert db.session.get(MessagePhoto, kept.id).hidden_at is None
    assert [p.id for p in message.photos] == [kept.id]
    assert message.status == "held" and "色情" in message.hold_reason
    held = db.session.scalars(sa.select(MessageEvent).filter_by(message_id=message.id, kind="hold")).all()
    assert len(held) == 1 and held[0].is_internal and held[0].data["photo_id"] == risky.id
    actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"message_photo.hide", "message.hold"} <= actions


def _xml_risky(trace_id):
    return (f"<xml><ToUserName><![CDATA[gh_lianxin]]></ToUserName><FromUserName><![CDATA[o-writer]]>"
            f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]>"
            f"</MsgType><Event><![CDATA[wxa_media_check]]></Event><appid><![CDATA[{APPID}]]></appid>"
            f"<trace_id><![CDATA[{trace_id}]]></trace_id><version>2</version>"
            f"<result><suggest><![CDATA[risky]]></suggest><label>20002</label></result>"
            f"<errcode>0</errcode><errmsg><![CDATA[ok]]></errmsg></xml>")


def test_the_hidden_photo_is_no_longer_sent(push, db, client, photo_message, make_staff, login):
    message, (_, risky) = photo_message()
    liaison = make_staff("admin")
    login(liaison)
    url = f"/staff/messages/{message.id}/photos/{risky.id}"
    before = client.get(url)
    assert before.status_code == 200 and before.data == JPEG
    assert push(_risky(risky.media_trace_id)).status_code == 200
    assert client.get(url).status_code == 404
    page = client.get(f"/staff/messages/{message.id}").get_data(as_text=True)
    assert f"/photos/{risky.id}" not in page and "待审核" in page


@pytest.mark.parametrize("verdict", [dict(suggest="pass", label=100), dict(suggest="review", label=20001)])
def test_passed_or_review_photo_changes_nothing(push, db, photo_message, verdict):
    message, (_, photo) = photo_message()
    assert push(_risky(photo.media_trace_id, **verdict)).status_code == 200
    db.session.expire_all()
    assert db.session.get(MessagePhoto, photo.id).hidden_at is None
    assert db.session.get(Message, message.id).status == "new"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).filter_by(
        action="message_photo.hide")) == 0


def test_risky_photo_of_an_answered_message_gets_a_note(push, db, photo_message):
    message, (_, photo) = photo_message()
    message.status, message.answered_at = "answered", message.created_at
    db.session.commit()
    assert push(_risky(photo.media_trace_id)).status_code == 200
    db.session.expire_all()
    assert db.session.get(MessagePhoto, photo.id).hidden_at is not None
    message = db.session.get(Message, message.id)
    assert message.status == "answered"
    note = db.session.scalars(sa.select(MessageEvent).filter_by(message_id=message.id, kind="note")).one()
    assert note.is_internal and "微信内容安全检测" in note.text


def test_unknown_trace_id_is_acknowledged_and_changes_nothing(push, db, photo_message):
    message, _ = photo_message()
    assert push(_risky("trace-nobody-has")).status_code == 200
    db.session.expire_all()
    assert db.session.get(Message, message.id).status == "new"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MessagePhoto).where(
        MessagePhoto.hidden_at.is_not(None))) == 0


def _grants(db, resident) -> dict:
    db.session.expire_all()
    return dict(db.session.execute(sa.select(SubscribeGrant.template_id, SubscribeGrant.remaining)
                                   .filter_by(resident_id=resident.id)).all())


def _popup_xml(openid, *choices):
    items = "".join(f"<List><TemplateId><![CDATA[{t}]]></TemplateId><SubscribeStatusString><![CDATA["
                    f"{s}]]></SubscribeStatusString><PopupScene>0</PopupScene></List>" for t, s in choices)
    return (f"<xml><ToUserName><![CDATA[gh_lianxin]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
            f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]>"
            f"</MsgType><Event><![CDATA[subscribe_msg_popup_event]]></Event><SubscribeMsgPopupEvent>"
            f"{items}</SubscribeMsgPopupEvent></xml>")


def _event_json(openid, event, *choices):
    items = [{"TemplateId": t, "SubscribeStatusString": s, "PopupScene": "0"} for t, s in choices]
    return {"ToUserName": "gh_lianxin", "FromUserName": openid, "CreateTime": int(time.time()),
            "MsgType": "event", "Event": event, "List": items[0] if len(items) == 1 else items}


def test_subscribe_choices_move_grants(push, db, make_resident):
    resident = make_resident(openid="o-grants")
    other = make_resident(openid="o-other")
    db.session.commit()
    # XML, two templates accepted (one we do not use) and one rejected.
    assert push(_popup_xml("o-grants", (TPL_MSG, "accept"), ("TPL-NOT-OURS", "accept"),
                           (TPL_REC, "reject"))).status_code == 200
    assert _grants(db, resident) == {TPL_MSG: 1}
    # JSON, a single accepted template (an object, not a list), twice.
    for _ in range(2):
        assert push(_event_json("o-grants", "subscribe_msg_popup_event", (TPL_REC, "accept")),
                    as_json=True).status_code == 200
    assert _grants(db, resident) == {TPL_MSG: 1, TPL_REC: 2}
    # Turned off in the settings (a cancel): nothing left to send with.
    assert push(_event_json("o-grants", "subscribe_msg_change_event", (TPL_REC, "reject")),
                as_json=True).status_code == 200
    assert _grants(db, resident) == {TPL_MSG: 1, TPL_REC: 0}
    # A settings change to "accept" is no one-time acceptance: no send granted.
    assert push(_event_json("o-grants", "subscribe_msg_change_event", (TPL_REC, "accept")),
                as_json=True).status_code == 200
    assert _grants(db, resident) == {TPL_MSG: 1, TPL_REC: 0}
    assert _grants(db, other) == {}
    # Someone we never saw: acknowledged, nothing made.
    assert push(_popup_xml("o-stranger", (TPL_MSG, "accept"))).status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SubscribeGrant)) == 2


def test_a_replayed_event_counts_once(push, db, make_resident):
    resident = make_resident(openid="o-replay")
    db.session.commit()
    stamp, nonce = int(time.time()), "1234567890"
    accept = _popup_xml("o-replay", (TPL_MSG, "accept"))
    assert push(accept, timestamp=stamp, nonce=nonce).status_code == 200
    replay = push(accept, timestamp=stamp, nonce=nonce)
    assert replay.status_code == 409 and replay.get_json()["code"] == "push_replayed"
    assert _grants(db, resident) == {TPL_MSG: 1}


def test_two_copies_at_once_count_once(app, push, db, make_resident):
    resident = make_resident(openid="o-race")
    db.session.commit()
    stamp, nonce = int(time.time()), "9876543210"
    accept = _popup_xml("o-race", (TPL_MSG, "accept"))
    statuses = at_once(app, *[lambda: push(accept, timestamp=stamp, nonce=nonce,
                                           client=app.test_client()).status_code] * 2)
    assert sorted(statuses) == [200, 409]
    assert _grants(db, resident) == {TPL_MSG: 1}


def test_with_the_push_configured_the_app_report_counts_nothing(push, db, make_resident, app):
    from backend.delivery.subscriptions import record_reported_grants
    resident = make_resident(openid="o-report")
    assert record_reported_grants(resident, [TPL_MSG]) == []
    assert _grants(db, resident) == {}
    app.config["WECHAT_PUSH_AES_KEY"] = None  # restored by monkeypatch after the test
    assert record_reported_grants(resident, [TPL_MSG]) == [TPL_MSG]
    assert _grants(db, resident) == {TPL_MSG: 1}
