"""A department's operations on a suggestion: 签收, 申请调整, 申请延期, 协办意见 and the A/B/C
answer. Every refused step changes nothing: no status, no row, no event, no notification."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.core.errors import Forbidden, InvalidState, ValidationFailed
from backend.suggestions.models import (
    DepartmentReply, Suggestion, SuggestionAssignment, SuggestionEvent, SuggestionExtension,
)
from backend.notifications.models import Notification
from backend.suggestions import handling as ops
from backend.core.timeutil import local_today
from tests.conftest import at_once

ANSWER = "经实地排查，已更换损坏路灯23盏，并将该路段纳入每周夜间巡查范围。"
OPINION = "建议结合道路改造同步更换路灯线路，交通局可配合占道审批。"


def _count(db, model, **filters) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).filter_by(**filters))


def state(db, s: Suggestion) -> tuple:
    """Everything a refused operation must leave as it was."""
    db.session.rollback()
    db.session.expire_all()
    return (s.status, s.answered_at, s.deadline_on,
            tuple((a.id, a.status, a.opinion, a.accepted_at, a.reassign_reason)
                  for a in s.assignments),
            *(_count(db, m) for m in (DepartmentReply, SuggestionEvent, Notification,
                                      SuggestionExtension)))


def refused(db, s, error, fn, code=None):
    """fn() raises `error` (with `code`), and nothing changed."""
    before = state(db, s)
    with pytest.raises(error) as caught:
        fn()
    if code:
        assert caught.value.code == code
    assert state(db, s) == before
    return caught.value


def _assignment(s, department):
    return next(a for a in s.current_assignments if a.department_id == department.id)


def _notes(db, **filters):
    return list(db.session.scalars(sa.select(Notification).filter_by(**filters)
                                   .order_by(Notification.id)))


def _with_opinion(db, w, s):
    assist = _assignment(s, w.assist)
    assist.opinion, assist.opinion_at = OPINION, assist.accepted_at
    db.session.commit()
    return s


# ---- 签收 ----

def test_lead_accepts_and_the_work_starts(db, suggestion_world, make_suggestion):
    w = suggestion_world
    s = make_suggestion("assigned")
    ops.accept(s, actor=w.users["dept_lead"])
    db.session.commit()
    lead = _assignment(s, w.lead)
    assert (s.status, lead.status) == ("in_progress", "accepted") and lead.accepted_at
    (e,) = s.events
    assert (e.kind, e.from_status, e.to_status, e.actor_label) == (
        "accept", "assigned", "in_progress", "区住房和城乡建设局")
    assert not e.is_public


def test_assisting_accepts_without_changing_the_status(db, suggestion_world, make_suggestion):
    w = suggestion_world
    s = make_suggestion("assigned")
    ops.accept(s, actor=w.users["dept_assist"])
    db.session.commit()
    assert s.status == "assigned" and _assignment(s, w.assist).status == "accepted"
    assert _assignment(s, w.lead).status == "pending"
    assert [e.kind for e in s.events] == ["accept_assisting"]
    (note,) = _notes(db, topic="suggestion.assist_accepted")
    assert note.recipient_id == w.users["dept_lead"].id


def test_accept_twice_or_by_others_is_refused(db, suggestion_world, make_suggestion):
    w = suggestion_world
    s = make_suggestion("in_progress")
    for who in ("dept_lead", "dept_assist"):
        refused(db, s, InvalidState, lambda: ops.accept(s, actor=w.users[who]),
                "assignment_not_pending")
    s2 = make_suggestion("assigned")
    for who in ("dept_other", "admin", "author"):
        refused(db, s2, Forbidden, lambda: ops.accept(s2, actor=w.users[who]))


def test_a_replaced_assignment_gives_no_rights(db, suggestion_world, make_suggestion):
    w = suggestion_world
    s = make_suggestion("assigned")
    _assignment(s, w.lead).status = "replaced"
    db.session.add(SuggestionAssignment(suggestion_id=s.id, department_id=w.other.id,
                                        role="lead", status="pending"))
    db.session.commit()
    user = w.users["dept_lead"]
    refused(db, s, Forbidden, lambda: ops.accept(s, actor=user))
    refused(db, s, Forbidden, lambda: ops.request_reassign(s, "不属于本单位职责", actor=user))
    s.status = "in_progress"
    db.session.commit()
    refused(db, s, Forbidden, lambda: ops.answer(s, actor=user, resolution="A", body=ANSWER))
    refused(db, s, Forbidden, lambda: ops.request_extension(
        s, s.deadline_on + timedelta(days=30), "需要更多时间", actor=user))


# ---- 申请调整 ----

def test_request_reassign_tells_the_admins(db, suggestion_world, make_suggestion):
    w = suggestion_world
    s = make_suggestion("assigned")
    ops.request_reassign(s, "  路灯归城管局管理，不属于本局职责  ", actor=w.users["dept_lead"])
    db.session.commit()
    lead = _assignment(s, w.lead)
    assert (lead.status, lead.reassign_reason) == ("reassign_requested",
                                                   "路灯归城管局管理，不属于本局职责")
    assert s.status == "assigned"
    (e,) = s.events
    assert e.kind == "request_reassign" and not e.is_public
    assert e.data["previous_status"] == "pending"
    (note,) = _notes(db, topic="suggestion.reassign_requested")
    assert (note.recipient_id, note.title) == (w.users["admin"].id, "承办单位申请调整")
    # One open request at a time; accepting meanwhile is refused too.
    refused(db, s, InvalidState, lambda: ops.request_reassign(
        s, "再申请一次调整", actor=w.users["dept_lead"]), "reassign_pending")
    refused(db, s, InvalidState, lambda: ops.accept(s, actor=w.users["dept_lead"]),
            "assignment_not_pending")


def test_request_reassign_needs_a_reason_and_a_live_case(db, suggestion_world, make_suggestion):
    w = suggestion_world
    s = make_suggestion("in_progress")
    err = refused(db, s, ValidationFailed, lambda: ops.request_reassign(
        s, "不管", actor=w.users["dept_assist"]))
    assert "reason" in err.errors
    ops.request_reassign(s, "交通局不负责路灯维护", actor=w.users["dept_assist"])  # assisting may
    db.session.commit()
    assert _assignment(s, w.assist).status == "reassign_requested"
    answered = make_suggestion("answered")
    refused(db, answered, InvalidState, lambda: ops.request_reassign(
        answered, "不属于本单位职责", actor=w.users["dept_lead"]),
        "suggestion_cannot_request_reassign")
    refused(db, s, Forbidden, lambda: ops.request_reassign(
        s, "不属于本单位职责", actor=w.users["dept_other"]))


# ---- 申请延期 ----

def test_request_extension(db, suggestion_world, make_suggestion):
    w = suggestion_world
    s = make_suggestion("in_progress")
    until = s.deadline_on + timedelta(days=30)
    ext = ops.request_extension(s, until, "需要等待年度预算批复", actor=w.users["dept_lead"])
    db.session.commit()
    assert (ext.status, ext.requested_until, ext.department_id) == ("pending", until, w.lead.id)
    assert s.deadline_on == until - timedelta(days=30)  # unchanged until the office decides
    (e,) = s.events
    assert e.kind == "request_extension" and e.data["extension_id"] == ext.id
    (note,) = _notes(db, topic="suggestion.extension_requested")
    assert note.recipient_id == w.users["admin"].id and note.title == "承办单位申请延期"
    # A second one while the first waits.
    refused(db, s, InvalidState, lambda: ops.request_extension(
        s, until + timedelta(days=10), "还需要更多时间", actor=w.users["dept_lead"]),
        "extension_pending")


@pytest.mark.parametrize("days, reason, field", [
    (-1, "需要等待年度预算批复", "until"),  # before the deadline
    (0, "需要等待年度预算批复", "until"),  # the deadline itself
    (400, "需要等待年度预算批复", "until"),  # a typo's year
    (30, "", "reason"),
])
def test_bad_extension_requests_change_nothing(db, suggestion_world, make_suggestion, days,
                                               reason, field):
    w = suggestion_world
    s = make_suggestion("in_progress")
    err = refused(db, s, ValidationFailed, lambda: ops.request_extension(
        s, s.deadline_on + timedelta(days=days), reason, actor=w.users["dept_lead"]))
    assert field in err.errors


def test_extension_is_the_leads_alone(db, suggestion_world, make_suggestion):
    w = suggestion_world
    s = make_suggestion("in_progress")
    for who in ("dept_assist", "dept_other", "admin"):
        refused(db, s, Forbidden, lambda: ops.request_extension(
            s, s.deadline_on + timedelta(days=30), "需要更多时间", actor=w.users[who]))
    answered = make_suggestion("answered")
    refused(db, answered, InvalidState, lambda: ops.request_extension(
        answered, answered.deadline_on + timedelta(days=30), "需要更多时间",
        actor=w.users["dept_lead"]), "suggestion_cannot_request_extension")


def test_two_extension_requests_at_once_make_one(app, db, postgres_only, suggestion_world,
                                                 make_suggestion):
    from backend.accounts.models import StaffUser
    w = suggestion_world
    s = make_suggestion("in_progress")
    sid, uid, until = s.id, w.users["dept_lead"].id, s.deadline_on + timedelta(days=20)

    def ask():
        return ops.request_extension(db.session.get(Suggestion, sid), until, "需要更多时间",
                                     actor=db.session.get(StaffUser, uid))
    outcomes = at_once(app, ask, ask)
    assert sorted(type(o).__name__ for o in outcomes) == ["InvalidState", "SuggestionExtension"]
    assert _count(db, SuggestionExtension) == 1


# ---- 协办意见 ----

def test_opinion_after_signing_goes_to_the_lead(db, suggestion_world, make_suggestion):
    w = suggestion_world
    s = make_suggestion("assigned")
    refused(db, s, InvalidState, lambda: ops.send_opinion(s, OPINION, actor=w.users["dept_assist"]),
            "assignment_not_accepted")
    ops.accept(s, actor=w.users["dept_assist"])
    ops.send_opinion(s, OPINION, actor=w.users["dept_assist"])
    db.session.commit()
    assist = _assignment(s, w.assist)
    assert assist.opinion == OPINION and assist.opinion_at
    (note,) = _notes(db, topic="suggestion.opinion")
    assert note.recipient_id == w.users["dept_lead"].id and note.title == "协办单位提出了意见"
    # Revised before the lead answers: the new text stands, both stay in events.
    ops.send_opinion(s, OPINION + "另建议增设太阳能路灯。", actor=w.users["dept_assist"])
    db.session.commit()
    assert assist.opinion.endswith("太阳能路灯。")
    opinions = [e for e in s.events if e.kind == "opinion"]
    assert [e.data["revised"] for e in opinions] == [False, True]
    assert not any(e.is_public for e in opinions)


def test_bad_opinions_are_refused(db, suggestion_world, make_suggestion):
    w = suggestion_world
    s = make_suggestion("in_progress")
    err = refused(db, s, ValidationFailed, lambda: ops.send_opinion(
        s, "同意", actor=w.users["dept_assist"]))
    assert "text" in err.errors
    for who in ("dept_lead", "dept_other"):
        refused(db, s, Forbidden, lambda: ops.send_opinion(s, OPINION, actor=w.users[who]))
    answered = make_suggestion("answered")
    refused(db, answered, InvalidState, lambda: ops.send_opinion(
        answered, OPINION, actor=w.users["dept_assist"]), "suggestion_cannot_opinion")


# ---- 答复: the illegal ones ----

def test_answer_before_assignment_and_before_signing(db, suggestion_world, make_suggestion):
    w = suggestion_world
    lead = w.users["dept_lead"]
    submitted = make_suggestion("submitted")
    refused(db, submitted, Forbidden,
            lambda: ops.answer(submitted, actor=lead, resolution="A", body=ANSWER))
    assigned = make_suggestion("assigned")
    refused(db, assigned, InvalidState,
            lambda: ops.answer(assigned, actor=lead, resolution="A", body=ANSWER),
            "suggestion_cannot_answer")


def test_answer_by_the_wrong_department_or_twice(db, suggestion_world, make_suggestion):
    w = suggestion_world
    s = _with_opinion(db, w, make_suggestion("in_progress"))
    for who in ("dept_assist", "dept_other", "admin", "author"):
        refused(db, s, Forbidden,
                lambda: ops.answer(s, actor=w.users[who], resolution="A", body=ANSWER))
    ops.answer(s, actor=w.users["dept_lead"], resolution="A", body=ANSWER)
    db.session.commit()
    refused(db, s, InvalidState,
            lambda: ops.answer(s, actor=w.users["dept_lead"], resolution="A", body=ANSWER),
            "suggestion_cannot_answer")


def test_answer_waits_for_every_assisting_opinion(db, suggestion_world, make_suggestion):
    w = suggestion_world
    s = make_suggestion("in_progress")
    err = refused(db, s, InvalidState, lambda: ops.answer(
        s, actor=w.users["dept_lead"], resolution="A", body=ANSWER), "assisting_opinion_missing")
    assert "区交通运输局" in err.message
    # A replaced assisting department is no longer waited for.
    _assignment(s, w.assist).status = "replaced"
    db.session.commit()
    ops.answer(s, actor=w.users["dept_lead"], resolution="A", body=ANSWER)
    db.session.commit()
    assert s.status == "answered"


TOMORROW = local_today() + timedelta(days=1)


@pytest.mark.parametrize("kw, field", [
    ({"resolution": "D"}, "resolution"),
    ({"resolution": ""}, "resolution"),
    ({"resolution": "A", "body": "已处理。"}, "body"),
    ({"resolution": "B"}, "promised_by"),  # no date
    ({"resolution": "B", "promised_by": local_today()}, "promised_by"),
    ({"resolution": "B", "promised_by": local_today() - timedelta(days=3)}, "promised_by"),
    ({"resolution": "B", "promised_by": TOMORROW + timedelta(days=30),
      "milestones": [(TOMORROW + timedelta(days=31), "完成施工")]}, "milestones"),
    ({"resolution": "B", "promised_by": TOMORROW + timedelta(days=30),
      "milestones": [(TOMORROW, "")]}, "milestones"),
    ({"resolution": "B", "promised_by": TOMORROW + timedelta(days=30),
      "milestones": [("2026-02-30", "完成招标")]}, "milestones"),
    ({"resolution": "B", "promised_by": TOMORROW + timedelta(days=30),
      "milestones": [(TOMORROW, f"第{n}步") for n in range(11)]}, "milestones"),
    ({"resolution": "C"}, "reason"),
    ({"resolution": "C", "reason": "  "}, "reason"),
])
def test_bad_answers_change_nothing(db, suggestion_world, make_suggestion, kw, field):
    w = suggestion_world
    s = _with_opinion(db, w, make_suggestion("in_progress"))
    kw = {"body": ANSWER, **kw}
    err = refused(db, s, ValidationFailed, lambda: ops.answer(s, actor=w.users["dept_lead"], **kw))
    assert field in err.errors


# ---- 答复: the happy paths ----

def test_answer_a_tells_the_deputy_and_the_residents(db, suggestion_world, make_suggestion):
    w = suggestion_world
    s = _with_opinion(db, w, make_suggestion("in_progress"))
    lead_user = w.users["dept_lead"]
    reply = ops.answer(s, actor=lead_user, resolution="A", body=ANSWER,
                       promised_by=TOMORROW, reason="内部：经费已从维修款中列支")
    db.session.commit()
    assert (reply.round, reply.resolution, reply.body, reply.staff_id) == (1, "A", ANSWER,
                                                                          lead_user.id)
    assert reply.promised_by is None and reply.reason == ""  # B and C fields only for B and C
    assert s.status == "answered" and s.answered_at
    (e,) = s.events
    assert (e.kind, e.from_status, e.to_status, e.is_public) == ("answer", "in_progress",
                                                                 "answered", True)
    assert e.text == "区住房和城乡建设局答复：A类（已解决或基本解决）"
    assert e.data == {"reply_id": reply.id, "round": 1, "resolution": "A"}

    (deputy_note,) = _notes(db, recipient_kind="deputy", topic="suggestion.answered")
    assert (deputy_note.recipient_id, deputy_note.title) == (w.author.id,
                                                             "承办单位已答复您的建议，请评价")
    resident_notes = _notes(db, recipient_kind="resident", topic="suggestion.answered")
    assert sorted(n.recipient_id for n in resident_notes) == sorted(r.id for r in w.residents[:2])
    for n in resident_notes:
        assert n.title == "您反映的问题有了答复"
        assert n.body.startswith("答复类别：A类（已解决或基本解决）。")
        assert ANSWER[:40] in n.body
        for secret in (OPINION[:10], lead_user.display_name, w.users["dept_assist"].display_name,
                       "内部", "经费"):
            assert secret not in n.body and secret not in n.title
    # Nobody else hears of it: no other deputy, no resident of another suggestion.
    assert w.residents[2].id not in {n.recipient_id for n in resident_notes}


def test_answer_b_keeps_the_date_and_milestones(db, suggestion_world, make_suggestion):
    w = suggestion_world
    s = _with_opinion(db, w, make_suggestion("in_progress"))
    promised = TOMORROW + timedelta(days=60)
    reply = ops.answer(s, actor=w.users["dept_lead"], resolution="B", body=ANSWER,
                       promised_by=promised,
                       milestones=[(promised, "全部完工"), (TOMORROW + timedelta(days=10),
                                                         "完成招标"), ("", "  ")])
    db.session.commit()
    assert reply.promised_by == promised
    assert reply.milestones == [
        {"date": (TOMORROW + timedelta(days=10)).isoformat(), "text": "完成招标"},
        {"date": promised.isoformat(), "text": "全部完工"}]
    (e,) = s.events
    assert e.text == "区住房和城乡建设局答复：B类（正在解决或列入计划解决）"
    notes = _notes(db, recipient_kind="resident", topic="suggestion.answered")
    assert len(notes) == 2
    for n in notes:
        assert n.body.startswith("答复类别：B类（正在解决或列入计划解决）。")
        assert f"计划{promised.year}年{promised.month}月{promised.day}日前解决" in n.body


def test_answer_c_keeps_the_reason(db, suggestion_world, make_suggestion):
    w = suggestion_world
    s = _with_opinion(db, w, make_suggestion("in_progress"))
    reply = ops.answer(s, actor=w.users["dept_lead"], resolution="C", body=ANSWER,
                       promised_by=TOMORROW, milestones=[(TOMORROW, "不该保存")],
                       reason="该路段规划拆迁，暂不具备改造条件")
    db.session.commit()
    assert (reply.reason, reply.promised_by, reply.milestones) == (
        "该路段规划拆迁，暂不具备改造条件", None, None)
    assert s.status == "answered"


def test_second_answer_after_send_back(db, suggestion_world, make_suggestion):
    w = suggestion_world
    s = make_suggestion("reanswering")  # the assisting opinion is only needed before round 1
    first_answered = s.answered_at
    reply = ops.answer(s, actor=w.users["dept_lead"], resolution="A", body=ANSWER)
    db.session.commit()
    assert reply.round == 2 and s.status == "answered" and s.answered_at == first_answered
    (e,) = s.events
    assert (e.from_status, e.text) == ("reanswering",
                                       "区住房和城乡建设局重新答复：A类（已解决或基本解决）")


def test_answering_withdraws_the_leads_own_reassign_request(db, suggestion_world,
                                                            make_suggestion):
    w = suggestion_world
    s = _with_opinion(db, w, make_suggestion("in_progress"))
    ops.request_reassign(s, "不属于本单位职责", actor=w.users["dept_lead"])
    ops.answer(s, actor=w.users["dept_lead"], resolution="A", body=ANSWER)
    db.session.commit()
    assert _assignment(s, w.lead).status == "accepted" and s.status == "answered"
