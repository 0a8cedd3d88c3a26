"""Who is on duty: the fair rotation, unavailable dates, swaps (backend/reception/rosters.py)."""
from datetime import date

import pytest

from backend.core.errors import DomainError, Forbidden, InvalidState, ValidationFailed
from backend.core.extensions import db
from backend.core.audit_model import AuditEvent
from backend.reception.models import DeputyUnavailability, DutySwap, ReceptionDuty, ReceptionRule
from backend.notifications.models import Notification
from backend.reception import rosters as ops
from tests.conftest import at_once


# ---- helpers ----

def fill_year(days):
    for day in days:
        ops.fill_duties(day)


def on_duty(day) -> list[int]:
    return sorted(db.session.scalars(db.select(ReceptionDuty.deputy_id).filter_by(day_id=day.id)))


def counts_of(station, year, deputies) -> list[int]:
    counts = ops.duty_counts(station, year)
    return [counts.get(d.id, 0) for d in deputies]


def notes(topic, kind=None, recipient=None) -> list[Notification]:
    stmt = db.select(Notification).filter_by(topic=topic)
    if kind:
        stmt = stmt.filter_by(recipient_kind=kind)
    if recipient is not None:
        stmt = stmt.filter_by(recipient_id=recipient)
    return list(db.session.scalars(stmt.order_by(Notification.id)))


def audit(action) -> list[AuditEvent]:
    return list(db.session.scalars(db.select(AuditEvent).filter_by(action=action)))


def state() -> tuple:
    """Everything a refused operation must leave as it was."""
    db.session.expire_all()
    return (
        sorted(db.session.execute(db.select(ReceptionDuty.id, ReceptionDuty.day_id,
                                            ReceptionDuty.deputy_id, ReceptionDuty.source))),
        sorted(db.session.execute(db.select(DutySwap.id, DutySwap.status))),
        db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)),
        db.session.scalar(db.select(db.func.count()).select_from(Notification)),
        db.session.scalar(db.select(db.func.count()).select_from(DeputyUnavailability)),
    )


# ---- the rotation is fair ----

def test_five_deputies_share_a_year_evenly(roster_station, roster_months, roster_year):
    station, deputies = roster_station(5)
    fill_year(roster_months(station, roster_year))
    counts = counts_of(station, roster_year, deputies)
    # 12 days × 2 = 24 duties over 5 deputies: everyone serves 4 or 5 times.
    assert sum(counts) == 24
    assert set(counts) <= {4, 5} and max(counts) - min(counts) <= 1


def test_unavailable_dates_keep_the_rotation_fair(roster_station, roster_months, roster_year):
    """The rule picks, among the deputies free on a day, the fewest-duties-this-year first.
    What follows from it (and is asserted):
      1. deputies free on every reception day of the year (`always`) differ by at most one;
      2. nobody ends above the least loaded of `always` plus one: an absence never turns into
         an extra load for those who stood in beyond the usual one;
      3. a deputy away on u reception days ends at most u + 1 below the most loaded of
         `always`: they catch up when back instead of falling further behind.
    Here the absences come early enough in the year to be caught up, so all seven end within
    one of each other too."""
    station, deputies = roster_station(7)
    y = roster_year
    away = {1: [date(y, 1, 15), date(y, 2, 15)], 3: [date(y, 6, 15)], 4: [date(y, 3, 15)],
            6: [date(y, 9, 15), date(y, 3, 1)]}  # 3月1日 is no reception day: it costs nothing
    for index, dates in away.items():
        for on_date in dates:
            ops.mark_unavailable(deputies[index], on_date, "出差", actor=None)
    days = roster_months(station, y)
    fill_year(days)

    counts = dict(zip(range(7), counts_of(station, y, deputies)))
    missed = {i: sum(date(y, m, 15) in away.get(i, []) for m in range(1, 13)) for i in range(7)}
    always = [counts[i] for i in range(7) if missed[i] == 0]
    assert len(always) == 3 and sum(counts.values()) == 24
    assert max(always) - min(always) <= 1
    for i in range(7):
        assert counts[i] <= min(always) + 1, (i, counts)
        assert counts[i] >= max(always) - 1 - missed[i], (i, counts)
    assert max(counts.values()) - min(counts.values()) <= 1, counts
    # ... and nobody was put on a day they said they could not come.
    for day in days:
        assert not any(day.date in away.get(deputies.index(d), [])
                       for d in [db.session.get(type(deputies[0]), i) for i in on_duty(day)])


def test_the_same_input_gives_the_same_roster(roster_station, roster_months, roster_year):
    rosters = []
    for _ in range(2):
        station, deputies = roster_station(6)
        ops.mark_unavailable(deputies[2], date(roster_year, 4, 15), "", actor=None)
        days = roster_months(station, roster_year)
        fill_year(days)
        position = {d.id: i for i, d in enumerate(deputies)}
        rosters.append([sorted(position[i] for i in on_duty(day)) for day in days])
    assert rosters[0] == rosters[1]
    # The first day goes to the first two by id (nobody has served yet), the next to the two
    # after them: the tie-breaks are the stable ones documented.
    assert rosters[0][:3] == [[0, 1], [2, 3], [4, 5]]


def test_only_active_deputies_of_the_station_are_put_on_duty(
        roster_station, roster_months, roster_make_day, make_deputy, make_station, roster_year):
    station, deputies = roster_station(3)
    deputies[1].is_active = False
    elsewhere = make_deputy(stations=[make_station()], with_code=False)
    # A deputy of two stations on duty at the other one on the same day cannot be at both.
    both = make_deputy(stations=[station, elsewhere.stations[0]], with_code=False)
    other_day = roster_make_day(elsewhere.stations[0], date(roster_year, 1, 15))
    db.session.add(ReceptionDuty(day=other_day, deputy=both, source="manual"))
    db.session.flush()

    days = roster_months(station, roster_year)
    fill_year(days)
    served = {i for day in days for i in on_duty(day)}
    assert deputies[1].id not in served and elsewhere.id not in served
    assert served == {deputies[0].id, deputies[2].id, both.id}
    assert both.id not in on_duty(days[0])


def test_fill_duties_is_idempotent_and_follows_the_rule(
        roster_station, roster_make_day, roster_year):
    station, deputies = roster_station(5)
    day = roster_make_day(station, date(roster_year, 5, 15))
    first = ops.fill_duties(day)
    assert len(first) == 2  # no rule row: the default
    before = state()
    assert ops.fill_duties(day) == []
    assert state() == before

    db.session.add(ReceptionRule(station_id=station.id, duty_count=3))
    db.session.flush()
    assert len(ops.fill_duties(day)) == 1 and len(on_duty(day)) == 3
    assert len(notes("duty.assigned", "deputy")) == 3
    assert len(audit("duty.assign")) == 3

    cancelled = roster_make_day(station, date(roster_year, 6, 15), status="cancelled",
                                cancel_reason="场地维修")
    assert ops.fill_duties(cancelled) == [] and on_duty(cancelled) == []


# ---- unavailable dates ----

def test_unavailable_on_a_duty_day_hands_the_duty_to_someone_else(
        roster_station, roster_make_day, make_staff, roster_year):
    station, deputies = roster_station(4)
    liaison = make_staff("liaison", stations=[station])
    me = make_staff("deputy", deputy=deputies[0])
    day = roster_make_day(station, date(roster_year, 3, 15))
    ops.fill_duties(day)
    assert on_duty(day) == [deputies[0].id, deputies[1].id]

    ops.mark_unavailable(deputies[0], day.date, "外出开会", actor=me)
    assert on_duty(day) == [deputies[1].id, deputies[2].id]
    [told] = notes("duty.replaced", "staff", liaison.id)
    assert "代表3" in told.body and "代表1" in told.body
    assert notes("duty.removed") == []  # they did it themselves: no need to tell them
    assert [a.before["deputy_id"] for a in audit("duty.remove")] == [deputies[0].id]
    assert len(audit("unavailability.create")) == 1


def test_a_liaison_marking_the_last_free_deputy_away_is_told_nobody_is_left(
        roster_station, roster_make_day, make_staff, roster_year):
    station, deputies = roster_station(2)
    liaison = make_staff("liaison", stations=[station])
    day = roster_make_day(station, date(roster_year, 3, 15))
    ops.fill_duties(day)

    ops.mark_unavailable(deputies[1], day.date, "", actor=liaison)
    assert on_duty(day) == [deputies[0].id]
    assert "暂无可替补" in notes("duty.replaced", "staff", liaison.id)[0].body
    assert len(notes("duty.removed", "deputy", deputies[1].id)) == 1


def test_who_may_mark_a_deputy_unavailable(roster_station, make_staff, roster_year):
    station, deputies = roster_station(2)
    other_station, others = roster_station(1)
    on_date = date(roster_year, 3, 15)
    refused = [make_staff("deputy", deputy=deputies[1]), make_staff("deputy", deputy=others[0]),
               make_staff("liaison", stations=[other_station])]
    for actor in refused:
        with pytest.raises(Forbidden):
            ops.mark_unavailable(deputies[0], on_date, "", actor=actor)
    ops.mark_unavailable(deputies[0], on_date, "", actor=make_staff("liaison", stations=[station]))
    ops.mark_unavailable(deputies[0], date(roster_year, 4, 15), "",
                         actor=make_staff("deputy", deputy=deputies[0]))
    before = state()
    with pytest.raises(InvalidState, match="已登记为不能值班"):
        ops.mark_unavailable(deputies[0], on_date, "", actor=None)
    with pytest.raises(ValidationFailed):
        ops.mark_unavailable(deputies[0], date(2000, 1, 1), "", actor=None)
    assert state() == before


def test_clearing_an_unavailable_date(roster_station, make_staff, roster_year):
    _, deputies = roster_station(1)
    me = make_staff("deputy", deputy=deputies[0])
    ops.mark_unavailable(deputies[0], date(roster_year, 3, 15), "", actor=me)
    ops.clear_unavailable(deputies[0], date(roster_year, 3, 15), actor=me)
    assert db.session.scalar(db.select(DeputyUnavailability)) is None
    assert len(audit("unavailability.delete")) == 1
    with pytest.raises(DomainError):
        ops.clear_unavailable(deputies[0], date(roster_year, 3, 15), actor=me)


# ---- swaps ----

@pytest.fixture
def swap_world(roster_station, roster_make_day, make_staff, roster_year):
    """Four deputies; March goes to 代表1 and 代表2, April to 代表3 and 代表4."""
    from types import SimpleNamespace
    station, deputies = roster_station(4)
    march = roster_make_day(station, date(roster_year, 3, 15))
    april = roster_make_day(station, date(roster_year, 4, 15))
    ops.fill_duties(march)
    ops.fill_duties(april)
    duty = {d.deputy_id: d for day in (march, april) for d in day.duties}
    users = [make_staff("deputy", deputy=d) for d in deputies]
    return SimpleNamespace(station=station, deputies=deputies, users=users, march=march,
                           april=april, duty=duty,
                           liaison=make_staff("liaison", stations=[station]))


def test_a_swap_proposed_accepted_and_approved_moves_the_duty(swap_world):
    w = swap_world
    a, c = w.deputies[0], w.deputies[2]
    duty = w.duty[a.id]
    swap = ops.propose_swap(duty, c, actor=w.users[0], note="那天要出差")
    assert swap.status == "proposed"
    assert "代表1代表请您代3月15日的值班" == notes("swap.proposed", "deputy", c.id)[0].title
    ops.accept_swap(swap, actor=w.users[2])
    assert len(notes("swap.accepted", "staff", w.liaison.id)) == 1
    ops.approve_swap(swap, actor=w.liaison)

    db.session.expire_all()
    assert (swap.status, swap.decided_by_id) == ("approved", w.liaison.id)
    assert (duty.deputy_id, duty.source) == (c.id, "swap")
    assert on_duty(w.march) == sorted([w.deputies[1].id, c.id])
    assert {n.recipient_id for n in notes("swap.approved", "deputy")} == {a.id, c.id}
    assert [e.after["status"] for e in db.session.scalars(
        db.select(AuditEvent).filter_by(object_type="duty_swaps").order_by(AuditEvent.id))] == [
        "proposed", "accepted", "approved"]
    assert ops.duties_for_deputy(c, w.march.date) == [duty, w.duty[c.id]]


def test_a_swap_with_a_counter_duty_exchanges_the_days(swap_world):
    w = swap_world
    a, d = w.deputies[0], w.deputies[3]
    mine, theirs = w.duty[a.id], w.duty[d.id]
    swap = ops.propose_swap(mine, d, counter_duty=theirs, actor=w.users[0])
    assert "用您4月15日的值班互换" in notes("swap.proposed", "deputy", d.id)[0].title
    ops.accept_swap(swap, actor=w.users[3])
    ops.approve_swap(swap, actor=w.liaison)
    db.session.expire_all()
    assert (mine.day_id, mine.deputy_id) == (w.march.id, d.id)
    assert (theirs.day_id, theirs.deputy_id) == (w.april.id, a.id)
    assert on_duty(w.march) == sorted([w.deputies[1].id, d.id])
    assert on_duty(w.april) == sorted([w.deputies[2].id, a.id])


def test_decline_reject_and_withdraw_leave_the_duty_and_tell_who_should_hear(swap_world):
    w = swap_world
    a, b, c = w.deputies[:3]
    first = ops.propose_swap(w.duty[a.id], c, actor=w.users[0])
    ops.decline_swap(first, actor=w.users[2])
    assert [n.recipient_id for n in notes("swap.declined")] == [a.id]

    second = ops.propose_swap(w.duty[a.id], c, actor=w.users[0])
    ops.accept_swap(second, actor=w.users[2])
    ops.reject_swap(second, actor=w.liaison)
    assert {n.recipient_id for n in notes("swap.rejected")} == {a.id, c.id}

    third = ops.propose_swap(w.duty[b.id], w.deputies[3], actor=w.users[1])
    ops.withdraw_swap(third, actor=w.users[1])
    assert [n.recipient_id for n in notes("swap.withdrawn")] == [w.deputies[3].id]
    db.session.expire_all()
    assert [s.status for s in (first, second, third)] == ["declined", "rejected", "withdrawn"]
    assert w.duty[a.id].deputy_id == a.id and w.duty[b.id].deputy_id == b.id


# Each set-up brings the world to the step and returns the call that must be refused.

def _proposed(w):
    return ops.propose_swap(w.duty[w.deputies[0].id], w.deputies[2], actor=w.users[0])


def approve_before_accept(w):
    swap = _proposed(w)
    return lambda: ops.approve_swap(swap, actor=w.liaison)


def accept_by_a_third_deputy(w):
    swap = _proposed(w)
    return lambda: ops.accept_swap(swap, actor=w.users[3])


def a_deputy_approves(w):
    swap = _proposed(w)
    ops.accept_swap(swap, actor=w.users[2])
    return lambda: ops.approve_swap(swap, actor=w.users[2])


def another_stations_liaison_approves(w):
    swap = _proposed(w)
    ops.accept_swap(swap, actor=w.users[2])
    return lambda: ops.approve_swap(swap, actor=w.stranger_liaison)


def propose_to_a_deputy_of_another_station(w):
    return lambda: ops.propose_swap(w.duty[w.deputies[0].id], w.stranger, actor=w.users[0])


def propose_to_a_deputy_on_duty_that_day(w):
    return lambda: ops.propose_swap(w.duty[w.deputies[0].id], w.deputies[1], actor=w.users[0])


def propose_someone_elses_duty(w):
    return lambda: ops.propose_swap(w.duty[w.deputies[0].id], w.deputies[2], actor=w.users[1])


def propose_while_a_swap_is_open(w):
    _proposed(w)
    return lambda: ops.propose_swap(w.duty[w.deputies[0].id], w.deputies[3], actor=w.users[0])


def withdraw_after_approval(w):
    swap = _proposed(w)
    ops.accept_swap(swap, actor=w.users[2])
    ops.approve_swap(swap, actor=w.liaison)
    return lambda: ops.withdraw_swap(swap, actor=w.users[0])


ILLEGAL = [
    (approve_before_accept, InvalidState),
    (accept_by_a_third_deputy, Forbidden),
    (a_deputy_approves, Forbidden),
    (another_stations_liaison_approves, Forbidden),
    (propose_to_a_deputy_of_another_station, ValidationFailed),
    (propose_to_a_deputy_on_duty_that_day, InvalidState),
    (propose_someone_elses_duty, Forbidden),
    (propose_while_a_swap_is_open, InvalidState),
    (withdraw_after_approval, InvalidState),
]


@pytest.mark.parametrize("setup, error", ILLEGAL, ids=[f.__name__ for f, _ in ILLEGAL])
def test_an_illegal_swap_step_raises_and_changes_nothing(setup, error, swap_world,
                                                         roster_station, make_staff):
    w = swap_world
    stranger_station, (w.stranger,) = roster_station(1)
    w.stranger_liaison = make_staff("liaison", stations=[stranger_station])
    attempt = setup(w)
    before = state()
    with pytest.raises(error) as caught:
        attempt()
    assert caught.value.message  # a Chinese message for the person
    assert state() == before




def test_the_colleague_away_since_the_proposal_cannot_accept(swap_world):
    w = swap_world
    swap = ops.propose_swap(w.duty[w.deputies[0].id], w.deputies[2], actor=w.users[0])
    ops.mark_unavailable(w.deputies[2], w.march.date, "", actor=w.users[2])
    before = state()
    with pytest.raises(InvalidState, match="已登记不能值班"):
        ops.accept_swap(swap, actor=w.users[2])
    assert state() == before


def test_marking_away_a_duty_with_an_open_swap_cancels_the_swap(swap_world):
    w = swap_world
    a = w.deputies[0]
    ops.propose_swap(w.duty[a.id], w.deputies[2], actor=w.users[0])
    ops.mark_unavailable(a, w.march.date, "", actor=w.liaison)
    assert db.session.scalar(db.select(DutySwap)) is None
    assert {n.recipient_id for n in notes("swap.cancelled")} == {a.id, w.deputies[2].id}
    assert a.id not in on_duty(w.march) and len(on_duty(w.march)) == 2


def test_swap_options_offer_free_colleagues_and_their_days(swap_world):
    w = swap_world
    a = w.deputies[0]
    labels = [o.label for o in ops.swap_options(w.duty[a.id], w.march.date)]
    # 代表2 is on duty in March too; 代表3 and 代表4 are free then and on duty in April.
    assert labels == ["请代表3代表代班", "请代表4代表代班",
                      "与代表3代表互换（对方4月15日）", "与代表4代表互换（对方4月15日）"]
    colleague, counter = ops.resolve_swap_option(f"c{w.duty[w.deputies[3].id].id}")
    assert (colleague, counter) == (w.deputies[3], w.duty[w.deputies[3].id])
    with pytest.raises(ValidationFailed):
        ops.resolve_swap_option("x1")


def test_roster_lists_days_with_their_duties(swap_world):
    w = swap_world
    days = ops.roster(w.station, w.march.date, w.april.date)
    assert [d.id for d in days] == [w.march.id, w.april.id]
    assert {d.deputy.name for d in days[0].duties} == {"代表1", "代表2"}
    assert ops.duty_counts(w.station, w.march.date.year) == {d.id: 1 for d in w.deputies}
    assert ops.duties_for_deputy(w.deputies[0], w.march.date) == [w.duty[w.deputies[0].id]]
    assert ops.duties_for_deputy(w.deputies[0], date(w.march.date.year, 3, 16)) == []


# ---- two at once (PostgreSQL: SQLite serialises writers anyway) ----


def test_two_fills_of_one_day_at_once_put_on_exactly_the_duty_count(
        app, postgres_only, roster_station, roster_make_day, roster_year):
    station, _ = roster_station(6)
    day_id = roster_make_day(station, date(roster_year, 5, 15)).id
    db.session.commit()

    def fill():
        from backend.reception.models import ReceptionDay
        return len(ops.fill_duties(db.session.get(ReceptionDay, day_id)))
    assert sorted(at_once(app, fill, fill)) == [0, 2]
    db.session.expire_all()
    assert len(db.session.scalars(db.select(ReceptionDuty).filter_by(day_id=day_id)).all()) == 2


def test_two_liaisons_approving_at_once_approve_once(app, postgres_only, swap_world, make_staff):
    w = swap_world
    swap = ops.propose_swap(w.duty[w.deputies[0].id], w.deputies[2], actor=w.users[0])
    ops.accept_swap(swap, actor=w.users[2])
    liaisons = [w.liaison.id, make_staff("liaison", stations=[w.station]).id]
    swap_id = swap.id
    db.session.commit()

    def approve(staff_id):
        from backend.accounts.models import StaffUser
        return lambda: ops.approve_swap(db.session.get(DutySwap, swap_id),
                                        actor=db.session.get(StaffUser, staff_id)).status
    outcomes = at_once(app, *(approve(i) for i in liaisons))
    assert "approved" in outcomes
    assert [type(o) for o in outcomes if o != "approved"] == [InvalidState]
    assert len(audit("swap.approve")) == 1
