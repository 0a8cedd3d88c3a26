"""回访 of messages that got no answer: asked 14 days after the message became the deputy's (its
latest assignment to them) or when the station's deadline passed, whichever first; one reminder,
one answer per message, the same four answers; counted in the Beijing year it fell due."""
import secrets
from datetime import timedelta

import pytest

from backend.core.timeutil import local_today
from tests.records.conftest import bj

YEAR = local_today().year - 1  # a whole past year, and the current one after it
DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)


@pytest.fixture
def world(db, make_station, make_deputy, make_resident):
    class World:
        pass
    w = World()
    w.station = make_station()
    w.deputy = make_deputy(stations=[w.station], name="王建国")
    w.other = make_deputy(stations=[w.station], name="李秀英")
    w.writer = make_resident(web_key=secrets.token_urlsafe(32))
    db.session.commit()
    return w


def _silent(db, world, add_message, *, at, assigned_at=None, due_days=60, status=None,
            resident=None):
    """An unanswered message from the writer, assigned to the deputy at `assigned_at`."""
    from backend.messages.models import MessageEvent
    m = add_message(world.station, assigned=world.deputy, at=at, due_days=due_days,
                    status=status)
    m.resident_id = (resident or world.writer).id
    if assigned_at is not None:
        db.session.add(MessageEvent(message_id=m.id, kind="assign", actor_kind="staff",
                                    created_at=assigned_at))
    db.session.flush()
    return m


def _followups(db):
    from backend.records.responsiveness_model import FollowUp
    return list(db.session.scalars(db.select(FollowUp).order_by(FollowUp.message_id)))


def test_asked_14_days_after_it_became_theirs_and_counted_in_that_beijing_year(
        db, world, add_message):
    from backend.records.responsiveness import ask_and_remind, year_responsiveness
    # Both assigned on 17 December in Beijing, an hour apart: 14 days later one falls due at
    # 23:30 on 31 December (15:30 UTC, still that year in Beijing), the other at 00:30 on
    # 1 January Beijing time, which is still 31 December in UTC.
    late_in_year = _silent(db, world, add_message, at=bj(YEAR, 12, 1, 9),
                           assigned_at=bj(YEAR, 12, 17, 23, 30))
    new_year = _silent(db, world, add_message, at=bj(YEAR, 12, 1, 9),
                       assigned_at=bj(YEAR, 12, 18, 0, 30))
    assert ask_and_remind(bj(YEAR, 12, 31, 23, 29)) == (0, 0)  # a minute short of 14 days
    assert ask_and_remind(bj(YEAR, 12, 31, 23, 30)) == (1, 0)
    assert ask_and_remind(bj(YEAR + 1, 1, 1, 0, 30)) == (1, 0)
    first, second = _followups(db)
    assert (first.message_id, first.kind, first.due_at) == (
        late_in_year.id, "unanswered", bj(YEAR, 12, 31, 23, 30))
    assert (second.message_id, second.due_at) == (new_year.id, bj(YEAR + 1, 1, 1, 0, 30))
    for f in (first, second):
        f.response, f.responded_at = "no_answer", f.due_at + DAY
    db.session.flush()
    (this_year,) = year_responsiveness(YEAR)
    (next_year,) = year_responsiveness(YEAR + 1)
    assert (this_year.asked_unanswered, this_year.no_answer) == (1, 1)
    assert (next_year.asked_unanswered, next_year.no_answer) == (1, 1)


def test_the_stations_deadline_asks_sooner(db, world, add_message):
    from backend.records.responsiveness import ask_and_remind
    at = bj(YEAR, 5, 6, 10)
    _silent(db, world, add_message, at=at, due_days=5)  # written to them, due in 5 days
    assert ask_and_remind(at + 5 * DAY - MINUTE) == (0, 0)
    assert ask_and_remind(at + 5 * DAY) == (1, 0)
    (f,) = _followups(db)
    assert f.due_at == at + 5 * DAY and f.answered_at is None


def test_a_reassignment_restarts_the_14_days(db, world, add_message):
    from backend.records.responsiveness import ask_and_remind
    at = bj(YEAR, 5, 6, 10)
    _silent(db, world, add_message, at=at, assigned_at=at + 10 * DAY)
    assert ask_and_remind(at + 14 * DAY) == (0, 0)  # 14 days since receipt, 4 since theirs
    assert ask_and_remind(at + 24 * DAY) == (1, 0)


def test_waiting_on_the_resident_held_answered_and_writerless_are_not_asked(
        db, world, add_message):
    from backend.records.responsiveness import ask_and_remind
    at = bj(YEAR, 5, 6, 10)
    _silent(db, world, add_message, at=at, status="awaiting_info")
    _silent(db, world, add_message, at=at, status="held")
    add_message(world.station, assigned=world.deputy, at=at)  # no writer on file
    answered = add_message(world.station, assigned=world.deputy, at=at, answered=at + DAY)
    answered.resident_id = world.writer.id
    db.session.flush()
    assert ask_and_remind(at + 16 * DAY) == (1, 0)
    assert [(f.message_id, f.kind) for f in _followups(db)] == [(answered.id, "answered")]


def test_one_reminder_then_one_answer_and_no_second_question_after_a_late_answer(
        db, world, add_message):
    from backend.core.errors import InvalidState
    from backend.notifications.models import Notification
    from backend.records.responsiveness import (
        QUESTION_UNANSWERED, answer_followup, ask_and_remind,
    )
    at = bj(YEAR, 5, 6, 10)
    m = _silent(db, world, add_message, at=at, due_days=5)
    ask_and_remind(at + 5 * DAY)
    for days in (12, 13, 20):
        ask_and_remind(at + days * DAY)
    notices = list(db.session.scalars(db.select(Notification).where(
        Notification.topic.in_(("followup.ask", "followup.remind")))))
    assert sorted(n.topic for n in notices) == ["followup.ask", "followup.remind"]
    assert all(n.body == QUESTION_UNANSWERED for n in notices)
    answer_followup(m, "no_answer", resident=world.writer)
    with pytest.raises(InvalidState) as err:
        answer_followup(m, "solved", resident=world.writer)
    assert err.value.code == "followup_already_answered"
    # The deputy answers at last: the message was asked about once, and stays so.
    m.status, m.answered_at = "answered", at + 30 * DAY
    db.session.flush()
    assert ask_and_remind(at + 50 * DAY) == (0, 0)
    (f,) = _followups(db)
    assert (f.kind, f.response) == ("unanswered", "no_answer")


def test_silent_cases_pull_the_rate_down(db, world, add_message, make_resident):
    """Ten answered-and-solved and ten unanswered: the rate is 50 %, not 100 %."""
    from backend.records.responsiveness import answer_followup, ask_and_remind, year_responsiveness
    at = bj(YEAR, 3, 2, 10)
    for i in range(20):
        resident = make_resident(web_key=secrets.token_urlsafe(32))
        m = _silent(db, world, add_message, at=at, due_days=10, resident=resident)
        if i < 10:
            m.status, m.answered_at = "answered", at + DAY
    db.session.flush()
    ask_and_remind(at + 15 * DAY)
    for f in _followups(db):
        answer_followup(f.message, "solved" if f.kind == "answered" else "no_answer",
                        resident=db.session.get(type(world.writer), f.resident_id))
    (r,) = year_responsiveness(YEAR)
    assert (r.asked, r.asked_unanswered, r.solved, r.no_answer) == (20, 10, 10, 10)
    assert r.rate == pytest.approx(0.5)


def test_the_message_page_asks_the_unanswered_question(client, db, world, add_message):
    from backend.records.responsiveness import ask_and_remind
    at = bj(YEAR, 5, 6, 10)
    m = _silent(db, world, add_message, at=at, due_days=5)
    ask_and_remind(at + 5 * DAY)
    db.session.commit()
    client.set_cookie("lx_resident", world.writer.web_key)
    page = client.get(f"/m/{m.id}").get_data(as_text=True)
    assert "您反映的问题得到答复了吗？" in page and "答复解决了您反映的问题吗？" not in page
    assert "没有答复" in page and "已过答复期限" in page


def test_the_office_page_counts_the_unanswered_asked(client, login, db, world, add_message,
                                                     make_staff):
    from backend.records.responsiveness import ask_and_remind
    at = bj(YEAR, 5, 6, 10)
    _silent(db, world, add_message, at=at, due_days=5)
    ask_and_remind(at + 5 * DAY)
    admin = make_staff("admin")
    db.session.commit()
    page = login(admin).get(f"/staff/records/responsiveness?year={YEAR}").get_data(as_text=True)
    assert 'data-testid="unanswered-王建国">1<' in page and "其中未获答复" in page
