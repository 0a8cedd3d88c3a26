"""The deputy rates the department's answer: satisfied closes it; dissatisfied sends it back for
a second answer until SUGGESTION_MAX_REANSWERS is used up, then it closes flagged for the chase
list. Only the author rates, only an answered suggestion, once per answer round."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.core.errors import Forbidden, InvalidState, ValidationFailed
from backend.suggestions.models import DepartmentReply, SuggestionEvent, SuggestionRating
from backend.notifications.models import Notification
from backend.suggestions import drafting as ops
from backend.core.timeutil import utcnow


def _count(db, model, **filters) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).filter_by(**filters))


def _notes(db, topic):
    return list(db.session.scalars(sa.select(Notification).filter_by(topic=topic)
                                   .order_by(Notification.id)))


def _answer_again(db, s, w):
    """What the lead department's second answer leaves behind (its operation is not ours)."""
    db.session.add(DepartmentReply(suggestion_id=s.id, department_id=w.lead.id, round=2,
                                   resolution="A", body="已再次组织排查并全部修复。"))
    s.status = "answered"
    db.session.commit()


@pytest.mark.parametrize("value, label", [("satisfied", "满意"),
                                          ("basically_satisfied", "基本满意")])
def test_satisfied_closes_it_and_the_lead_department_hears(db, suggestion_world,
                                                           make_suggestion, value, label):
    w = suggestion_world
    s = make_suggestion("answered")
    rating = ops.rate(s, value, "  修复及时 ", actor=w.users["author"])
    db.session.commit()
    assert (rating.round, rating.value, rating.comment, rating.deputy_id) == (
        1, value, "修复及时", w.author.id)
    assert s.status == "closed" and s.closed_at is not None
    assert not s.flagged_unsatisfied and s.reanswers == 0
    assert [(e.kind, e.from_status, e.to_status) for e in s.events] == [
        ("rate", "answered", "answered"), ("close", "answered", "closed")]
    [note] = _notes(db, "suggestion.closed")
    assert note.recipient_id == w.users["dept_lead"].id
    assert note.title == f"代表对答复的评价：{label}，建议已办结"


def test_dissatisfied_sends_it_back_once_then_closes_flagged(db, suggestion_world,
                                                             make_suggestion, app):
    assert app.config["SUGGESTION_MAX_REANSWERS"] == 1
    w = suggestion_world
    s = make_suggestion("answered")
    ops.rate(s, "dissatisfied", "只修了一半", actor=w.users["author"])
    db.session.commit()
    assert s.status == "reanswering" and s.reanswers == 1 and s.flagged_unsatisfied
    assert s.closed_at is None
    assert [e.kind for e in s.events] == ["rate", "send_back"]
    [dept] = [n for n in _notes(db, "suggestion.sent_back") if n.recipient_kind == "staff"
              and n.recipient_id == w.users["dept_lead"].id]
    assert dept.title == "代表对答复不满意，请重新办理" and "只修了一半" in dept.body
    assert w.users["admin"].id in {n.recipient_id for n in _notes(db, "suggestion.sent_back")}
    assert w.users["dept_assist"].id not in {n.recipient_id for n in _notes(
        db, "suggestion.sent_back")}

    _answer_again(db, s, w)
    rating = ops.rate(s, "dissatisfied", "还是没有修好", actor=w.users["author"])
    db.session.commit()
    assert rating.round == 2
    assert s.status == "closed" and s.closed_at is not None
    assert s.reanswers == 1 and s.flagged_unsatisfied
    assert [e.kind for e in s.events] == ["rate", "send_back", "rate", "close"]
    assert s.events[-1].data["unsatisfied"] is True
    assert _count(db, SuggestionEvent, kind="send_back") == 1  # never reanswering again
    assert [n.recipient_id for n in _notes(db, "suggestion.closed_unsatisfied")] == [
        w.users["admin"].id]
    assert [r.value for r in db.session.scalars(sa.select(SuggestionRating).order_by(
        SuggestionRating.round))] == ["dissatisfied", "dissatisfied"]


def test_with_no_reanswers_allowed_the_first_dissatisfied_closes(db, suggestion_world,
                                                                 make_suggestion, app,
                                                                 monkeypatch):
    monkeypatch.setitem(app.config, "SUGGESTION_MAX_REANSWERS", 0)
    w = suggestion_world
    s = make_suggestion("answered")
    ops.rate(s, "dissatisfied", actor=w.users["author"])
    assert s.status == "closed" and s.flagged_unsatisfied and s.reanswers == 0
    assert _count(db, SuggestionEvent, kind="send_back") == 0


def test_a_second_answer_rated_satisfied_closes_but_stays_flagged(db, suggestion_world,
                                                                  make_suggestion):
    w = suggestion_world
    s = make_suggestion("answered")
    ops.rate(s, "dissatisfied", actor=w.users["author"])
    _answer_again(db, s, w)
    ops.rate(s, "satisfied", actor=w.users["author"])
    assert s.status == "closed" and s.flagged_unsatisfied  # it was unsatisfied once


@pytest.mark.parametrize("status", ["draft", "submitted", "assigned", "in_progress",
                                    "reanswering", "closed"])
def test_rate_before_an_answer_is_refused_and_changes_nothing(db, suggestion_world,
                                                              make_suggestion, status):
    w = suggestion_world
    s = make_suggestion(status)
    with pytest.raises(InvalidState) as err:
        ops.rate(s, "satisfied", actor=w.users["author"])
    assert err.value.code == "suggestion_cannot_rate"
    db.session.rollback()
    assert s.status == status and s.events == []
    assert _count(db, SuggestionRating) == 0


def test_only_the_author_rates(db, suggestion_world, make_suggestion):
    w = suggestion_world
    s = make_suggestion("answered", cosigners=[w.colleague])
    for who in ("colleague", "outsider", "liaison_own", "admin", "dept_lead"):
        with pytest.raises(Forbidden):
            ops.rate(s, "dissatisfied", actor=w.users[who])
    assert s.status == "answered" and _count(db, SuggestionRating) == 0


@pytest.mark.parametrize("value, comment, field", [
    ("", "", "value"), ("very_good", "", "value"), ("satisfied", "很" * 501, "comment"),
    ("satisfied", "👨‍👩‍👧‍👦" * 80, "comment"),  # 80 as seen, 560 code points
])
def test_bad_ratings_are_refused(db, suggestion_world, make_suggestion, value, comment, field):
    w = suggestion_world
    s = make_suggestion("answered")
    with pytest.raises(ValidationFailed) as err:
        ops.rate(s, value, comment, actor=w.users["author"])
    assert list(err.value.errors) == [field]
    db.session.rollback()
    assert s.status == "answered" and _count(db, SuggestionRating) == 0


def test_one_rating_per_answer_round(db, suggestion_world, make_suggestion):
    w = suggestion_world
    s = make_suggestion("answered")
    db.session.add(SuggestionRating(suggestion_id=s.id, round=1, deputy_id=w.author.id,
                                    value="satisfied"))
    db.session.commit()
    with pytest.raises(InvalidState) as err:
        ops.rate(s, "dissatisfied", actor=w.users["author"])
    assert err.value.code == "already_rated"


def test_rate_writes_its_rows_in_the_callers_transaction(db, suggestion_world, make_suggestion):
    w = suggestion_world
    s = make_suggestion("answered")
    ops.rate(s, "dissatisfied", "不满意", actor=w.users["author"])
    db.session.flush()
    assert _count(db, SuggestionEvent, kind="send_back") == 1
    assert _count(db, Notification, topic="suggestion.sent_back") == 2  # department, admin
    db.session.rollback()
    assert s.status == "answered" and s.reanswers == 0 and not s.flagged_unsatisfied
    assert _count(db, SuggestionRating) == 0 and _count(db, SuggestionEvent) == 0
    assert _count(db, Notification, topic="suggestion.sent_back") == 0


def test_a_closed_one_cannot_be_rated_again(db, suggestion_world, make_suggestion):
    w = suggestion_world
    s = make_suggestion("answered")
    ops.rate(s, "satisfied", actor=w.users["author"])
    db.session.commit()
    with pytest.raises(InvalidState):
        ops.rate(s, "dissatisfied", actor=w.users["author"])
    assert s.closed_at > utcnow() - timedelta(minutes=1)
