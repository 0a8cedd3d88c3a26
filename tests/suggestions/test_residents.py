"""Residents see what came of their message: the suggestions it fed, in plain words, on their
message page (however they reached it), and rate the outcome once. Nothing internal shows,
and nobody else learns anything: a resident not behind a suggestion gets 404."""
import secrets
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from backend.core.errors import Forbidden, InvalidState, ValidationFailed
from backend.notifications.models import Notification
from backend.suggestions.models import (
    SuggestionEvent, SuggestionExtension, SuggestionFollowUp, SuggestionResidentRating,
)
from backend.suggestions import residents as outcome
from backend.core.protect import lookup_code
from backend.core.timeutil import format_date_cn, utcnow
from tests.conftest import at_once
from tests.portal.helpers import csrf_of

SECRETS = ("退回意见：请补充调研数据", "内部备注：此件需领导过目", "协办意见：涉及道路管线迁改",
           "延期理由：资金审批流程较长", "督办说明：分管领导关注", "内部事件文字不应公开")


def _count(db, model, **by) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).filter_by(**by))


def add_event(db, s, kind, *, public=True, text="", minutes_ago=0, actor_label="代工委"):
    """An event row written directly, as the other operations will write them."""
    row = SuggestionEvent(suggestion_id=s.id, kind=kind, actor_kind="staff",
                          actor_label=actor_label, is_public=public, text=text,
                          created_at=utcnow() - timedelta(minutes=minutes_ago))
    db.session.add(row)
    db.session.commit()
    return row


@pytest.fixture
def browser(app, db):
    """browser(resident) → a test client whose cookie says it is that resident's phone."""
    def make(resident=None):
        client = app.test_client()
        if resident is not None:
            if resident.web_key is None:
                resident.web_key = secrets.token_urlsafe(32)
                db.session.commit()
            client.set_cookie("lx_resident", resident.web_key)
        return client
    return make


def page(client, message):
    resp = client.get(f"/m/{message.id}")
    return resp.status_code, resp.get_data(as_text=True)


def rate(client, message, s, value="satisfied", comment=""):
    data = {**csrf_of(client, "/track"), "value": value, "comment": comment}
    return client.post(f"/m/{message.id}/suggestions/{s.id}/rate", data=data)


# ---- what a resident sees, step by step ----

def test_a_draft_is_not_shown_yet(db, browser, suggestion_world, make_suggestion):
    w = suggestion_world
    make_suggestion("draft")
    status, html = page(browser(w.residents[0]), w.messages[0])
    assert status == 200 and "代表建议" not in html
    assert outcome.suggestions_for_message(w.messages[0]) == []


def test_after_submit_the_resident_sees_it_waiting(db, browser, suggestion_world,
                                                   make_suggestion):
    w = suggestion_world
    s = make_suggestion("submitted")
    add_event(db, s, "submit", actor_label="王建国代表")
    status, html = page(browser(w.residents[0]), w.messages[0])
    assert status == 200
    assert "代表建议" in html and s.title in html and s.number in html
    assert "已提交区人大常委会，等待交办" in html and "王建国代表" in html
    assert "王建国代表向区人大常委会提交了建议" in html
    assert "主办单位" not in html and "答复期限" not in html
    assert 'data-testid="suggestion-rate-form"' not in html  # nothing to rate yet
    # Both residents behind it see it on their own message.
    status, html = page(browser(w.residents[1]), w.messages[1])
    assert status == 200 and s.number in html


def test_a_returned_one_is_being_revised_without_the_review_comment(
        db, browser, suggestion_world, make_suggestion):
    w = suggestion_world
    make_suggestion("returned", review_comment=SECRETS[0])
    [view] = outcome.suggestions_for_message(w.messages[0])
    assert view.stage == "revising" and "建议修改中" in view.status_phrase
    _, html = page(browser(w.residents[0]), w.messages[0])
    assert "建议修改中" in html and SECRETS[0] not in html


def test_after_assignment_the_departments_show(db, browser, suggestion_world, make_suggestion):
    w = suggestion_world
    s = make_suggestion("assigned", deadline_on=date(2031, 5, 20))
    add_event(db, s, "submit", minutes_ago=10)
    add_event(db, s, "assign", minutes_ago=5)
    _, html = page(browser(w.residents[0]), w.messages[0])
    assert "已交办区住房和城乡建设局办理" in html
    assert "区住房和城乡建设局" in html and "区交通运输局" in html  # lead and assisting
    assert format_date_cn(date(2031, 5, 20)) in html
    assert "区人大常委会将建议交办区住房和城乡建设局办理" in html
    [view] = outcome.suggestions_for_message(w.messages[0])
    assert (view.lead_department, view.assisting_departments) == ("区住房和城乡建设局",
                                                                  ["区交通运输局"])
    assert view.deadline == date(2031, 5, 20) and not view.can_rate


def test_after_a_b_answer_the_class_date_and_milestones_show(db, browser, suggestion_world,
                                                             make_suggestion):
    w = suggestion_world
    s = make_suggestion("answered", resolution="B")
    add_event(db, s, "assign", minutes_ago=10)
    add_event(db, s, "answer", minutes_ago=1, actor_label="区住房和城乡建设局")
    _, html = page(browser(w.residents[0]), w.messages[0])
    reply = s.latest_reply
    assert "承办单位已答复" in html
    assert "B类（正在解决或列入计划解决）" in html and reply.body in html
    assert format_date_cn(reply.promised_by) in html and "完成招标" in html
    # A milestone's date reads like the promised one, not as 2026-12-03.
    assert format_date_cn(date.today() + timedelta(days=10)) in html
    assert "区住房和城乡建设局答复了建议，答复为B类" in html
    assert 'data-testid="suggestion-rate-form"' in html
    [view] = outcome.suggestions_for_message(w.messages[0])
    assert view.answer.milestones == [{"date": (date.today() + timedelta(days=10)).isoformat(),
                                       "text": "完成招标"}]


def test_a_c_answer_shows_its_reason_and_a_done_followup_its_result(
        db, browser, suggestion_world, make_suggestion):
    w = suggestion_world
    s = make_suggestion("closed", resolution="C")
    db.session.add(SuggestionFollowUp(suggestion_id=s.id, reply_id=s.latest_reply.id,
                                      due_on=date.today(), status="done", kept=True,
                                      result="路灯已全部更换", done_at=utcnow()))
    db.session.commit()
    _, html = page(browser(w.residents[0]), w.messages[0])
    assert "C类" in html and "资金暂未落实" in html
    assert "承办单位已答复" in html and "路灯已全部更换" in html and "承诺事项已落实" in html


def test_reanswering_says_so(db, browser, suggestion_world, make_suggestion):
    w = suggestion_world
    s = make_suggestion("reanswering")
    add_event(db, s, "send_back")
    _, html = page(browser(w.residents[0]), w.messages[0])
    assert "代表对答复不满意，正在重新办理" in html
    assert "代表对答复不满意，建议退回承办单位重新办理" in html


def test_nothing_internal_ever_shows(db, browser, suggestion_world, make_suggestion):
    w = suggestion_world
    s = make_suggestion("answered", resolution="B", review_comment=SECRETS[0],
                        supervision="key", supervision_note=SECRETS[4])
    add_event(db, s, "note", public=False, text=SECRETS[1], actor_label="代工委")
    add_event(db, s, "answer", text=SECRETS[5], actor_label="区住房和城乡建设局")
    add_event(db, s, "resident_rate", public=False, text="留言人评价：不满意")
    assisting = next(a for a in s.assignments if a.role == "assisting")
    assisting.opinion, assisting.opinion_at = SECRETS[2], utcnow()
    db.session.add(SuggestionExtension(suggestion_id=s.id, department_id=w.lead.id,
                                       requested_until=date.today() + timedelta(days=90),
                                       reason=SECRETS[3]))
    db.session.commit()
    _, html = page(browser(w.residents[0]), w.messages[0])
    assert "B类" in html  # the page did render the suggestion
    for secret in SECRETS:
        assert secret not in html, secret
    assert "重点督办" not in html and "留言人评价" not in html
    for user in w.users.values():  # no staff names
        assert user.display_name not in html
    assert w.messages[1].body not in html  # nor the other resident's message


# ---- who may see it ----

def test_another_resident_and_a_stranger_get_404(db, browser, suggestion_world,
                                                 make_suggestion):
    w = suggestion_world
    s = make_suggestion("answered", messages=[w.messages[0]])
    for client in (browser(w.residents[2]), browser(w.residents[1]), browser()):
        assert client.get(f"/m/{w.messages[0].id}").status_code == 404
        token = csrf_of(client, "/track")  # a valid token of its own session
        resp = client.post(f"/m/{w.messages[0].id}/suggestions/{s.id}/rate",
                           data={**token, "value": "satisfied"})
        assert resp.status_code == 404
    # Resident 2 wrote message 1, which did not feed this suggestion: their own message is no
    # way in either.
    other = browser(w.residents[1])
    _, html = page(other, w.messages[1])
    assert s.number not in html and "代表建议" not in html
    resp = other.post(f"/m/{w.messages[1].id}/suggestions/{s.id}/rate",
                      data={**csrf_of(other, "/track"), "value": "satisfied"})
    assert resp.status_code == 404
    assert _count(db, SuggestionResidentRating) == 0


def test_a_tracked_browser_sees_and_rates_as_the_writer(db, app, browser, suggestion_world,
                                                        make_suggestion):
    w = suggestion_world
    s = make_suggestion("answered")
    message = w.messages[0]
    client = browser()  # another phone: no cookie, but the number and the code
    resp = client.post("/track", data={**csrf_of(client, "/track"),
                                       "tracking_no": message.tracking_no,
                                       "code": lookup_code(message.id)})
    assert resp.status_code == 302
    _, html = page(client, message)
    assert s.number in html and 'data-testid="suggestion-rate-form"' in html
    assert rate(client, message, s, "basically_satisfied").status_code == 302
    rating = db.session.scalar(sa.select(SuggestionResidentRating))
    assert (rating.resident_id, rating.value) == (w.residents[0].id, "basically_satisfied")


# ---- merges ----

def test_a_message_merged_into_a_source_message_sees_it(db, browser, suggestion_world,
                                                        make_suggestion):
    w = suggestion_world
    merged = w.messages[1]
    merged.status, merged.merged_into_id = "merged", w.messages[0].id
    db.session.commit()
    s = make_suggestion("answered", messages=[w.messages[0]])
    client = browser(w.residents[1])
    _, html = page(client, merged)
    assert s.number in html and "承办单位已答复" in html
    assert w.messages[0].body not in html  # the case's text stays its writer's
    assert rate(client, merged, s, "satisfied").status_code == 302
    assert _count(db, SuggestionResidentRating, resident_id=w.residents[1].id) == 1


def test_a_suggestion_merged_into_another_shows_the_target(db, browser, suggestion_world,
                                                           make_suggestion):
    w = suggestion_world
    target = make_suggestion("answered", title="关于全区路灯统一改造的建议",
                             messages=[w.messages[2]])
    mine = make_suggestion("submitted", messages=[w.messages[0]])
    mine.status, mine.merged_into_id = "merged", target.id
    db.session.commit()
    add_event(db, mine, "submit", minutes_ago=30)
    add_event(db, mine, "merge", minutes_ago=20)
    add_event(db, target, "submit", minutes_ago=25)
    add_event(db, target, "answer", minutes_ago=1)
    [view] = outcome.suggestions_for_message(w.messages[0])
    assert (view.id, view.number, view.merged_from) == (target.id, target.number, mine.number)
    assert [item.line for item in view.timeline] == [
        "王建国代表向区人大常委会提交了建议", "建议与内容相近的建议合并办理",
        "区住房和城乡建设局答复了建议，答复为A类（已解决或基本解决）"]
    client = browser(w.residents[0])
    _, html = page(client, w.messages[0])
    assert "关于全区路灯统一改造的建议" in html and mine.number in html
    assert w.messages[2].body not in html
    assert rate(client, w.messages[0], mine).status_code == 404  # the merged one is not rated
    assert rate(client, w.messages[0], target).status_code == 302
    assert _count(db, SuggestionResidentRating, suggestion_id=target.id) == 1


# ---- rating ----

def test_rating_once_then_it_shows(db, browser, suggestion_world, make_suggestion):
    w = suggestion_world
    s = make_suggestion("answered")
    client = browser(w.residents[0])
    resp = rate(client, w.messages[0], s, "satisfied", "修得很快")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(
        f"/m/{w.messages[0].id}#s{s.id}")
    rating = db.session.scalar(sa.select(SuggestionResidentRating))
    assert (rating.suggestion_id, rating.resident_id, rating.value, rating.comment) == (
        s.id, w.residents[0].id, "satisfied", "修得很快")
    event = db.session.scalar(sa.select(SuggestionEvent).filter_by(kind="resident_rate"))
    assert (event.is_public, event.actor_kind, event.actor_id) == (
        False, "resident", w.residents[0].id)
    assert s.status == "answered"  # a resident's rating changes nothing of the handling
    assert _count(db, Notification, subject_type="suggestions") == 0  # satisfied: nobody
    _, html = page(client, w.messages[0])
    assert "您已评价：满意" in html and 'data-testid="suggestion-rate-form"' not in html

    before = (_count(db, SuggestionResidentRating), _count(db, SuggestionEvent))
    resp = rate(client, w.messages[0], s, "dissatisfied")
    assert resp.status_code == 409 and "您已经评价过" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert (_count(db, SuggestionResidentRating), _count(db, SuggestionEvent)) == before
    assert db.session.get(SuggestionResidentRating, rating.id).value == "satisfied"
    with pytest.raises(InvalidState) as err:
        outcome.rate_outcome(s, "dissatisfied", resident=w.residents[0])
    assert err.value.code == "suggestion_already_rated"
    db.session.rollback()

    # The other resident behind it rates on their own.
    assert rate(browser(w.residents[1]), w.messages[1], s, "basically_satisfied"
                ).status_code == 302
    assert _count(db, SuggestionResidentRating) == 2


@pytest.mark.parametrize("status", ["submitted", "assigned", "in_progress"])
def test_rating_before_the_answer_is_refused(db, browser, suggestion_world, make_suggestion,
                                             status):
    w = suggestion_world
    s = make_suggestion(status)
    resp = rate(browser(w.residents[0]), w.messages[0], s)
    assert resp.status_code == 409 and "承办单位答复后才能评价" in resp.get_data(as_text=True)
    with pytest.raises(InvalidState) as err:
        outcome.rate_outcome(s, "satisfied", resident=w.residents[0])
    assert err.value.code == "suggestion_cannot_resident_rate"
    db.session.rollback()
    assert _count(db, SuggestionResidentRating) == 0
    assert _count(db, SuggestionEvent, kind="resident_rate") == 0


@pytest.mark.parametrize("status", ["reanswering", "closed"])
def test_rating_after_a_second_answer_is_asked_or_when_closed(db, suggestion_world,
                                                              make_suggestion, status):
    w = suggestion_world
    s = make_suggestion(status)
    outcome.rate_outcome(s, "basically_satisfied", resident=w.residents[0])
    db.session.commit()
    assert _count(db, SuggestionResidentRating) == 1


def test_a_bad_value_is_refused_and_changes_nothing(db, browser, suggestion_world,
                                                    make_suggestion):
    w = suggestion_world
    s = make_suggestion("answered")
    resp = rate(browser(w.residents[0]), w.messages[0], s, "great")
    assert resp.status_code == 422 and "请选择满意、基本满意或不满意" in resp.get_data(as_text=True)
    with pytest.raises(ValidationFailed) as err:
        outcome.rate_outcome(s, "satisfied", "长" * 501, resident=w.residents[0])
    assert set(err.value.errors) == {"comment"}
    db.session.rollback()
    assert _count(db, SuggestionResidentRating) == 0 and _count(db, SuggestionEvent) == 0


def test_a_resident_not_behind_it_is_refused_by_the_operation(db, suggestion_world,
                                                              make_suggestion):
    w = suggestion_world
    s = make_suggestion("answered")
    with pytest.raises(Forbidden):
        outcome.rate_outcome(s, "satisfied", resident=w.residents[2])
    with pytest.raises(Forbidden):
        outcome.rate_outcome(s, "satisfied", resident=None)
    db.session.rollback()
    assert _count(db, SuggestionResidentRating) == 0


def test_dissatisfied_tells_the_deputy_who_made_it(db, browser, suggestion_world,
                                                   make_suggestion):
    w = suggestion_world
    s = make_suggestion("answered")
    assert rate(browser(w.residents[0]), w.messages[0], s, "dissatisfied",
                "路灯修了又坏").status_code == 302
    [note] = db.session.scalars(sa.select(Notification).filter_by(subject_type="suggestions"))
    assert (note.recipient_kind, note.recipient_id, note.topic) == (
        "deputy", w.author.id, "suggestion.resident_dissatisfied")
    assert "路灯修了又坏" in note.body


def test_two_taps_at_once_make_one_rating(app, db, suggestion_world, make_suggestion,
                                          postgres_only):
    from backend.core.extensions import db as _db
    from backend.accounts.resident_model import Resident
    from backend.suggestions.models import Suggestion
    w = suggestion_world
    s_id, r_id = make_suggestion("answered").id, w.residents[0].id

    def tap():
        return outcome.rate_outcome(_db.session.get(Suggestion, s_id), "satisfied",
                                    resident=_db.session.get(Resident, r_id))
    results = at_once(app, tap, tap)
    assert sum(isinstance(r, SuggestionResidentRating) for r in results) == 1
    assert all(isinstance(r, (SuggestionResidentRating, InvalidState, sa.exc.IntegrityError))
               for r in results), results
    assert _count(db, SuggestionResidentRating) == 1


def test_the_timeline_names_departments_and_followups_from_event_data(db, suggestion_world,
                                                                      make_suggestion):
    from backend.suggestions.models import SuggestionAssignment
    w = suggestion_world
    s = make_suggestion("answered", resolution="B")
    old = s.lead_assignment
    old.status = "replaced"
    db.session.add(SuggestionAssignment(suggestion_id=s.id, department_id=w.other.id,
                                        role="lead", status="accepted"))
    db.session.commit()
    steps = [("assign", {"lead_id": w.lead.id}, "staff"),
             ("reassign", {"to_department_id": w.other.id, "reason": "职责调整"}, "staff"),
             ("answer", {"reply_id": s.latest_reply.id}, "staff"),
             ("followup", {"due_on": "2030-01-01"}, "system"),
             ("followup", {"kept": False}, "staff")]
    for n, (kind, data, actor_kind) in enumerate(steps):
        db.session.add(SuggestionEvent(suggestion_id=s.id, kind=kind, actor_kind=actor_kind,
                                       is_public=True, data=data, text="职责调整",
                                       created_at=utcnow() - timedelta(minutes=10 - n)))
    db.session.commit()
    [view] = outcome.suggestions_for_message(w.messages[0])
    assert [item.line for item in view.timeline] == [
        "区人大常委会将建议交办区住房和城乡建设局办理", "承办单位调整为区水务局",
        "区住房和城乡建设局答复了建议，答复为B类（正在解决或列入计划解决）",
        "答复中承诺的期限已到，开始回头看", "回头看：承诺事项尚未落实"]
    assert view.lead_department == "区水务局" and view.assisting_departments == ["区交通运输局"]
