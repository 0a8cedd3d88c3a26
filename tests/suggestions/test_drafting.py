"""Drafting, editing, submitting and co-signing a suggestion (backend/suggestions/drafting.py):
who may draft for whom, which messages may feed it, bad input that changes nothing, and the
event and outbox rows each step writes in the caller's transaction."""
import uuid

import pytest
import sqlalchemy as sa

from backend.core.errors import Forbidden, InvalidState, ValidationFailed
from backend.notifications.models import Notification
from backend.suggestions.models import Suggestion, SuggestionCosigner, SuggestionEvent
from backend.suggestions import drafting as ops
from backend.messages.operations import submit_message

GOOD = {"title": "关于修复城关街道路灯的建议", "category": "城乡建设",
        "problem": "城关街道多处路灯损坏一个多月，居民夜间出行很不安全。",
        "proposal": "请区住建局尽快排查修复，并建立路灯日常巡查机制。"}


def _count(db, model, **filters) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).filter_by(**filters))


def _draft(w, actor=None, *, messages=None, deputy=None, **kw):
    return ops.create_draft(actor=actor or w.users["author"], deputy=deputy or w.author,
                            message_ids=[m.id for m in (w.messages[:2] if messages is None
                                                        else messages)], **{**GOOD, **kw})


def _notes(db, kind=None, topic=None):
    stmt = sa.select(Notification).order_by(Notification.id)
    if kind:
        stmt = stmt.filter_by(recipient_kind=kind)
    if topic:
        stmt = stmt.filter_by(topic=topic)
    return list(db.session.scalars(stmt))


def _message_to(w, deputy, resident, body="小区门口的下水道经常堵塞，雨天积水严重。"):
    return submit_message(resident=resident, deputy=deputy, body=body,
                          idempotency_key=uuid.uuid4().hex).message


# ---- drafting ----

def test_deputy_drafts_from_two_messages(db, suggestion_world):
    w = suggestion_world
    s = _draft(w)
    db.session.commit()
    assert s.status == "draft" and s.deputy_id == w.author.id and s.drafted_by_id is None
    assert [m.id for m in s.messages] == [w.messages[0].id, w.messages[1].id]
    assert (s.title, s.category, s.is_complex) == (GOOD["title"], "城乡建设", False)
    [event] = s.events
    assert (event.kind, event.from_status, event.to_status, event.is_public) == (
        "create", None, "draft", False)
    assert event.actor_label == "王建国代表"
    assert [n for n in _notes(db) if n.topic.startswith("suggestion.")] == []  # nobody told


def test_liaison_drafts_on_behalf_of_a_deputy_of_their_station(db, suggestion_world):
    w = suggestion_world
    s = _draft(w, w.users["liaison_own"], is_complex=True)
    assert s.deputy_id == w.author.id and s.drafted_by_id == w.users["liaison_own"].id
    assert s.is_complex is True and s.events[0].actor_label == "联络员"


def test_liaison_cannot_draft_for_a_deputy_outside_their_stations(db, suggestion_world):
    w = suggestion_world
    with pytest.raises(Forbidden):
        _draft(w, w.users["liaison_other"])
    # ... even with a message they may see: it is the deputy that is out of reach.
    with pytest.raises(Forbidden):
        _draft(w, w.users["liaison_other"], messages=[w.messages[2]])
    assert _count(db, Suggestion) == 0


def test_a_deputy_drafts_only_for_themself(db, suggestion_world):
    w = suggestion_world
    for actor in ("author", "admin", "dept_lead"):
        with pytest.raises(Forbidden):
            _draft(w, w.users[actor], deputy=w.colleague, messages=[])
    assert _count(db, Suggestion) == 0


def test_messages_of_another_deputy_are_refused(db, suggestion_world):
    w = suggestion_world
    # 陈明's message, another station: the author cannot even see it.
    with pytest.raises(ValidationFailed) as err:
        _draft(w, messages=[w.messages[0], w.messages[2]])
    assert "message_ids" in err.value.errors
    assert w.messages[2].tracking_no not in str(err.value.errors)  # says nothing of it
    # 刘芳's message in the same station: the liaison sees it, but it is not 王建国's.
    colleague_msg = _message_to(w, w.colleague, w.residents[0])
    with pytest.raises(ValidationFailed) as err:
        _draft(w, w.users["liaison_own"], messages=[colleague_msg])
    assert err.value.errors["message_ids"] == [
        f"留言 {colleague_msg.tracking_no} 不是王建国代表的留言，不能选用"]
    # A liaison of the other station drafting for 陈明 cannot use 王建国's message either.
    with pytest.raises(ValidationFailed):
        _draft(w, w.users["liaison_other"], deputy=w.outsider,
               messages=[w.messages[2], w.messages[0]])
    assert _count(db, Suggestion) == 0 and _count(db, SuggestionEvent) == 0


def test_a_deputy_in_two_stations_uses_messages_from_both(db, suggestion_world, make_resident):
    w = suggestion_world
    w.author.stations = [w.station_a, w.station_b]
    db.session.flush()
    from_b = submit_message(resident=make_resident(openid="openid-b"), deputy=w.author,
                            station=w.station_b, body="桂花坪路口红绿灯时间太短，老人过不去。",
                            idempotency_key=uuid.uuid4().hex).message
    s = _draft(w, messages=[w.messages[0], from_b])
    assert {m.station_id for m in s.messages} == {w.station_a.id, w.station_b.id}
    # The liaison of station B may draft for him, from station B's message only.
    s2 = _draft(w, w.users["liaison_other"], messages=[from_b])
    assert s2.messages == [from_b]
    with pytest.raises(ValidationFailed):
        _draft(w, w.users["liaison_other"], messages=[w.messages[0]])


@pytest.mark.parametrize("status, reason", [("held", "hold_reason"), ("rejected", "reject_reason")])
def test_held_and_rejected_messages_are_refused(db, suggestion_world, status, reason):
    w = suggestion_world
    m = w.messages[1]
    m.status = status
    setattr(m, reason, "疑似广告")
    db.session.flush()
    with pytest.raises(ValidationFailed) as err:
        _draft(w, w.users["liaison_own"], messages=[w.messages[0], m])
    assert m.tracking_no in err.value.errors["message_ids"][0]
    assert _count(db, Suggestion) == 0


def test_a_merged_message_is_replaced_by_its_case(db, suggestion_world):
    w = suggestion_world
    duplicate, case = w.messages[1], w.messages[0]
    duplicate.status, duplicate.merged_into_id = "merged", case.id
    db.session.flush()
    s = _draft(w, messages=[duplicate])
    assert s.messages == [case]
    s2 = _draft(w, messages=[duplicate, case])  # the case once
    assert s2.messages == [case]


@pytest.mark.parametrize("field, value, expected", [
    ("title", "路灯", "标题至少 5 个字"),
    ("title", "  \n路灯坏 \x07 ", "标题至少 5 个字"),
    ("title", "路" * 61, "标题不能超过 60 个字（现在 61 个字）"),
    ("category", "天气", "请选择建议的分类"),
    ("category", "", "请选择建议的分类"),
    ("problem", "路灯坏了", "案由至少 10 个字"),
    ("proposal", "请修", "建议内容至少 10 个字"),
    ("proposal", "修" * 5001, "建议内容不能超过 5000 个字（现在 5001 个字）"),
])
def test_bad_input_is_refused_field_by_field(db, suggestion_world, field, value, expected):
    w = suggestion_world
    with pytest.raises(ValidationFailed) as err:
        _draft(w, **{field: value})
    assert err.value.errors == {field: [expected]}
    assert _count(db, Suggestion) == 0 and _count(db, SuggestionEvent) == 0


def test_titles_count_what_a_person_sees(db, suggestion_world):
    w = suggestion_world
    s = _draft(w, title="路灯" * 29 + "👍🏻")  # 59 characters and one emoji of two code points
    db.session.commit()
    assert s.title.endswith("👍🏻")
    # 20 family emoji are 20 characters but 140 code points: more than the column holds.
    with pytest.raises(ValidationFailed) as err:
        _draft(w, title="👨‍👩‍👧‍👦" * 20)
    assert err.value.errors == {"title": ["标题中的表情符号太多，请删减"]}


def test_every_error_at_once_and_at_least_one_message(db, suggestion_world):
    w = suggestion_world
    with pytest.raises(ValidationFailed) as err:
        _draft(w, messages=[], title="", category="x", problem="", proposal="")
    assert set(err.value.errors) == {"title", "category", "problem", "proposal", "message_ids"}
    assert err.value.errors["message_ids"] == ["请至少选择一条留言"]
    with pytest.raises(ValidationFailed):
        ops.create_draft(actor=w.users["author"], deputy=w.author, message_ids=["x"], **GOOD)
    with pytest.raises(ValidationFailed):
        ops.create_draft(actor=w.users["author"], deputy=w.author, message_ids=[999999], **GOOD)


# ---- editing ----

def test_update_draft_changes_it_and_records_what_changed(db, suggestion_world):
    w = suggestion_world
    s = _draft(w)
    ops.update_draft(s, actor=w.users["liaison_own"], **{**GOOD, "title": "关于城关街道路灯的建议"},
                     message_ids=[w.messages[0].id], is_complex=True)
    assert s.title == "关于城关街道路灯的建议" and s.is_complex and s.messages == [w.messages[0]]
    event = s.events[-1]
    assert event.kind == "update" and set(event.data["changed"]) == {
        "title", "is_complex", "messages"}


def test_update_refuses_bad_input_and_changes_nothing(db, suggestion_world):
    w = suggestion_world
    s = _draft(w)
    db.session.commit()
    with pytest.raises(ValidationFailed):
        ops.update_draft(s, actor=w.users["author"], **{**GOOD, "title": "短"},
                         message_ids=[w.messages[0].id])
    db.session.rollback()
    assert s.title == GOOD["title"] and len(s.messages) == 2 and len(s.events) == 1


def test_only_the_drafters_edit(db, suggestion_world, make_suggestion):
    w = suggestion_world
    s = make_suggestion("draft")
    for who in ("colleague", "outsider", "liaison_other", "admin", "dept_lead"):
        with pytest.raises(Forbidden):
            ops.update_draft(s, actor=w.users[who], **GOOD, message_ids=[w.messages[0].id])


def test_edit_after_submit_is_refused(db, suggestion_world, make_suggestion):
    w = suggestion_world
    s = make_suggestion("submitted")
    with pytest.raises(InvalidState) as err:
        ops.update_draft(s, actor=w.users["author"], **GOOD, message_ids=[w.messages[0].id])
    assert err.value.code == "suggestion_cannot_update"
    db.session.rollback()
    assert s.title == "关于修复城关街道路灯的建议" and s.events == []


# ---- submitting ----

def test_submit_tells_admins_cosigners_and_each_resident_once(db, suggestion_world,
                                                             make_resident):
    w = suggestion_world
    # Resident 1 wrote twice; a fourth resident's message was merged into message 1.
    again = _message_to(w, w.author, w.residents[0])
    fourth = make_resident(openid="openid-merged")
    merged = _message_to(w, w.author, fourth)
    merged.status, merged.merged_into_id = "merged", w.messages[0].id
    s = _draft(w, messages=[w.messages[0], w.messages[1], again])
    db.session.commit()
    s.status = "submitted"  # let the colleague see it, then back to draft
    ops.cosign(s, actor=w.users["colleague"])
    s.status = "draft"
    db.session.commit()
    before = len(_notes(db))

    ops.submit(s, actor=w.users["author"])
    assert s.status == "submitted" and s.submitted_at is not None
    event = s.events[-1]
    assert (event.kind, event.from_status, event.to_status, event.is_public) == (
        "submit", "draft", "submitted", True)
    new = _notes(db)[before:]
    residents = [n for n in new if n.recipient_kind == "resident"]
    assert sorted(n.recipient_id for n in residents) == sorted(
        [w.residents[0].id, w.residents[1].id, fourth.id])
    assert all(n.title == "您反映的问题已形成代表建议" for n in residents)
    assert residents[0].body == (
        "王建国代表将您反映的问题写入建议《关于修复城关街道路灯的建议》，已提交区人大常委会")
    assert all(n.subject_type == "suggestions" and n.subject_id == s.id for n in new)
    [admin] = [n for n in new if n.recipient_kind == "staff"]
    assert admin.recipient_id == w.users["admin"].id and admin.title == "有新的代表建议待审核"
    [deputy] = [n for n in new if n.recipient_kind == "deputy"]
    assert deputy.recipient_id == w.colleague.id and deputy.title == "您附议的建议已提交"


def test_a_liaison_submits_for_the_deputy_and_the_deputy_hears(db, suggestion_world):
    w = suggestion_world
    s = _draft(w, w.users["liaison_own"])
    ops.submit(s, actor=w.users["liaison_own"])
    assert s.status == "submitted"
    assert [n.recipient_id for n in _notes(db, "deputy", "suggestion.submitted")] == [w.author.id]


def test_submit_twice_is_refused(db, suggestion_world):
    w = suggestion_world
    s = _draft(w)
    ops.submit(s, actor=w.users["author"])
    db.session.commit()
    events, notes, first = len(s.events), len(_notes(db)), s.submitted_at
    with pytest.raises(InvalidState) as err:
        ops.submit(s, actor=w.users["author"])
    assert err.value.code == "suggestion_cannot_submit"
    db.session.rollback()
    assert len(s.events) == events and len(_notes(db)) == notes and s.submitted_at == first


def test_only_the_drafters_submit(db, suggestion_world, make_suggestion):
    w = suggestion_world
    s = make_suggestion("draft")
    for who in ("colleague", "outsider", "liaison_other", "admin", "dept_lead"):
        with pytest.raises(Forbidden):
            ops.submit(s, actor=w.users[who])
    assert s.status == "draft"


def test_resubmitting_a_returned_one_keeps_its_date_and_residents_are_not_told_again(
        db, suggestion_world, make_suggestion):
    w = suggestion_world
    s = make_suggestion("returned", review_comment="请补充具体路段")
    first = s.submitted_at
    ops.submit(s, actor=w.users["author"])
    assert s.status == "submitted" and s.submitted_at == first and s.review_comment == ""
    assert s.events[-1].data == {"resubmission": True, "review_comment": "请补充具体路段",
                                 "message_ids": [m.id for m in s.messages]}
    assert _notes(db, "resident", "suggestion.submitted") == []
    assert [n.title for n in _notes(db, "staff")] == ["退回的代表建议已修改并重新提交"]


def test_submit_writes_its_rows_in_the_callers_transaction(db, suggestion_world):
    w = suggestion_world
    s = _draft(w)
    db.session.commit()
    notes = _count(db, Notification)
    ops.submit(s, actor=w.users["author"])
    db.session.flush()
    assert _count(db, SuggestionEvent, suggestion_id=s.id, kind="submit") == 1
    assert _count(db, Notification) == notes + 3  # admin and two residents
    db.session.rollback()  # the handler's commit never came: nothing of it stays
    assert s.status == "draft" and s.submitted_at is None
    assert _count(db, SuggestionEvent, kind="submit") == 0 and _count(db, Notification) == notes


# ---- co-signing ----

def test_a_colleague_cosigns_and_the_author_hears(db, suggestion_world, make_suggestion):
    w = suggestion_world
    s = make_suggestion("submitted")
    row = ops.cosign(s, actor=w.users["colleague"])
    db.session.commit()
    assert row.deputy_id == w.colleague.id and [c.deputy_id for c in s.cosigners] == [
        w.colleague.id]
    event = s.events[-1]
    assert (event.kind, event.from_status, event.to_status, event.is_public) == (
        "cosign", "submitted", "submitted", False)
    [note] = _notes(db, "deputy", "suggestion.cosigned")
    assert note.recipient_id == w.author.id and note.title == "刘芳代表附议了您的建议"


def test_cosigning_twice_is_a_clear_error(db, suggestion_world, make_suggestion):
    w = suggestion_world
    s = make_suggestion("submitted", cosigners=[w.colleague])
    with pytest.raises(InvalidState) as err:
        ops.cosign(s, actor=w.users["colleague"])
    assert err.value.code == "already_cosigned"
    db.session.rollback()
    assert _count(db, SuggestionCosigner) == 1 and s.events == []


def test_cosigning_races_are_settled_by_the_constraint(db, suggestion_world, make_suggestion,
                                                       monkeypatch):
    """The check passes (the other click not yet committed); the unique constraint decides."""
    w = suggestion_world
    s = make_suggestion("submitted")
    db.session.add(SuggestionCosigner(suggestion_id=s.id, deputy_id=w.colleague.id))
    db.session.flush()
    monkeypatch.setattr(ops.policy, "is_cosigner", lambda user, suggestion: False)
    with pytest.raises(InvalidState) as err:
        ops.cosign(s, actor=w.users["colleague"])
    assert err.value.code == "already_cosigned"
    assert _count(db, SuggestionCosigner) == 1


def test_who_may_not_cosign(db, suggestion_world, make_suggestion):
    w = suggestion_world
    submitted = make_suggestion("submitted")
    for who in ("author", "outsider", "liaison_own", "admin", "dept_lead"):
        with pytest.raises(Forbidden):
            ops.cosign(submitted, actor=w.users[who])
    # A colleague cannot see, let alone co-sign, a draft; nor sign one already assigned.
    for status in ("draft", "assigned"):
        with pytest.raises(Forbidden):
            ops.cosign(make_suggestion(status), actor=w.users["colleague"])
    assert _count(db, SuggestionCosigner) == 0


def test_cosign_writes_its_rows_in_the_callers_transaction(db, suggestion_world,
                                                           make_suggestion):
    w = suggestion_world
    s = make_suggestion("submitted")
    ops.cosign(s, actor=w.users["colleague"])
    db.session.flush()
    assert _count(db, SuggestionEvent, kind="cosign") == 1
    assert _count(db, Notification, topic="suggestion.cosigned") == 1
    db.session.rollback()
    assert _count(db, SuggestionCosigner) == 0 and _count(db, SuggestionEvent) == 0
    assert _count(db, Notification, topic="suggestion.cosigned") == 0


# ---- what the drafting form offers ----

def test_selectable_messages(db, suggestion_world, make_resident):
    w = suggestion_world
    m1, m2, m3 = w.messages
    held = _message_to(w, w.author, w.residents[0], "这是一条待审核的留言内容，等待联络员看。")
    held.status, held.hold_reason = "held", "待审核"
    colleague_msg = _message_to(w, w.colleague, w.residents[1])
    db.session.flush()
    assert ops.selectable_messages(w.users["author"], w.author) == [m2, m1]
    assert ops.selectable_messages(w.users["liaison_own"], w.author) == [m2, m1]
    assert ops.selectable_messages(w.users["liaison_own"], w.colleague) == [colleague_msg]
    assert ops.selectable_messages(w.users["liaison_other"], w.author) == []
    assert ops.selectable_messages(w.users["author"], w.colleague) == []
    assert ops.selectable_messages(w.users["author"], w.author, q="老人") == [m2]
    assert ops.selectable_messages(w.users["author"], w.author, q=m1.tracking_no) == [m1]
    assert ops.selectable_messages(w.users["author"], w.author, q="100%_") == []


def test_draftable_deputies_and_the_message_page_link(db, suggestion_world):
    w = suggestion_world
    assert ops.draftable_deputies(w.users["author"]) == [w.author]
    assert {d.id for d in ops.draftable_deputies(w.users["liaison_own"])} == {
        w.author.id, w.colleague.id}
    assert ops.draftable_deputies(w.users["admin"]) == []
    m1, _, m3 = w.messages
    assert ops.can_draft_from(w.users["author"], m1)
    assert ops.can_draft_from(w.users["liaison_own"], m1)
    assert ops.draft_deputy_for(w.users["liaison_own"], m1) == w.author
    assert not ops.can_draft_from(w.users["author"], m3)
    assert not ops.can_draft_from(w.users["colleague"], m1)
    assert not ops.can_draft_from(w.users["admin"], m1)
    assert not ops.can_draft_from(w.users["liaison_other"], m1)


def test_submitting_moves_its_messages_on_and_says_so_in_their_timelines(db, suggestion_world):
    """A message written into a suggestion is in hand: a new one is accepted (受理), and each
    source message's public timeline records the suggestion."""
    from backend.messages.models import MessageEvent
    from backend.messages import operations as message_ops
    w = suggestion_world
    first, second = w.messages[0], w.messages[1]
    message_ops.acknowledge(second, actor=w.users["liaison_own"])
    db.session.commit()
    s = _draft(w)
    assert first.status == "new"  # a draft changes nothing yet
    ops.submit(s, actor=w.users["author"])
    db.session.commit()
    assert first.status == "acknowledged" and first.acknowledged_at is not None
    assert second.status == "acknowledged"
    for message in (first, second):
        [event] = db.session.scalars(sa.select(MessageEvent).filter_by(
            message_id=message.id, kind="suggested")).all()
        assert not event.is_internal and s.title in event.text
