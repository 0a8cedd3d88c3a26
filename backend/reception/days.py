"""Reception days (代表接待选民日): each station's rule, the days it gives, and the two changes
a liaison makes by hand (cancel, move).

Placing a day: the rule's day of the month (clamped to the month's last day for 29–31), then
the station's policy for a statutory holiday or a plain weekend. A 调休 swapped working
Saturday is a working day and keeps the reception. A move may cross into another month
(the 31st on a Saturday, "next" → the 2nd of the next month; the 1st in a holiday, "previous"
→ the month before): that is allowed, the day still stands for its own month through
``nominal_date``, so a month may hold two receptions and its neighbour none.

Working days come only from ``backend.workdays.calendar``; a year it has no data for is placed by
weekends alone, and workdays logs the warning.

Every function here flushes and never commits: the request, job or command commits once.

Kept whole (past 400 lines): placing a day and moving or cancelling one share the
same calendar rules, and splitting them would split those rules.
"""
import calendar
from dataclasses import dataclass, field
from datetime import date, time

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from backend.workdays import calendar as workdays
from backend.org.policy import can_manage_station, ensure
from backend.core.errors import InvalidState, ValidationFailed
from backend.core.extensions import db
from backend.reception.rosters import fill_duties
from backend.reception.models import (
    DAY_POLICIES, Appointment, ReceptionDay, ReceptionDuty, ReceptionRule, ReceptionSlot,
)
from backend.core.audit_model import AuditEvent
from backend.org.models import Station
from backend.core.audit import record, snapshot
from backend.notifications.notify import notify
from backend.notifications.places import Place
from backend.core.timeutil import WEEKDAYS, local_today

# A seat someone still holds: the day cannot be reshaped under them.
LIVE_STATUSES = ("booked", "waitlisted", "checked_in")
RULE_FIELDS = ("day_of_month", "start_time", "end_time", "slot_minutes", "seats_per_slot",
               "weekend_policy", "holiday_policy", "duty_count", "months_ahead",
               "cancel_cutoff_hours")
# field: (lowest, highest, what the error calls it)
RULE_LIMITS = {
    "day_of_month": (1, 31, "每月几号"),
    "slot_minutes": (10, 240, "每段时长（分钟）"),
    "seats_per_slot": (1, 50, "每段名额"),
    "duty_count": (1, 10, "值班人数"),
    "months_ahead": (1, 12, "提前月数"),
    "cancel_cutoff_hours": (0, 168, "取消截止（小时）"),
}
DAY_STATUS_LABELS = {"scheduled": "按期举行", "cancelled": "已取消"}
DAY_FIELDS = ("status", "nominal_date", "date", "start_time", "end_time", "moved_reason",
              "cancel_reason")
REASON_MAX = 100
MOVE_ACTION = "reception_day.move"
BATCH = 200  # stations per round of queries in build_days


# ---- the rule ----

def rule_for(station: Station) -> ReceptionRule:
    """The station's rule; a station without one gets the statutory default (the model's)."""
    rule = db.session.get(ReceptionRule, station.id)
    if rule is None:
        rule = ReceptionRule(station_id=station.id)
        db.session.add(rule)
        db.session.flush()
    return rule


def update_rule(station: Station, data: dict, *, actor) -> ReceptionRule:
    """Change the fields given in ``data``; the days already built follow on the next build."""
    ensure(can_manage_station(actor, station))
    rule = rule_for(station)
    values = {name: data.get(name, getattr(rule, name)) for name in RULE_FIELDS}
    errors = _rule_errors(values)
    if errors:
        raise ValidationFailed(errors=errors, code="reception_rule_invalid")
    before = snapshot(rule, RULE_FIELDS)
    for name, value in values.items():
        setattr(rule, name, value)
    after = snapshot(rule, RULE_FIELDS)
    if after != before:
        # The rule's key is the station: the audit entry hangs on the station.
        record("reception_rule.update", station, actor=actor, before=before, after=after)
    db.session.flush()
    return rule


def _rule_errors(values: dict) -> dict[str, list[str]]:
    errors = {}
    for name, (low, high, label) in RULE_LIMITS.items():
        number = _as_int(values[name])
        if number is None or not low <= number <= high:
            errors[name] = [f"{label}须为{low}至{high}之间的整数"]
        else:
            values[name] = number
    for name, label in (("start_time", "开始时间"), ("end_time", "结束时间")):
        if not isinstance(values[name], time):
            errors[name] = [f"请填写{label}，如 09:00"]
    for name in ("weekend_policy", "holiday_policy"):
        if values[name] not in DAY_POLICIES:
            errors[name] = ["请选择照常举行、顺延或提前"]
    if not errors:
        length = _minutes(values["end_time"]) - _minutes(values["start_time"])
        if length <= 0:
            errors["end_time"] = ["结束时间须晚于开始时间"]
        elif length < values["slot_minutes"]:
            errors["slot_minutes"] = [f"接待时长只有{length}分钟，放不下一个时段"]
    return errors


def _as_int(value) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# ---- placing a day ----

def nominal_date(rule: ReceptionRule, year: int, month: int) -> date:
    return date(year, month, min(rule.day_of_month, calendar.monthrange(year, month)[1]))


def place_day(rule: ReceptionRule, year: int, month: int) -> tuple[date, str]:
    """(the date the reception really takes place, why it is not the nominal day or "")."""
    nominal = nominal_date(rule, year, month)
    info = workdays.day_info(nominal)
    if info.is_holiday:
        policy, what = rule.holiday_policy, f"{info.name or '法定节'}假期"
    elif not info.is_workday:
        policy, what = rule.weekend_policy, f"周{WEEKDAYS[nominal.weekday()]}"
    else:
        return nominal, ""
    if policy == "keep":
        return nominal, ""
    if policy == "next":
        placed, verb = workdays.next_workday(nominal), "顺延至"
    else:
        placed, verb = workdays.previous_workday(nominal), "提前至"
    return placed, f"{month_day(nominal)}为{what}，{verb}{month_day(placed, nominal.year)}"


def month_day(d: date, year: int | None = None) -> str:
    """"2月24日"; with the year when it differs from ``year`` (a move across New Year)."""
    prefix = f"{d.year}年" if year is not None and d.year != year else ""
    return f"{prefix}{d.month}月{d.day}日"


def _slot_times(start: time, end: time, minutes: int) -> list[tuple[time, time]]:
    """Back-to-back slots over the window; a last one shorter than ``minutes`` ends with it."""
    out, at, stop = [], _minutes(start), _minutes(end)
    while at < stop:
        out.append((_clock(at), _clock(min(at + minutes, stop))))
        at += minutes
    return out


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def _clock(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


# ---- building the days ----

@dataclass
class BuildReport:
    created: list[ReceptionDay] = field(default_factory=list)
    updated: list[ReceptionDay] = field(default_factory=list)
    left_alone: list[tuple[ReceptionDay, str]] = field(default_factory=list)

    def summary(self) -> str:
        text = f"新建接待日{len(self.created)}个，按规则更新{len(self.updated)}个"
        if self.left_alone:
            text += f"，{len(self.left_alone)}个已有群众预约的接待日保持不变"
        return text


@dataclass(frozen=True)
class _Plan:
    """What a month's day should look like under the current rule."""
    nominal_date: date
    date: date
    moved_reason: str
    start_time: time
    end_time: time
    slots: tuple  # ((starts_at, ends_at, capacity), ...)

    def shape(self) -> tuple:
        return self.nominal_date, self.date, self.start_time, self.end_time, self.slots


def build_days(today: date, *, stations=None, actor=None) -> BuildReport:
    """Each active station's day for this month (unless already past) and ``months_ahead``
    months after it. Idempotent: a day that exists and still fits the rule is left as it is.

    When the rule changed, a future day nobody has booked is rebuilt (date, window, slots); a
    booked one is left alone and reported; past and cancelled days are never touched, nor is a
    date a liaison set by hand. Days of today are not rebuilt either: people may be on the way.
    A second scheduler running at the same moment fails on the unique (station, month) key and
    rolls back, so nothing is made twice.
    """
    if stations is None:
        stations = db.session.scalars(
            db.select(Station).filter_by(is_active=True).order_by(Station.id)).all()
    stations = [s for s in stations if s.is_active]
    report = BuildReport()
    for start in range(0, len(stations), BATCH):
        _build_batch(stations[start:start + BATCH], today, actor, report)
    db.session.flush()
    return report


def _build_batch(stations: list[Station], today: date, actor, report: BuildReport) -> None:
    rules = _rules_for(stations)
    first = today.replace(day=1)
    horizon = _add_months(first, max(r.months_ahead for r in rules.values()))
    existing = db.session.scalars(
        db.select(ReceptionDay)
        .where(ReceptionDay.station_id.in_(list(rules)),
               ReceptionDay.nominal_date.between(first, _month_end(horizon)))
        .options(selectinload(ReceptionDay.slots))).all()
    by_month = {(d.station_id, d.nominal_date.year, d.nominal_date.month): d for d in existing}
    ids = [d.id for d in existing]
    booked, hand_moved = _live_counts(ids), _hand_moved(ids)
    for station in stations:
        rule = rules[station.id]
        for k in range(rule.months_ahead + 1):
            month = _add_months(first, k)
            plan = _plan(rule, month.year, month.month)
            day = by_month.get((station.id, month.year, month.month))
            if day is None:
                _create(station, plan, today, report)
            else:
                _refresh(day, plan, today, booked.get(day.id, 0), day.id in hand_moved,
                         actor, report)


def _rules_for(stations: list[Station]) -> dict[int, ReceptionRule]:
    ids = [s.id for s in stations]
    rules = {r.station_id: r for r in db.session.scalars(
        db.select(ReceptionRule).where(ReceptionRule.station_id.in_(ids)))}
    for station in stations:
        if station.id not in rules:
            rules[station.id] = rule_for(station)
    return rules


def _plan(rule: ReceptionRule, year: int, month: int) -> _Plan:
    placed, why = place_day(rule, year, month)
    slots = tuple((a, b, rule.seats_per_slot)
                  for a, b in _slot_times(rule.start_time, rule.end_time, rule.slot_minutes))
    return _Plan(nominal_date(rule, year, month), placed, why, rule.start_time, rule.end_time,
                 slots)


def _shape(day: ReceptionDay) -> tuple:
    slots = tuple((s.starts_at, s.ends_at, s.capacity) for s in day.slots)
    return day.nominal_date, day.date, day.start_time, day.end_time, slots


def _create(station: Station, plan: _Plan, today: date, report: BuildReport) -> None:
    if plan.date < today:
        return
    day = ReceptionDay(station_id=station.id, nominal_date=plan.nominal_date, date=plan.date,
                       start_time=plan.start_time, end_time=plan.end_time, status="scheduled",
                       moved_reason=plan.moved_reason, slots=_new_slots(plan))
    db.session.add(day)
    db.session.flush()
    fill_duties(day)
    report.created.append(day)


def _refresh(day: ReceptionDay, plan: _Plan, today: date, live: int, hand_moved: bool,
             actor, report: BuildReport) -> None:
    if day.status == "cancelled" or day.date <= today:
        return
    if hand_moved:  # a date set by a liaison outranks the rule; the window still follows it
        plan = _Plan(plan.nominal_date, day.date, day.moved_reason, plan.start_time,
                     plan.end_time, plan.slots)
    if _shape(day) == plan.shape():
        return
    if live:
        report.left_alone.append((day, f"已有{live}位群众预约，保持原安排；如需调整请使用“调整日期”"))
        return
    if plan.date <= today:
        report.left_alone.append(
            (day, f"按新规则本月接待日应在{month_day(plan.date)}，日期已到或已过，保持原安排"))
        return
    before = snapshot(day, DAY_FIELDS)
    retimed = (day.date, day.start_time, day.end_time) != (plan.date, plan.start_time,
                                                           plan.end_time)
    day.nominal_date, day.date, day.moved_reason = plan.nominal_date, plan.date, plan.moved_reason
    day.start_time, day.end_time = plan.start_time, plan.end_time
    if tuple((s.starts_at, s.ends_at, s.capacity) for s in day.slots) != plan.slots:
        day.slots.clear()
        db.session.flush()  # old slots go first: (day, starts_at) is unique
        day.slots.extend(_new_slots(plan))
    if retimed:
        _tell_people(day, "reception_day.changed", "接待选民日时间调整",
                     f"{_station_name(day)}的代表接待选民日按新规则调整为"
                     f"{month_day(day.date)} {_window(day)}。")
    record("reception_day.rebuild", day, actor=actor, before=before,
           after=snapshot(day, DAY_FIELDS))
    report.updated.append(day)


def _new_slots(plan: _Plan) -> list[ReceptionSlot]:
    return [ReceptionSlot(starts_at=a, ends_at=b, capacity=c, booked=0) for a, b, c in plan.slots]


def _live_counts(day_ids: list[int]) -> dict[int, int]:
    if not day_ids:
        return {}
    rows = db.session.execute(
        db.select(Appointment.day_id, db.func.count())
        .where(Appointment.day_id.in_(day_ids), Appointment.status.in_(LIVE_STATUSES))
        .group_by(Appointment.day_id))
    return dict(rows.all())


def _hand_moved(day_ids: list[int]) -> set[int]:
    if not day_ids:
        return set()
    return set(db.session.scalars(
        db.select(AuditEvent.object_id)
        .where(AuditEvent.object_type == ReceptionDay.__tablename__,
               AuditEvent.action == MOVE_ACTION, AuditEvent.object_id.in_(day_ids))))


def _add_months(first_of_month: date, k: int) -> date:
    index = first_of_month.year * 12 + first_of_month.month - 1 + k
    return date(index // 12, index % 12 + 1, 1)


def _month_end(d: date) -> date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


# ---- a liaison's changes ----

def cancel_day(day: ReceptionDay, reason: str, *, actor, today: date | None = None) -> ReceptionDay:
    """Call a day off: everyone holding a seat and every deputy on duty is told, then the day's
    bookings are cancelled and its seats freed (no one is promoted into a day that is off)."""
    reason = _check_change(day, reason, actor, today)
    before = snapshot(day, DAY_FIELDS)
    day.status, day.cancel_reason = "cancelled", reason
    _tell_people(day, "reception_day.cancelled", "接待选民日取消",
                 f"{_station_name(day)}{month_day(day.date)}的代表接待选民日取消。原因：{reason}")
    released = db.session.execute(
        sa.update(Appointment)
        .where(Appointment.day_id == day.id, Appointment.status.in_(("booked", "waitlisted")))
        .values(status="cancelled", cancel_reason=f"接待日取消：{reason}"[:200],
                cancelled_by_id=getattr(actor, "id", None))
        .execution_options(synchronize_session="fetch")).rowcount
    for slot in day.slots:
        slot.booked = 0
    record("reception_day.cancel", day, actor=actor, before=before,
           after={**snapshot(day, DAY_FIELDS), "bookings_cancelled": released})
    db.session.flush()
    return day


def move_day(day: ReceptionDay, new_date: date, reason: str, *, actor,
             today: date | None = None) -> ReceptionDay:
    """Hold the day on another date; the window, the slots and every booking stay with it."""
    today = today or local_today()
    reason = _check_change(day, reason, actor, today)
    if not isinstance(new_date, date):
        raise ValidationFailed(errors={"new_date": ["请选择新的日期"]}, code="reception_day_invalid")
    if new_date < today:
        raise ValidationFailed(errors={"new_date": ["新的日期不能早于今天"]},
                               code="reception_day_in_past")
    if new_date == day.date:
        raise ValidationFailed(errors={"new_date": ["新的日期与原日期相同"]},
                               code="reception_day_unchanged")
    if _other_day_on(day, new_date):
        raise ValidationFailed(errors={"new_date": [f"{month_day(new_date)}本站已有接待日"]},
                               code="reception_day_taken")
    before, old = snapshot(day, DAY_FIELDS), day.date
    day.date = new_date
    day.moved_reason = f"由{month_day(old)}调整至{month_day(new_date, old.year)}：{reason}"[:200]
    _tell_people(day, "reception_day.moved", "接待选民日改期",
                 f"{_station_name(day)}的代表接待选民日由{month_day(old)}改至"
                 f"{month_day(new_date, old.year)}，时间{_window(day)}不变，已有预约继续有效。"
                 f"原因：{reason}")
    record(MOVE_ACTION, day, actor=actor, before=before, after=snapshot(day, DAY_FIELDS))
    db.session.flush()
    return day


def _check_change(day: ReceptionDay, reason: str, actor, today: date | None) -> str:
    ensure(can_manage_station(actor, day.station))
    today = today or local_today()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(errors={"reason": ["请填写原因，群众和值班代表会看到"]},
                               code="reason_required")
    if len(reason) > REASON_MAX:
        raise ValidationFailed(errors={"reason": [f"原因不能超过{REASON_MAX}个字"]},
                               code="reason_too_long")
    if day.status == "cancelled":
        raise InvalidState("该接待日已取消", code="reception_day_cancelled")
    if day.date < today:
        raise InvalidState("该接待日已经过去", code="reception_day_past")
    return reason


def _other_day_on(day: ReceptionDay, when: date) -> bool:
    return db.session.scalar(
        db.select(db.func.count()).select_from(ReceptionDay)
        .where(ReceptionDay.station_id == day.station_id, ReceptionDay.date == when,
               ReceptionDay.status == "scheduled", ReceptionDay.id != day.id)) > 0


def _tell_people(day: ReceptionDay, topic: str, title: str, body: str) -> None:
    """Every resident holding a seat and every deputy on duty, in the caller's transaction."""
    residents = db.session.scalars(
        db.select(Appointment.resident_id).distinct()
        .where(Appointment.day_id == day.id, Appointment.status.in_(LIVE_STATUSES))).all()
    deputies = db.session.scalars(
        db.select(ReceptionDuty.deputy_id).distinct().where(ReceptionDuty.day_id == day.id)).all()
    place = Place("station", day.station_id)
    for kind, ids in (("resident", residents), ("deputy", deputies)):
        for recipient_id in sorted(ids):
            notify(kind, recipient_id, topic, title, body=body, place=place, subject=day)


def _station_name(day: ReceptionDay) -> str:
    return day.station.name


def _window(day: ReceptionDay) -> str:
    return f"{day.start_time:%H:%M}–{day.end_time:%H:%M}"


# ---- for the pages ----

def next_day(station: Station | None, today: date) -> ReceptionDay | None:
    """The next reception that will take place (cancelled days skipped); None for no station
    or while none has been built."""
    if station is None:
        return None
    return db.session.scalar(
        db.select(ReceptionDay)
        .where(ReceptionDay.station_id == station.id, ReceptionDay.date >= today,
               ReceptionDay.status == "scheduled")
        .order_by(ReceptionDay.date).limit(1))


def upcoming_days(station: Station, today: date, n: int) -> list[ReceptionDay]:
    """The next ``n`` days from today, cancelled ones included (pages show them as such)."""
    return db.session.scalars(
        db.select(ReceptionDay)
        .where(ReceptionDay.station_id == station.id, ReceptionDay.date >= today)
        .order_by(ReceptionDay.date, ReceptionDay.id).limit(n)
        .options(selectinload(ReceptionDay.slots),
                 selectinload(ReceptionDay.duties).joinedload(ReceptionDuty.deputy))).all()


def seats(day: ReceptionDay) -> tuple[int, int]:
    """(seats booked, seats in all) over the day's slots."""
    return sum(s.booked for s in day.slots), sum(s.capacity for s in day.slots)


def horizon_years(rule: ReceptionRule, today: date) -> tuple[int, int]:
    """The first and last year build_days reaches from ``today``: for the coverage notice."""
    return today.year, _add_months(today.replace(day=1), rule.months_ahead).year
