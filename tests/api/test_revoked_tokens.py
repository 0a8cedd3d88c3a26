"""A resident who deleted their data: every token issued before is refused with token_revoked,
in resident and in staff mode, on every route (the access matrix's erased_* callers), and
changes nothing; other residents' tokens work on; logging in again through WeChat gives a
fresh resident (and, for a bound deputy, deputy mode again)."""
import uuid

import pytest
import sqlalchemy as sa

from backend.accounts.resident_model import Resident
from backend.messages.models import Message
from backend.org.codes import active_code

REVOKED = {"code": "token_revoked", "errors": {},
           "message": "您的个人信息已删除，原来的登录已失效，请重新进入小程序"}
BODY = "小区门口的路灯坏了一个多月，晚上很不安全。"


def _message(world, **kw):
    return {"deputy_token": active_code(world.deputy).token, "body": BODY,
            "idempotency_key": uuid.uuid4().hex, **kw}


def _count(db, model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_after_deleting_their_data_the_old_token_is_refused_and_a_new_login_works(
        api, db, world, make_resident, token_for, fake_wechat):
    me = make_resident(openid="o-erasing")
    token = token_for(me)
    assert api.post("/messages", token, json=_message(world)).status_code == 201
    assert api.post("/me/delete", token, json={"confirm": True}).status_code == 200
    messages = _count(db, Message)

    for method, path, body in [
            ("POST", "/messages", _message(world, phone="13800138000")),
            ("GET", "/messages", None),
            ("GET", "/me/data", None),
            ("POST", "/me/delete", {"confirm": True}),
            ("POST", "/subscriptions", {"template_ids": ["T1"]}),
            ("POST", "/auth/bind", {"code": "123456"})]:
        resp = api.call(method, path, token, **({"json": body} if body else {}))
        assert (resp.status_code, resp.json) == (401, REVOKED), (method, path)
    assert _count(db, Message) == messages  # nothing written under the tombstone
    # Other residents' tokens are untouched.
    assert api.get("/messages", world.tokens["owner"]).json["items"][0]["id"] == world.message.id
    assert api.post("/messages", world.tokens["other_resident"],
                    json=_message(world)).status_code == 201

    fake_wechat.login("code-again", "o-erasing")
    again = api.post("/auth/login", json={"code": "code-again"})
    assert again.status_code == 200 and again.json["mode"] == "resident"
    fresh = db.session.scalar(sa.select(Resident).filter_by(openid="o-erasing"))
    assert fresh.id != me.id and fresh.anonymised_at is None
    held = api.get("/me/data", again.json["token"]).json
    assert held["messages"] == [] and held["has_wechat"]
    assert api.post("/messages", again.json["token"], json=_message(world)).status_code == 201
    assert api.get("/messages", token).json == REVOKED  # the old one stays refused


def test_a_bound_deputy_who_deleted_their_data_leaves_deputy_mode_until_they_log_in_again(
        api, db, world, fake_wechat):
    token = world.tokens["deputy"]
    openid = world.deputy_user.wechat_openid
    assert api.post("/me/delete", token, json={"confirm": True}).status_code == 200

    for method, path, body in [
            ("GET", "/deputy/inbox", None),
            ("GET", f"/deputy/messages/{world.message.id}", None),
            ("POST", f"/deputy/messages/{world.message.id}/phone", {"reason": "电话回访居民"}),
            ("POST", f"/deputy/messages/{world.message.id}/reply", {"body": "已联系物业，明天修好。"}),
            ("GET", "/messages", None)]:
        resp = api.call(method, path, token, **({"json": body} if body else {}))
        assert (resp.status_code, resp.json) == (401, REVOKED), (method, path)
    db.session.expire_all()
    assert db.session.get(Message, world.message.id).status == "new"
    # The colleague at the same station is untouched.
    assert api.get("/deputy/inbox", world.tokens["other_deputy"]).status_code == 200

    # The staff binding is the staff account's: a new login is a fresh resident, in deputy mode.
    fake_wechat.login("code-deputy", openid)
    again = api.post("/auth/login", json={"code": "code-deputy"})
    assert again.status_code == 200 and again.json["mode"] == "deputy"
    inbox = api.get("/deputy/inbox", again.json["token"])
    assert inbox.status_code == 200 and [m["id"] for m in inbox.json["items"]] == [world.message.id]


@pytest.mark.parametrize("claims", ["current", "without_openid"])
def test_tombstoned_by_retention_is_refused_too(api, db, make_resident, token_for, claims):
    from backend.core.timeutil import utcnow
    from backend.privacy.anonymise import tombstone_residents
    from miniprogram_api.auth import _serializer
    me = make_resident()
    token = token_for(me) if claims == "current" else _serializer().dumps({"r": me.id, "s": None})
    tombstone_residents([me.id], utcnow())
    assert api.get("/subscriptions", token).json == REVOKED


def test_a_token_for_a_resident_that_does_not_exist_is_invalid(api, db, make_resident):
    from miniprogram_api.auth import _serializer
    token = _serializer().dumps({"r": 10**9, "o": "o-nobody", "s": None})
    resp = api.get("/messages", token)
    assert resp.status_code == 401 and resp.json["code"] == "token_invalid"
