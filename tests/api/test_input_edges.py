"""Input at the edges of the API: ids past the integer columns, NUL bytes and lone surrogates
answer a coded Chinese error (issue #15) and change nothing, on PostgreSQL as on SQLite."""
import json
import uuid

import pytest

from backend.messages.models import Message
from backend.org.codes import active_code

BIG = 2**31  # one past PostgreSQL's integer


def assert_coded(response, status=(400, 404, 422)):
    assert response.status_code in status, (response.status_code, response.get_data(as_text=True))
    body = response.get_json()
    assert set(body) == {"code", "message", "errors"}
    assert body["code"].isascii() and any("\u4e00" <= ch <= "\u9fff" for ch in body["message"])
    return body


@pytest.mark.parametrize("path", [
    f"/messages?cursor={BIG}",
    "/messages?cursor=99999999999999999999",
    f"/liaison/queue?station_id={BIG}",
    f"/liaison/queue?deputy_id={BIG}",
])
def test_ids_past_the_columns_in_queries(api, world, path):
    token = world.tokens["liaison" if "liaison" in path else "owner"]
    assert_coded(api.get(path, token))


@pytest.mark.parametrize("body", [
    {"station_id": BIG},
    {"deputy_token": "x", "photo_ids": [BIG]},
    {"deputy_token": "x", "photo_ids": [-1]},
    {"station_id": 0},
])
def test_ids_past_the_columns_in_a_message(api, world, body):
    before = Message.query.count()
    payload = {"body": "小区门口的路灯坏了一个多月。", "idempotency_key": uuid.uuid4().hex, **body}
    if "deputy_token" in body:
        payload["deputy_token"] = active_code(world.deputy).token
    resp = api.post("/messages", world.tokens["owner"], json=payload)
    errors = assert_coded(resp, (422,))["errors"]
    assert set(errors) & {"station_id", "photo_ids"}
    assert Message.query.count() == before


@pytest.mark.parametrize("action, body", [
    ("assign", {"deputy_id": BIG}),
    ("merge", {"into_id": BIG}),
    ("assign", {"deputy_id": 0}),
])
def test_ids_past_the_columns_in_staff_bodies(api, world, action, body):
    resp = api.post(f"/liaison/messages/{world.message.id}/{action}", world.tokens["liaison"],
                    json=body)
    assert_coded(resp, (422,))
    api.db.session.refresh(world.message)
    assert world.message.status == "new"


@pytest.mark.parametrize("path", [
    "/deputies/ab%00cd",
    "/deputies/by-scene?scene=ab%00cd",
    "/liaison/queue?q=%00",
])
def test_nul_bytes_in_urls(api, world, path):
    body = assert_coded(api.get(path, world.tokens["liaison"]), (400,))
    assert body["code"] == "invalid_characters"


@pytest.mark.parametrize("field", ["idempotency_key", "deputy_token", "body"])
def test_nul_bytes_in_a_json_body(api, world, field):
    payload = {"body": "小区门口的路灯坏了一个多月。", "idempotency_key": uuid.uuid4().hex,
               "deputy_token": active_code(world.deputy).token}
    payload[field] = payload[field][:4] + "\x00" + payload[field][4:]
    before = Message.query.count()
    body = assert_coded(api.post("/messages", world.tokens["owner"], json=payload), (400,))
    assert body["code"] == "invalid_characters"
    assert Message.query.count() == before


@pytest.mark.parametrize("raw", ['"\\ud800"', '"ab\\udfffcd"'])
def test_lone_surrogates_in_a_json_body(api, world, raw):
    text = ('{"body": %s, "idempotency_key": "%s", "deputy_token": "%s"}'
            % (raw, uuid.uuid4().hex, active_code(world.deputy).token))
    before = Message.query.count()
    resp = api.post("/messages", world.tokens["owner"], data=text,
                    headers={"Content-Type": "application/json"})
    assert assert_coded(resp, (400,))["code"] == "invalid_characters"
    assert Message.query.count() == before


def test_a_lone_surrogate_inside_a_list(api, world):
    resp = api.post("/subscriptions", world.tokens["owner"],
                    data=json.dumps({"template_ids": ["ok", "\ud800"]}),
                    headers={"Content-Type": "application/json"})
    assert assert_coded(resp, (400,))["code"] == "invalid_characters"


def _queue_cursor(message_id) -> str:
    import base64
    raw = f"2026-12-01T00:00:00+08:00|{message_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("role, path", [
    ("deputy", f"/deputy/inbox?cursor={BIG}"),
    ("deputy", "/deputy/inbox?cursor=99999999999999999999"),
    ("deputy", f"/deputy/suggestions?cursor={BIG}"),
    ("liaison", f"/liaison/queue?cursor={_queue_cursor(BIG)}"),
    ("liaison", f"/liaison/queue?cursor={_queue_cursor('9' * 30)}"),
])
def test_cursors_past_the_columns(api, world, role, path):
    assert_coded(api.get(path, world.tokens[role]), (422,))


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-json", None])
def test_json_sent_under_another_type_is_checked_too(api, world, content_type):
    """The API reads any body as JSON (the mini-program's wx.request may label it oddly)."""
    text = ('{"body": "路灯坏了\\u0000一个多月", "idempotency_key": "%s", "deputy_token": "%s"}'
            % (uuid.uuid4().hex, active_code(world.deputy).token))
    before = Message.query.count()
    headers = {"Content-Type": content_type} if content_type else {}
    resp = api.post("/messages", world.tokens["owner"], data=text.encode(), headers=headers)
    assert assert_coded(resp, (400,))["code"] == "invalid_characters"
    assert Message.query.count() == before
