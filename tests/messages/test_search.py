"""Chinese full-text search of messages: the same answers on SQLite (FTS5) and PostgreSQL (GIN),
kept up to date as messages change, within what the searcher may see."""
import pytest
import sqlalchemy as sa

from backend.core.errors import Forbidden, ValidationFailed
from backend.core.extensions import db
from backend.messages import operations as ops
from backend.messages.models import Message
from backend.messages.queue import QueueFilters, liaison_queue
from backend.messages.search import index_tokens, query_terms

LAMP = "小区东门的路灯坏了一个多月，晚上出入很不安全，希望物业尽快维修。"
PARKING = "停车场乱收费，物业公司每月多收业主两百元，请代表关注。"
NOISE = "夜间施工噪音扰民，工地每天干到凌晨两点。"


@pytest.fixture
def world(db, make_station, make_deputy, liaison_of, submit):
    from types import SimpleNamespace
    a, b = make_station(), make_station()
    w = SimpleNamespace(station_a=a, station_b=b, deputy_a=make_deputy(stations=[a]),
                        deputy_b=make_deputy(stations=[b]))
    w.liaison_a, w.liaison_b = liaison_of(a), liaison_of(b)
    w.lamp = submit(deputy=w.deputy_a, body=LAMP).message
    w.parking = submit(deputy=w.deputy_a, body=PARKING, place="幸福里小区3号楼").message
    w.noise = submit(deputy=w.deputy_a, body=NOISE).message
    w.parking_b = submit(deputy=w.deputy_b, body=PARKING).message
    db.session.commit()
    return w


def found(user, q: str, **kw) -> set[int]:
    return {m.id for m in liaison_queue(user, QueueFilters(**{"q": q, "status": "all", **kw})).items}


def test_two_words_anywhere_in_the_message(world):
    w = world
    # Neither adjacent nor in this order in the message, and jieba cuts the query unspaced too.
    assert found(w.liaison_a, "收费 停车") == {w.parking.id}
    assert found(w.liaison_a, "停车收费") == {w.parking.id}
    assert found(w.liaison_a, "路灯 维修") == {w.lamp.id}
    assert found(w.liaison_a, "物业") == {w.lamp.id, w.parking.id}


def test_a_word_inside_a_longer_compound(world):
    w = world
    assert found(w.liaison_a, "停车") == {w.parking.id}  # in 停车场
    assert found(w.liaison_a, "物业公司") == {w.parking.id}
    assert found(w.liaison_a, "施工") == {w.noise.id}  # in 夜间施工噪音扰民
    assert found(w.liaison_a, "幸福里") == {w.parking.id}  # the place is searched too
    assert found(w.liaison_a, "3号楼") == {w.parking.id}


def test_every_word_must_match(world):
    w = world
    assert found(w.liaison_a, "路灯 收费") == set()
    assert found(w.liaison_a, "地铁") == set()
    assert found(w.liaison_a, "停车 地铁") == set()


@pytest.mark.parametrize("q,code", [
    ("，。！？……", "search_query_too_short"),
    ("路", "search_query_too_short"),
    ("\x00\x00", "search_query_too_short"),
    ("%_\\'\"*:&|!()", "search_query_too_short"),
    ("".join(chr(0x4e00 + 7 * i) for i in range(40)), "search_query_too_long"),
])
def test_bad_queries_get_a_clear_error(world, q, code):
    with pytest.raises(ValidationFailed) as err:
        liaison_queue(world.liaison_a, QueueFilters(q=q, status="all"))
    assert err.value.code == code and "关键词" in err.value.message


def test_query_syntax_of_either_database_is_plain_text(world):
    w = world
    # FTS5 and tsquery operators in what is typed are only separators, never syntax.
    assert found(w.liaison_a, 'NEAR("停车" 收费) OR 路灯') == set()
    assert found(w.liaison_a, "停车 & 收费 | !") == {w.parking.id}
    assert found(w.liaison_a, "停车 | !路灯") == set()  # every word, whatever is between them
    assert found(w.liaison_a, "停车\x00收费") == {w.parking.id}
    assert found(w.liaison_a, "停车" * 60) == {w.parking.id}  # cut to the first 100 characters


def test_a_liaison_finds_only_their_stations(world):
    w = world
    assert found(w.liaison_a, "停车 收费") == {w.parking.id}
    assert found(w.liaison_b, "停车 收费") == {w.parking_b.id}
    with pytest.raises(Forbidden):
        found(w.liaison_b, "停车", station_ids=[w.station_a.id])


def test_results_newest_first_paged_by_id(world, submit):
    w = world
    more = [submit(deputy=w.deputy_a, body=f"第{i}次反映：物业不管楼道卫生。").message for i in range(5)]
    db.session.commit()
    seen, cursor = [], None
    while True:
        page = liaison_queue(w.liaison_a, QueueFilters(q="物业", status="all"), cursor=cursor,
                             limit=3)
        seen += [m.id for m in page.items]
        if not (cursor := page.next_cursor):
            break
    assert seen == sorted([w.lamp.id, w.parking.id, *(m.id for m in more)], reverse=True)


def test_an_edited_or_anonymised_message_is_found_by_its_new_words_only(world):
    w = world
    # No operation edits a body yet; any that does (an edit, an anonymisation) goes through the
    # ORM, whose hook rewrites the tokens.
    w.noise.body = "（内容已按居民要求隐去）"
    w.lamp.place = "和平路"
    db.session.commit()
    assert found(w.liaison_a, "施工") == set()
    assert found(w.liaison_a, "隐去") == {w.noise.id}
    assert found(w.liaison_a, "和平路 路灯") == {w.lamp.id}


def test_a_merged_message_is_found_with_the_case_it_joined(world, submit, make_staff):
    w = world
    extra = submit(deputy=w.deputy_a, body="工地晚上机器轰鸣，孩子没法睡觉。").message
    db.session.commit()
    assert found(w.liaison_a, "轰鸣") == {extra.id}
    ops.merge(extra, w.noise, actor=w.liaison_a)
    db.session.commit()
    assert found(w.liaison_a, "轰鸣") == {extra.id, w.noise.id}
    assert found(w.liaison_a, "轰鸣", status="merged") == {extra.id}


def test_tokens_are_what_both_databases_index(world):
    tokens = index_tokens("停车场ABC，3号楼")
    assert tokens.split(" ") == ["停车", "车场", "abc", "3", "号楼"]
    assert query_terms("停车场 abc") == ["停车", "车场", "abc"]
    stored = db.session.scalar(sa.select(Message.search_tokens).where(Message.id == world.parking.id))
    assert "停车" in stored.split(" ") and "3" in stored.split(" ")


def test_sqlite_index_is_kept_by_triggers(app, is_postgres):
    """A batch migration that recreates `messages` on SQLite drops its triggers: this fails then."""
    if is_postgres:
        names = db.session.scalars(sa.text(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'messages'")).all()
        assert "ix_messages_search" in names
        return
    names = set(db.session.scalars(sa.text(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'messages'")))
    assert {"messages_fts_insert", "messages_fts_update", "messages_fts_delete"} <= names


def test_the_migration_backfills_existing_messages(app, world):
    from flask_migrate import downgrade, upgrade
    from backend.accounts.models import StaffUser
    liaison, parking, noise, lamp = (world.liaison_a.id, world.parking.id, world.noise.id,
                                     world.lamp.id)

    def migrate_again():
        db.session.remove()
        downgrade(revision="1f11958d5579")  # the revision before the search tokens
        upgrade()
        return db.session.get(StaffUser, liaison)

    assert found(migrate_again(), "停车 收费") == {parking}
    user = db.session.get(StaffUser, liaison)
    ops.merge(db.session.get(Message, noise), db.session.get(Message, lamp), actor=user)
    db.session.commit()
    # The backfill gives a case the words of the messages merged into it, as the merge did.
    assert found(migrate_again(), "施工 噪音") == {noise, lamp}


def test_two_messages_merged_into_one_case_at_once_both_find_it(app, world, submit, postgres_only):
    from tests.conftest import at_once
    from backend.accounts.models import StaffUser
    w = world
    first = submit(deputy=w.deputy_a, body="工地晚上机器轰鸣，孩子没法睡觉。").message
    second = submit(deputy=w.deputy_a, body="搅拌车半夜进出，震得窗户哗哗响。").message
    db.session.commit()
    ids = (first.id, second.id, w.noise.id, w.liaison_a.id)
    db.session.remove()

    def merge(message_id):
        return lambda: ops.merge(db.session.get(Message, message_id),
                                 db.session.get(Message, ids[2]),
                                 actor=db.session.get(StaffUser, ids[3]))
    outcomes = at_once(app, merge(ids[0]), merge(ids[1]))
    assert not any(isinstance(o, Exception) for o in outcomes), outcomes
    liaison = db.session.get(StaffUser, ids[3])
    assert found(liaison, "轰鸣") == {ids[0], ids[2]}
    assert found(liaison, "搅拌车") == {ids[1], ids[2]}
