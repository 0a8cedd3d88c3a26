"""backend.core.wechat against a fake WeChat (responses): real wechatpy code runs, no network."""
import io
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from PIL import Image

from backend.core.wechat import (
    SecCheckResult,
    WeChatAdapter,
    WeChatDecryptError,
    WeChatError,
    WeChatNotConfigured,
    check_push_signature,
)

# Deliberately not api.weixin.qq.com: a hard-coded WeChat URL would miss every mock.
API_BASE = "https://wx.fake.test/"
APPID = "wx0123456789abcdef"
SECRET = "test-secret"
TOKEN_URL = API_BASE + "cgi-bin/stable_token"

CODE2SESSION_URL = API_BASE + "sns/jscode2session"
WXACODE_URL = API_BASE + "wxa/getwxacodeunlimit"
SECCHECK_URL = API_BASE + "wxa/msg_sec_check"
SUBSCRIBE_URL = API_BASE + "cgi-bin/message/subscribe/send"
PHONE_URL = API_BASE + "wxa/business/getuserphonenumber"

SESSION_OK = {"openid": "o-resident-1", "session_key": "SK==", "unionid": "u-1"}


@pytest.fixture
def token(rsps):
    """Register a stable-token answer; returns a function counting the token requests."""
    rsps.add(responses.POST, TOKEN_URL, json={"access_token": "TOKEN-1", "expires_in": 7200})
    return lambda: sum(1 for c in rsps.calls if c.request.url.startswith(TOKEN_URL))


@pytest.fixture
def adapter():
    return WeChatAdapter.from_config({
        "WECHAT_APPID": APPID,
        "WECHAT_SECRET": SECRET,
        "WECHAT_API_BASE": API_BASE,
        "WECHAT_ENV_VERSION": "trial",
    })


def query(call):
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def body(call):
    return json.loads(call.request.body)


def calls_to(rsps, url):
    return [c for c in rsps.calls if c.request.url.split("?")[0] == url]


# --- decryption and push signature (public vectors) ---------------------------

WXA_APPID = "wx4f4bc4dec97d474b"
WXA_SESSION_KEY = "tiihtNczf5v6AKRyjwEUhQ=="
WXA_IV = "r7BXXKkLb8qrSNn05n0qiA=="
WXA_ENCRYPTED = (
    "CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnxIMXFufNstNGTyaGS9uT5geRa0W4oTOb1WT7fJlAC+oN"
    "PdbB+3hVbJSRgv+4lGOETKUQz6OYStslQ142dNCuabNPGBzlooOmB231qMM85d2/fV6ChevvXvQP8Hkue1poOFtnEtp"
    "yxVLW1zAo6/1Xx1COxFvrc2d7UL/lmHInNlxuacJXwu0fjpXfz/YqYzBIBzD6WUfTIF9GRHpOn/Hz7saL8xz+W//FRA"
    "Uid1OksQaQx4CMs8LOddcQhULW4ucetDf96JcR3g0gfRK4PC7E/r7Z6xNrXd2UIeorGj5Ef7b1pJAYB6Y5anaHqZ9J6"
    "nKEBvB4DnNLIVWSgARns/8wR2SiRS7MNACwTyrGvt9ts8p12PKFdlqYTopNHR1Vf7XjfhQlVsAJdNiKdYmYVoKlaRv8"
    "5IfVunYzO0IKXsyl7JCUjCpoG20f0a04COwfneQAGGwd5oa+T8yO5hzuyDb/XcxxmK01EpqOyuxINew=="
)


def test_official_vector_decrypts_without_secret(rsps):
    adapter = WeChatAdapter(WXA_APPID)  # no secret: decryption needs only the appid
    assert len(WXA_ENCRYPTED) == 536
    data = adapter.decrypt_user_data(WXA_SESSION_KEY, WXA_IV, WXA_ENCRYPTED)
    assert data["openId"] == "oGZUI0egBJY1zhBYw2KhdUfwVJJE"
    assert data["watermark"]["appid"] == WXA_APPID
    assert len(rsps.calls) == 0


def test_decrypt_rejects_other_appid():
    with pytest.raises(WeChatDecryptError):
        WeChatAdapter("wx0000000000000000").decrypt_user_data(WXA_SESSION_KEY, WXA_IV, WXA_ENCRYPTED)


@pytest.mark.parametrize("session_key, iv, data", [
    ("AAAAAAAAAAAAAAAAAAAAAA==", WXA_IV, WXA_ENCRYPTED),  # wrong key
    (WXA_SESSION_KEY, WXA_IV, "not base64!"),
])
def test_decrypt_rejects_garbage(session_key, iv, data):
    with pytest.raises(WeChatDecryptError):
        WeChatAdapter(WXA_APPID).decrypt_user_data(session_key, iv, data)


def test_push_signature_vector():
    sig = "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff"
    assert check_push_signature("test", sig, "1410685589", "test") is True
    assert check_push_signature("test", sig, "1410685590", "test") is False
    assert check_push_signature("test", "0" * 40, "1410685589", "test") is False
    assert check_push_signature("test", None, "1410685589", "test") is False


# --- access token and code2Session --------------------------------------------

def test_code_to_session_fetches_stable_token_once(rsps, token, adapter):
    rsps.add(responses.GET, CODE2SESSION_URL, json=SESSION_OK)

    assert adapter.code_to_session("CODE-A") == {
        "openid": "o-resident-1", "unionid": "u-1", "session_key": "SK=="}
    assert adapter.code_to_session("CODE-B")["openid"] == "o-resident-1"

    assert token() == 1
    token_call = calls_to(rsps, TOKEN_URL)[0]
    assert token_call.request.method == "POST"
    assert body(token_call) == {"grant_type": "client_credential", "appid": APPID,
                                "secret": SECRET, "force_refresh": False}
    first, second = calls_to(rsps, CODE2SESSION_URL)
    assert query(first) == {"appid": APPID, "secret": SECRET, "js_code": "CODE-A",
                            "grant_type": "authorization_code", "access_token": "TOKEN-1"}
    assert query(second)["js_code"] == "CODE-B"


def test_code_to_session_without_unionid(rsps, token, adapter):
    rsps.add(responses.GET, CODE2SESSION_URL, json={"openid": "o-2", "session_key": "SK2"})
    assert adapter.code_to_session("C")["unionid"] is None


@pytest.mark.parametrize("errcode, human", [
    (40029, "登录凭证无效或已过期，请重新进入小程序"),
    (45011, "操作太频繁，请稍后再试"),
    (40226, "该微信账号存在风险，暂不能使用"),
    (-1, "微信服务暂时不可用（错误码 -1）"),
])
def test_code_to_session_errors(rsps, token, adapter, errcode, human):
    rsps.add(responses.GET, CODE2SESSION_URL, json={"errcode": errcode, "errmsg": "nope"})
    with pytest.raises(WeChatError) as info:
        adapter.code_to_session("BAD")
    assert info.value.errcode == errcode
    assert info.value.errmsg == "nope"
    assert info.value.message == human


def test_expired_token_is_refreshed_and_call_retried_once(rsps, adapter):
    rsps.add(responses.POST, TOKEN_URL, json={"access_token": "OLD", "expires_in": 7200})
    rsps.add(responses.POST, TOKEN_URL, json={"access_token": "NEW", "expires_in": 7200})
    rsps.add(responses.GET, CODE2SESSION_URL, json={"errcode": 40001, "errmsg": "invalid credential"})
    rsps.add(responses.GET, CODE2SESSION_URL, json=SESSION_OK)

    assert adapter.code_to_session("C")["openid"] == "o-resident-1"

    assert len(calls_to(rsps, TOKEN_URL)) == 2
    first, retry = calls_to(rsps, CODE2SESSION_URL)
    assert query(first)["access_token"] == "OLD"
    assert query(retry)["access_token"] == "NEW"
    # The refreshed token is kept for the next call.
    adapter.code_to_session("D")
    assert len(calls_to(rsps, TOKEN_URL)) == 2
    assert query(calls_to(rsps, CODE2SESSION_URL)[-1])["access_token"] == "NEW"


def test_persistent_token_error_is_not_retried_forever(rsps, token, adapter):
    rsps.add(responses.GET, CODE2SESSION_URL, json={"errcode": 42001, "errmsg": "expired"})
    with pytest.raises(WeChatError) as info:
        adapter.code_to_session("C")
    assert info.value.errcode == 42001
    assert len(calls_to(rsps, CODE2SESSION_URL)) == 2
    assert token() == 2


def test_token_endpoint_error_surfaces(rsps, adapter):
    rsps.add(responses.POST, TOKEN_URL, json={"errcode": 40125, "errmsg": "invalid appsecret"})
    with pytest.raises(WeChatError) as info:
        adapter.code_to_session("C")
    assert info.value.errcode == 40125
    assert calls_to(rsps, CODE2SESSION_URL) == []


def test_transport_failures_become_wechat_error(rsps, token, adapter):
    rsps.add(responses.GET, CODE2SESSION_URL, status=502, body="bad gateway")
    with pytest.raises(WeChatError) as info:
        adapter.code_to_session("C")
    assert info.value.errcode == -1
    rsps.replace(responses.GET, CODE2SESSION_URL, body=requests.ConnectionError("down"))
    with pytest.raises(WeChatError) as info:
        adapter.code_to_session("C")
    assert info.value.errcode == -1


def test_token_shared_through_redis(rsps, token, redis_url, redis_prefix):
    import redis

    rsps.add(responses.GET, CODE2SESSION_URL, json=SESSION_OK)
    config = {"WECHAT_APPID": APPID, "WECHAT_SECRET": SECRET, "WECHAT_API_BASE": API_BASE,
              "REDIS_URL": redis_url, "WECHAT_REDIS_PREFIX": redis_prefix}
    worker_a = WeChatAdapter.from_config(config)
    worker_b = WeChatAdapter.from_config(config)

    worker_a.code_to_session("C1")
    worker_b.code_to_session("C2")

    assert token() == 1
    assert [query(c)["access_token"] for c in calls_to(rsps, CODE2SESSION_URL)] == ["TOKEN-1"] * 2
    conn = redis.Redis.from_url(redis_url)
    key = f"{redis_prefix}:{APPID}_access_token"
    assert json.loads(conn.get(key)) == "TOKEN-1"
    assert 7000 < conn.ttl(key) <= 7200
    conn.close()


# --- mini-program code -------------------------------------------------------

@pytest.fixture
def png():
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (7, 193, 96)).save(buf, format="PNG")
    return buf.getvalue()


def test_get_unlimited_code_returns_png(rsps, token, adapter, png):
    rsps.add(responses.POST, WXACODE_URL, body=png, content_type="image/png")

    assert adapter.get_unlimited_code("d=42") == png

    (call,) = calls_to(rsps, WXACODE_URL)
    assert query(call)["access_token"] == "TOKEN-1"
    assert body(call) == {"scene": "d=42", "page": "pages/deputy/index", "width": 430,
                          "check_path": False, "env_version": "trial"}


def test_get_unlimited_code_page_and_width(rsps, token, adapter, png):
    rsps.add(responses.POST, WXACODE_URL, body=png, content_type="image/png")
    adapter.get_unlimited_code("s", page="/pages/station/index", width=280)
    assert body(calls_to(rsps, WXACODE_URL)[0])["page"] == "pages/station/index"
    assert body(calls_to(rsps, WXACODE_URL)[0])["width"] == 280


def test_get_unlimited_code_error_json(rsps, token, adapter):
    rsps.add(responses.POST, WXACODE_URL, json={"errcode": 41030, "errmsg": "invalid page"})
    with pytest.raises(WeChatError) as info:
        adapter.get_unlimited_code("d=42")
    assert info.value.errcode == 41030


def test_get_unlimited_code_unexpected_content(rsps, token, adapter):
    rsps.add(responses.POST, WXACODE_URL, body=b"<html>oops</html>", content_type="text/html")
    with pytest.raises(WeChatError):
        adapter.get_unlimited_code("d=42")


@pytest.mark.parametrize("scene", ["", "a" * 33, "代表=1", "d%3D1", "a b", None])
def test_bad_scene_rejected_before_any_request(rsps, adapter, scene):
    with pytest.raises(ValueError):
        adapter.get_unlimited_code(scene)
    assert len(rsps.calls) == 0


def test_scene_accepts_all_allowed_characters(rsps, token, adapter, png):
    rsps.add(responses.POST, WXACODE_URL, body=png, content_type="image/png")
    for scene in ["a" * 32, "!#$&'()*+,/:;=?@-._~", "Z9"]:
        assert adapter.get_unlimited_code(scene) == png


# --- msgSecCheck v2 ----------------------------------------------------------

def sec_answer(suggest, label, trace="trace-1"):
    return {"errcode": 0, "errmsg": "ok", "trace_id": trace,
            "result": {"suggest": suggest, "label": label},
            "detail": [{"strategy": "content_model", "errcode": 0, "suggest": suggest, "label": label}]}


@pytest.mark.parametrize("suggest, label", [("pass", 100), ("review", 20006), ("risky", 20001)])
def test_msg_sec_check_verdicts(rsps, token, adapter, suggest, label):
    rsps.add(responses.POST, SECCHECK_URL, json=sec_answer(suggest, label))

    result = adapter.msg_sec_check("您好，小区门口的路灯坏了", "o-1")

    assert result == SecCheckResult(suggest, label, "trace-1")
    (call,) = calls_to(rsps, SECCHECK_URL)
    assert body(call) == {"content": "您好，小区门口的路灯坏了", "version": 2, "scene": 2, "openid": "o-1"}


def test_msg_sec_check_long_text_in_chunks_worst_wins(rsps, token, adapter):
    text = "路" * 3000 + "BAD" + "灯" * 2997
    assert len(text) == 6000

    def answer(request):
        chunk = json.loads(request.body)["content"]
        verdict = sec_answer("risky", 20001, "t-bad") if "BAD" in chunk else sec_answer("pass", 100)
        return 200, {}, json.dumps(verdict)

    rsps.add_callback(responses.POST, SECCHECK_URL, callback=answer, content_type="application/json")

    assert adapter.msg_sec_check(text, "o-1", scene=3) == SecCheckResult("risky", 20001, "t-bad")

    chunks = [body(c)["content"] for c in calls_to(rsps, SECCHECK_URL)]
    assert all(len(c) <= 2500 for c in chunks)
    assert chunks[0] == text[:2500] and "BAD" in chunks[-1]
    assert all(body(c)["scene"] == 3 for c in calls_to(rsps, SECCHECK_URL))


def test_msg_sec_check_chunks_cover_whole_text(rsps, token, adapter):
    text = "".join(chr(0x4E00 + i) for i in range(6000))  # all distinct: positions are unambiguous
    answers = iter([sec_answer("pass", 100), sec_answer("review", 20006, "t-r"), sec_answer("pass", 100)])
    rsps.add_callback(responses.POST, SECCHECK_URL, callback=lambda r: (200, {}, json.dumps(next(answers))),
                      content_type="application/json")

    assert adapter.msg_sec_check(text, "o-1").suggest == "review"

    chunks = [body(c)["content"] for c in calls_to(rsps, SECCHECK_URL)]
    assert len(chunks) == 3
    assert chunks[0] == text[:2500] and text.endswith(chunks[-1])
    # Consecutive chunks overlap, so every character is checked.
    position = 0
    for chunk in chunks:
        start = text.index(chunk)
        assert start <= position
        position = start + len(chunk)
    assert position == len(text)


def test_msg_sec_check_empty_text_needs_no_call(rsps, adapter):
    assert adapter.msg_sec_check("  ", "o-1").suggest == "pass"
    assert len(rsps.calls) == 0


# --- subscribe messages and phone number -------------------------------------

def test_send_subscribe_message_body(rsps, token, adapter):
    rsps.add(responses.POST, SUBSCRIBE_URL, json={"errcode": 0, "errmsg": "ok"})

    result = adapter.send_subscribe_message("o-1", "TPL-REPLY", {
        "thing1": "关于小区门口路灯长期不亮以及夜间行人安全隐患的问题",
        "name2": "欧阳张三李四王五赵六钱七",
        "phrase3": "已回复并办结完毕",
        "character_string4": "LX-2026-000000000000000000000000000001",
        "time5": "2026-12-15 09:00",
        "thing6": {"value": "短内容"},
    }, page="/pages/message/detail?id=7")

    assert result is None
    (call,) = calls_to(rsps, SUBSCRIBE_URL)
    assert query(call)["access_token"] == "TOKEN-1"
    assert body(call) == {
        "touser": "o-1",
        "template_id": "TPL-REPLY",
        "page": "pages/message/detail?id=7",
        "miniprogram_state": "trial",
        "data": {
            "thing1": {"value": "关于小区门口路灯长期不亮以及夜间行人安全"},
            "name2": {"value": "欧阳张三李四王五赵六"},
            "phrase3": {"value": "已回复并办"},
            "character_string4": {"value": "LX-2026-000000000000000000000000"},
            "time5": {"value": "2026-12-15 09:00"},
            "thing6": {"value": "短内容"},
        },
    }
    assert len(body(call)["data"]["thing1"]["value"]) == 20


def test_send_subscribe_message_without_grant(rsps, token, adapter):
    rsps.add(responses.POST, SUBSCRIBE_URL, json={"errcode": 43101, "errmsg": "user refuse to accept the msg"})
    with pytest.raises(WeChatError) as info:
        adapter.send_subscribe_message("o-1", "TPL", {"thing1": "x"})
    assert info.value.errcode == 43101
    assert info.value.message == "用户未授权接收此类通知"


def test_get_phone_number(rsps, token, adapter):
    rsps.add(responses.POST, PHONE_URL, json={
        "errcode": 0, "errmsg": "ok",
        "phone_info": {"phoneNumber": "+8613800138000", "purePhoneNumber": "13800138000",
                       "countryCode": "86", "watermark": {"appid": APPID, "timestamp": 1}}})
    assert adapter.get_phone_number("PHONE-CODE") == "13800138000"
    assert body(calls_to(rsps, PHONE_URL)[0]) == {"code": "PHONE-CODE"}


def test_get_phone_number_invalid_code(rsps, token, adapter):
    rsps.add(responses.POST, PHONE_URL, json={"errcode": 40029, "errmsg": "invalid code"})
    with pytest.raises(WeChatError) as info:
        adapter.get_phone_number("OLD")
    assert info.value.errcode == 40029


# --- configuration -----------------------------------------------------------

def test_not_configured_adapter_makes_no_request(rsps):
    adapter = WeChatAdapter.from_config({"WECHAT_APPID": "", "WECHAT_SECRET": None})
    assert adapter.configured is False
    for call in [
        lambda: adapter.code_to_session("C"),
        lambda: adapter.get_unlimited_code("d=1"),
        lambda: adapter.msg_sec_check("text", "o-1"),
        lambda: adapter.send_subscribe_message("o-1", "TPL", {"thing1": "x"}),
        lambda: adapter.get_phone_number("P"),
        lambda: adapter.decrypt_user_data(WXA_SESSION_KEY, WXA_IV, WXA_ENCRYPTED),
    ]:
        with pytest.raises(WeChatNotConfigured):
            call()
    assert len(rsps.calls) == 0


def test_appid_without_secret_is_not_configured():
    assert WeChatAdapter(APPID).configured is False
    with pytest.raises(WeChatNotConfigured):
        WeChatAdapter(APPID).code_to_session("C")


def test_from_config_defaults():
    adapter = WeChatAdapter.from_config({"WECHAT_APPID": APPID, "WECHAT_SECRET": SECRET})
    assert adapter.configured is True
    assert adapter.api_base == "https://api.weixin.qq.com/"
    assert adapter.mp_page == "pages/deputy/index"
    assert adapter.env_version == "release"
    assert adapter.redis_url is None
    with pytest.raises(ValueError):
        WeChatAdapter.from_config({"WECHAT_ENV_VERSION": "beta"})
