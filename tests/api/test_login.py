"""Logging in with wx.login()'s code: our own token comes back, WeChat's session_key never
does; WeChat's errors and a missing configuration answer in the API's one error shape."""
import pytest
from itsdangerous import URLSafeTimedSerializer

from backend.accounts.resident_model import Resident
from miniprogram_api.auth import TOKEN_SALT


def _resident(db, openid):
    return db.session.scalar(db.select(Resident).filter_by(openid=openid))


def test_login_creates_the_resident_and_never_returns_the_session_key(api, db, fake_wechat):
    fake_wechat.login("code-1", "oNEW123", unionid="uUNION1")
    resp = api.post("/auth/login", json={"code": " code-1 "})  # whitespace is stripped
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert body["mode"] == "resident" and body["staff"] is None
    assert body["token_type"] == "Bearer" and body["expires_in"] == 7 * 86400
    assert "SECRET-SESSION-KEY" not in resp.get_data(as_text=True)
    assert "session_key" not in resp.get_data(as_text=True)
    resident = _resident(db, "oNEW123")
    assert resident.unionid == "uUNION1" and resident.last_seen_at is not None

    mine = api.get("/messages", body["token"])
    assert mine.status_code == 200 and mine.json["items"] == []


def test_second_login_finds_the_same_resident(api, db, fake_wechat, make_resident):
    known = make_resident(openid="oKNOWN")
    fake_wechat.login("code-2", "oKNOWN")
    resp = api.post("/auth/login", json={"code": "code-2"})
    assert resp.status_code == 200
    assert db.session.scalar(db.select(db.func.count()).select_from(Resident)) == 1
    claims = URLSafeTimedSerializer("test-secret", salt=TOKEN_SALT).loads(resp.json["token"])
    assert claims == {"r": known.id, "o": "oKNOWN", "s": None}


def test_bound_deputy_logs_in_to_deputy_mode(api, fake_wechat, make_deputy, make_bound_staff):
    staff, resident = make_bound_staff("deputy", deputy=make_deputy())
    fake_wechat.login("code-3", resident.openid)
    resp = api.post("/auth/login", json={"code": "code-3"})
    assert resp.json["mode"] == "deputy"
    assert resp.json["staff"]["id"] == staff.id
    assert resp.json["staff"]["deputy_name"] == staff.deputy.name
    assert api.get("/deputy/inbox", resp.json["token"]).status_code == 200


@pytest.mark.parametrize("errcode, code, status", [
    (40029, "wechat_code_invalid", 401),
    (45011, "wechat_rate_limited", 429),
    (40226, "wechat_user_risky", 403),
    (-1, "wechat_unavailable", 502),
])
def test_wechat_errors_answer_in_our_shape(api, db, fake_wechat, errcode, code, status):
    fake_wechat.login_error("bad", errcode)
    resp = api.post("/auth/login", json={"code": "bad"})
    assert resp.status_code == status
    assert set(resp.json) == {"code", "message", "errors"}
    assert resp.json["code"] == code
    if errcode == 40029:
        assert resp.json["message"] == "登录凭证无效或已过期，请重新进入小程序"
    assert db.session.scalar(db.select(db.func.count()).select_from(Resident)) == 0


def test_without_wechat_configured_login_is_503(api):
    resp = api.post("/auth/login", json={"code": "any"})
    assert resp.status_code == 503
    assert resp.json["code"] == "wechat_not_configured"
    assert resp.json["message"] == "小程序登录暂未开通，请使用网页版留言"


def test_login_needs_a_code(api):
    resp = api.post("/auth/login", json={"code": "  "})
    assert resp.status_code == 422
    assert resp.json == {"code": "validation_failed", "message": "提交的内容有误，请检查后重试",
                         "errors": {"code": ["此项不能为空"]}}


@pytest.mark.parametrize("header, code", [
    (None, "token_missing"),
    ("Basic abc", "token_missing"),
    ("Bearer not-a-token", "token_invalid"),
])
def test_bad_tokens_are_401(api, header, code):
    headers = {"Authorization": header} if header else {}
    resp = api.get("/messages", headers=headers)
    assert resp.status_code == 401 and resp.json["code"] == code


def test_an_expired_token_is_401(api, make_resident, token_for, monkeypatch):
    token = token_for(make_resident())
    import miniprogram_api.auth as auth
    monkeypatch.setattr(auth, "TOKEN_MAX_AGE", -1)
    resp = api.get("/messages", token)
    assert resp.status_code == 401 and resp.json["code"] == "token_expired"
    assert resp.json["message"] == "登录已过期，请重新进入小程序"


def test_a_token_signed_with_another_key_is_refused(api, make_resident):
    resident = make_resident()
    forged = URLSafeTimedSerializer("wrong-key", salt=TOKEN_SALT).dumps({"r": resident.id})
    assert api.get("/messages", forged).json["code"] == "token_invalid"


def test_a_token_names_its_wechat_user_and_a_request_reads_that_one_row(api, db, make_resident,
                                                                      token_for):
    """The token carries id and openid (never the session_key); each request reads the
    resident's row by primary key, once, to know the openid is still theirs (a resident who
    deleted their data has none: tests/api/test_revoked_tokens.py)."""
    import re

    import sqlalchemy as sa
    from miniprogram_api.auth import _serializer
    resident = make_resident(openid="openid-in-token", unionid="union-1")
    token = token_for(resident)
    claims = _serializer().loads(token)
    assert claims["r"] == resident.id and claims["o"] == "openid-in-token"
    assert set(claims) == {"r", "o", "s"}
    db.session.commit()
    seen = []

    def add(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))
    sa.event.listen(db.engine, "before_cursor_execute", add)
    try:
        resp = api.get("/subscriptions", token)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", add)
    assert resp.status_code == 200, resp.json
    reads = [s for s in seen if "FROM residents" in s]
    assert len(reads) == 1 and re.search(r"WHERE residents\.id = \S+$", reads[0]), seen


@pytest.mark.parametrize("role", ["deputy", "liaison"])
def test_staff_mode_checks_resident_and_binding_in_one_statement(api, db, make_bound_staff,
                                                                make_deputy, token_for, role):
    """In deputy or liaison mode the token's resident, the staff account, its binding to this
    WeChat and its being active are checked together: one statement per request, as in
    resident mode (unbinding, deactivation: test_binding.py; deletion: test_revoked_tokens.py)."""
    import sqlalchemy as sa
    staff, resident = make_bound_staff(role, deputy=make_deputy() if role == "deputy" else None)
    token = token_for(resident, staff)
    db.session.commit()
    seen = []

    def add(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))
    sa.event.listen(db.engine, "before_cursor_execute", add)
    try:
        resp = api.get("/subscriptions", token)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", add)
    assert resp.status_code == 200, resp.json
    reads = [s for s in seen if "residents" in s or "staff_users" in s]
    assert len(reads) == 1, seen
    assert "FROM residents" in reads[0] and "JOIN staff_users" in reads[0], reads


def test_an_older_token_without_the_openid_still_works(api, db, make_resident):
    from miniprogram_api.auth import _serializer
    resident = make_resident(openid="openid-old-token")
    db.session.commit()
    old = _serializer().dumps({"r": resident.id, "s": None})
    assert api.get("/messages", old).status_code == 200


def test_json_answers_carry_chinese_as_utf8_not_escapes(api, make_resident, token_for):
    """The body says 登录已过期 in UTF-8 bytes, so a test that looks for (or rules out) a
    resident's name in a raw body really looks."""
    resp = api.get("/messages", headers={"Authorization": "Bearer not-a-token"})
    assert resp.mimetype == "application/json"
    assert "登录信息无效".encode() in resp.data and b"\\u" not in resp.data
