"""Deputy mode's help with an answer and liaison mode's search, through /api/mp/v1."""
import uuid

from backend.core.extensions import db
from backend.messages import operations as ops
from backend.messages.models import MessageReply


def _answered(world, body, answer):
    old = ops.submit_message(resident=world.other, deputy=world.deputy_b, body=body,
                             idempotency_key=uuid.uuid4().hex).message
    ops.reply(old, answer, actor=world.deputy_b_user)
    db.session.commit()
    return old


def test_earlier_answers_prefilled_and_searched(api, world):
    old = _answered(world, "楼下路灯坏了，晚上看不见路。", "已请物业公司本周内更换小区门口的路灯。")
    base, token = f"/deputy/messages/{world.message.id}", world.tokens["deputy"]
    first = api.get(base + "/earlier-answers", token).json
    assert first["q"] == "小区 门口 路灯" and first["items"] == []
    found = api.get(base + "/earlier-answers?q=路灯", token).json
    assert found["q"] == "路灯" and [i["reply_id"] for i in found["items"]] == [
        db.session.scalar(db.select(MessageReply.id).filter_by(message_id=old.id))]
    assert found["items"][0]["text"] == "已请物业公司本周内更换小区门口的路灯。"
    assert "楼下" not in str(found)  # the other resident's letter stays out
    bad = api.get(base + "/earlier-answers?q=！", token)
    assert bad.status_code == 422 and bad.json["code"] == "search_query_too_short"
    assert bad.json["errors"] == {"q": ["请输入至少两个字的关键词（单个汉字和标点符号不参与查找）"]}


def test_answer_hints_never_change_anything(api, world):
    base, token = f"/deputy/messages/{world.message.id}", world.tokens["deputy"]
    hints = api.post(base + "/answer-hints", token, json={"body": "收到。"}).json["hints"]
    assert {h["code"] for h in hints} == {"off_topic", "no_action", "no_body", "no_date"}
    good = api.post(base + "/answer-hints", token, json={
        "body": "小区门口路灯的问题，已联系街道办事处，本周内派员维修。"}).json
    assert good == {"hints": []}
    assert api.post(base + "/answer-hints", token, json={}).status_code == 422
    assert db.session.scalar(db.select(db.func.count()).select_from(MessageReply)) == 0
    sent = api.post(base + "/reply", token, json={"body": "收到，谢谢您。"})
    assert sent.status_code == 200 and sent.json["status"] == "answered"


def test_liaison_queue_search(api, world):
    token = world.tokens["liaison"]
    assert [m["id"] for m in api.get("/liaison/queue?q=路灯 安全", token).json["items"]] == [
        world.message.id]
    assert api.get("/liaison/queue?q=地铁", token).json["items"] == []
    bad = api.get("/liaison/queue?q=，。", token)
    assert bad.status_code == 422 and bad.json["code"] == "search_query_too_short"
    assert api.get("/liaison/queue?q=路灯", world.tokens["other_liaison"]).json["items"] == []
