"""Deputy and liaison mode end to end: the lists, a message as staff see it, every action."""
import uuid

from backend.core.audit_model import AuditEvent
from backend.messages.models import Message
from backend.messages import operations as ops


def _submit(world, **kw):
    return ops.submit_message(resident=world.owner, body=kw.pop("body", "楼道里的灯又坏了，请尽快修理。"),
                              idempotency_key=uuid.uuid4().hex, **kw).message


def test_deputy_inbox_detail_and_reading(api, world):
    token = world.tokens["deputy"]
    inbox = api.get("/deputy/inbox", token).json
    assert inbox["unread_count"] == 1
    assert [(m["id"], m["unread"]) for m in inbox["items"]] == [(world.message.id, True)]
    assert inbox["items"][0]["deadline"]["label"] == "受理"

    detail = api.get(f"/deputy/messages/{world.message.id}", token).json
    assert detail["phone"] == "138****1234" and "13800131234" not in str(detail)
    assert detail["actions"] == ["hand_back", "note", "reply", "request_info", "reveal_phone"]
    assert api.get("/deputy/inbox", token).json["unread_count"] == 0
    assert api.get("/deputy/inbox?status=later", token).json["errors"] == {
        "status": ["请选择 todo（待我答复）或 all（全部）"]}


def test_deputy_reveals_the_phone_and_it_is_audited(api, db, world):
    resp = api.post(f"/deputy/messages/{world.message.id}/phone", world.tokens["deputy"],
                    json={"reason": "电话回访居民"})
    assert resp.status_code == 200 and resp.json == {"phone": "13800131234"}
    audit = db.session.scalar(db.select(AuditEvent).filter_by(action="message.reveal_phone"))
    assert audit.actor_id == world.deputy_user.id and audit.object_id == world.message.id


def test_deputy_answers(api, world):
    base, token = f"/deputy/messages/{world.message.id}", world.tokens["deputy"]
    short = api.post(base + "/request-info", token, json={"question": "哪"})
    assert short.status_code == 422 and short.json["errors"] == {"question": ["内容至少 2 个字"]}
    asked = api.post(base + "/request-info", token, json={"question": "请问具体在哪一栋？"})
    assert asked.status_code == 200 and asked.json["status"] == "awaiting_info"
    answered = api.post(base + "/reply", token, json={"body": "已联系物业，明天修好。"})
    assert answered.json["status"] == "answered"
    again = api.post(base + "/reply", token, json={"body": "再答复一次可以吗？"})
    assert again.status_code == 409 and again.json["code"] == "cannot_reply"
    assert again.json["message"] == "留言当前为「已答复」，不能答复"


def test_deputy_hands_back(api, world):
    base, token = f"/deputy/messages/{world.message.id}", world.tokens["deputy"]
    assert api.post(base + "/hand-back", token, json={}).json["errors"] == {"reason": ["此项必填"]}
    resp = api.post(base + "/hand-back", token, json={"reason": "不属于我的选区"})
    assert resp.status_code == 200 and resp.json["assigned_deputy_name"] is None
    assert resp.json["actions"] == []  # written to them, so still visible, but no longer theirs
    assert api.post(base + "/reply", token, json={"body": "我还是答复一下吧。"}).status_code == 403


def test_liaison_queue_filters_and_pages(api, world):
    token = world.tokens["liaison"]
    second = _submit(world, station=world.station)
    queue = api.get("/liaison/queue", token).json
    assert [m["id"] for m in queue["items"]] == [world.message.id, second.id]
    assert queue["counts"] == {"todo": 2, "held": 0, "new": 2, "overdue": 0}
    mine = api.get(f"/liaison/queue?deputy_id={world.deputy.id}", token).json
    assert [m["id"] for m in mine["items"]] == [world.message.id]
    assert api.get("/liaison/queue?q=楼道", token).json["items"][0]["id"] == second.id
    assert api.get("/liaison/queue?status=closed", token).json["items"] == []
    bad = api.get("/liaison/queue?status=nonsense", token)
    assert bad.status_code == 422 and bad.json["code"] == "status_invalid"
    assert api.get("/liaison/queue?date_from=昨天", token).json["errors"] == {
        "date_from": ["日期格式不正确，应为 2026-01-31"]}
    assert api.get("/liaison/queue?cursor=zzz", token).json["code"] == "cursor_invalid"


def test_liaison_triage(api, db, world):
    base, token = f"/liaison/messages/{world.message.id}", world.tokens["liaison"]
    detail = api.get(base, token).json
    assert {"acknowledge", "assign", "merge", "reject", "forward"} <= set(detail["actions"])
    assert api.post(base + "/acknowledge", token).json["status"] == "acknowledged"
    bad = api.post(base + "/category", token, json={"category": "外星人"})
    assert bad.status_code == 422 and bad.json["code"] == "category_invalid"
    categorised = api.post(base + "/category", token, json={"category": "城乡建设"}).json
    assert categorised["category"] == "城乡建设"
    assert categorised["timeline"][-1]["text"] == "分类设为「城乡建设」"
    missing = api.post(base + "/assign", token, json={"deputy_id": 99999})
    assert missing.json["errors"] == {"deputy_id": ["没有找到这位代表"]}
    moved = api.post(base + "/assign", token, json={"deputy_id": world.deputy_b.id})
    assert moved.json["assigned_deputy_name"] == world.deputy_b.name
    noted = api.post(base + "/note", token, json={"text": "已电话联系物业"})
    internal = [e for e in noted.json["timeline"] if e["is_internal"]]
    assert internal[-1]["text"] == "已电话联系物业"
    assert api.post(base + "/phone", token, json={"reason": "电话回访居民"}).json == {
        "phone": "13800131234"}
    forwarded = api.post(base + "/forward", token, json={"to": "12345热线", "ref": "A-1"})
    assert forwarded.json["status"] == "forwarded" and forwarded.json["forward_ref"] == "A-1"


def test_liaison_merges_by_tracking_number(api, world):
    token = world.tokens["liaison"]
    duplicate = _submit(world, deputy=world.deputy)
    resp = api.post(f"/liaison/messages/{duplicate.id}/merge", token,
                    json={"tracking_no": world.message.tracking_no.lower()})
    assert resp.status_code == 200 and resp.json["status"] == "merged"
    none = api.post(f"/liaison/messages/{world.message.id}/merge", token, json={})
    assert none.status_code == 422 and none.json["code"] == "merge_target_missing"


def test_liaison_releases_and_rejects_held_messages(api, db, world):
    held = _submit(world, station=world.station)
    held.status, held.hold_reason = "held", "含有需人工审核的词语"
    token = world.tokens["liaison"]
    assert api.get("/liaison/queue?held=1", token).json["items"][0]["id"] == held.id
    assert api.get("/deputy/inbox", world.tokens["deputy"]).json["unread_count"] == 1
    empty = api.post(f"/liaison/messages/{held.id}/reject", token, json={"reason": ""})
    assert empty.json["errors"] == {"reason": ["此项不能为空"]}
    released = api.post(f"/liaison/messages/{held.id}/release", token)
    assert released.json["status"] == "new" and released.json["hold_reason"] == ""
    rejected = api.post(f"/liaison/messages/{held.id}/reject", token, json={"reason": "重复留言"})
    assert rejected.json["status"] == "rejected"
    resident_view = api.get(f"/messages/{held.id}", world.tokens["owner"]).json
    assert resident_view["reject_reason"] == "重复留言"
    assert db.session.get(Message, held.id).status == "rejected"
