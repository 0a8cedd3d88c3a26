"""The admin office's operations on a suggestion (backend/suggestions/review.py):
each happy path with its event row and who is told, in the caller's transaction; each illegal
one refused with nothing changed; what residents are told (and never told)."""
from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta

from backend.suggestions import policy
from backend.core.errors import Forbidden, InvalidState, ValidationFailed
from backend.org.models import Department
from backend.notifications.models import Notification
from backend.suggestions.models import (
    Suggestion, SuggestionAssignment, SuggestionEvent, SuggestionExtension,
)
from backend.suggestions import core
from backend.suggestions import review
from backend.core.timeutil import local_today


# ---- helpers ----

def events(db, s, kind=None):
    stmt = db.select(SuggestionEvent).filter_by(suggestion_id=s.id).order_by(SuggestionEvent.id)
    if kind:
        stmt = stmt.filter_by(kind=kind)
    return list(db.session.scalars(stmt))


def notes(db, kind=None, recipient_id=None):
    stmt = db.select(Notification).order_by(Notification.id)
    if kind:
        stmt = stmt.filter_by(recipient_kind=kind)
    if recipient_id is not None:
        stmt = stmt.filter_by(recipient_id=recipient_id)
    return list(db.session.scalars(stmt))


def count(db, model, **filters):
    return db.session.scalar(db.select(db.func.count()).select_from(model).filter_by(**filters))


def snapshot(db, s):
    """What a refused operation must leave as it was."""
    db.session.expire_all()
    row = db.session.get(Suggestion, s.id)
    return (row.status, row.deadline_on, row.is_complex, row.review_comment, row.merged_into_id,
            row.supervision, row.supervision_note,
            sorted((a.department_id, a.role, a.status) for a in row.assignments),
            count(db, SuggestionEvent), count(db, Notification),
            sorted((e.id, e.status) for e in db.session.scalars(db.select(SuggestionExtension))))


@pytest.fixture
def w(suggestion_world):
    return suggestion_world


@pytest.fixture
def admin(w):
    return w.users["admin"]


@pytest.fixture
def quiet(db):
    """Drop the notifications the world's setup queued (message submissions)."""
    def run():
        db.session.execute(db.delete(Notification))
        db.session.commit()
    return run


def add_extension(db, s, department, *, days=90, status="pending"):
    until = (s.deadline_on or local_today()) + timedelta(days=days)
    ext = SuggestionExtension(suggestion_id=s.id, department_id=department.id,
                              requested_until=until,
                              reason="需要协调专项资金，申请延期", status=status)
    db.session.add(ext)
    db.session.commit()
    return ext


def lead_of(s):
    return s.lead_assignment


# ---- accept and assign ----

def test_assign_writes_assignments_deadline_event_and_tells_everyone_in_one_transaction(
        db, w, admin, make_suggestion, quiet):
    s = make_suggestion("submitted")
    quiet()
    rows = review.accept_and_assign(s, actor=admin, lead=w.lead, assisting=[w.assist])
    today = local_today()
    assert s.status == "assigned"
    assert s.deadline_on == today + relativedelta(months=3)
    assert s.assigned_at is not None
    assert [(a.department_id, a.role, a.status) for a in rows] == [
        (w.lead.id, "lead", "pending"), (w.assist.id, "assisting", "pending")]
    [event] = events(db, s, "assign")
    d = s.deadline_on
    assert event.is_public and event.from_status == "submitted" and event.to_status == "assigned"
    assert event.text == (f"交办区住房和城乡建设局（主办）、区交通运输局（协办）办理，"
                          f"办理期限至{d.year}年{d.month}月{d.day}日")
    assert event.data["lead_id"] == w.lead.id and event.data["assisting_ids"] == [w.assist.id]
    staff = {n.recipient_id: n for n in notes(db, "staff")}
    assert set(staff) == {w.users["dept_lead"].id, w.users["dept_assist"].id}
    assert "主办" in staff[w.users["dept_lead"].id].title
    assert "协办" in staff[w.users["dept_assist"].id].title
    [deputy_note] = notes(db, "deputy")
    assert deputy_note.recipient_id == w.author.id and deputy_note.topic == "suggestion.assigned"
    residents = notes(db, "resident")
    assert sorted(n.recipient_id for n in residents) == sorted(r.id for r in w.residents[:2])
    for n in residents:
        assert n.title == "您反映的问题已交办"
        assert "区住房和城乡建设局" in n.body and "区交通运输局" in n.body
    # Nothing was committed: the rollback takes the rows, the event and the outbox together.
    db.session.rollback()
    assert count(db, SuggestionEvent) == 0 and count(db, Notification) == 0
    assert count(db, SuggestionAssignment) == 0
    assert db.session.get(Suggestion, s.id).status == "submitted"


def test_complex_suggestion_gets_six_months_and_the_flag_is_kept(db, w, admin, make_suggestion):
    s = make_suggestion("submitted")
    review.accept_and_assign(s, actor=admin, lead=w.lead, is_complex=True)
    assert s.is_complex is True
    assert s.deadline_on == local_today() + relativedelta(months=6)
    t = make_suggestion("submitted", is_complex=True)
    review.accept_and_assign(t, actor=admin, lead=w.lead)  # None keeps the flag
    assert t.is_complex is True and t.deadline_on == local_today() + relativedelta(months=6)
    u = make_suggestion("submitted", is_complex=True)
    review.accept_and_assign(u, actor=admin, lead=w.lead, is_complex=False)
    assert u.is_complex is False and u.deadline_on == local_today() + relativedelta(months=3)


def test_default_deadline_ends_on_the_months_last_day(db, w, admin, make_suggestion, monkeypatch):
    assert core.deadline_for(date(2026, 11, 30), is_complex=False) == date(2027, 2, 28)
    assert core.deadline_for(date(2026, 8, 31), is_complex=True) == date(2027, 2, 28)
    monkeypatch.setattr(review, "local_today", lambda: date(2026, 11, 30))
    s = make_suggestion("submitted")
    review.accept_and_assign(s, actor=admin, lead=w.lead)
    assert s.deadline_on == date(2027, 2, 28)
    assert events(db, s, "assign")[0].text.endswith("办理期限至2027年2月28日")


def test_admin_may_set_the_deadline_when_assigning(db, w, admin, make_suggestion):
    s = make_suggestion("submitted")
    chosen = local_today() + timedelta(days=45)
    review.accept_and_assign(s, actor=admin, lead=w.lead, deadline_on=chosen)
    assert s.deadline_on == chosen


@pytest.mark.parametrize("status", ["draft", "returned", "assigned", "in_progress", "merged",
                                    "closed"])
def test_only_a_submitted_suggestion_can_be_assigned(db, w, admin, make_suggestion, status):
    extra = {}
    if status == "merged":
        extra["merged_into_id"] = make_suggestion("submitted").id
    s = make_suggestion(status, **extra)
    before = snapshot(db, s)
    s = db.session.get(Suggestion, s.id)
    with pytest.raises(InvalidState) as err:
        review.accept_and_assign(s, actor=admin, lead=w.other)
    assert err.value.code == "suggestion_cannot_assign"
    db.session.rollback()
    assert snapshot(db, s) == before


@pytest.mark.parametrize("case", ["assist_is_lead", "inactive_lead", "inactive_assist",
                                  "duplicate_assist", "past_deadline", "today_deadline",
                                  "no_lead"])
def test_bad_assignment_input_changes_nothing(db, w, admin, make_suggestion, case):
    s = make_suggestion("submitted")
    lead, assisting, deadline = w.lead, [w.assist], None
    if case == "assist_is_lead":
        assisting = [w.assist, w.lead]
    elif case in ("inactive_lead", "inactive_assist"):
        gone = Department(name="区已撤销局", is_active=False)
        db.session.add(gone)
        db.session.commit()
        lead, assisting = (gone, [w.assist]) if case == "inactive_lead" else (w.lead, [gone])
    elif case == "duplicate_assist":
        assisting = [w.assist, w.assist]
    elif case == "past_deadline":
        deadline = local_today() - timedelta(days=1)
    elif case == "today_deadline":
        deadline = local_today()
    elif case == "no_lead":
        lead = None
    before = snapshot(db, s)
    s = db.session.get(Suggestion, s.id)
    with pytest.raises(ValidationFailed) as err:
        review.accept_and_assign(s, actor=admin, lead=lead, assisting=assisting,
                                 deadline_on=deadline)
    assert err.value.errors
    db.session.rollback()
    assert snapshot(db, s) == before


@pytest.mark.parametrize("role", ["author", "liaison_own", "dept_lead", "colleague"])
def test_no_one_but_the_admin_office_reviews(db, w, make_suggestion, role):
    s = make_suggestion("submitted")
    t = make_suggestion("assigned")
    actor = w.users[role]
    calls = [
        lambda: review.accept_and_assign(s, actor=actor, lead=w.lead),
        lambda: review.return_for_changes(s, "请补充数据", actor=actor),
        lambda: review.merge(s, t, actor=actor),
        lambda: review.set_deadline(t, local_today() + timedelta(days=200), "需要", actor=actor),
        lambda: review.reassign(t, w.other, "职责调整", actor=actor),
        lambda: review.set_supervision(t, "key", "", actor=actor),
        lambda: review.chase(t, actor=actor),
        lambda: review.add_note(t, "内部记录", actor=actor),
    ]
    for call in calls:
        with pytest.raises(Forbidden):
            call()
    ext = add_extension(db, t, w.lead)
    with pytest.raises(Forbidden):
        review.decide_extension(ext, True, "", actor=actor)
    a = lead_of(t)
    a.status = "reassign_requested"
    db.session.commit()
    with pytest.raises(Forbidden):
        review.refuse_reassign(a, "请继续办理", actor=actor)


# ---- return for changes ----

def test_return_stores_the_comment_and_tells_only_the_deputy(db, w, admin, make_suggestion,
                                                             quiet):
    s = make_suggestion("submitted")
    quiet()
    review.return_for_changes(s, "  请补充路灯损坏的具体位置和数量  ", actor=admin)
    assert s.status == "returned"
    assert s.review_comment == "请补充路灯损坏的具体位置和数量"
    [event] = events(db, s, "return")
    assert not event.is_public and event.text == s.review_comment
    [n] = notes(db)
    assert (n.recipient_kind, n.recipient_id) == ("deputy", w.author.id)
    assert "请补充路灯损坏的具体位置和数量" in n.body


def test_return_tells_the_liaison_who_drafted_it(db, w, admin, make_suggestion, quiet):
    s = make_suggestion("submitted", drafted_by_id=w.users["liaison_own"].id)
    quiet()
    review.return_for_changes(s, "请补充具体位置", actor=admin)
    assert {(n.recipient_kind, n.recipient_id) for n in notes(db)} == {
        ("deputy", w.author.id), ("staff", w.users["liaison_own"].id)}


@pytest.mark.parametrize("status,comment,error", [
    ("assigned", "请补充", InvalidState), ("returned", "请补充", InvalidState),
    ("draft", "请补充", InvalidState), ("submitted", " 好 ", ValidationFailed),
    ("submitted", "", ValidationFailed), ("submitted", "长" * 501, ValidationFailed)])
def test_bad_returns_change_nothing(db, admin, make_suggestion, status, comment, error):
    s = make_suggestion(status)
    before = snapshot(db, s)
    s = db.session.get(Suggestion, s.id)
    with pytest.raises(error):
        review.return_for_changes(s, comment, actor=admin)
    db.session.rollback()
    assert snapshot(db, s) == before


# ---- merge ----

def test_merge_points_at_the_target_and_its_residents_follow(db, w, admin, make_suggestion,
                                                             quiet):
    target = make_suggestion("assigned", title="关于城区停车整治的建议")
    s = make_suggestion("submitted", messages=[w.messages[2]])
    quiet()
    review.merge(s, target, actor=admin)
    assert s.status == "merged" and s.merged_into_id == target.id
    [event] = events(db, s, "merge")
    assert event.is_public and target.number in event.text
    assert events(db, target, "merged_in")[0].is_public is False
    resident_notes = notes(db, "resident")
    assert [n.recipient_id for n in resident_notes] == [w.residents[2].id]
    assert resident_notes[0].title == "您反映的问题已与同类建议合并办理"
    assert [n.recipient_id for n in notes(db, "deputy")] == [w.author.id]
    db.session.commit()
    # From now on the merged suggestion's residents hear of the target's steps.
    assert w.residents[2].id in policy.resident_ids(target)


def test_merge_moves_suggestions_already_merged_into_it(db, admin, make_suggestion):
    target = make_suggestion("in_progress")
    s = make_suggestion("submitted")
    child = make_suggestion("merged", merged_into_id=s.id)
    review.merge(s, target, actor=admin)
    db.session.commit()
    assert db.session.get(Suggestion, child.id).merged_into_id == target.id
    assert events(db, s, "merge")[0].data["moved_ids"] == [child.id]


@pytest.mark.parametrize("target_status", ["self", "closed", "draft", "returned", "merged",
                                           "missing"])
def test_merge_needs_another_live_target(db, admin, make_suggestion, target_status):
    s = make_suggestion("submitted")
    if target_status == "self":
        target = s
    elif target_status == "missing":
        target = None
    elif target_status == "merged":
        target = make_suggestion("merged", merged_into_id=make_suggestion("submitted").id)
    else:
        target = make_suggestion(target_status)
    before = snapshot(db, s)
    s = db.session.get(Suggestion, s.id)
    target = db.session.get(Suggestion, target.id) if target is not None else None
    with pytest.raises((InvalidState, ValidationFailed)) as err:
        review.merge(s, target, actor=admin)
    expected = {"self": "merge_into_itself", "missing": "merge_target_missing"}.get(
        target_status, "merge_target_state")
    assert err.value.code == expected
    db.session.rollback()
    assert snapshot(db, s) == before


def test_only_a_submitted_suggestion_is_merged(db, admin, make_suggestion):
    s = make_suggestion("assigned")
    with pytest.raises(InvalidState):
        review.merge(s, make_suggestion("submitted"), actor=admin)


def test_find_by_number(db, make_suggestion):
    s = make_suggestion("submitted")
    assert review.find_by_number(s.number) is s
    assert review.find_by_number(s.number.lower()) is s
    assert review.find_by_number(str(s.id)) is s
    assert review.find_by_number(f"JY1999-{s.id:05d}") is None  # wrong year
    assert review.find_by_number("JY2026-99999") is None
    assert review.find_by_number("99999999999999999999") is None
    assert review.find_by_number("胡说") is None


# ---- deadlines and extensions ----

def test_set_deadline_records_before_and_after_and_tells_the_lead(db, w, admin, make_suggestion,
                                                                  quiet):
    s = make_suggestion("in_progress")
    quiet()
    old = s.deadline_on
    new = old + timedelta(days=30)
    review.set_deadline(s, new, "涉及多个部门协调", actor=admin)
    assert s.deadline_on == new
    [event] = events(db, s, "set_deadline")
    assert event.data["before"] == old.isoformat() and event.data["after"] == new.isoformat()
    assert not event.is_public
    assert [(n.recipient_kind, n.recipient_id) for n in notes(db)] == [
        ("staff", w.users["dept_lead"].id)]


@pytest.mark.parametrize("status,days,reason,error", [
    ("in_progress", -1, "涉及协调", ValidationFailed),
    ("in_progress", 0, "涉及协调", ValidationFailed),
    ("in_progress", 30, "", ValidationFailed),
    ("submitted", 30, "涉及协调", InvalidState),
    ("answered", 30, "涉及协调", InvalidState),
    ("closed", 30, "涉及协调", InvalidState)])
def test_bad_deadlines_change_nothing(db, admin, make_suggestion, status, days, reason, error):
    s = make_suggestion(status)
    before = snapshot(db, s)
    s = db.session.get(Suggestion, s.id)
    with pytest.raises(error):
        review.set_deadline(s, local_today() + timedelta(days=days), reason, actor=admin)
    db.session.rollback()
    assert snapshot(db, s) == before


def test_approving_an_extension_moves_the_deadline(db, w, admin, make_suggestion, quiet):
    s = make_suggestion("in_progress")
    ext = add_extension(db, s, w.lead)
    quiet()
    old = s.deadline_on
    review.decide_extension(ext, True, "", actor=admin)
    assert s.deadline_on == ext.requested_until
    assert ext.status == "approved" and ext.decided_by_id == admin.id and ext.decided_at
    [event] = events(db, s, "decide_extension")
    assert event.data["before"] == old.isoformat() and event.data["approved"] is True
    [n] = notes(db)
    assert (n.recipient_id, n.title) == (w.users["dept_lead"].id, "延期申请已同意")


def test_refusing_an_extension_needs_a_note_and_keeps_the_deadline(db, w, admin,
                                                                   make_suggestion, quiet):
    s = make_suggestion("in_progress")
    ext = add_extension(db, s, w.lead)
    quiet()
    old = s.deadline_on
    with pytest.raises(ValidationFailed):
        review.decide_extension(ext, False, " ", actor=admin)
    db.session.rollback()
    ext = db.session.get(SuggestionExtension, ext.id)
    review.decide_extension(ext, False, "期限内应能完成", actor=admin)
    assert ext.status == "refused" and ext.decision_note == "期限内应能完成"
    assert db.session.get(Suggestion, s.id).deadline_on == old
    [n] = notes(db)
    assert "期限内应能完成" in n.body and n.title == "延期申请未获同意"


def test_an_extension_is_decided_once(db, w, admin, make_suggestion):
    s = make_suggestion("in_progress")
    ext = add_extension(db, s, w.lead)
    review.decide_extension(ext, True, "", actor=admin)
    db.session.commit()
    before = snapshot(db, s)
    ext = db.session.get(SuggestionExtension, ext.id)
    for approve in (True, False):
        with pytest.raises(InvalidState) as err:
            review.decide_extension(ext, approve, "再次审批", actor=admin)
        assert err.value.code == "extension_decided"
    db.session.rollback()
    assert snapshot(db, s) == before


def test_no_extension_decisions_once_answered(db, w, admin, make_suggestion):
    s = make_suggestion("answered")
    ext = add_extension(db, s, w.lead)
    with pytest.raises(InvalidState):
        review.decide_extension(ext, True, "", actor=admin)


# ---- reassignment ----

def test_reassign_replaces_the_lead_and_restarts_the_clock(db, w, admin, make_suggestion, quiet):
    s = make_suggestion("in_progress")
    old = lead_of(s)
    quiet()
    row = review.reassign(s, w.other, "该事项属水务局职责", actor=admin)
    db.session.flush()
    assert s.status == "assigned"
    assert old.status == "replaced"
    assert (row.department_id, row.role, row.status) == (w.other.id, "lead", "pending")
    assert lead_of(s) is row
    assert s.deadline_on == local_today() + relativedelta(months=3)
    [event] = events(db, s, "reassign")
    assert event.is_public and event.text.startswith("承办单位调整为区水务局")
    assert "水务局职责" not in event.text and event.data["reason"] == "该事项属水务局职责"
    staff = sorted(n.recipient_id for n in notes(db, "staff"))
    assert staff == sorted([w.users["dept_lead"].id, w.users["dept_other"].id])
    residents = notes(db, "resident")
    assert sorted(n.recipient_id for n in residents) == sorted(r.id for r in w.residents[:2])
    assert all("承办单位调整为区水务局" in n.body and "职责" not in n.body for n in residents)
    db.session.commit()
    # The old department no longer sees it; the new one does.
    assert not policy.can_view(w.users["dept_lead"], s)
    assert policy.can_view(w.users["dept_other"], s)


def test_reassign_with_a_chosen_deadline(db, w, admin, make_suggestion):
    s = make_suggestion("assigned")
    chosen = local_today() + timedelta(days=20)
    review.reassign(s, w.other, "职责调整", actor=admin, deadline_on=chosen)
    assert s.deadline_on == chosen


def test_reassign_to_the_assisting_department_promotes_it(db, w, admin, make_suggestion):
    s = make_suggestion("in_progress")
    review.reassign(s, w.assist, "由交通局牵头更合适", actor=admin)
    db.session.commit()
    s = db.session.get(Suggestion, s.id)
    assert [(a.department_id, a.role) for a in s.current_assignments] == [(w.assist.id, "lead")]


@pytest.mark.parametrize("case", ["same", "inactive", "no_reason", "answered", "submitted",
                                  "past_deadline"])
def test_bad_reassignments_change_nothing(db, w, admin, make_suggestion, case):
    s = make_suggestion({"answered": "answered", "submitted": "submitted"}.get(case,
                                                                              "in_progress"))
    target, reason, deadline = w.other, "职责调整", None
    if case == "same":
        target = w.lead
    elif case == "inactive":
        w.other.is_active = False
        db.session.commit()
    elif case == "no_reason":
        reason = ""
    elif case == "past_deadline":
        deadline = local_today() - timedelta(days=3)
    before = snapshot(db, s)
    s = db.session.get(Suggestion, s.id)
    error = InvalidState if case in ("answered", "submitted") else ValidationFailed
    with pytest.raises(error):
        review.reassign(s, db.session.get(Department, target.id), reason, actor=admin,
                        deadline_on=deadline)
    db.session.rollback()
    assert snapshot(db, s) == before


@pytest.mark.parametrize("accepted,back_to", [(True, "accepted"), (False, "pending")])
def test_refusing_a_reassign_request_restores_the_assignment(db, w, admin, make_suggestion,
                                                             quiet, accepted, back_to):
    s = make_suggestion("in_progress" if accepted else "assigned")
    a = lead_of(s)
    a.status, a.reassign_reason = "reassign_requested", "不属于我局职责"
    db.session.commit()
    quiet()
    review.refuse_reassign(a, "属于住建局职责，请继续办理", actor=admin)
    assert a.status == back_to
    [event] = events(db, s, "refuse_reassign")
    assert not event.is_public and event.from_status == event.to_status == s.status
    [n] = notes(db)
    assert n.recipient_id == w.users["dept_lead"].id and "请继续办理" in n.body


def test_refuse_reassign_needs_a_request_and_a_note(db, w, admin, make_suggestion):
    s = make_suggestion("in_progress")
    a = lead_of(s)
    with pytest.raises(InvalidState) as err:
        review.refuse_reassign(a, "请继续办理", actor=admin)
    assert err.value.code == "reassign_not_requested"
    a.status = "reassign_requested"
    db.session.commit()
    with pytest.raises(ValidationFailed):
        review.refuse_reassign(a, "", actor=admin)


# ---- supervision, chasing, notes ----

def test_supervision_set_and_cleared(db, w, admin, make_suggestion, quiet):
    s = make_suggestion("in_progress")
    quiet()
    review.set_supervision(s, "key", "常委会主任会议确定", actor=admin)
    assert (s.supervision, s.supervision_note) == ("key", "常委会主任会议确定")
    [n] = notes(db)
    assert (n.recipient_id, n.title) == (w.users["dept_lead"].id, "该建议已列为重点督办")
    review.set_supervision(s, None, "", actor=admin)
    assert (s.supervision, s.supervision_note) == (None, "")
    first, second = events(db, s, "supervise")
    assert (first.data["before"], first.data["after"]) == (None, "key")
    assert (second.data["before"], second.data["after"]) == ("key", None)
    assert len(notes(db)) == 1  # clearing tells nobody


def test_supervision_on_a_submitted_one_tells_nobody_yet(db, admin, make_suggestion, quiet):
    s = make_suggestion("submitted")
    quiet()
    review.set_supervision(s, "important", "", actor=admin)
    assert s.supervision == "important" and notes(db) == []


@pytest.mark.parametrize("status,level,error", [
    ("in_progress", "urgent", ValidationFailed), ("in_progress", None, ValidationFailed),
    ("draft", "key", InvalidState), ("merged", "key", InvalidState)])
def test_bad_supervision_changes_nothing(db, admin, make_suggestion, status, level, error):
    extra = {"merged_into_id": make_suggestion("submitted").id} if status == "merged" else {}
    s = make_suggestion(status, **extra)
    before = snapshot(db, s)
    s = db.session.get(Suggestion, s.id)
    with pytest.raises(error):
        review.set_supervision(s, level, "", actor=admin)
    db.session.rollback()
    assert snapshot(db, s) == before


def test_chase_tells_the_lead_department(db, w, admin, make_suggestion, quiet):
    s = make_suggestion("in_progress", deadline_on=local_today() - timedelta(days=4))
    quiet()
    review.chase(s, actor=admin, note="请本周内答复")
    [event] = events(db, s, "chase")
    assert not event.is_public and event.data["overdue_days"] == 4
    [n] = notes(db)
    assert n.recipient_id == w.users["dept_lead"].id
    assert "已超期4天" in n.body and "请本周内答复" in n.body


@pytest.mark.parametrize("status", ["submitted", "answered", "closed"])
def test_chase_only_while_the_department_handles_it(db, admin, make_suggestion, status):
    s = make_suggestion(status)
    before = snapshot(db, s)
    s = db.session.get(Suggestion, s.id)
    with pytest.raises(InvalidState) as err:
        review.chase(s, actor=admin)
    assert err.value.code == "suggestion_cannot_chase"
    db.session.rollback()
    assert snapshot(db, s) == before


def test_a_note_is_internal_and_tells_nobody(db, admin, make_suggestion, quiet):
    s = make_suggestion("in_progress")
    quiet()
    review.add_note(s, "已电话联系住建局分管领导", actor=admin)
    [event] = events(db, s, "note")
    assert not event.is_public and event.text == "已电话联系住建局分管领导"
    assert notes(db) == []
    with pytest.raises(ValidationFailed):
        review.add_note(s, " ", actor=admin)
    with pytest.raises(InvalidState):
        review.add_note(make_suggestion("draft"), "草稿备注", actor=admin)


def test_residents_never_read_comments_reasons_or_notes(db, w, admin, make_suggestion):
    """Everything residents are told across a whole review, none of the staff-only words."""
    s = make_suggestion("submitted")
    review.return_for_changes(s, "秘密退回意见请补充", actor=admin)
    s.status = "submitted"  # the deputy resubmits (written directly: not this module's step)
    review.add_note(s, "秘密内部备注", actor=admin)
    review.set_supervision(s, "key", "秘密督办说明", actor=admin)
    review.accept_and_assign(s, actor=admin, lead=w.lead, assisting=[w.assist])
    review.set_deadline(s, s.deadline_on + timedelta(days=9), "秘密期限理由", actor=admin)
    review.chase(s, actor=admin, note="秘密催办内容")
    review.reassign(s, w.other, "秘密调整理由", actor=admin)
    db.session.commit()
    told = notes(db, "resident")
    assert told, "residents hear of the assignment"
    assert any("区住房和城乡建设局" in n.body for n in told)
    for n in told:
        assert "秘密" not in n.title + n.body
    public = [e for e in events(db, s) if e.is_public]
    assert public and all("秘密" not in e.text for e in public)


# ---- the review page's lists ----

def test_review_queue_is_oldest_first(db, make_suggestion):
    newer = make_suggestion("submitted")
    older = make_suggestion("submitted")
    older.submitted_at = newer.submitted_at - timedelta(days=3)
    db.session.commit()
    make_suggestion("assigned")
    assert [s.id for s in review.review_queue()] == [older.id, newer.id]


def test_chase_lists(db, w, make_suggestion):
    today = local_today()
    late = make_suggestion("in_progress", deadline_on=today - timedelta(days=10))
    later = make_suggestion("assigned", deadline_on=today - timedelta(days=2))
    make_suggestion("in_progress", deadline_on=today)  # due today: not late yet
    make_suggestion("answered", deadline_on=today - timedelta(days=30))  # answered: not chased
    overdue = review.chase_list(today, kind="overdue")
    assert [(i.suggestion.id, i.overdue_days) for i in overdue] == [(late.id, 10), (later.id, 2)]
    unhappy = make_suggestion("reanswering", flagged_unsatisfied=True)
    make_suggestion("closed", flagged_unsatisfied=True)  # done: off the list
    key = make_suggestion("in_progress", supervision="key")
    important = make_suggestion("submitted", supervision="important")
    assert [i.suggestion.id for i in review.chase_list(today, kind="unsatisfied")] == [unhappy.id]
    assert [i.suggestion.id for i in review.chase_list(today, kind="key")] == [key.id]
    assert [i.suggestion.id for i in review.chase_list(today, kind="important")] == [important.id]
    counts = review.review_counts(today)
    assert (counts["overdue"], counts["unsatisfied"], counts["key"], counts["important"]) == (
        2, 1, 1, 1)
    assert counts["review"] == 1


def test_pending_requests_lists(db, w, admin, make_suggestion):
    s = make_suggestion("in_progress")
    ext = add_extension(db, s, w.lead)
    add_extension(db, s, w.lead, status="refused")
    done = make_suggestion("answered")
    add_extension(db, done, w.lead)  # moot once answered
    assert [(e.id, t.id) for e, t in review.pending_extensions()] == [(ext.id, s.id)]
    a = lead_of(s)
    a.status = "reassign_requested"
    db.session.commit()
    assert [r.id for r in review.pending_reassign_requests()] == [a.id]
    counts = review.review_counts(local_today())
    assert (counts["extensions"], counts["reassign"]) == (1, 1)
    extensions, requests = review.suggestion_requests(s)
    assert [e.id for e in extensions] == [ext.id] and [r.id for r in requests] == [a.id]
    review.decide_extension(ext, True, "", actor=admin)
    review.refuse_reassign(a, "请继续办理", actor=admin)
    db.session.commit()
    assert review.pending_extensions() == [] and review.pending_reassign_requests() == []


# ---- two admins at once ----

def test_two_admins_assigning_at_once_assign_once(app, db, w, admin, make_suggestion,
                                                  postgres_only):
    from backend.accounts.models import StaffUser
    from tests.conftest import at_once
    s = make_suggestion("submitted")
    sid, admin_id, deps = s.id, admin.id, (w.lead.id, w.other.id)

    def assign(dept_id):
        return lambda: review.accept_and_assign(
            db.session.get(Suggestion, sid), actor=db.session.get(StaffUser, admin_id),
            lead=db.session.get(Department, dept_id))
    outcomes = at_once(app, assign(deps[0]), assign(deps[1]))
    assert sorted(type(o).__name__ for o in outcomes) == ["InvalidState", "list"]
    db.session.expire_all()
    assert count(db, SuggestionAssignment, suggestion_id=sid) == 1
    assert count(db, SuggestionEvent, suggestion_id=sid, kind="assign") == 1


def test_two_admins_deciding_one_extension_at_once_decide_once(app, db, w, admin,
                                                               make_suggestion, postgres_only):
    from backend.accounts.models import StaffUser
    from tests.conftest import at_once
    s = make_suggestion("in_progress")
    ext_id, admin_id = add_extension(db, s, w.lead).id, admin.id

    def decide(approve):
        return lambda: review.decide_extension(
            db.session.get(SuggestionExtension, ext_id), approve, "审批意见",
            actor=db.session.get(StaffUser, admin_id))
    outcomes = at_once(app, decide(True), decide(False))
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert len(errors) == 1 and errors[0].code == "extension_decided"
    assert count(db, SuggestionEvent, suggestion_id=s.id, kind="decide_extension") == 1
