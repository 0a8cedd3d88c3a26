"""Reception days (backend/reception/days.py): placing the day against the real
Chinese calendar, building the coming months idempotently, rebuilding safely after a rule
change, and a liaison's cancel and move."""
import logging
from datetime import date, time, timedelta

import chinese_calendar
import pytest
import sqlalchemy as sa

from backend.workdays import calendar as workdays
from backend.core.errors import Forbidden, InvalidState, ValidationFailed
from backend.core.extensions import db
from backend.reception.models import Appointment, ReceptionDay, ReceptionRule, ReceptionSlot
from backend.core.audit_model import AuditEvent
from backend.notifications.models import Notification
from backend.reception import days as ops

MONTHS = [(y, m) for y in (2025, 2026) for m in range(1, 13)]
JAN_10 = date(2026, 1, 10)


# ---- helpers ----

def days_of(station) -> list[ReceptionDay]:
    return list(db.session.scalars(db.select(ReceptionDay).filter_by(station_id=station.id)
                                   .order_by(ReceptionDay.nominal_date)))


def slot_rows(day) -> list[tuple]:
    return sorted(db.session.execute(
        db.select(ReceptionSlot.id, ReceptionSlot.starts_at, ReceptionSlot.ends_at,
                  ReceptionSlot.capacity, ReceptionSlot.booked).filter_by(day_id=day.id)))


def notes(topic) -> list[tuple[str, int]]:
    return sorted(db.session.execute(
        db.select(Notification.recipient_kind, Notification.recipient_id).filter_by(topic=topic)))


def audit(action) -> list[AuditEvent]:
    return list(db.session.scalars(db.select(AuditEvent).filter_by(action=action)))


def by_month(days) -> dict[tuple[int, int], ReceptionDay]:
    return {(d.nominal_date.year, d.nominal_date.month): d for d in days}


def set_rule(station, **values):
    rule = ops.rule_for(station)
    for name, value in values.items():
        setattr(rule, name, value)
    db.session.flush()
    return rule


# ---- the calendar these tests stand on ----

def test_the_real_calendar_says_what_the_notable_months_assume():
    feb = [date(2026, 2, d) for d in range(15, 25)]
    assert feb[0] in chinese_calendar.holidays
    assert [chinese_calendar.is_workday(d) for d in feb] == [False] * 9 + [True]
    assert date(2025, 2, 15).weekday() == 5 and date(2025, 2, 15) not in chinese_calendar.holidays
    assert date(2026, 10, 15).weekday() == 3 and chinese_calendar.is_workday(date(2026, 10, 15))
    assert date(2026, 2, 14).weekday() == 5 and chinese_calendar.is_workday(date(2026, 2, 14))  # 调休


# ---- placing the day ----

@pytest.mark.parametrize("year, month, rule, expected", [
    (2026, 2, {}, (date(2026, 2, 24), "2月15日为春节假期，顺延至2月24日")),
    # A holiday moved back lands on the swapped working Saturday before it.
    (2026, 2, {"holiday_policy": "previous"}, (date(2026, 2, 14), "2月15日为春节假期，提前至2月14日")),
    (2026, 2, {"holiday_policy": "keep"}, (date(2026, 2, 15), "")),
    (2025, 2, {}, (date(2025, 2, 15), "")),
    (2025, 2, {"weekend_policy": "next"}, (date(2025, 2, 17), "2月15日为周六，顺延至2月17日")),
    (2025, 2, {"weekend_policy": "previous"}, (date(2025, 2, 14), "2月15日为周六，提前至2月14日")),
    (2026, 10, {"weekend_policy": "next"}, (date(2026, 10, 15), "")),
    # 29–31 clamp to the month's end; 28 Feb 2026 is a swapped working Saturday: kept.
    (2026, 2, {"day_of_month": 31, "weekend_policy": "next"}, (date(2026, 2, 28), "")),
    (2026, 4, {"day_of_month": 31}, (date(2026, 4, 30), "")),
    # Moves may cross into another month, and another year.
    (2026, 1, {"day_of_month": 31, "weekend_policy": "next"},
     (date(2026, 2, 2), "1月31日为周六，顺延至2月2日")),
    (2026, 1, {"day_of_month": 1, "holiday_policy": "previous"},
     (date(2025, 12, 31), "1月1日为元旦假期，提前至2025年12月31日")),
])
def test_notable_months(day_rule, year, month, rule, expected):
    assert ops.place_day(day_rule(**rule), year, month) == expected


@pytest.mark.parametrize("policy", ["keep", "next", "previous"])
def test_every_month_of_2025_and_2026_satisfies_the_policy(day_rule, policy):
    """Checked against chinesecalendar directly, not through the code under test."""
    rule = day_rule(weekend_policy=policy, holiday_policy=policy)
    for year, month in MONTHS:
        nominal = date(year, month, 15)
        placed, reason = ops.place_day(rule, year, month)
        if chinese_calendar.is_workday(nominal) or policy == "keep":
            assert (placed, reason) == (nominal, ""), nominal
            continue
        step = 1 if policy == "next" else -1
        assert chinese_calendar.is_workday(placed), nominal
        assert (placed - nominal).days * step > 0, nominal
        gap = abs((placed - nominal).days)
        between = [nominal + timedelta(days=i * step) for i in range(1, gap)]
        assert not any(chinese_calendar.is_workday(d) for d in between), nominal
        assert reason.startswith(f"{month}月15日为") and ("顺延" if step > 0 else "提前") in reason


def test_by_default_only_the_spring_festival_moves_a_day_in_2025_and_2026(day_rule):
    moved = {(y, m): ops.place_day(day_rule(), y, m) for y, m in MONTHS
             if ops.place_day(day_rule(), y, m)[0] != date(y, m, 15)}
    assert moved == {(2026, 2): (date(2026, 2, 24), "2月15日为春节假期，顺延至2月24日")}


def test_a_year_without_holiday_data_is_placed_by_weekends_with_a_warning(
        day_rule, caplog, monkeypatch, make_station):
    monkeypatch.setattr(workdays, "_warned_years", set())  # as in a fresh process
    caplog.set_level(logging.WARNING, logger="lianxin.workdays")
    assert workdays.coverage(2027) == "weekends_only"
    rule = day_rule(weekend_policy="next")
    assert ops.place_day(rule, 2027, 2) == (date(2027, 2, 15), "")  # a Monday
    assert ops.place_day(rule, 2027, 5) == (date(2027, 5, 17), "5月15日为周六，顺延至5月17日")
    warnings = [r for r in caplog.records if r.name == "lianxin.workdays"]
    assert warnings and "2027" in warnings[0].getMessage()

    station = make_station()
    report = ops.build_days(date(2026, 11, 20), stations=[station])
    # 15 Nov 2026 is past; the 2027 days stand on weekends alone, and nothing crashes.
    assert [d.date for d in report.created] == [date(2026, 12, 15), date(2027, 1, 15),
                                                date(2027, 2, 15)]


# ---- the rule ----

def test_rule_for_makes_the_statutory_default_once(make_station):
    station = make_station()
    rule = ops.rule_for(station)
    assert (rule.day_of_month, rule.start_time, rule.end_time, rule.slot_minutes,
            rule.seats_per_slot, rule.weekend_policy, rule.holiday_policy, rule.duty_count,
            rule.months_ahead, rule.cancel_cutoff_hours) == (
        15, time(9, 0), time(11, 30), 30, 3, "keep", "next", 2, 3, 24)
    assert ops.rule_for(station) is rule
    assert db.session.scalar(db.select(sa.func.count()).select_from(ReceptionRule)) == 1


def test_update_rule_validates_in_chinese_and_changes_nothing(day_world):
    admin = day_world.users["admin"]
    rule = ops.rule_for(day_world.station_a)
    with pytest.raises(ValidationFailed) as err:
        ops.update_rule(day_world.station_a, {"day_of_month": 32, "start_time": time(11, 0),
                                              "end_time": time(10, 0), "weekend_policy": "maybe",
                                              "seats_per_slot": "三"}, actor=admin)
    assert err.value.errors == {
        "day_of_month": ["每月几号须为1至31之间的整数"],
        "seats_per_slot": ["每段名额须为1至50之间的整数"],
        "weekend_policy": ["请选择照常举行、顺延或提前"],
    }
    with pytest.raises(ValidationFailed) as err:
        ops.update_rule(day_world.station_a, {"start_time": time(11, 0), "end_time": time(10, 0)},
                        actor=admin)
    assert err.value.errors == {"end_time": ["结束时间须晚于开始时间"]}
    with pytest.raises(ValidationFailed) as err:
        ops.update_rule(day_world.station_a, {"end_time": time(9, 20)}, actor=admin)
    assert err.value.errors == {"slot_minutes": ["接待时长只有20分钟，放不下一个时段"]}
    assert (rule.day_of_month, rule.end_time, rule.weekend_policy) == (15, time(11, 30), "keep")
    assert audit("reception_rule.update") == []


def test_update_rule_is_audited_on_the_station_and_guarded(day_world):
    station = day_world.station_a
    ops.update_rule(station, {"weekend_policy": "next", "seats_per_slot": "5"},
                    actor=day_world.users["liaison_own"])
    ops.update_rule(station, {"weekend_policy": "next"}, actor=day_world.users["liaison_own"])
    [entry] = audit("reception_rule.update")  # the second changed nothing
    assert (entry.object_type, entry.object_id) == ("stations", station.id)
    assert (entry.before["weekend_policy"], entry.after["weekend_policy"]) == ("keep", "next")
    assert entry.after["seats_per_slot"] == 5
    with pytest.raises(Forbidden):
        ops.update_rule(station, {"day_of_month": 20}, actor=day_world.users["liaison_other"])
    assert ops.rule_for(station).day_of_month == 15


# ---- building ----

def test_build_makes_this_month_and_the_next_three(make_station):
    station = make_station()
    report = ops.build_days(JAN_10, stations=[station])
    assert [d.date for d in report.created] == [
        date(2026, 1, 15), date(2026, 2, 24), date(2026, 3, 15), date(2026, 4, 15)]
    feb = report.created[1]
    assert (feb.nominal_date, feb.moved_reason) == (date(2026, 2, 15), "2月15日为春节假期，顺延至2月24日")
    assert [(s.starts_at, s.ends_at, s.capacity, s.booked) for s in feb.slots] == [
        (time(9, 0), time(9, 30), 3, 0), (time(9, 30), time(10, 0), 3, 0),
        (time(10, 0), time(10, 30), 3, 0), (time(10, 30), time(11, 0), 3, 0),
        (time(11, 0), time(11, 30), 3, 0)]
    assert report.updated == [] and report.left_alone == []


def test_a_window_that_does_not_divide_evenly_ends_with_a_shorter_slot(make_station):
    station = make_station()
    set_rule(station, slot_minutes=40)
    [day, *_] = ops.build_days(JAN_10, stations=[station]).created
    assert [(s.starts_at, s.ends_at) for s in day.slots] == [
        (time(9, 0), time(9, 40)), (time(9, 40), time(10, 20)), (time(10, 20), time(11, 0)),
        (time(11, 0), time(11, 30))]


def test_this_months_day_is_skipped_once_past_and_inactive_stations_get_none(make_station):
    station, closed = make_station(), make_station(is_active=False)
    report = ops.build_days(date(2026, 1, 16), stations=[station, closed])
    assert [d.nominal_date.month for d in report.created] == [2, 3, 4]
    assert days_of(closed) == []


def test_without_stations_it_builds_every_active_station(make_station):
    a, b, closed = make_station(), make_station(), make_station(is_active=False)
    report = ops.build_days(JAN_10)
    assert sorted({d.station_id for d in report.created}) == [a.id, b.id]
    assert days_of(closed) == []


def test_building_twice_makes_nothing_twice(make_station):
    station = make_station()
    first = ops.build_days(JAN_10, stations=[station])
    rows = [(d.id, d.date, slot_rows(d)) for d in days_of(station)]
    second = ops.build_days(JAN_10, stations=[station])
    assert len(first.created) == 4
    assert (second.created, second.updated, second.left_alone) == ([], [], [])
    assert second.summary() == "新建接待日0个，按规则更新0个"
    assert [(d.id, d.date, slot_rows(d)) for d in days_of(station)] == rows


def test_the_database_refuses_a_second_day_for_the_same_month(make_station):
    station = make_station()
    ops.build_days(JAN_10, stations=[station])
    with pytest.raises(sa.exc.IntegrityError):
        with db.session.begin_nested():
            db.session.add(ReceptionDay(station_id=station.id, nominal_date=date(2026, 2, 15),
                                        date=date(2026, 2, 16), start_time=time(9, 0),
                                        end_time=time(11, 0)))
            db.session.flush()


def test_a_rule_change_rebuilds_only_future_unbooked_days(day_world, day_book, day_on_duty):
    station, admin = day_world.station_a, day_world.users["admin"]
    ops.build_days(JAN_10, stations=[station])
    jan, feb, mar, apr = days_of(station)
    day_on_duty(feb, day_world.deputy_a)
    booking = day_book(mar)
    ops.cancel_day(apr, "场地维修", actor=admin, today=JAN_10)
    before = {d.id: (d.date, d.start_time, slot_rows(d)) for d in (jan, mar, apr)}

    ops.update_rule(station, {"start_time": time(14, 0), "end_time": time(16, 0),
                              "slot_minutes": 60, "seats_per_slot": 4}, actor=admin)
    report = ops.build_days(date(2026, 2, 1), stations=[station], actor=admin)

    assert report.updated == [feb]
    assert [d.nominal_date for d in report.created] == [date(2026, 5, 15)]
    assert report.left_alone == [(mar, "已有1位群众预约，保持原安排；如需调整请使用“调整日期”")]
    assert "1个已有群众预约的接待日保持不变" in report.summary()
    db.session.expire_all()
    assert (feb.date, feb.start_time, feb.end_time) == (date(2026, 2, 24), time(14, 0), time(16, 0))
    assert [(s.starts_at, s.ends_at, s.capacity) for s in feb.slots] == [
        (time(14, 0), time(15, 0), 4), (time(15, 0), time(16, 0), 4)]
    assert {d.id: (d.date, d.start_time, slot_rows(d)) for d in (jan, mar, apr)} == before
    assert booking.slot_id == mar.slots[0].id and apr.status == "cancelled"
    [entry] = audit("reception_day.rebuild")
    assert entry.object_id == feb.id and entry.before["start_time"] == "09:00:00"
    # The deputy on duty hears of the new time; nobody had booked.
    assert notes("reception_day.changed") == [("deputy", day_world.deputy_a.id)]
    assert ops.build_days(date(2026, 2, 1), stations=[station]).updated == []


def test_a_new_day_of_month_moves_unbooked_days(make_station):
    station = make_station()
    ops.build_days(JAN_10, stations=[station])
    set_rule(station, day_of_month=20)
    report = ops.build_days(JAN_10, stations=[station])
    assert [(d.nominal_date, d.date) for d in report.updated] == [
        (date(2026, 1, 20), date(2026, 1, 20)), (date(2026, 2, 20), date(2026, 2, 24)),
        (date(2026, 3, 20), date(2026, 3, 20)), (date(2026, 4, 20), date(2026, 4, 20))]
    assert len(days_of(station)) == 4


def test_a_date_set_by_hand_outlives_a_rebuild(day_world):
    station, admin = day_world.station_a, day_world.users["admin"]
    ops.build_days(JAN_10, stations=[station])
    feb = by_month(days_of(station))[(2026, 2)]
    ops.move_day(feb, date(2026, 2, 26), "代表集中视察", actor=admin, today=JAN_10)
    set_rule(station, end_time=time(11, 0))
    report = ops.build_days(JAN_10, stations=[station])
    assert feb in report.updated
    assert (feb.date, feb.end_time) == (date(2026, 2, 26), time(11, 0))
    assert feb.moved_reason == "由2月24日调整至2月26日：代表集中视察"


def test_a_day_of_today_is_not_rebuilt(make_station):
    station = make_station()
    ops.build_days(JAN_10, stations=[station])
    set_rule(station, end_time=time(11, 0))
    report = ops.build_days(date(2026, 1, 15), stations=[station])
    assert date(2026, 1, 15) not in [d.date for d in report.updated]
    assert by_month(days_of(station))[(2026, 1)].end_time == time(11, 30)


def test_the_rosters_fill_duties_after_a_day_is_made(make_station, make_deputy):
    station = make_station()
    members = [make_deputy(stations=[station], with_code=False) for _ in range(3)]
    report = ops.build_days(JAN_10, stations=[station])
    assert all(len(day.duties) == 2 for day in report.created)
    on_duty = {duty.deputy_id for day in report.created for duty in day.duties}
    assert on_duty <= {m.id for m in members}


# ---- cancel and move ----

@pytest.fixture
def feb_day(day_world, day_book, day_on_duty):
    """February 2026 at station A (24 Feb): two seats booked, one waitlisted, one cancelled;
    deputy A on duty."""
    ops.build_days(JAN_10, stations=[day_world.station_a])
    feb = by_month(days_of(day_world.station_a))[(2026, 2)]
    day_on_duty(feb, day_world.deputy_a)
    seated = [day_book(feb), day_book(feb, slot=feb.slots[1])]
    waiting = day_book(feb, status="waitlisted")
    gone = day_book(feb, status="cancelled")
    return feb, [a.resident_id for a in (*seated, waiting)], gone.resident_id


def test_cancel_tells_everyone_holding_a_seat_and_on_duty(day_world, feb_day):
    feb, live, gone = feb_day
    ops.cancel_day(feb, "  场地临时征用  ", actor=day_world.users["liaison_own"], today=JAN_10)
    assert (feb.status, feb.cancel_reason) == ("cancelled", "场地临时征用")
    told = notes("reception_day.cancelled")
    assert told == sorted([("resident", r) for r in live] + [("deputy", day_world.deputy_a.id)])
    assert ("resident", gone) not in told
    note = db.session.scalar(db.select(Notification).filter_by(topic="reception_day.cancelled"))
    assert "2月24日" in note.body and "场地临时征用" in note.body
    [entry] = audit("reception_day.cancel")
    assert (entry.before["status"], entry.after["status"]) == ("scheduled", "cancelled")
    assert entry.after["bookings_cancelled"] == 3  # two seated, one waiting
    statuses = db.session.scalars(db.select(Appointment.status).where(
        Appointment.day_id == feb.id)).all()
    assert sorted(statuses) == ["cancelled"] * 4
    assert all(slot.booked == 0 for slot in feb.slots)  # seats freed, nobody promoted
    with pytest.raises(InvalidState):
        ops.cancel_day(feb, "再取消一次", actor=day_world.users["admin"], today=JAN_10)


def test_move_keeps_slots_and_bookings_and_tells_everyone(day_world, feb_day):
    feb, live, _ = feb_day
    slots = slot_rows(feb)
    ops.move_day(feb, date(2026, 2, 27), "代表集中视察", actor=day_world.users["admin"],
                 today=JAN_10)
    assert feb.date == date(2026, 2, 27) and feb.nominal_date == date(2026, 2, 15)
    assert feb.moved_reason == "由2月24日调整至2月27日：代表集中视察"
    assert slot_rows(feb) == slots
    assert notes("reception_day.moved") == sorted(
        [("resident", r) for r in live] + [("deputy", day_world.deputy_a.id)])
    [entry] = audit("reception_day.move")
    assert (entry.before["date"], entry.after["date"]) == ("2026-02-24", "2026-02-27")


@pytest.mark.parametrize("new_date, reason, error", [
    (date(2026, 1, 9), "提前", {"new_date": ["新的日期不能早于今天"]}),
    (date(2026, 2, 24), "不变", {"new_date": ["新的日期与原日期相同"]}),
    (date(2026, 3, 15), "与三月合并", {"new_date": ["3月15日本站已有接待日"]}),
    (date(2026, 2, 26), "  ", {"reason": ["请填写原因，群众和值班代表会看到"]}),
    (date(2026, 2, 26), "长" * 101, {"reason": ["原因不能超过100个字"]}),
])
def test_a_bad_move_changes_nothing(day_world, feb_day, new_date, reason, error):
    feb, _, _ = feb_day
    with pytest.raises(ValidationFailed) as err:
        ops.move_day(feb, new_date, reason, actor=day_world.users["admin"], today=JAN_10)
    assert err.value.errors == error
    assert feb.date == date(2026, 2, 24) and notes("reception_day.moved") == []


def test_a_past_day_is_neither_moved_nor_cancelled(day_world, feb_day):
    feb, _, _ = feb_day
    with pytest.raises(InvalidState):
        ops.cancel_day(feb, "太晚了", actor=day_world.users["admin"], today=date(2026, 2, 25))


@pytest.mark.parametrize("role", ["liaison_other", "deputy", "department"])
def test_only_the_stations_liaison_or_an_admin_changes_a_day(day_world, feb_day, role):
    feb, _, _ = feb_day
    user = day_world.users[role]
    with pytest.raises(Forbidden):
        ops.cancel_day(feb, "无权取消", actor=user, today=JAN_10)
    with pytest.raises(Forbidden):
        ops.move_day(feb, date(2026, 2, 26), "无权调整", actor=user, today=JAN_10)
    assert (feb.status, feb.date) == ("scheduled", date(2026, 2, 24))
    assert audit("reception_day.cancel") == audit("reception_day.move") == []
    assert notes("reception_day.cancelled") == notes("reception_day.moved") == []


# ---- for the pages ----

def test_next_day_skips_cancelled_days_and_upcoming_shows_them(day_world):
    station = day_world.station_a
    ops.build_days(JAN_10, stations=[station])
    jan, feb, mar, _ = days_of(station)
    ops.cancel_day(feb, "场地维修", actor=day_world.users["admin"], today=JAN_10)
    assert ops.next_day(station, JAN_10) == jan
    assert ops.next_day(station, date(2026, 1, 16)) == mar
    assert ops.upcoming_days(station, date(2026, 1, 16), 2) == [feb, mar]
    assert ops.seats(mar) == (0, 15)


# ---- the command ----

def test_the_build_command(app, make_station):
    from backend.cli.reception import reception_cli
    make_station(name="城关街道代表联络站")
    db.session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(reception_cli, ["build", "--today", "2026-01-10"])
    again = runner.invoke(reception_cli, ["build", "--today", "2026-01-10"])
    assert first.exit_code == 0, first.output
    assert "新建接待日4个" in first.output and "新建接待日0个" in again.output
    assert runner.invoke(reception_cli, ["build", "--today", "明天"]).exit_code != 0
