"""回访 (WriteToThem's questionnaire): asked two weeks after the answer, reminded once a week
later, run idempotently by the scheduler; one answer per resident per message, on the portal;
rates from fewer than 10 answers are 样本太少 and never ranked; ranked ones carry a Wilson
interval and a caveat in plain words."""
import secrets
from datetime import timedelta

import pytest

from backend.core.timeutil import local_today
from tests.records.conftest import bj

YEAR = local_today().year - 1  # a whole past year: every date below is in the past
ANSWERED = bj(YEAR, 3, 2, 10)
DAY = timedelta(days=1)


@pytest.fixture
def world(db, make_station, make_deputy, make_resident, make_staff, add_message):
    class World:
        pass
    w = World()
    w.station = make_station()
    w.deputy = make_deputy(stations=[w.station], name="王建国")
    w.writer = make_resident(web_key=secrets.token_urlsafe(32))
    w.stranger = make_resident(web_key=secrets.token_urlsafe(32))
    w.message = add_message(w.station, to=w.deputy, assigned=w.deputy,
                            at=ANSWERED - 3 * DAY, answered=ANSWERED)
    w.message.resident_id = w.writer.id
    w.admin = make_staff("admin")
    db.session.commit()
    return w


def _followups(db):
    from backend.records.responsiveness_model import FollowUp
    return list(db.session.scalars(db.select(FollowUp)))


def _notices(db, topic):
    from backend.notifications.models import Notification
    return list(db.session.scalars(db.select(Notification).filter_by(topic=topic)))


def test_asked_after_two_weeks_and_reminded_once_a_week_later(db, world):
    from backend.jobs.scheduler import run_job
    assert run_job("records.followups", now=ANSWERED + 13 * DAY) == "done"
    assert _followups(db) == []  # not yet two weeks
    assert run_job("records.followups", now=ANSWERED + 14 * DAY) == "done"
    assert run_job("records.followups", now=ANSWERED + 14 * DAY + timedelta(hours=2)) == "skipped"
    assert run_job("records.followups", now=ANSWERED + 15 * DAY) == "done"  # the next day
    (f,) = _followups(db)
    assert (f.deputy_id, f.resident_id, f.answered_at) == (world.deputy.id, world.writer.id,
                                                          ANSWERED)
    (ask,) = _notices(db, "followup.ask")
    assert ask.recipient_id == world.writer.id and ask.place_ref == f"resident_message:{world.message.id}"
    assert _notices(db, "followup.remind") == []
    for days in (21, 22, 30):
        run_job("records.followups", now=ANSWERED + days * DAY)
    assert len(_notices(db, "followup.remind")) == 1 and len(_notices(db, "followup.ask")) == 1


def test_only_messages_with_a_writer_are_asked(db, world, add_message):
    from backend.records.responsiveness import ask_and_remind
    add_message(world.station, to=world.deputy, assigned=world.deputy, at=ANSWERED,
                answered=ANSWERED)  # no resident (entered by staff)
    add_message(world.station, to=world.deputy, assigned=world.deputy, at=ANSWERED)  # no answer
    reopened = add_message(world.station, to=world.deputy, assigned=world.deputy, at=ANSWERED,
                           status="reopened")
    reopened.resident_id = world.stranger.id
    assert ask_and_remind(ANSWERED + 20 * DAY) == (2, 0)
    # The reopened one has no standing answer: asked as unanswered (tests in
    # test_responsiveness_unanswered.py), the writer-less ones never.
    assert sorted((f.message_id, f.kind) for f in _followups(db)) == sorted(
        [(world.message.id, "answered"), (reopened.id, "unanswered")])


def _ask(db, world):
    from backend.records.responsiveness import ask_and_remind
    ask_and_remind(ANSWERED + 14 * DAY)
    db.session.commit()


def _as(client, resident):
    client.set_cookie("lx_resident", resident.web_key)
    return client


def test_the_writer_answers_once_on_the_message_page(client, db, world):
    from tests.conftest import csrf_token
    _ask(db, world)
    url = f"/m/{world.message.id}"
    page = _as(client, world.writer).get(url).get_data(as_text=True)
    assert "答复解决了您反映的问题吗？" in page and "答复了但没解决" in page
    token = csrf_token(client, url)
    resp = client.post(f"{url}/followup", data={"response": "unsolved", "csrf_token": token})
    assert resp.status_code == 302
    (f,) = _followups(db)
    db.session.refresh(f)
    assert f.response == "unsolved" and f.responded_at is not None
    assert "答复解决了您反映的问题吗？" not in client.get(url).get_data(as_text=True)
    # A second answer is refused in Chinese and changes nothing.
    resp = client.post(f"{url}/followup", data={"response": "solved", "csrf_token": token},
                       follow_redirects=True)
    assert "每条留言只能回答一次" in resp.get_data(as_text=True)
    db.session.refresh(f)
    assert f.response == "unsolved"


def test_a_bad_answer_is_refused_and_changes_nothing(client, db, world):
    from tests.conftest import csrf_token
    _ask(db, world)
    url = f"/m/{world.message.id}"
    token = csrf_token(_as(client, world.writer), url)
    resp = client.post(f"{url}/followup", data={"response": "great", "csrf_token": token},
                       follow_redirects=True)
    assert "请选择一项：已解决、答复了但没解决、只是收到或没有答复" in resp.get_data(as_text=True)
    (f,) = _followups(db)
    assert f.response is None


def test_a_stranger_can_neither_see_nor_answer(client, db, world):
    from tests.conftest import csrf_token
    _ask(db, world)
    _as(client, world.stranger)
    assert client.get(f"/m/{world.message.id}").status_code == 404
    token = csrf_token(client, "/track")
    resp = client.post(f"/m/{world.message.id}/followup",
                       data={"response": "solved", "csrf_token": token})
    assert resp.status_code == 404
    assert _followups(db)[0].response is None


def test_wilson_interval():
    from backend.records.responsiveness import wilson
    low, high = wilson(8, 10)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)
    low, high = wilson(80, 100)
    assert (round(low, 4), round(high, 4)) == (0.7112, 0.8666)
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == 1.0


def _answered_followups(db, make_deputy, make_resident, station, name, answers):
    """A deputy with one answered follow-up per value in `answers`."""
    from backend.messages.models import Message
    from backend.records.responsiveness_model import FollowUp
    deputy = make_deputy(stations=[station], name=name)
    for value in answers:
        resident = make_resident()
        m = Message(station_id=station.id, deputy_id=deputy.id, assigned_deputy_id=deputy.id,
                    resident_id=resident.id, status="closed", body="路灯坏了",
                    created_at=ANSWERED - DAY, ack_due_at=ANSWERED, answer_due_at=ANSWERED,
                    answered_at=ANSWERED)
        db.session.add(m)
        db.session.flush()
        db.session.add(FollowUp(message_id=m.id, deputy_id=deputy.id, resident_id=resident.id,
                                answered_at=ANSWERED, asked_at=ANSWERED + 14 * DAY,
                                response=value,
                                responded_at=None if value is None else ANSWERED + 15 * DAY))
    db.session.flush()
    return deputy


def test_few_answers_are_never_ranked_and_ranked_rates_carry_an_interval(
        client, login, db, world, make_deputy, make_resident):
    from backend.records.responsiveness import year_responsiveness
    few = _answered_followups(db, make_deputy, make_resident, world.station, "少数代表",
                              ["solved"] * 9 + [None] * 5)  # 9 answers: too few, even if perfect
    good = _answered_followups(db, make_deputy, make_resident, world.station, "甲代表",
                               ["solved"] * 8 + ["unsolved", "acknowledged"])
    _answered_followups(db, make_deputy, make_resident, world.station, "乙代表",
                        ["solved"] * 12 + ["no_answer"] * 8)
    db.session.commit()
    rows = {r.name: r for r in year_responsiveness(YEAR)}
    assert rows["少数代表"].rank is None and rows["少数代表"].rate is None
    assert (rows["少数代表"].asked, rows["少数代表"].responses) == (14, 9)
    assert (rows["甲代表"].rank, rows["乙代表"].rank) == (1, 2)
    assert [r.name for r in year_responsiveness(YEAR)] == ["甲代表", "乙代表", "少数代表"]

    text = login(world.admin).get(f"/staff/records/responsiveness?year={YEAR}").get_data(
        as_text=True)
    assert "80.0%（49.0%–94.3%）" in text
    assert "样本太少（回答不足 10 人）" in text
    assert "排名先后并不说明谁做得更好" in text
    page = client.get(f"/staff/records/deputies/{few.id}?year={YEAR}").get_data(as_text=True)
    assert "回访 14 人，回答 9 人：已解决 9" in page and "样本太少，不计算解决率" in page
    page = client.get(f"/staff/records/deputies/{good.id}?year={YEAR}").get_data(as_text=True)
    assert "解决率 80.0%，95% 置信区间 49.0%–94.3%" in page


def test_the_judgement_stays_in_the_year_of_the_answer(db, world, make_deputy, make_resident):
    from backend.records.responsiveness import year_responsiveness
    _answered_followups(db, make_deputy, make_resident, world.station, "甲代表", ["solved"] * 10)
    db.session.commit()
    assert [r.name for r in year_responsiveness(YEAR)] == ["甲代表"]
    assert year_responsiveness(YEAR + 1) == [] and year_responsiveness(YEAR - 1) == []
