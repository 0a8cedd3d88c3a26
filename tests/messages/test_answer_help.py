"""Help with an answer: earlier answers on the same subject (answers only, within the stations the
user may draw on) and plain hints on a draft, which never stop an answer being sent."""
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from backend.core.errors import Forbidden, ValidationFailed
from backend.core.extensions import db
from backend.messages import operations as ops
from backend.messages.answer_help import draft_hints, earlier_answers, key_words

LAMP = "小区东门的路灯坏了一个多月，晚上出入很不安全，希望尽快维修。"
GOOD = "关于小区东门路灯损坏的问题，已联系城关街道办事处，城管中心将于本周内派员维修路灯。"


@pytest.fixture
def world(db, make_station, make_deputy, liaison_of, deputy_user, submit):
    a, b = make_station(), make_station()
    w = SimpleNamespace(station_a=a, station_b=b)
    w.deputy_a, w.deputy_a2 = make_deputy(name="王建国", stations=[a]), make_deputy(stations=[a])
    w.deputy_b = make_deputy(stations=[b])
    w.user_a, w.user_a2, w.user_b = (deputy_user(w.deputy_a), deputy_user(w.deputy_a2),
                                     deputy_user(w.deputy_b))
    w.liaison_a, w.liaison_b = liaison_of(a), liaison_of(b)
    w.message = submit(deputy=w.deputy_a, body=LAMP).message
    # Answered before: in station A by the other deputy, in station B, and one not answered.
    w.old_a = submit(deputy=w.deputy_a2, body="解放路的路灯不亮，老人晚上出门不方便。").message
    ops.reply(w.old_a, "已请区城管局路灯所维修解放路路灯，联系电话 0510-88886666，三个工作日内修好。",
              actor=w.user_a2)
    w.old_b = submit(deputy=w.deputy_b, body="我们村的路灯一到晚上就不亮。").message
    ops.reply(w.old_b, "已联系镇政府更换村里的路灯，本月底前完成。", actor=w.user_b)
    w.open_a = submit(deputy=w.deputy_a2, body="河边步道的路灯也坏了。").message
    db.session.commit()
    return w


def test_earlier_answers_of_the_deputys_stations_only(world):
    w = world
    found = earlier_answers(w.user_a, w.message, "路灯")
    assert [a.message_id for a in found] == [w.old_a.id]  # not station B's, not unanswered, not itself
    assert found[0].deputy_name == w.deputy_a2.name
    # A phone number in an answer is not carried into another.
    assert "88886666" not in found[0].text and "三个工作日内修好" in found[0].text
    assert [a.message_id for a in earlier_answers(w.user_b, w.old_b, "路灯")] == []
    assert earlier_answers(w.user_a, w.message, "路灯 地铁") == []


def test_a_deputy_of_two_stations_draws_on_both(world, make_deputy, deputy_user, submit):
    w = world
    both = make_deputy(stations=[w.station_a, w.station_b])
    mine = submit(deputy=both, station=w.station_b, body="村口路灯坏了好几天。").message
    db.session.commit()
    found = earlier_answers(deputy_user(both), mine, "路灯")
    assert {a.message_id for a in found} == {w.old_a.id, w.old_b.id}


def test_only_who_handles_the_message_searches_from_it(world):
    w = world
    with pytest.raises(Forbidden):
        earlier_answers(w.user_b, w.message, "路灯")  # not theirs
    with pytest.raises(Forbidden):
        earlier_answers(w.liaison_b, w.message, "路灯")
    assert [a.message_id for a in earlier_answers(w.liaison_a, w.message, "路灯")] == [w.old_a.id]


def test_bad_search_words_are_a_clear_error(world):
    with pytest.raises(ValidationFailed) as err:
        earlier_answers(world.user_a, world.message, "！！")
    assert err.value.code == "search_query_too_short"


def test_key_words_prefill_the_search(world):
    assert key_words(world.message).split() == ["小区", "东门", "路灯"]


# ---- hints: each fires on an answer made to miss it, and not on one that has it ----

def _codes(message, text, now=None):
    return {h.code for h in draft_hints(message, text, now=now)}


def test_a_complete_answer_gets_no_hint(world):
    assert _codes(world.message, GOOD) == set()


@pytest.mark.parametrize("text,fires", [
    ("感谢您对教育工作的关心，已请区教育局督促学校本周内整改食堂卫生。", {"off_topic"}),
    ("您反映的小区东门路灯问题已收悉，谢谢。", {"no_action", "no_body", "no_date"}),
    ("小区东门路灯已安排人员维修，预计本周内修好。", {"no_body"}),
    ("已联系城关街道办事处尽快维修小区东门路灯。", {"no_date"}),
    ("小区东门路灯的情况，街道办事处本周内会给您答复。", {"no_action"}),
])
def test_each_hint_fires_on_what_it_misses(world, text, fires):
    assert _codes(world.message, text) == fires


def test_late_by_the_stations_clock(world):
    m = world.message
    assert "late" not in _codes(m, GOOD, now=m.answer_due_at - timedelta(hours=1))
    late = draft_hints(m, GOOD, now=m.answer_due_at + timedelta(days=3, hours=1))
    assert [h.code for h in late] == ["late"] and "已超过答复期限 3 天" in late[0].message


def test_an_answer_with_every_hint_is_still_sent(world):
    m = world.message
    text = "已收悉，谢谢您。"
    assert _codes(m, text, now=m.answer_due_at + timedelta(days=1)) == {
        "off_topic", "no_action", "no_body", "no_date", "late"}
    ops.reply(m, text, actor=world.user_a)
    db.session.commit()
    assert m.status == "answered"
