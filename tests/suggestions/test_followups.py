"""回头看: the scheduler opens one on a B answer's promised date (once, however often or from
however many schedulers it runs); the lead department reports whether the promise was kept."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.core.errors import Forbidden, InvalidState, ValidationFailed
from backend.suggestions.models import DepartmentReply, SuggestionEvent, SuggestionFollowUp
from backend.jobs.models import JobRun
from backend.notifications.models import Notification
from backend.suggestions import handling as ops
from backend.core.timeutil import local_today
from tests.conftest import at_once

RESULT = "路灯已全部更换完毕，夜间巡查机制已建立并运行。"


def _count(db, model, **filters) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).filter_by(**filters))


def _followups(db):
    db.session.expire_all()
    return list(db.session.scalars(sa.select(SuggestionFollowUp).order_by(SuggestionFollowUp.id)))


def _promised(s):
    return s.latest_reply.promised_by


# ---- opening ----

def test_a_b_answer_is_rechecked_on_its_promised_date(db, suggestion_world, make_suggestion):
    w = suggestion_world
    s = make_suggestion("answered", resolution="B")
    due = _promised(s)
    assert ops.open_due_followups(due - timedelta(days=1)) == 0
    assert ops.open_due_followups(due) == 1
    db.session.commit()
    (f,) = _followups(db)
    assert (f.suggestion_id, f.reply_id, f.due_on, f.status) == (s.id, s.latest_reply.id, due,
                                                                 "open")
    (e,) = [e for e in s.events if e.kind == "followup"]
    assert (e.text, e.is_public, e.actor_kind) == ("承诺期限已到，开始回头看", True, "system")
    assert s.status == "answered"
    notes = db.session.scalars(sa.select(Notification).filter_by(
        topic="suggestion.followup_opened")).all()
    assert sorted(n.recipient_id for n in notes) == sorted(
        [w.users["dept_lead"].id, w.users["admin"].id])
    # Idempotent: a second run (same day or later) opens nothing new.
    assert ops.open_due_followups(due) == 0
    assert ops.open_due_followups(due + timedelta(days=5)) == 0
    db.session.commit()
    assert len(_followups(db)) == 1
    assert _count(db, SuggestionEvent, kind="followup") == 1


def test_only_latest_b_answers_of_answered_or_closed_suggestions(db, suggestion_world,
                                                                 make_suggestion):
    w = suggestion_world
    later = local_today() + timedelta(days=365)
    closed_b = make_suggestion("closed", resolution="B")
    make_suggestion("answered", resolution="A")
    make_suggestion("answered", resolution="C")
    make_suggestion("reanswering", resolution="B")  # sent back: the promise is being redone
    superseded = make_suggestion("answered", resolution="B")
    db.session.add(DepartmentReply(suggestion_id=superseded.id, department_id=w.lead.id,
                                   round=2, resolution="A", body="第二次答复：已经全部解决完毕。"))
    db.session.commit()
    assert ops.open_due_followups(later) == 1
    db.session.commit()
    assert [f.suggestion_id for f in _followups(db)] == [closed_b.id]


def test_the_scheduler_job_runs_once_a_day(app, db, suggestion_world, make_suggestion):
    from backend.jobs.scheduler import run_job
    s = make_suggestion("answered", resolution="B")
    due = _promised(s)
    assert run_job("suggestions.followups", today=due) == "done"
    assert run_job("suggestions.followups", today=due) == "skipped"  # same key
    db.session.rollback()
    (run,) = db.session.scalars(sa.select(JobRun).filter_by(job="suggestions.followups")).all()
    assert (run.run_key, run.detail) == (due.isoformat(), "开始回头看 1 件")
    assert len(_followups(db)) == 1
    assert run_job("suggestions.followups", today=due + timedelta(days=1)) == "done"
    db.session.rollback()
    assert db.session.scalar(sa.select(JobRun.detail).filter_by(
        job="suggestions.followups", run_key=(due + timedelta(days=1)).isoformat())) == "开始回头看 0 件"
    assert len(_followups(db)) == 1


def test_two_schedulers_at_once_open_one(app, db, postgres_only, suggestion_world,
                                         make_suggestion):
    s = make_suggestion("answered", resolution="B")
    due = _promised(s)
    outcomes = at_once(app, lambda: ops.open_due_followups(due),
                       lambda: ops.open_due_followups(due))
    assert sorted(outcomes) == [0, 1]
    assert len(_followups(db)) == 1
    assert _count(db, SuggestionEvent, kind="followup") == 1


# ---- completing ----

@pytest.fixture
def opened(db, suggestion_world, make_suggestion):
    s = make_suggestion("answered", resolution="B")
    ops.open_due_followups(_promised(s))
    db.session.commit()
    (f,) = _followups(db)
    return s, f


def _state(db, s, f):
    db.session.rollback()
    db.session.expire_all()
    return (f.status, f.kept, f.result, f.done_at, s.status,
            _count(db, SuggestionEvent), _count(db, Notification))


def test_the_lead_reports_a_kept_promise(db, suggestion_world, opened):
    w = suggestion_world
    s, f = opened
    user = w.users["dept_lead"]
    ops.complete_followup(f, actor=user, kept=True, result=RESULT)
    db.session.commit()
    assert (f.status, f.kept, f.result, f.done_by_id) == ("done", True, RESULT, user.id)
    assert f.done_at
    e = s.events[-1]
    assert (e.kind, e.is_public, e.data["kept"]) == ("followup", True, True)
    assert e.text.startswith("回头看：承诺事项已落实")
    notes = db.session.scalars(sa.select(Notification).filter_by(
        topic="suggestion.followup_done")).all()
    assert {(n.recipient_kind, n.title) for n in notes} == {("deputy", "承诺事项已落实"),
                                                           ("resident", "承诺事项已落实")}
    residents = [n for n in notes if n.recipient_kind == "resident"]
    assert sorted(n.recipient_id for n in residents) == sorted(r.id for r in w.residents[:2])
    assert all(RESULT[:20] in n.body and user.display_name not in n.body for n in residents)
    assert ops.open_followup(s) is None


def test_an_unkept_promise_tells_the_admins_too(db, suggestion_world, opened):
    w = suggestion_world
    s, f = opened
    ops.complete_followup(f, actor=w.users["dept_lead"], kept=False,
                          result="招标流标，施工推迟到明年一季度完成。")
    db.session.commit()
    titles = {(n.recipient_kind, n.recipient_id, n.title) for n in db.session.scalars(
        sa.select(Notification).filter_by(topic="suggestion.followup_done"))}
    assert ("resident", w.residents[0].id, "承诺事项尚未落实") in titles
    assert ("staff", w.users["admin"].id, "回头看：承诺事项尚未落实") in titles


def test_followup_refusals_change_nothing(db, suggestion_world, opened):
    w = suggestion_world
    s, f = opened
    before = _state(db, s, f)
    for who in ("dept_assist", "dept_other", "admin", "author"):
        with pytest.raises(Forbidden):
            ops.complete_followup(f, actor=w.users[who], kept=True, result=RESULT)
        assert _state(db, s, f) == before
    for kept, result, field in ((None, RESULT, "kept"), (True, "已完成", "result")):
        with pytest.raises(ValidationFailed) as err:
            ops.complete_followup(f, actor=w.users["dept_lead"], kept=kept, result=result)
        assert field in err.value.errors
        assert _state(db, s, f) == before
    ops.complete_followup(f, actor=w.users["dept_lead"], kept=True, result=RESULT)
    db.session.commit()
    done = _state(db, s, f)
    with pytest.raises(InvalidState) as err:
        ops.complete_followup(f, actor=w.users["dept_lead"], kept=False, result=RESULT)
    assert err.value.code == "followup_done"
    assert _state(db, s, f) == done
