"""The mini-program side of what came of a message: its detail lists the suggestions it fed, in
plain words, and the writer rates the outcome once. Nothing internal is in the JSON; anyone
else gets 404."""
import json
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from backend.suggestions.models import (
    SuggestionEvent, SuggestionExtension, SuggestionResidentRating,
)
from backend.core.timeutil import utcnow
from tests.suggestions.conftest import make_suggestion, suggestion_world  # noqa: F401

SECRETS = ("退回意见：请补充调研数据", "内部备注：此件需领导过目", "协办意见：涉及道路管线迁改",
           "延期理由：资金审批流程较长", "督办说明：分管领导关注", "内部事件文字不应公开")


def _count(db, model, **by) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).filter_by(**by))


def add_event(db, s, kind, *, public=True, text="", minutes_ago=0):
    db.session.add(SuggestionEvent(suggestion_id=s.id, kind=kind, actor_kind="staff",
                                   actor_label="代工委", is_public=public, text=text,
                                   created_at=utcnow() - timedelta(minutes=minutes_ago)))
    db.session.commit()


@pytest.fixture
def w(suggestion_world, token_for):  # noqa: F811 - the imported fixture
    w = suggestion_world
    w.tokens = [token_for(r) for r in w.residents]
    return w


def detail(api, w, n=0, message=None):
    resp = api.get(f"/messages/{(message or w.messages[n]).id}", w.tokens[n])
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp


def rate(api, w, s, value="satisfied", n=0, message=None, **extra):
    return api.post(f"/messages/{(message or w.messages[n]).id}/suggestions/{s.id}/rating",
                    w.tokens[n], json={"value": value, **extra})


def test_the_detail_follows_the_suggestion(api, db, w, make_suggestion):  # noqa: F811
    assert detail(api, w).json["suggestions"] == []
    s = make_suggestion("submitted")
    add_event(db, s, "submit", minutes_ago=30)
    [item] = detail(api, w).json["suggestions"]
    assert item["id"] == s.id and item["number"] == s.number and item["title"] == s.title
    assert item["deputy_name"] == "王建国代表" and item["stage"] == "submitted"
    assert item["status_phrase"] == "已提交区人大常委会，等待交办"
    assert item["lead_department"] is None and item["deadline"] is None
    assert item["answer"] is None and not item["can_rate"] and item["my_rating"] is None
    assert [step["line"] for step in item["timeline"]] == ["王建国代表向区人大常委会提交了建议"]

    # Assigned: the departments and the deadline.
    s.status, s.assigned_at, s.deadline_on = "assigned", utcnow(), date(2031, 5, 20)
    from backend.suggestions.models import SuggestionAssignment
    db.session.add_all([
        SuggestionAssignment(suggestion_id=s.id, department_id=w.lead.id, role="lead"),
        SuggestionAssignment(suggestion_id=s.id, department_id=w.assist.id, role="assisting")])
    db.session.commit()
    add_event(db, s, "assign", minutes_ago=20)
    [item] = detail(api, w).json["suggestions"]
    assert item["status_phrase"] == "已交办区住房和城乡建设局办理"
    assert item["lead_department"] == "区住房和城乡建设局"
    assert item["assisting_departments"] == ["区交通运输局"] and item["deadline"] == "2031-05-20"
    assert item["timeline"][-1]["line"] == "区人大常委会将建议交办区住房和城乡建设局办理"


def test_a_b_answer_in_the_json(api, db, w, make_suggestion):  # noqa: F811
    s = make_suggestion("answered", resolution="B")
    add_event(db, s, "answer")
    [item] = detail(api, w).json["suggestions"]
    answer = item["answer"]
    assert item["status_phrase"] == "承办单位已答复" and item["can_rate"]
    assert answer["resolution"] == "B" and answer["resolution_label"].startswith("B类")
    assert answer["department"] == "区住房和城乡建设局" and answer["body"] == s.latest_reply.body
    assert answer["promised_by"] == (date.today() + timedelta(days=30)).isoformat()
    assert answer["milestones"] == [{"date": (date.today() + timedelta(days=10)).isoformat(),
                                     "text": "完成招标"}]
    assert answer["reason"] == ""


def test_nothing_internal_is_in_the_json(api, db, w, make_suggestion):  # noqa: F811
    s = make_suggestion("answered", resolution="B", review_comment=SECRETS[0],
                        supervision="important", supervision_note=SECRETS[4])
    add_event(db, s, "note", public=False, text=SECRETS[1])
    add_event(db, s, "answer", text=SECRETS[5])
    assisting = next(a for a in s.assignments if a.role == "assisting")
    assisting.opinion = SECRETS[2]
    db.session.add(SuggestionExtension(suggestion_id=s.id, department_id=w.lead.id,
                                       requested_until=date.today() + timedelta(days=90),
                                       reason=SECRETS[3]))
    db.session.commit()
    resp = detail(api, w)
    text = json.dumps(resp.json, ensure_ascii=False)
    assert resp.json["suggestions"][0]["answer"]["resolution"] == "B"
    for secret in SECRETS:
        assert secret not in text, secret
    assert "重要督办" not in text and "supervision" not in text
    assert w.messages[1].body not in text  # the other resident behind it stays hidden
    for user in w.users.values():
        assert user.display_name not in text


def test_rating_once(api, db, w, make_suggestion):  # noqa: F811
    s = make_suggestion("answered")
    resp = rate(api, w, s, "basically_satisfied", comment="  基本修好了 ")
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert resp.json["suggestion_id"] == s.id and resp.json["value"] == "basically_satisfied"
    assert resp.json["value_label"] == "基本满意" and resp.json["comment"] == "基本修好了"
    [item] = detail(api, w).json["suggestions"]
    assert (item["my_rating"], item["my_rating_label"], item["can_rate"]) == (
        "basically_satisfied", "基本满意", False)

    before = (_count(db, SuggestionResidentRating), _count(db, SuggestionEvent))
    again = rate(api, w, s, "dissatisfied")
    assert again.status_code == 409
    assert set(again.json) == {"code", "message", "errors"}
    assert again.json["code"] == "suggestion_already_rated"
    assert (_count(db, SuggestionResidentRating), _count(db, SuggestionEvent)) == before
    assert db.session.scalar(sa.select(SuggestionResidentRating.value)) == "basically_satisfied"


def test_rating_before_the_answer_is_409(api, db, w, make_suggestion):  # noqa: F811
    s = make_suggestion("in_progress")
    resp = rate(api, w, s)
    assert resp.status_code == 409 and set(resp.json) == {"code", "message", "errors"}
    assert resp.json["code"] == "suggestion_cannot_resident_rate"
    assert _count(db, SuggestionResidentRating) == 0


@pytest.mark.parametrize("body", [{"value": "great"}, {}, {"value": "satisfied",
                                                           "comment": "长" * 501}])
def test_bad_input_is_422(api, db, w, make_suggestion, body):  # noqa: F811
    s = make_suggestion("answered")
    resp = api.post(f"/messages/{w.messages[0].id}/suggestions/{s.id}/rating", w.tokens[0],
                    json=body)
    assert resp.status_code == 422 and resp.json["code"] == "validation_failed"
    assert _count(db, SuggestionResidentRating) == 0


def test_others_get_404_and_change_nothing(api, db, w, make_suggestion):  # noqa: F811
    s = make_suggestion("answered", messages=[w.messages[0]])
    # Another resident, on the message that fed it: not theirs.
    resp = api.post(f"/messages/{w.messages[0].id}/suggestions/{s.id}/rating", w.tokens[2],
                    json={"value": "dissatisfied"})
    assert resp.status_code == 404 and set(resp.json) == {"code", "message", "errors"}
    assert api.get(f"/messages/{w.messages[0].id}", w.tokens[2]).status_code == 404
    # Resident 2's own message did not feed it.
    assert detail(api, w, 1).json["suggestions"] == []
    assert rate(api, w, s, n=1).status_code == 404
    # An unknown suggestion on one's own message, and a draft that did come from it.
    draft = make_suggestion("draft", messages=[w.messages[0]])
    assert rate(api, w, draft).status_code == 404
    resp = api.post(f"/messages/{w.messages[0].id}/suggestions/999999/rating", w.tokens[0],
                    json={"value": "satisfied"})
    assert resp.status_code == 404
    # No session at all.
    resp = api.post(f"/messages/{w.messages[0].id}/suggestions/{s.id}/rating",
                    json={"value": "satisfied"})
    assert resp.status_code == 401
    assert _count(db, SuggestionResidentRating) == 0


def test_a_message_merged_into_a_source_message_sees_and_rates(api, db, w,
                                                               make_suggestion):  # noqa: F811
    merged = w.messages[1]
    merged.status, merged.merged_into_id = "merged", w.messages[0].id
    db.session.commit()
    s = make_suggestion("answered", messages=[w.messages[0]])
    [item] = detail(api, w, 1).json["suggestions"]
    assert item["id"] == s.id and item["can_rate"]
    assert rate(api, w, s, n=1).status_code == 201


def test_a_suggestion_merged_into_another_shows_the_target(api, db, w,
                                                           make_suggestion):  # noqa: F811
    target = make_suggestion("closed", title="关于全区路灯统一改造的建议",
                             messages=[w.messages[2]])
    mine = make_suggestion("submitted", messages=[w.messages[0]])
    mine.status, mine.merged_into_id = "merged", target.id
    db.session.commit()
    [item] = detail(api, w).json["suggestions"]
    assert (item["id"], item["title"], item["merged_from"]) == (
        target.id, "关于全区路灯统一改造的建议", mine.number)
    assert item["status_phrase"].startswith("承办单位已答复")
    assert rate(api, w, mine).status_code == 404
    assert rate(api, w, target).status_code == 201


def test_the_openapi_document_describes_it(api):
    doc = api.get("/openapi.json").json
    schemas = doc["components"]["schemas"]
    assert "ResidentSuggestionOut" in schemas and "SuggestionAnswerOut" in schemas
    mine = doc["paths"]["/messages/{message_id}"]["get"]["responses"]["200"]
    ref = mine["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "suggestions" in schemas[ref]["properties"]
    rating = doc["paths"]["/messages/{message_id}/suggestions/{suggestion_id}/rating"]["post"]
    assert set(rating["responses"]) >= {"201", "401", "404", "422"}
    assert rating["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SuggestionRatingIn"}
    assert set(schemas["SuggestionRatingIn"]["properties"]["value"]["enum"]) == {
        "satisfied", "basically_satisfied", "dissatisfied"}
