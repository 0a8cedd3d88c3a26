"""An assisting department asks to be let go (申请调整): the office agrees, with or without
another department in its place; the lead's work and deadline go on."""
import pytest
import sqlalchemy as sa

from backend.core.errors import Forbidden, InvalidState, ValidationFailed
from backend.notifications.models import Notification
from backend.suggestions.models import SuggestionAssignment, SuggestionEvent
from backend.suggestions import handling
from backend.suggestions import review


def _assisting(s):
    return next(a for a in s.current_assignments if a.role == "assisting")


@pytest.fixture
def asking(db, suggestion_world, make_suggestion):
    """An in-progress suggestion whose assisting department (交通局) asked to be let go."""
    s = make_suggestion("in_progress")
    handling.request_reassign(s, "与本单位职责无关", actor=suggestion_world.users["dept_assist"])
    db.session.commit()
    return s


def _counts(db):
    return [db.session.scalar(sa.select(sa.func.count()).select_from(m))
            for m in (SuggestionAssignment, SuggestionEvent, Notification)]


def test_agreeing_with_a_replacement_hands_the_part_to_it(db, suggestion_world, asking):
    w = suggestion_world
    old = _assisting(asking)
    new = review.release_assisting(old, "改由水务局协办", actor=w.users["admin"], replacement=w.other)
    db.session.commit()
    assert old.status == "replaced" and asking.status == "in_progress"
    assert (new.department_id, new.role, new.status) == (w.other.id, "assisting", "pending")
    assert {a.department_id for a in asking.current_assignments} == {w.lead.id, w.other.id}
    event = asking.events[-1]
    assert event.kind == "release_assisting" and not event.is_public and "水务局" in event.text
    told = {(n.recipient_id, n.topic) for n in db.session.scalars(
        sa.select(Notification).where(Notification.topic.in_(
            ["suggestion.released", "suggestion.assigned", "suggestion.assisting_changed"])))}
    assert told == {(w.users["dept_assist"].id, "suggestion.released"),
                    (w.users["dept_other"].id, "suggestion.assigned"),
                    (w.users["dept_lead"].id, "suggestion.assisting_changed")}


def test_agreeing_without_one_lets_the_lead_answer_without_that_opinion(db, suggestion_world,
                                                                         make_suggestion):
    w = suggestion_world
    s = make_suggestion("in_progress")
    handling.request_reassign(s, "与本单位职责无关", actor=w.users["dept_assist"])
    db.session.commit()
    assert handling.missing_opinions(s)  # the 交通局 opinion was still owed
    assert review.release_assisting(_assisting(s), "同意不再协办", actor=w.users["admin"]) is None
    db.session.commit()
    assert handling.missing_opinions(s) == []
    handling.answer(s, actor=w.users["dept_lead"], resolution="A",
                    body="已组织排查，共修复路灯23盏，并纳入日常巡查。")
    db.session.commit()
    assert s.status == "answered"


def test_refused_cases_change_nothing(db, suggestion_world, asking, make_suggestion):
    w = suggestion_world
    old = _assisting(asking)
    before = _counts(db)
    cases = [
        (Forbidden, lambda: review.release_assisting(old, "改由水务局协办",
                                                     actor=w.users["dept_lead"])),
        (ValidationFailed, lambda: review.release_assisting(old, "改由住建局", actor=w.users["admin"],
                                                            replacement=w.lead)),
        (ValidationFailed, lambda: review.release_assisting(old, "", actor=w.users["admin"])),
    ]
    other = make_suggestion("in_progress")
    lead = next(a for a in other.current_assignments if a.role == "lead")
    handling.request_reassign(other, "不属于本单位职责", actor=w.users["dept_lead"])
    db.session.commit()
    before = _counts(db)
    # a lead's request is a reassignment of the whole suggestion, not a release
    cases.append((InvalidState, lambda: review.release_assisting(lead, "不行",
                                                                 actor=w.users["admin"])))
    for error, call in cases:
        with pytest.raises(error):
            call()
        db.session.rollback()
        assert _counts(db) == before
        assert old.status == "reassign_requested"


def test_the_leads_answer_lets_an_assisting_request_lapse(db, suggestion_world, make_suggestion):
    """Once the lead has answered, nothing is left to hand elsewhere: the request does not sit
    on the office's list, impossible to decide."""
    w = suggestion_world
    s = make_suggestion("in_progress")
    assisting = _assisting(s)
    handling.send_opinion(s, "同意主办单位意见，配合做好施工期间交通疏导。",
                          actor=w.users["dept_assist"])
    db.session.commit()
    handling.request_reassign(s, "与本单位职责无关", actor=w.users["dept_assist"])
    db.session.commit()
    assert review.pending_reassign_requests() != []
    handling.answer(s, actor=w.users["dept_lead"], resolution="A",
                    body="已组织排查，共修复路灯23盏，并纳入日常巡查。")
    db.session.commit()
    assert assisting.status == "accepted"
    assert review.pending_reassign_requests() == []
