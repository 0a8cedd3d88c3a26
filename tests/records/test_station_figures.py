"""Station and district figures per month: each definition, months in Beijing time, a deputy's
move leaving the old station its messages, and the district equal to the sum of its stations."""
from datetime import date

import sqlalchemy as sa

from backend.records.station_figures import Month, year_figures
from backend.suggestions.models import Suggestion, suggestion_messages
from tests.records.conftest import bj

TODAY = date(2027, 3, 1)


def _suggest(db, deputy, message, *, submitted, closed=None, status="submitted"):
    s = Suggestion(deputy_id=deputy.id, status=status, title="加装电梯", submitted_at=submitted,
                   closed_at=closed)
    db.session.add(s)
    db.session.flush()
    db.session.execute(suggestion_messages.insert().values(suggestion_id=s.id,
                                                           message_id=message.id))
    return s


def _world(db, make_station, make_deputy, add_message, add_reception_day):
    a, b = make_station(), make_station()
    d = make_deputy(stations=[a])
    # January at A (the 31st, 23:30 in Beijing is still January).
    m1 = add_message(a, to=d, assigned=d, at=bj(2026, 1, 31, 23, 30), answered=bj(2026, 2, 2, 9),
                     ratings=[("satisfied", bj(2026, 2, 3, 9))])
    add_message(a, to=d, assigned=d, at=bj(2026, 1, 5, 9))  # past its deadline, unanswered
    add_message(a, to=d, assigned=d, at=bj(2026, 1, 6, 9), status="rejected")
    add_reception_day(a, date(2026, 1, 15), duty=[d], present=[d], walk_ins=30)
    _suggest(db, d, m1, submitted=bj(2026, 2, 10, 9), closed=bj(2026, 5, 1, 9), status="closed")
    # The deputy moves to B; a message in July at B, rated dissatisfied.
    d.stations = [b]
    m2 = add_message(b, to=d, assigned=d, at=bj(2026, 7, 1, 9), answered=bj(2026, 7, 30, 9),
                     due_days=5, ratings=[("dissatisfied", bj(2026, 8, 1, 9))])
    add_reception_day(b, date(2026, 7, 15), duty=[d], present=[d], walk_ins=8)
    _suggest(db, d, m2, submitted=bj(2026, 12, 31, 23, 0))  # December, Beijing
    _suggest(db, d, m2, submitted=bj(2027, 1, 1, 1, 0))     # next year
    db.session.flush()
    return a, b


def test_station_months(db, make_station, make_deputy, add_message, add_reception_day):
    a, b = _world(db, make_station, make_deputy, add_message, add_reception_day)
    district, stations = year_figures(2026, today=TODAY)
    fa, fb = stations
    assert (fa.station_id, fb.station_id) == (a.id, b.id)
    jan = fa.months[1]
    assert (jan.messages, jan.answered_on_time, jan.due, jan.received_people) == (2, 1, 2, 30)
    assert jan.on_time_rate == 0.5
    assert (fa.months[2].suggestions_formed, fa.months[2].satisfied, fa.months[2].rated) == (
        1, 1, 1)
    assert fa.months[5].suggestions_closed == 1
    # What happened at B after the move stays at B; A keeps its own.
    jul = fb.months[7]
    assert (jul.messages, jul.answered_on_time, jul.due, jul.received_people) == (1, 0, 1, 8)
    assert (fb.months[8].rated, fb.months[8].satisfied) == (1, 0)
    assert fb.months[12].suggestions_formed == 1 and fa.total.messages == 2
    assert fb.total.suggestions_formed == 1  # the one of 1 January 2027 is not in 2026


def test_the_district_equals_the_sum_of_its_stations(db, make_station, make_deputy,
                                                     add_message, add_reception_day):
    _world(db, make_station, make_deputy, add_message, add_reception_day)
    district, stations = year_figures(2026, today=TODAY)
    for month in range(1, 13):
        assert district.months[month] == sum((s.months[month] for s in stations), Month())
    assert district.total.messages == 3 and district.total.received_people == 38
    assert district.total.suggestions_formed == 2 and district.total.rated == 2


def test_an_empty_year_is_zeros(db, make_station):
    make_station()
    district, [station] = year_figures(2025, today=TODAY)
    assert district.total == Month() and station.total == Month()
    assert station.total.on_time_rate is None and station.total.satisfaction_rate is None


def test_the_number_of_queries_does_not_grow_with_the_stations(db, make_station):
    first = [make_station() for _ in range(6)][0]
    db.session.commit()

    def count(ids):
        seen = []
        listen = lambda *a, **k: seen.append(1)  # noqa: E731
        sa.event.listen(db.engine, "before_cursor_execute", listen)
        try:
            year_figures(2026, station_ids=ids, today=TODAY)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listen)
        return len(seen)
    count([first.id])  # warm: the first statement of a transaction
    assert count([first.id]) == count(None)
