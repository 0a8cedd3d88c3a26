"""Deputy mode's suggestions: the list, one suggestion as its deputy sees it (no residents'
phone numbers, nothing a resident wrote), rating the answer and co-signing. A refusal comes in
the one error shape and changes nothing."""
from datetime import timedelta

import re
import uuid

import pytest
import sqlalchemy as sa

from backend.notifications.models import Notification
from backend.suggestions.models import (
    Suggestion, SuggestionCosigner, SuggestionEvent, SuggestionRating,
)
from backend.core.timeutil import utcnow
# The shared suggestion world, as tests/api/test_suggestion_outcome.py uses it.
from tests.suggestions.conftest import make_suggestion, suggestion_world  # noqa: F401

TIME_RE = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+08:00$"


@pytest.fixture
def w(db, suggestion_world, make_resident, token_for):  # noqa: F811 - the imported fixture
    """The suggestion world, its deputies bound to WeChat: w.tokens[author|colleague|outsider],
    and w.tokens["resident"] for a resident-mode token (the first message's writer)."""
    w = suggestion_world
    w.tokens = {"resident": token_for(w.residents[0])}
    for name in ("author", "colleague", "outsider"):
        staff = w.users[name]
        resident = make_resident()
        staff.wechat_openid = resident.openid
        w.tokens[name] = token_for(resident, staff)
    db.session.commit()
    return w


def _count(db, model, **by) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).filter_by(**by))


def footprint(db, s):
    """Everything a suggestion action could change."""
    db.session.expire_all()
    row = db.session.get(Suggestion, s.id)
    return (row.status, row.reanswers, row.flagged_unsatisfied, row.closed_at,
            _count(db, SuggestionEvent), _count(db, SuggestionRating),
            _count(db, SuggestionCosigner), _count(db, Notification))


def assert_error(resp, status, code=None):
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert set(resp.json) == {"code", "message", "errors"}
    if code:
        assert resp.json["code"] == code, resp.json


# ---- the list ----

def test_the_list_by_tab_newest_first(api, w, make_suggestion):  # noqa: F811
    draft = make_suggestion("draft")
    answered = make_suggestion("answered", supervision="key")
    cosignable = make_suggestion("submitted")
    make_suggestion("submitted", cosigners=[w.colleague])

    resp = api.get("/deputy/suggestions", w.tokens["author"])
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.json["tab"] == "led" and resp.json["next_cursor"] is None
    items = resp.json["items"]
    assert [i["id"] for i in items] == sorted([i["id"] for i in items], reverse=True)
    assert {i["id"] for i in items} >= {draft.id, answered.id, cosignable.id}
    item = next(i for i in items if i["id"] == answered.id)
    assert item == {
        "id": answered.id, "number": answered.number, "title": "关于修复城关街道路灯的建议",
        "status": "answered", "status_label": "已答复", "category": "城乡建设",
        "deadline_on": answered.deadline_on.isoformat(), "supervision_label": "重点督办",
        "needs_rating": True}
    assert not next(i for i in items if i["id"] == draft.id)["needs_rating"]

    # The colleague: what they co-signed, and submitted ones still open to them.
    def ids(tab, who="colleague"):
        resp = api.get(f"/deputy/suggestions?tab={tab}", w.tokens[who])
        assert resp.status_code == 200, resp.get_data(as_text=True)
        assert resp.json["tab"] == tab
        return [i["id"] for i in resp.json["items"]]
    cosigned_id = max(ids("cosigned"))
    assert ids("cosigned") == [cosigned_id] and ids("led") == []
    assert ids("cosignable") == [cosignable.id]  # not the draft, not the answered one
    # Someone else's answered suggestion waits for its author's rating, not the colleague's.
    assert ids("cosignable", "outsider") == [] and ids("led", "outsider") == []


def test_the_list_pages_by_cursor(api, w, make_suggestion):  # noqa: F811
    made = [make_suggestion("submitted").id for _ in range(23)]
    first = api.get("/deputy/suggestions", w.tokens["author"]).json
    assert [i["id"] for i in first["items"]] == made[::-1][:20]
    assert first["next_cursor"] == str(made[3])
    second = api.get(f"/deputy/suggestions?cursor={first['next_cursor']}", w.tokens["author"]).json
    assert [i["id"] for i in second["items"]] == made[2::-1] and second["next_cursor"] is None
    assert_error(api.get("/deputy/suggestions?cursor=abc", w.tokens["author"]), 422,
                 "cursor_invalid")
    assert_error(api.get("/deputy/suggestions?tab=all", w.tokens["author"]), 422,
                 "validation_failed")


def test_deputy_mode_only(api, w, make_suggestion):  # noqa: F811
    s = make_suggestion("answered")
    for method, path in (("GET", "/deputy/suggestions"), ("GET", f"/deputy/suggestions/{s.id}"),
                         ("POST", f"/deputy/suggestions/{s.id}/rating"),
                         ("POST", f"/deputy/suggestions/{s.id}/cosign")):
        kw = {"json": {"value": "satisfied"}} if path.endswith("rating") else {}
        assert_error(api.call(method, path, w.tokens["resident"], **kw), 403, "deputy_only")
        assert_error(api.call(method, path, None, **kw), 401)


# ---- one suggestion ----

def test_the_detail(api, db, w, make_suggestion):  # noqa: F811
    from backend.messages.operations import submit_message
    with_phone = submit_message(resident=w.residents[1], deputy=w.author, phone="13912345678",
                                body="路灯不亮的问题请代表关注，" * 8,
                                idempotency_key=uuid.uuid4().hex).message
    sources = [w.messages[0], with_phone]
    s = make_suggestion("answered", resolution="B", cosigners=[w.colleague], messages=sources)
    now = utcnow()
    db.session.add_all([
        SuggestionEvent(suggestion_id=s.id, kind="submit", actor_kind="staff",
                        actor_label="王建国代表", is_public=True, created_at=now - timedelta(days=40)),
        SuggestionEvent(suggestion_id=s.id, kind="note", actor_kind="staff", actor_label="代工委",
                        text="内部备注：请抓紧", created_at=now - timedelta(days=20)),
        SuggestionEvent(suggestion_id=s.id, kind="resident_rate", actor_kind="resident",
                        actor_label="留言人", text="我是张三，电话13800138000",
                        created_at=now - timedelta(days=1)),
    ])
    db.session.commit()

    resp = api.get(f"/deputy/suggestions/{s.id}", w.tokens["author"])
    assert resp.status_code == 200, resp.get_data(as_text=True)
    d = resp.json
    assert d["id"] == s.id and d["number"] == s.number and d["status_label"] == "已答复"
    assert d["problem"] == "城关街道多处路灯损坏，居民夜间出行不便。"
    assert d["proposal"].startswith("请区住建局") and d["deputy_name"] == "王建国"
    assert d["cosigners"] == ["刘芳"] and d["needs_rating"] and not d["can_cosign"]
    assert d["departments"] == [
        {"name": "区住房和城乡建设局", "role": "lead", "role_label": "主办", "status": "accepted",
         "status_label": "已签收"},
        {"name": "区交通运输局", "role": "assisting", "role_label": "协办", "status": "accepted",
         "status_label": "已签收"}]
    [reply] = d["replies"]
    assert reply["round"] == 1 and reply["resolution"] == "B"
    assert reply["resolution_label"].startswith("B类") and reply["promised_by"]
    assert reply["milestones"][0]["text"] == "完成招标" and reply["reason"] == ""
    assert reply["body"] == "已组织排查，共修复路灯23盏，并纳入日常巡查。"
    assert d["ratings"] == []
    # Public and internal events as staff see them, minus what a resident wrote.
    assert [(e["kind"], e["label"], e["actor_label"]) for e in d["timeline"]] == [
        ("submit", "提交", "王建国代表"), ("note", "添加备注", "代工委")]
    assert d["timeline"][1]["text"] == "内部备注：请抓紧" and not d["timeline"][1]["is_public"]
    assert [m["tracking_no"] for m in d["source_messages"]] == [m.tracking_no for m in sources]
    assert d["source_messages"][0]["excerpt"] == w.messages[0].body
    assert d["source_messages"][1]["excerpt"] == with_phone.body[:60] + "…"
    assert set(d["source_messages"][0]) == {"tracking_no", "excerpt"}
    text = resp.get_data(as_text=True)
    assert "13912345678" not in text and "13800138000" not in text and "张三" not in text
    assert re.match(TIME_RE, d["timeline"][0]["created_at"])
    assert re.match(TIME_RE, d["submitted_at"])

    # A co-signer sees it too, but it is not theirs to rate.
    d = api.get(f"/deputy/suggestions/{s.id}", w.tokens["colleague"]).json
    assert d["id"] == s.id and not d["needs_rating"]


def test_who_may_see_one(api, w, make_suggestion):  # noqa: F811
    draft = make_suggestion("draft")
    submitted = make_suggestion("submitted")
    # A colleague of the same station sees a submitted one (to co-sign), not a draft.
    assert api.get(f"/deputy/suggestions/{submitted.id}", w.tokens["colleague"]).status_code == 200
    assert_error(api.get(f"/deputy/suggestions/{draft.id}", w.tokens["colleague"]), 403,
                 "suggestion_forbidden")
    # A deputy of another station sees neither.
    assert_error(api.get(f"/deputy/suggestions/{submitted.id}", w.tokens["outsider"]), 403,
                 "suggestion_forbidden")
    assert_error(api.get("/deputy/suggestions/999999", w.tokens["author"]), 404,
                 "suggestion_not_found")


# ---- rating ----

def test_rating_closes_it(api, db, w, make_suggestion):  # noqa: F811
    s = make_suggestion("answered")
    resp = api.post(f"/deputy/suggestions/{s.id}/rating", w.tokens["author"],
                    json={"value": "satisfied", "comment": "  办得很好  "})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    d = resp.json
    assert d["status"] == "closed" and d["status_label"] == "已办结" and not d["needs_rating"]
    assert [(r["round"], r["value"], r["value_label"], r["comment"]) for r in d["ratings"]] == [
        (1, "satisfied", "满意", "办得很好")]
    assert [e["kind"] for e in d["timeline"]][-2:] == ["rate", "close"]
    row = db.session.scalar(sa.select(SuggestionRating).filter_by(suggestion_id=s.id))
    assert row.value == "satisfied" and row.deputy_id == w.author.id

    # Rating twice: refused, nothing changes.
    before = footprint(db, s)
    assert_error(api.post(f"/deputy/suggestions/{s.id}/rating", w.tokens["author"],
                          json={"value": "dissatisfied"}), 409, "suggestion_cannot_rate")
    assert footprint(db, s) == before


def test_unsatisfied_sends_it_back(api, db, w, make_suggestion):  # noqa: F811
    s = make_suggestion("answered", resolution="C")
    resp = api.post(f"/deputy/suggestions/{s.id}/rating", w.tokens["author"],
                    json={"value": "dissatisfied", "comment": "没有实质进展"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.json["status"] == "reanswering" and resp.json["status_label"] == "重新办理"
    assert resp.json["ratings"][0]["value_label"] == "不满意"
    db.session.expire_all()
    assert db.session.get(Suggestion, s.id).flagged_unsatisfied


@pytest.mark.parametrize("who, status, body, expected, code", [
    ("author", "in_progress", {"value": "satisfied"}, 409, "suggestion_cannot_rate"),
    ("author", "submitted", {"value": "satisfied"}, 409, "suggestion_cannot_rate"),
    ("colleague", "answered", {"value": "satisfied"}, 403, "suggestion_forbidden"),
    ("outsider", "answered", {"value": "satisfied"}, 403, "suggestion_forbidden"),
    ("author", "answered", {"value": "great"}, 422, "validation_failed"),
    ("author", "answered", {"value": "satisfied", "comment": "长" * 501}, 422,
     "validation_failed"),
    ("author", "answered", {}, 422, "validation_failed"),
])
def test_rating_refusals_change_nothing(api, db, w, make_suggestion,  # noqa: F811
                                        who, status, body, expected, code):
    s = make_suggestion(status, cosigners=[w.colleague])
    before = footprint(db, s)
    resp = api.post(f"/deputy/suggestions/{s.id}/rating", w.tokens[who], json=body)
    assert_error(resp, expected, code)
    assert footprint(db, s) == before
    if expected == 422 and body:
        assert set(resp.json["errors"]) <= {"value", "comment"} and resp.json["errors"]


# ---- co-signing ----

def test_cosigning(api, db, w, make_suggestion):  # noqa: F811
    s = make_suggestion("submitted")
    d = api.get(f"/deputy/suggestions/{s.id}", w.tokens["colleague"]).json
    assert d["can_cosign"] and d["cosigners"] == []
    resp = api.post(f"/deputy/suggestions/{s.id}/cosign", w.tokens["colleague"])
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.json["cosigners"] == ["刘芳"] and not resp.json["can_cosign"]
    assert resp.json["timeline"][-1]["kind"] == "cosign"
    assert resp.json["timeline"][-1]["actor_label"] == "刘芳代表"
    assert _count(db, SuggestionCosigner, suggestion_id=s.id) == 1
    # The author hears of it.
    assert _count(db, Notification, topic="suggestion.cosigned") == 1

    before = footprint(db, s)
    assert_error(api.post(f"/deputy/suggestions/{s.id}/cosign", w.tokens["colleague"]), 409,
                 "already_cosigned")
    assert footprint(db, s) == before


@pytest.mark.parametrize("who, status, expected, code", [
    ("author", "submitted", 403, "suggestion_forbidden"),  # one's own
    ("outsider", "submitted", 403, "suggestion_forbidden"),  # another station's
    ("colleague", "draft", 403, "suggestion_forbidden"),  # a draft stays the author's
    ("colleague", "assigned", 403, "suggestion_forbidden"),  # too late
])
def test_cosign_refusals_change_nothing(api, db, w, make_suggestion,  # noqa: F811
                                        who, status, expected, code):
    s = make_suggestion(status)
    before = footprint(db, s)
    assert_error(api.post(f"/deputy/suggestions/{s.id}/cosign", w.tokens[who]), expected, code)
    assert footprint(db, s) == before


def test_documented(api):
    doc = api.get("/openapi.json").json
    rating = doc["paths"]["/deputy/suggestions/{suggestion_id}/rating"]["post"]
    assert rating["summary"].startswith("评价") and rating["security"] == [{"bearerAuth": []}]
    assert rating["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/DeputyRatingIn"}
    assert set(rating["responses"]) >= {"200", "401", "403", "404", "422"}
    listing = doc["paths"]["/deputy/suggestions"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"tab", "cursor"}
    detail = doc["components"]["schemas"]["SuggestionOut"]["properties"]
    assert {"needs_rating", "replies", "timeline", "source_messages"} <= set(detail)


# ---- the actions, as the staff page offers them ----

@pytest.mark.parametrize("who, status, expected", [
    ("author", "draft", ["submit", "update"]),
    ("author", "returned", ["submit", "update"]),
    ("author", "submitted", []),
    ("author", "answered", ["rate"]),
    ("colleague", "submitted", ["cosign"]),
    ("colleague", "answered", []),
])
def test_detail_lists_what_the_user_may_do_now(api, db, w, make_suggestion,  # noqa: F811
                                               who, status, expected):
    from backend.suggestions.actions import allowed_actions
    s = make_suggestion(status)
    d = api.get(f"/deputy/suggestions/{s.id}", w.tokens[who]).json
    assert d["actions"] == expected
    assert set(d["actions"]) == allowed_actions(w.users[who], db.session.get(Suggestion, s.id))
    assert d["needs_rating"] == ("rate" in expected) and d["can_cosign"] == ("cosign" in expected)


def test_actions_follow_the_step_just_taken(api, w, make_suggestion):  # noqa: F811
    s = make_suggestion("submitted")
    assert api.get(f"/deputy/suggestions/{s.id}", w.tokens["colleague"]).json["actions"] == [
        "cosign"]
    resp = api.post(f"/deputy/suggestions/{s.id}/cosign", w.tokens["colleague"])
    assert resp.status_code == 200 and resp.json["actions"] == []
    answered = make_suggestion("answered")
    resp = api.post(f"/deputy/suggestions/{answered.id}/rating", w.tokens["author"],
                    json={"value": "satisfied"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.json["status"] == "closed" and resp.json["actions"] == []


def test_actions_are_documented(api):
    from backend.suggestions.actions import ALL_VERBS
    actions = api.get("/openapi.json").json["components"]["schemas"]["SuggestionOut"][
        "properties"]["actions"]
    assert actions["type"] == "array" and actions["readOnly"]
    assert actions["items"] == {"type": "string", "enum": list(ALL_VERBS)}
    assert "评价" in actions["description"]
