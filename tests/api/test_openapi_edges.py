"""The API's edges answer in its one error shape and its OpenAPI says what the app accepts
(issue #15): 405 with Allow, the 503 of an unconfigured WeChat login, the bind code's pattern,
ids from 1 to 2147483647, cursors with their patterns, no empty photo."""
import io

import pytest

from backend.messages.models import MessagePhoto
from miniprogram_api.openapi import build_spec
from tests.api.conftest import API


@pytest.fixture
def doc(app):
    return build_spec(app)


def _param(doc, path, name):
    return next(p["schema"] for p in doc["paths"][path]["get"]["parameters"] if p["name"] == name)


@pytest.mark.parametrize("method", ["TRACE", "PATCH", "DELETE", "PUT"])
def test_unsupported_methods_get_405_with_allow_in_the_one_shape(client, method):
    resp = client.open(f"{API}/messages", method=method)
    assert resp.status_code == 405
    assert set(resp.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert resp.get_json() == {"code": "method_not_allowed", "message": "不支持这种请求方式",
                               "errors": {}}
    page = client.open("/track", method=method)
    assert page.status_code == 405 and "POST" in page.headers["Allow"]


def test_login_without_wechat_is_a_documented_503(api, doc):
    resp = api.post("/auth/login", json={"code": "0a1b2c"})
    assert resp.status_code == 503 and resp.get_json()["code"] == "wechat_not_configured"
    responses = doc["paths"]["/auth/login"]["post"]["responses"]
    assert "wechat_not_configured" in responses["503"]["description"]
    assert responses["503"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"}


def test_the_bind_code_has_its_pattern(api, world, doc):
    assert doc["components"]["schemas"]["BindIn"]["properties"]["code"]["pattern"] == "^[0-9]{6}$"
    for code in ("12345", "1234567", "12345a", "１２３４５６"):
        resp = api.post("/auth/bind", world.tokens["other_resident"], json={"code": code})
        assert resp.status_code == 422 and resp.get_json()["errors"]["code"] == [
            "请输入6位数字绑定码"], code


def test_ids_are_documented_from_one_to_the_column_limit(doc):
    schemas = doc["components"]["schemas"]
    for schema, field in (("MessageIn", "station_id"), ("AssignIn", "deputy_id"),
                          ("MergeIn", "into_id")):
        prop = schemas[schema]["properties"][field]
        assert (prop["minimum"], prop["maximum"]) == (1, 2**31 - 1), (schema, field)
    assert schemas["MessageIn"]["properties"]["photo_ids"]["items"]["minimum"] == 1
    assert _param(doc, "/liaison/queue", "station_id")["maximum"] == 2**31 - 1
    assert _param(doc, "/messages", "cursor")["type"] == "integer"


def test_cursors_are_documented_with_their_patterns(api, world, doc):
    assert _param(doc, "/deputy/inbox", "cursor")["pattern"] == "^[0-9]{0,10}$"
    assert _param(doc, "/deputy/suggestions", "cursor")["pattern"] == "^[0-9]{0,10}$"
    assert _param(doc, "/liaison/queue", "cursor")["pattern"] == "^[A-Za-z0-9_-]{0,100}$"
    resp = api.get("/liaison/queue?cursor=a%2Fb", world.tokens["liaison"])
    assert resp.status_code == 422 and "cursor" in resp.get_json()["errors"]
    resp = api.get("/deputy/inbox?cursor=abc", world.tokens["deputy"])
    assert resp.status_code == 422 and resp.get_json()["code"] == "cursor_invalid"


def test_an_empty_photo_is_refused_before_anything_is_stored(api, world, doc):
    before = MessagePhoto.query.count()
    resp = api.post("/photos", world.tokens["owner"], content_type="multipart/form-data",
                    data={"photo": (io.BytesIO(b""), "empty.jpg")})
    assert resp.status_code == 422
    assert resp.get_json()["errors"] == {"photo": ["照片是空的，请重新选择"]}
    assert MessagePhoto.query.count() == before
    upload = doc["components"]["schemas"]["PhotoUploadIn"]["properties"]["photo"]
    assert upload["minLength"] == 1
