"""回访 in the mini-program: the owner answers once; a second answer is a 409, a bad value a
422, a message never asked about a 403, all in Chinese and changing nothing."""
from datetime import timedelta

from backend.core.timeutil import utcnow
from backend.messages import operations as ops


def _followup(db):
    from backend.records.responsiveness_model import FollowUp
    return db.session.scalars(db.select(FollowUp)).one_or_none()


def test_the_owner_answers_once(api, db, world):
    from backend.records.responsiveness import ask_and_remind
    path = f"/messages/{world.message.id}/followup"
    early = api.post(path, world.tokens["owner"], json={"response": "solved"})
    assert early.status_code == 403 and early.json["code"] == "followup_not_yours"
    ops.reply(world.message, "已联系物业，明天修好。", actor=world.deputy_user)
    ask_and_remind(utcnow() + timedelta(days=15))
    db.session.commit()
    bad = api.post(path, world.tokens["owner"], json={"response": "great"})
    assert bad.status_code == 422 and "请选择一项" in bad.json["errors"]["response"][0]
    assert _followup(db).response is None
    ok = api.post(path, world.tokens["owner"], json={"response": "acknowledged"})
    assert ok.status_code == 201, ok.json
    assert (ok.json["response"], ok.json["response_label"]) == ("acknowledged", "只是收到")
    again = api.post(path, world.tokens["owner"], json={"response": "solved"})
    assert again.status_code == 409 and again.json["code"] == "followup_already_answered"
    assert "只能回答一次" in again.json["message"]
    db.session.expire_all()
    assert _followup(db).response == "acknowledged"
