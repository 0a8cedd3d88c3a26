"""The liaison queue: what a liaison may see, in which order, filtered, paged by keyset."""
from datetime import datetime, timedelta, timezone

import pytest

from backend.core.errors import Forbidden, ValidationFailed
from backend.messages import operations as ops
from backend.messages.queue import (
    QueueFilters, deputy_inbox, deputy_unread_count, is_overdue, liaison_queue, queue_counts,
)


@pytest.fixture
def station_with_messages(db, make_station, make_deputy, liaison_of, submit):
    station = make_station()
    deputy = make_deputy(stations=[station])
    liaison = liaison_of(station)
    base = datetime(2026, 11, 2, 2, tzinfo=timezone.utc)
    messages = [submit(deputy=deputy, now=base + timedelta(days=i),
                       body=f"第{i}条留言：楼道灯不亮了").message for i in range(25)]
    return station, deputy, liaison, messages


def test_oldest_due_first_and_pages_without_gaps_or_repeats(db, station_with_messages):
    _, _, liaison, messages = station_with_messages
    seen, cursor = [], None
    while True:
        page = liaison_queue(liaison, QueueFilters(), cursor=cursor, limit=7)
        seen += [m.id for m in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [m.id for m in sorted(messages, key=lambda m: (m.answer_due_at, m.id))]


def test_liaison_sees_only_their_stations(db, station_with_messages, make_station, liaison_of):
    station, _, _, _ = station_with_messages
    stranger = liaison_of(make_station())
    assert liaison_queue(stranger, QueueFilters()).items == []
    with pytest.raises(Forbidden):
        liaison_queue(stranger, QueueFilters(station_ids=[station.id]))


def test_deputies_and_departments_have_no_queue(db, station_with_messages, make_staff,
                                               make_deputy):
    with pytest.raises(Forbidden):
        liaison_queue(make_staff("deputy", deputy=make_deputy()), QueueFilters())


def test_filters(db, station_with_messages):
    _, deputy, liaison, messages = station_with_messages
    ops.set_category(messages[3], "城乡建设", actor=liaison)
    ops.reject(messages[4], reason="重复留言", actor=liaison)
    assert [m.id for m in liaison_queue(liaison, QueueFilters(category="城乡建设")).items] == [messages[3].id]
    assert messages[4].id not in [m.id for m in liaison_queue(liaison, QueueFilters(), limit=50).items]
    assert [m.id for m in liaison_queue(liaison, QueueFilters(status="rejected")).items] == [messages[4].id]
    found = liaison_queue(liaison, QueueFilters(q="第7条")).items
    assert [m.id for m in found] == [messages[7].id]
    assert liaison_queue(liaison, QueueFilters(q="100%")).items == []  # % is literal


def test_overdue_filter_and_counts(db, station_with_messages):
    _, _, liaison, messages = station_with_messages
    now = messages[5].answer_due_at + timedelta(seconds=1)
    overdue = liaison_queue(liaison, QueueFilters(overdue=True), now=now, limit=50).items
    assert {m.id for m in overdue} >= {m.id for m in messages[:6]}
    assert all(is_overdue(m, now) for m in overdue)
    assert queue_counts(liaison, now)["overdue"] == len(overdue)


def test_bad_cursor_is_a_clear_error(db, station_with_messages):
    _, _, liaison, _ = station_with_messages
    with pytest.raises(ValidationFailed) as err:
        liaison_queue(liaison, QueueFilters(), cursor="not-a-cursor")
    assert err.value.code == "cursor_invalid"


def test_deputy_inbox_newest_first_with_unread(db, station_with_messages, deputy_user):
    _, deputy, _, messages = station_with_messages
    user = deputy_user(deputy)
    page = deputy_inbox(deputy.id, limit=10)
    assert [m.id for m in page.items] == [m.id for m in messages[::-1][:10]]
    assert deputy_unread_count(deputy.id) == 25
    ops.mark_read(messages[0], actor=user)
    assert deputy_unread_count(deputy.id) == 24
    rest = deputy_inbox(deputy.id, cursor=page.next_cursor, limit=100)
    assert len(rest.items) == 15 and rest.next_cursor is None
