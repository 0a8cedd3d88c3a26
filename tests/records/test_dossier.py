"""The deputy's record of duty for a year: each definition, the Beijing year boundary, a
deputy who moved station, a deputy with nothing (zeros), and a constant number of queries."""
from datetime import date

import pytest
import sqlalchemy as sa

from backend.records.dossier import deputy_record, deputy_records
from backend.suggestions.models import Suggestion, SuggestionCosigner, suggestion_messages
from tests.records.conftest import bj

TODAY = date(2027, 3, 1)


def test_messages_received_answered_and_the_median_over_theirs_only(
        db, make_station, make_deputy, add_message):
    st = make_station()
    d, other = make_deputy(stations=[st]), make_deputy(stations=[st])
    # Received Monday 2026-03-02; answered after 1, 3 and 10 working days.
    add_message(st, to=d, assigned=d, at=bj(2026, 3, 2, 9), answered=bj(2026, 3, 3, 9))
    add_message(st, to=d, assigned=d, at=bj(2026, 3, 2, 9), answered=bj(2026, 3, 5, 9))
    add_message(st, to=d, assigned=d, at=bj(2026, 3, 2, 9), answered=bj(2026, 3, 16, 9),
                due_days=5)  # late
    # Written to d but handed to the other deputy: received, not theirs to answer.
    add_message(st, to=d, assigned=other, at=bj(2026, 3, 2, 9), answered=bj(2026, 4, 30, 9))
    add_message(st, to=d, assigned=d, at=bj(2026, 3, 9, 9))  # theirs, not answered
    add_message(st, to=d, assigned=d, at=bj(2026, 3, 9, 9), status="forwarded")
    for status in ("held", "rejected", "merged"):
        if status == "merged":
            continue  # needs a target; held and rejected make the point
        add_message(st, to=d, assigned=d, at=bj(2026, 3, 9, 9), status=status)
    r = deputy_record(d, 2026, today=TODAY)
    assert (r.received, r.theirs, r.answered, r.answered_on_time) == (6, 4, 3, 2)
    assert r.median_workdays == 3.0
    o = deputy_record(other, 2026, today=TODAY)
    assert (o.received, o.theirs, o.answered) == (1, 1, 1)


def test_ratings_count_the_latest_round_of_theirs(db, make_station, make_deputy, add_message):
    st = make_station()
    d = make_deputy(stations=[st])
    add_message(st, to=d, assigned=d, at=bj(2026, 5, 1, 9), answered=bj(2026, 5, 6, 9),
                ratings=[("dissatisfied", bj(2026, 5, 7, 9)), ("satisfied", bj(2026, 5, 20, 9))])
    add_message(st, to=d, assigned=d, at=bj(2026, 5, 1, 9), answered=bj(2026, 5, 6, 9),
                ratings=[("basically_satisfied", bj(2026, 5, 7, 9))])
    r = deputy_record(d, 2026, today=TODAY)
    assert (r.satisfied, r.basically_satisfied, r.dissatisfied) == (1, 1, 0)
    assert r.satisfaction_rate == 1.0


def test_the_year_is_counted_in_beijing_time(db, make_station, make_deputy, add_message,
                                             add_activity):
    st = make_station()
    d = make_deputy(stations=[st])
    add_message(st, to=d, assigned=d, at=bj(2026, 12, 31, 23, 30))  # 15:30 UTC on the 31st
    add_message(st, to=d, assigned=d, at=bj(2027, 1, 1, 0, 30))     # 16:30 UTC on the 31st
    add_activity(at=bj(2026, 12, 31, 23, 0), attendances={d: "attended"})
    add_activity(at=bj(2027, 1, 1, 7, 0), attendances={d: "absent"})
    r26, r27 = deputy_record(d, 2026, today=TODAY), deputy_record(d, 2027, today=TODAY)
    assert (r26.received, r26.attended, r26.absent) == (1, 1, 0)
    assert (r27.received, r27.attended, r27.absent) == (1, 0, 1)


def test_a_deputy_who_moved_station_keeps_the_whole_year(db, make_station, make_deputy,
                                                        add_message, add_reception_day):
    a, b = make_station(), make_station()
    d = make_deputy(stations=[a])
    add_message(a, to=d, assigned=d, at=bj(2026, 3, 1, 9), answered=bj(2026, 3, 3, 9))
    add_reception_day(a, date(2026, 3, 15), duty=[d], present=[d])
    d.stations = [b]  # moved in June
    db.session.flush()
    add_message(b, to=d, assigned=d, at=bj(2026, 7, 1, 9), answered=bj(2026, 7, 3, 9))
    add_reception_day(b, date(2026, 7, 15), duty=[d], present=[])
    r = deputy_record(d, 2026, today=TODAY)
    assert (r.received, r.answered, r.duties, r.duties_kept, r.duties_missed) == (2, 2, 2, 1, 1)
    assert r.stations == b.name


def test_a_deputy_with_nothing_shows_zeros_not_errors(db, make_deputy):
    r = deputy_record(make_deputy(), 2026, today=TODAY)
    assert (r.received, r.theirs, r.duties, r.invited, r.cosigned, r.suggestions.made) == (
        0, 0, 0, 0, 0, 0)
    assert r.median_workdays is None and r.satisfaction_rate is None
    assert r.participation_rate is None and r.answer_rate is None


def test_reception_duties_kept_missed_unrecorded_swapped_and_future(
        db, make_station, make_deputy, add_reception_day):
    from backend.reception.models import DutySwap, ReceptionDuty
    st = make_station()
    d, e = make_deputy(stations=[st]), make_deputy(stations=[st])
    add_reception_day(st, date(2026, 1, 15), duty=[d, e], present=[d], walk_ins=12)
    add_reception_day(st, date(2026, 2, 15), duty=[d], present=[e])
    add_reception_day(st, date(2026, 3, 15), duty=[d])  # no record yet
    add_reception_day(st, date(2026, 4, 15), duty=[d], status="cancelled")
    future = add_reception_day(st, date(2026, 5, 15), duty=[d])
    swapped = add_reception_day(st, date(2026, 6, 15), duty=[e])
    duty = db.session.scalar(sa.select(ReceptionDuty).filter_by(day_id=swapped.id))
    db.session.add(DutySwap(duty_id=duty.id, from_deputy_id=d.id, to_deputy_id=e.id,
                            status="approved"))
    db.session.flush()
    r = deputy_record(d, 2026, today=date(2026, 5, 1))
    assert (r.duties, r.duties_kept, r.duties_missed, r.duties_unrecorded) == (3, 1, 1, 1)
    assert r.swapped_out == 1
    assert future.date > date(2026, 5, 1)


def test_activities_and_participation(db, make_station, make_deputy, add_activity):
    st = make_station()
    d = make_deputy(stations=[st])
    add_activity(at=bj(2026, 4, 1, 9), attendances={d: "attended"})
    add_activity(at=bj(2026, 4, 2, 9), attendances={d: "excused"})
    add_activity(at=bj(2026, 4, 3, 9), attendances={d: "absent"})
    add_activity(at=bj(2026, 4, 4, 9), attendances={d: "invited"}, status="cancelled")
    add_activity(at=bj(2026, 12, 4, 9), attendances={d: "accepted"}, status="planned")
    add_activity(at=bj(2026, 4, 5, 9), attendances={d: "attended"}, origin="reported",
                 status="confirmed", station=st)
    add_activity(at=bj(2026, 4, 6, 9), attendances={d: "attended"}, origin="reported",
                 status="rejected", station=st)
    r = deputy_record(d, 2026, today=TODAY)
    assert (r.invited, r.attended, r.excused, r.absent, r.reported) == (4, 2, 1, 1, 1)
    assert r.participation_rate == 0.5


def test_suggestions_led_and_cosigned(db, make_station, make_deputy, add_message):
    st = make_station()
    d, e = make_deputy(stations=[st]), make_deputy(stations=[st])
    m = add_message(st, to=d, assigned=d, at=bj(2026, 2, 1, 9))
    for status in ("submitted", "closed", "draft"):
        s = Suggestion(deputy_id=d.id, status=status, title="加装电梯",
                       submitted_at=None if status == "draft" else bj(2026, 6, 1, 9))
        db.session.add(s)
        db.session.flush()
        db.session.execute(suggestion_messages.insert().values(suggestion_id=s.id,
                                                               message_id=m.id))
        db.session.add(SuggestionCosigner(suggestion_id=s.id, deputy_id=e.id))
    db.session.flush()
    rd, re_ = deputy_records(2026, [d.id, e.id], today=TODAY)
    assert {rd.name, re_.name} == {d.name, e.name}
    by_id = {r.deputy_id: r for r in (rd, re_)}
    assert (by_id[d.id].suggestions.made, by_id[d.id].suggestions.closed) == (2, 1)
    assert (by_id[e.id].suggestions.made, by_id[e.id].cosigned) == (0, 2)


def test_the_number_of_queries_does_not_grow_with_the_deputies(
        db, make_station, make_deputy, add_message, add_activity):
    st = make_station()
    deputies = [make_deputy(stations=[st], with_code=False) for _ in range(12)]
    for d in deputies:
        add_message(st, to=d, assigned=d, at=bj(2026, 3, 2, 9), answered=bj(2026, 3, 4, 9))
        add_activity(at=bj(2026, 4, 1, 9), attendances={d: "attended"})
    db.session.commit()

    def queries(ids):
        seen = []
        listen = lambda *a, **k: seen.append(a[2])  # noqa: E731
        sa.event.listen(db.engine, "before_cursor_execute", listen)
        try:
            records = deputy_records(2026, ids, today=TODAY)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listen)
        assert all(r.answered == 1 and r.attended == 1 for r in records)
        return len(seen)
    queries([deputies[0].id])  # the working-day calendar is read once per process and year
    assert queries([deputies[0].id]) == queries([d.id for d in deputies]) == queries(None)


def test_the_median_counts_working_days_as_the_calendar_does(db, make_station, make_deputy,
                                                            add_message):
    """Across the National Day holiday and a Beijing midnight: each span is checked against
    workdays_between itself, and an even count takes the mean of the middle two."""
    from backend.workdays.calendar import workdays_between
    st = make_station()
    d = make_deputy(stations=[st])
    pairs = [(bj(2025, 9, 29, 9), bj(2025, 10, 9, 9)), (bj(2025, 9, 29, 9), bj(2025, 9, 30, 20)),
             (bj(2025, 9, 30, 23, 30), bj(2025, 10, 1, 0, 30)),
             (bj(2025, 9, 26, 9), bj(2025, 10, 13, 9))]
    for at, answered in pairs:
        add_message(st, to=d, assigned=d, at=at, answered=answered)
    spans = sorted(workdays_between(a, b) for a, b in pairs)
    r = deputy_record(d, 2025, today=TODAY)
    assert r.median_workdays == (spans[1] + spans[2]) / 2
