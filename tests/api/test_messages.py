"""A resident's side: upload photos, submit (idempotently), list and open their own messages
only, rate an answer, add information; every refusal in the one error shape."""
import re
import uuid

import pytest

from backend.messages.models import Message, MessagePhoto, MessageRating
from backend.messages import operations as ops
from tests.api.conftest import image_bytes

BODY = "小区门口的路灯坏了一个多月，晚上很不安全。"
ASCII_WORD = re.compile(r"[A-Za-z]{3,}")


@pytest.fixture
def resident(make_resident):
    return make_resident()


@pytest.fixture
def token(resident, token_for):
    return token_for(resident)


@pytest.fixture
def deputy(make_deputy):
    return make_deputy()


def _token_of(deputy):
    from backend.org.codes import active_code
    return active_code(deputy).token


def _upload(api, token, data=None, name="p.jpg"):
    import io
    return api.post("/photos", token, data={"photo": (io.BytesIO(data or image_bytes()), name)},
                    content_type="multipart/form-data")


def _message(deputy, **kw):
    return {"deputy_token": _token_of(deputy), "body": BODY, "may_publish": True,
            "idempotency_key": uuid.uuid4().hex, **kw}


def _only_chinese(error_body):
    texts = [error_body["message"], *(t for ts in error_body["errors"].values() for t in ts)]
    assert not any(ASCII_WORD.search(t) for t in texts), texts


def test_submit_with_a_photo(api, db, token, resident, deputy):
    uploaded = _upload(api, token, image_bytes("PNG", (64, 48)))
    assert uploaded.status_code == 201, uploaded.json
    assert uploaded.json == {"id": uploaded.json["id"], "width": 64, "height": 48}

    resp = api.post("/messages", token, json=_message(
        deputy, photo_ids=[uploaded.json["id"]], phone="138 0013 1234", place=" 幸福小区 "))
    assert resp.status_code == 201, resp.json
    receipt = resp.json
    assert set(receipt) == {"id", "tracking_no", "lookup_code", "status", "status_label",
                            "created_at"}
    assert receipt["status"] == "new" and receipt["status_label"] == "待受理"
    assert receipt["created_at"].endswith("+08:00")
    message = db.session.get(Message, receipt["id"])
    assert message.tracking_no == receipt["tracking_no"] and message.channel == "miniprogram"
    assert message.place == "幸福小区" and message.may_publish
    assert [p.id for p in message.photos] == [uploaded.json["id"]]

    detail = api.get(f"/messages/{message.id}", token).json
    assert detail["phone"] == "138****1234"
    assert detail["photos"] == [uploaded.json]
    assert api.get(f"/photos/{uploaded.json['id']}", token).mimetype == "image/png"


def test_a_retry_with_the_same_key_returns_the_first_receipt(api, db, token, deputy):
    payload = _message(deputy)
    first = api.post("/messages", token, json=payload)
    again = api.post("/messages", token, json=payload)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json == first.json
    assert db.session.scalar(db.select(db.func.count()).select_from(Message)) == 1


def test_a_key_reused_for_another_text_is_refused(api, token, deputy):
    payload = _message(deputy)
    api.post("/messages", token, json=payload)
    resp = api.post("/messages", token, json={**payload, "body": "另一条完全不同的留言内容。"})
    assert resp.status_code == 422 and resp.json["code"] == "idempotency_conflict"


@pytest.mark.parametrize("payload, errors", [
    ({}, {"body": ["此项必填"], "idempotency_key": ["此项必填"]}),
    ({"body": "  ", "idempotency_key": "k" * 10, "station_id": 1},
     {"body": ["此项不能为空"]}),
    ({"body": BODY, "idempotency_key": "k" * 10},
     {"deputy_token": ["请选择要留言的代表或联络站"]}),
    ({"body": BODY, "idempotency_key": "k" * 10, "station_id": "一号站", "may_publish": "也许",
      "photo_ids": ["x"]},
     {"station_id": ["请填写整数"], "may_publish": ["请选择是或否"],
      "photo_ids": {"0": ["请填写整数"]}}),
])
def test_schema_errors_in_the_one_shape(api, token, payload, errors):
    resp = api.post("/messages", token, json=payload)
    assert resp.status_code == 422
    assert resp.json == {"code": "validation_failed", "message": "提交的内容有误，请检查后重试",
                         "errors": errors}


def test_operation_errors_name_our_fields(api, db, token, deputy):
    resp = api.post("/messages", token, json=_message(deputy, body="太短", phone="12345",
                                                      photo_ids=[999]))
    assert resp.status_code == 422 and resp.json["code"] == "validation_failed"
    assert set(resp.json["errors"]) == {"body", "phone"}
    _only_chinese(resp.json)
    resp = api.post("/messages", token, json=_message(deputy, photo_ids=[999]))
    assert resp.json["errors"] == {"photo_ids": ["照片无效或已被使用，请重新上传"]}
    assert db.session.scalar(db.select(db.func.count()).select_from(Message)) == 0


def test_a_photo_of_another_resident_is_refused(api, db, token, deputy, make_resident,
                                                token_for):
    theirs = _upload(api, token_for(make_resident())).json["id"]
    resp = api.post("/messages", token, json=_message(deputy, photo_ids=[theirs]))
    assert resp.status_code == 422
    assert resp.json["errors"] == {"photo_ids": ["照片无效或已被使用，请重新上传"]}
    assert db.session.get(MessagePhoto, theirs).message_id is None
    assert api.get(f"/photos/{theirs}", token).status_code == 404


def test_a_photo_cannot_be_used_twice(api, token, deputy):
    photo = _upload(api, token).json["id"]
    assert api.post("/messages", token, json=_message(deputy, photo_ids=[photo])).status_code == 201
    resp = api.post("/messages", token, json=_message(deputy, photo_ids=[photo]))
    assert resp.json["errors"] == {"photo_ids": ["照片无效或已被使用，请重新上传"]}


def test_a_non_image_is_refused_and_nothing_is_stored(api, db, token):
    resp = _upload(api, token, b"%PDF-1.4 not an image", name="photo.jpg")
    assert resp.status_code == 422
    assert resp.json["code"] == "image_invalid"
    assert resp.json["message"] == "文件不是有效的图片（支持 JPG、PNG、WebP）"
    assert db.session.scalar(db.select(db.func.count()).select_from(MessagePhoto)) == 0


def test_an_upload_without_a_file_is_refused(api, token):
    resp = api.post("/photos", token, data={"photo": "text"}, content_type="multipart/form-data")
    assert resp.status_code == 422 and resp.json["errors"] == {"photo": ["请选择一张照片"]}


def test_an_upload_too_large_is_413_in_our_shape(api, app, token, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000)
    resp = _upload(api, token, image_bytes(size=(400, 400)))
    assert resp.status_code == 413
    assert resp.json["code"] == "payload_too_large" and resp.json["errors"] == {}


def test_bad_json_and_wrong_methods_answer_in_our_shape(api, token):
    resp = api.post("/messages", token, data="{not json", content_type="application/json")
    assert resp.status_code == 400 and resp.json["code"] == "bad_request"
    resp = api.call("DELETE", "/messages", token)
    assert resp.status_code == 405 and resp.json["code"] == "method_not_allowed"
    resp = api.post("/messages", token, json=["a", "list"])
    assert resp.status_code == 422 and resp.json["errors"] == {"_schema": ["提交的数据格式不正确"]}
    resp = api.get("/no-such-thing", token)
    assert resp.status_code == 404 and resp.json["code"] == "not_found"


def test_writing_to_a_station(api, token, make_station):
    station = make_station()
    resp = api.post("/messages", token, json={"station_id": station.id, "body": BODY,
                                              "idempotency_key": uuid.uuid4().hex})
    assert resp.status_code == 201
    assert api.get(f"/messages/{resp.json['id']}", token).json["deputy_name"] is None


def test_a_revoked_code_says_where_the_deputy_is_now(api, token, deputy):
    from backend.org.codes import reissue_code
    old = _token_of(deputy)
    new = reissue_code(deputy, actor=None).token
    resp = api.post("/messages", token, json=_message(deputy, deputy_token=old))
    assert resp.status_code == 410
    assert resp.json["code"] == "code_revoked" and resp.json["errors"] == {"current_token": new}


def test_residents_see_only_their_own_messages(api, token, resident, deputy, make_resident,
                                               token_for, submit_as):
    mine = submit_as(resident, deputy)
    theirs = submit_as(make_resident(), deputy)
    listed = api.get("/messages", token).json
    assert [m["id"] for m in listed["items"]] == [mine.id] and listed["next_cursor"] is None
    assert api.get(f"/messages/{mine.id}", token).status_code == 200
    resp = api.get(f"/messages/{theirs.id}", token)
    assert resp.status_code == 404 and resp.json["code"] == "message_not_found"
    assert api.get("/messages/99999", token).status_code == 404


def test_my_messages_page_by_keyset(api, token, resident, deputy, submit_as):
    ids = [submit_as(resident, deputy).id for _ in range(ops_page_size() + 3)]
    first = api.get("/messages", token).json
    assert [m["id"] for m in first["items"]] == ids[::-1][:ops_page_size()]
    second = api.get(f"/messages?cursor={first['next_cursor']}", token).json
    assert [m["id"] for m in second["items"]] == ids[::-1][ops_page_size():]
    assert second["next_cursor"] is None
    assert api.get("/messages?cursor=abc", token).json["errors"] == {"cursor": ["请填写整数"]}


def ops_page_size():
    from backend.messages.queue import PAGE_SIZE
    return PAGE_SIZE


def test_rating_flow(api, db, token, resident, deputy, deputy_staff, submit_as):
    message = submit_as(resident, deputy)
    early = api.post(f"/messages/{message.id}/rating", token, json={"value": "satisfied"})
    assert early.status_code == 409 and early.json["code"] == "cannot_rate"

    ops.reply(message, "已联系街道，本周内修好路灯。", actor=deputy_staff)
    detail = api.get(f"/messages/{message.id}", token).json
    assert detail["can_rate"] and detail["answer"]["body"] == "已联系街道，本周内修好路灯。"
    assert detail["answer"]["deputy_name"] == deputy.name

    bad = api.post(f"/messages/{message.id}/rating", token, json={"value": "great"})
    assert bad.json["errors"] == {"value": ["请选择满意、基本满意或不满意"]}
    resp = api.post(f"/messages/{message.id}/rating", token,
                    json={"value": "dissatisfied", "comment": " 路灯还是不亮 "})
    assert resp.status_code == 200
    assert resp.json["status"] == "reopened" and not resp.json["can_rate"]
    assert resp.json["timeline"][-1]["text"] == "居民评价：不满意。路灯还是不亮"
    rating = db.session.scalar(db.select(MessageRating))
    assert (rating.value, rating.comment) == ("dissatisfied", "路灯还是不亮")


def test_info_flow(api, token, resident, deputy, deputy_staff, submit_as):
    message = submit_as(resident, deputy)
    assert not api.get(f"/messages/{message.id}", token).json["can_add_info"]
    ops.request_info(message, "请问是哪一栋楼门口？", actor=deputy_staff)
    detail = api.get(f"/messages/{message.id}", token).json
    assert detail["can_add_info"] and detail["status"] == "awaiting_info"
    assert detail["timeline"][-1]["text"] == "请问是哪一栋楼门口？"

    short = api.post(f"/messages/{message.id}/info", token, json={"text": "3"})
    assert short.status_code == 422 and short.json["errors"] == {"text": ["内容至少 2 个字"]}
    resp = api.post(f"/messages/{message.id}/info", token, json={"text": "三号楼东门"})
    assert resp.status_code == 200 and resp.json["status"] == "acknowledged"
    assert resp.json["timeline"][-1]["kind"] == "add_info"


def test_the_public_timeline_hides_internal_events(api, token, resident, deputy, submit_as,
                                                   make_bound_staff):
    message = submit_as(resident, deputy)
    liaison, _ = make_bound_staff("liaison", stations=[message.station])
    ops.add_note(message, "此人上周也反映过", actor=liaison)
    ops.acknowledge(message, actor=liaison)
    timeline = api.get(f"/messages/{message.id}", token).json["timeline"]
    assert [e["kind"] for e in timeline] == ["submitted", "acknowledge"]
    assert timeline[1]["label"] == "受理" and timeline[1]["actor"] == "联络员"


@pytest.fixture
def submit_as(db):
    def submit(resident, deputy):
        return ops.submit_message(resident=resident, deputy=deputy, body=BODY,
                                  idempotency_key=uuid.uuid4().hex).message
    return submit


@pytest.fixture
def deputy_staff(deputy, make_bound_staff):
    return make_bound_staff("deputy", deputy=deputy)[0]


def test_the_receipt_is_answered_without_loading_the_new_message_again(api, db, token, deputy):
    """The receipt is dumped before the commit; after the INSERT nothing reads the message back
    (a commit expires what the session holds, and a reload would cost a round trip)."""
    import sqlalchemy as sa
    statements = []

    def seen(conn, cursor, statement, *args):
        statements.append(" ".join(statement.split()).lower())
    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        resp = api.post("/messages", token, json=_message(deputy))
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)
    assert resp.status_code == 201, resp.json
    assert db.session.get(Message, resp.json["id"]) is not None
    inserted = next(i for i, s in enumerate(statements) if "insert into messages" in s)
    assert not [s for s in statements[inserted + 1:] if s.startswith("select") and
                "from messages" in s], statements[inserted:]
