"""Who is on duty on a station's reception days (排班): a fair rotation, deputies' unavailable
dates, and swaps a liaison approves.

Fairness: `fill_duties` always picks, among the deputies free on the day, those with the fewest
duties at this station in the day's year. That greedy rule keeps the counts of deputies who were
free on every reception day of the year within one of each other, and a deputy who was away on
u of those days ends at most u + 1 below the most loaded of them, never above the least loaded
plus one (tests/reception/test_rosters.py checks both).

Like every operation: takes model objects and `actor`, checks permissions and state, changes
the models, flushes, audits and queues notifications; it never commits. Swaps need a person;
`actor=None` (a job, the CLI) may fill days and record unavailability.

Kept whole (past 400 lines): the rotation, unavailability and swaps all read and
change the same duty rows under the same fairness rule.
"""
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from backend.org import policy as access
from backend.reception.policy import can_set_availability, is_deputy_self
from backend.core.errors import Forbidden, InvalidState, NotFound, ValidationFailed
from backend.core.extensions import db
from backend.org.models import Deputy, Station, deputy_stations
from backend.reception.models import (
    DeputyUnavailability, DutySwap, ReceptionDay, ReceptionDuty, ReceptionRule,
)
from backend.core.audit import record
from backend.notifications.places import Place
from backend.notifications.notify import notify, notify_station_liaisons
from backend.core.textcount import clean_text, visible_length
from backend.core.timeutil import local_today, utcnow

DEFAULT_DUTY_COUNT = 2
REASON_MAX, NOTE_MAX = 120, 200
OPEN_SWAP_STATUSES = ("proposed", "accepted")
SWAP_STATUS_LABELS = {
    "proposed": "等待对方同意", "accepted": "等待联络员批准", "approved": "已批准",
    "declined": "对方已婉拒", "rejected": "联络员未批准", "withdrawn": "已撤回",
}
# verb: (statuses it may start from, status it leads to)
SWAP_TRANSITIONS = {
    "accept": ({"proposed"}, "accepted"),
    "decline": ({"proposed"}, "declined"),
    "approve": ({"accepted"}, "approved"),
    "reject": ({"proposed", "accepted"}, "rejected"),
    "withdraw": ({"proposed", "accepted"}, "withdrawn"),
}
SWAP_VERB_LABELS = {"accept": "同意", "decline": "婉拒", "approve": "批准", "reject": "驳回",
                    "withdraw": "撤回"}


# ---- permissions (handlers and templates ask the same questions) ----

# ---- the rotation ----

def duty_count_for(station_id: int) -> int:
    wanted = db.session.scalar(db.select(ReceptionRule.duty_count).filter_by(station_id=station_id))
    return wanted or DEFAULT_DUTY_COUNT


def fill_duties(day: ReceptionDay, *, actor=None) -> list[ReceptionDuty]:
    """Put deputies on duty until the day has its station's duty count; returns the new duties
    (none for a full or cancelled day, so calling it again changes nothing)."""
    _lock_day(day)
    if day.status != "scheduled":
        return []
    on_duty = set(db.session.scalars(db.select(ReceptionDuty.deputy_id).filter_by(day_id=day.id)))
    need = duty_count_for(day.station_id) - len(on_duty)
    if need <= 0:
        return []
    added = []
    for deputy in _ranked_candidates(day)[:need]:
        duty = ReceptionDuty(day=day, deputy=deputy, source="rotation")
        db.session.add(duty)
        added.append(duty)
    db.session.flush()
    for duty in added:
        record("duty.assign", duty, actor=actor, after=_duty_snapshot(duty))
        notify("deputy", duty.deputy_id, "duty.assigned", f"您被安排在{_md(day.date)}接待选民",
               body=_where_when(day), place=Place("duties"), subject=duty)
    return added


def _lock_day(day: ReceptionDay) -> None:
    # Two fills of one day (the scheduler and a liaison) must not both top it up: the second
    # waits here and then counts the first one's duties. SQLite ignores FOR UPDATE but
    # serialises writers anyway.
    db.session.flush()
    db.session.execute(db.select(ReceptionDay.id).where(ReceptionDay.id == day.id)
                       .with_for_update())


def _ranked_candidates(day: ReceptionDay) -> list[Deputy]:
    """The station's active deputies free on the day, fewest duties this year first; ties go
    to whoever has been longest without a duty here, then to the lower id (deterministic)."""
    members = list(db.session.scalars(
        db.select(Deputy).join(deputy_stations, deputy_stations.c.deputy_id == Deputy.id)
        .where(deputy_stations.c.station_id == day.station_id, Deputy.is_active.is_(True))))
    busy = _busy([d.id for d in members], [day.date])
    free = [d for d in members if (d.id, day.date) not in busy]
    history = _history(day, [d.id for d in free])

    def rank(deputy):
        count, gap = history.get(deputy.id, (0, None))
        return (count, -gap if gap is not None else -10**6, deputy.id)
    return sorted(free, key=rank)


def _history(day: ReceptionDay, deputy_ids: list[int]) -> dict[int, tuple[int, int | None]]:
    """deputy id → (duties at the station in the day's year, days to their nearest other duty
    there). Days may be filled out of order (a re-fill), so the nearest duty on either side
    counts, not only the last one before."""
    if not deputy_ids:
        return {}
    when = ReceptionDay.date
    year = day.date.year
    rows = db.session.execute(
        db.select(ReceptionDuty.deputy_id,
                  sa.func.count(sa.case((when.between(date(year, 1, 1), date(year, 12, 31)), 1))),
                  sa.func.max(sa.case((when < day.date, when))),
                  sa.func.min(sa.case((when > day.date, when))))
        .join(ReceptionDay, ReceptionDay.id == ReceptionDuty.day_id)
        .where(ReceptionDay.station_id == day.station_id, ReceptionDay.status == "scheduled",
               ReceptionDuty.deputy_id.in_(deputy_ids))
        .group_by(ReceptionDuty.deputy_id))
    out = {}
    for deputy_id, count, before, after in rows:
        gaps = [abs((d - day.date).days) for d in (before, after) if d is not None]
        out[deputy_id] = (count, min(gaps) if gaps else None)
    return out


def _busy(deputy_ids, dates) -> dict[tuple[int, date], str]:
    """(deputy id, date) → why they cannot take a duty then: "unavailable", or "on_duty" at any
    station (a deputy of two stations cannot be at both on the 15th)."""
    deputy_ids, dates = list(deputy_ids), list(dates)
    if not deputy_ids or not dates:
        return {}
    out = {(d, when): "unavailable" for d, when in db.session.execute(
        db.select(DeputyUnavailability.deputy_id, DeputyUnavailability.date)
        .where(DeputyUnavailability.deputy_id.in_(deputy_ids),
               DeputyUnavailability.date.in_(dates)))}
    out.update({(d, when): "on_duty" for d, when in db.session.execute(
        db.select(ReceptionDuty.deputy_id, ReceptionDay.date)
        .join(ReceptionDay, ReceptionDay.id == ReceptionDuty.day_id)
        .where(ReceptionDuty.deputy_id.in_(deputy_ids), ReceptionDay.date.in_(dates),
               ReceptionDay.status == "scheduled"))})
    return out


# ---- unavailable dates ----

def mark_unavailable(deputy: Deputy, on_date: date, reason: str = "", *,
                     actor) -> DeputyUnavailability:
    """Record that the deputy cannot take a duty on that date; a duty they already had then
    goes to someone else, and the station's liaisons hear who."""
    if not can_set_availability(actor, deputy):
        raise Forbidden("只有代表本人或所在站点的联络员可以登记", code="availability_forbidden")
    if on_date < local_today():
        raise ValidationFailed(errors={"date": ["不能登记已经过去的日期"]})
    reason = clean_text(reason)
    if visible_length(reason) > REASON_MAX:
        raise ValidationFailed(errors={"reason": [f"原因不能超过{REASON_MAX}个字"]})
    row = DeputyUnavailability(deputy_id=deputy.id, date=on_date, reason=reason)
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except sa.exc.IntegrityError:
        raise InvalidState(f"{_md(on_date)}已登记为不能值班", code="already_unavailable") from None
    record("unavailability.create", row, actor=actor,
           after={"deputy_id": deputy.id, "date": on_date.isoformat(), "reason": reason})
    duties = db.session.scalars(
        db.select(ReceptionDuty).join(ReceptionDay, ReceptionDay.id == ReceptionDuty.day_id)
        .where(ReceptionDuty.deputy_id == deputy.id, ReceptionDay.date == on_date,
               ReceptionDay.status == "scheduled")).all()
    for duty in duties:
        _replace(duty, actor=actor)
    return row


def clear_unavailable(deputy: Deputy, on_date: date, *, actor) -> None:
    """Take back an unavailable date. A duty given away meanwhile stays with its new deputy."""
    if not can_set_availability(actor, deputy):
        raise Forbidden("只有代表本人或所在站点的联络员可以修改", code="availability_forbidden")
    row = db.session.scalar(db.select(DeputyUnavailability).filter_by(deputy_id=deputy.id,
                                                                      date=on_date))
    if row is None:
        raise NotFound("没有这条不能值班的登记", code="unavailability_not_found")
    record("unavailability.delete", row, actor=actor,
           before={"deputy_id": deputy.id, "date": on_date.isoformat(), "reason": row.reason})
    db.session.delete(row)
    db.session.flush()


def _replace(duty: ReceptionDuty, *, actor) -> list[ReceptionDuty]:
    day, deputy = duty.day, duty.deputy
    _cancel_open_swaps(duty, actor)
    record("duty.remove", duty, actor=actor, before=_duty_snapshot(duty))
    day.duties.remove(duty)  # delete-orphan: the row goes at the next flush
    db.session.flush()
    added = fill_duties(day, actor=actor)
    names = "、".join(f"{d.deputy.name}代表" for d in added)
    notify_station_liaisons(
        day.station_id, "duty.replaced", f"{_md(day.date)}的值班有变动",
        body=f"{deputy.name}代表当天不能值班，" + (f"已由{names}替补。" if added else
                                           "本站暂无可替补的代表，请另行安排。"),
        place=Place("station_roster", day.station_id), subject=day)
    if not is_deputy_self(actor, deputy.id):
        notify("deputy", deputy.id, "duty.removed", f"您{_md(day.date)}的值班已取消",
               body=_where_when(day), place=Place("duties"), subject=day)
    return added


def _cancel_open_swaps(duty: ReceptionDuty, actor) -> None:
    # The swaps go with the duty (ON DELETE CASCADE); whoever waited on one should know.
    swaps = db.session.scalars(db.select(DutySwap).where(
        sa.or_(DutySwap.duty_id == duty.id, DutySwap.counter_duty_id == duty.id),
        DutySwap.status.in_(OPEN_SWAP_STATUSES)))
    for swap in swaps:
        record("swap.cancel", swap, actor=actor, before={"status": swap.status})
        for deputy_id in (swap.from_deputy_id, swap.to_deputy_id):
            notify("deputy", deputy_id, "swap.cancelled", "换班申请已取消",
                   body=f"{_md(duty.day.date)}的值班已另行安排", place=Place("duties"),
                   subject=swap)


# ---- swaps ----

def propose_swap(duty: ReceptionDuty, to_deputy: Deputy, *, actor,
                 counter_duty: ReceptionDuty | None = None, note: str = "") -> DutySwap:
    """The deputy on duty asks a colleague of the station to take it, or to exchange it for
    one of the colleague's own duties (`counter_duty`)."""
    if not is_deputy_self(actor, duty.deputy_id):
        raise Forbidden("只有值班代表本人可以申请换班", code="swap_forbidden")
    note = clean_text(note)
    if visible_length(note) > NOTE_MAX:
        raise ValidationFailed(errors={"note": [f"留言不能超过{NOTE_MAX}个字"]})
    open_ids = {duty.id, getattr(counter_duty, "id", duty.id)}
    if db.session.scalar(db.select(DutySwap.id).where(
            DutySwap.status.in_(OPEN_SWAP_STATUSES),
            sa.or_(DutySwap.duty_id.in_(open_ids), DutySwap.counter_duty_id.in_(open_ids)))):
        raise InvalidState("这次值班已有换班申请在办理中", code="swap_pending")
    _check_swap(duty, duty.deputy_id, to_deputy, counter_duty)
    swap = DutySwap(duty_id=duty.id, from_deputy_id=duty.deputy_id, to_deputy_id=to_deputy.id,
                    counter_duty_id=getattr(counter_duty, "id", None), note=note)
    db.session.add(swap)
    db.session.flush()
    record("swap.propose", swap, actor=actor, after=_swap_snapshot(swap))
    notify("deputy", to_deputy.id, "swap.proposed",
           f"{duty.deputy.name}代表请您{_swap_phrase(swap)}", body=note, place=Place("duties"),
           subject=swap)
    return swap


def accept_swap(swap: DutySwap, *, actor) -> DutySwap:
    _guard(swap, "accept", is_deputy_self(actor, swap.to_deputy_id))
    view = swap_view(swap)
    _check_swap(view.duty, swap.from_deputy_id, view.to_deputy, view.counter_duty)
    _transition(swap, "accept", actor)
    notify_station_liaisons(view.day.station_id, "swap.accepted", "有换班申请等待批准",
                            body=view.summary, place=Place("station_roster", view.day.station_id),
                            subject=swap)
    notify("deputy", swap.from_deputy_id, "swap.accepted",
           f"{view.to_deputy.name}代表已同意换班，等待联络员批准", body=view.summary,
           place=Place("duties"), subject=swap)
    return swap


def decline_swap(swap: DutySwap, *, actor) -> DutySwap:
    _guard(swap, "decline", is_deputy_self(actor, swap.to_deputy_id))
    view = swap_view(swap)
    _transition(swap, "decline", actor)
    notify("deputy", swap.from_deputy_id, "swap.declined",
           f"{view.to_deputy.name}代表婉拒了换班", body=view.summary, place=Place("duties"),
           subject=swap)
    return swap


def approve_swap(swap: DutySwap, *, actor) -> DutySwap:
    view = swap_view(swap)
    _guard(swap, "approve", access.can_manage_station(actor, view.day.station))
    _check_swap(view.duty, swap.from_deputy_id, view.to_deputy, view.counter_duty)
    before = _swap_snapshot(swap)
    view.duty.deputy, view.duty.source = view.to_deputy, "swap"
    if view.counter_duty is not None:
        view.counter_duty.deputy, view.counter_duty.source = view.from_deputy, "swap"
    _transition(swap, "approve", actor, before=before)
    for deputy_id in (swap.from_deputy_id, swap.to_deputy_id):
        notify("deputy", deputy_id, "swap.approved", "换班已批准", body=view.summary,
               place=Place("duties"), subject=swap)
    return swap


def reject_swap(swap: DutySwap, *, actor) -> DutySwap:
    view = swap_view(swap)
    _guard(swap, "reject", access.can_manage_station(actor, view.day.station))
    _transition(swap, "reject", actor)
    for deputy_id in (swap.from_deputy_id, swap.to_deputy_id):
        notify("deputy", deputy_id, "swap.rejected", "换班申请未获批准，值班安排不变",
               body=view.summary, place=Place("duties"), subject=swap)
    return swap


def withdraw_swap(swap: DutySwap, *, actor) -> DutySwap:
    _guard(swap, "withdraw", is_deputy_self(actor, swap.from_deputy_id))
    view = swap_view(swap)
    was_accepted = swap.status == "accepted"
    _transition(swap, "withdraw", actor)
    notify("deputy", swap.to_deputy_id, "swap.withdrawn",
           f"{view.from_deputy.name}代表撤回了换班申请", body=view.summary, place=Place("duties"),
           subject=swap)
    if was_accepted:  # it was waiting in the liaisons' list
        notify_station_liaisons(view.day.station_id, "swap.withdrawn", "一条换班申请已撤回",
                                body=view.summary, subject=swap)
    return swap


def _check_swap(duty, from_deputy_id: int, to_deputy: Deputy, counter_duty) -> None:
    """What must hold when a swap is proposed, and still hold when it is accepted or approved:
    both duties upcoming and in their owners' hands, the colleague active in the station, and
    each deputy free on the day they take over."""
    if duty is None or duty.deputy_id != from_deputy_id:
        raise InvalidState("这次值班已有变动，换班申请不再有效", code="swap_stale")
    day = duty.day
    _check_upcoming(day)
    if to_deputy.id == from_deputy_id:
        raise ValidationFailed(errors={"to_deputy": ["不能和自己换班"]})
    if not to_deputy.is_active or day.station_id not in {s.id for s in to_deputy.stations}:
        raise ValidationFailed(errors={"to_deputy": ["只能和本站在职的代表换班"]})
    takeovers = [(to_deputy.id, day.date)]
    if counter_duty is not None:
        if counter_duty.deputy_id != to_deputy.id or counter_duty.day.station_id != day.station_id:
            raise InvalidState("对方的这次值班已有变动，换班申请不再有效", code="swap_stale")
        _check_upcoming(counter_duty.day)
        takeovers.append((from_deputy_id, counter_duty.day.date))
    busy = _busy({d for d, _ in takeovers}, {when for _, when in takeovers})
    for deputy_id, when in takeovers:
        why = busy.get((deputy_id, when))
        if why:
            name = db.session.get(Deputy, deputy_id).name
            raise InvalidState(f"{name}代表{_md(when)}" + (
                "已登记不能值班" if why == "unavailable" else "已有值班安排"), code="deputy_busy")


def _check_upcoming(day: ReceptionDay) -> None:
    if day.status != "scheduled" or day.date < local_today():
        raise InvalidState("只能调换尚未举行的接待日值班", code="day_not_upcoming")


def _guard(swap: DutySwap, verb: str, allowed: bool) -> None:
    # Lock the row: of two liaisons approving at once, the second then sees "approved".
    db.session.refresh(swap, with_for_update=True)
    if not allowed:
        raise Forbidden(f"您不能{SWAP_VERB_LABELS[verb]}这条换班申请", code="swap_forbidden")
    sources, _ = SWAP_TRANSITIONS[verb]
    if swap.status not in sources:
        raise InvalidState(f"换班申请当前为「{SWAP_STATUS_LABELS[swap.status]}」，"
                           f"不能{SWAP_VERB_LABELS[verb]}", code=f"cannot_{verb}_swap")


def _transition(swap: DutySwap, verb: str, actor, *, before: dict | None = None) -> None:
    before = before or {"status": swap.status}
    swap.status = SWAP_TRANSITIONS[verb][1]
    if swap.status not in OPEN_SWAP_STATUSES:
        swap.decided_at, swap.decided_by_id = utcnow(), getattr(actor, "id", None)
    db.session.flush()
    record(f"swap.{verb}", swap, actor=actor, before=before, after=_swap_snapshot(swap))


# ---- what the pages show ----

@dataclass(frozen=True)
class SwapView:
    swap: DutySwap
    duty: ReceptionDuty | None
    day: ReceptionDay | None
    counter_duty: ReceptionDuty | None
    from_deputy: Deputy
    to_deputy: Deputy

    @property
    def status_label(self) -> str:
        return SWAP_STATUS_LABELS[self.swap.status]

    @property
    def summary(self) -> str:
        text = f"{self.from_deputy.name}代表{_md(self.day.date)}的值班"
        if self.counter_duty is not None:
            return text + f"与{self.to_deputy.name}代表{_md(self.counter_duty.day.date)}的值班互换"
        return text + f"由{self.to_deputy.name}代表代班"


def swap_view(swap: DutySwap) -> SwapView:
    duty = db.session.get(ReceptionDuty, swap.duty_id)
    counter = db.session.get(ReceptionDuty, swap.counter_duty_id) if swap.counter_duty_id else None
    return SwapView(swap, duty, duty.day if duty else None, counter,
                    db.session.get(Deputy, swap.from_deputy_id),
                    db.session.get(Deputy, swap.to_deputy_id))


def _swap_phrase(swap: DutySwap) -> str:
    view = swap_view(swap)
    if view.counter_duty is not None:
        return f"用您{_md(view.counter_duty.day.date)}的值班互换其{_md(view.day.date)}的值班"
    return f"代{_md(view.day.date)}的值班"


def duties_for_deputy(deputy: Deputy, today: date, n: int = 5) -> list[ReceptionDuty]:
    """Their next duties, soonest first."""
    return list(db.session.scalars(
        db.select(ReceptionDuty).join(ReceptionDay, ReceptionDay.id == ReceptionDuty.day_id)
        .where(ReceptionDuty.deputy_id == deputy.id, ReceptionDay.date >= today,
               ReceptionDay.status == "scheduled")
        .options(joinedload(ReceptionDuty.day).joinedload(ReceptionDay.station))
        .order_by(ReceptionDay.date, ReceptionDuty.id).limit(n)))


def roster(station: Station, from_date: date, to_date: date) -> list[ReceptionDay]:
    """The station's days in the range (cancelled ones too), each with its duties loaded."""
    return list(db.session.scalars(
        db.select(ReceptionDay)
        .where(ReceptionDay.station_id == station.id, ReceptionDay.date.between(from_date, to_date))
        .options(selectinload(ReceptionDay.duties).joinedload(ReceptionDuty.deputy))
        .order_by(ReceptionDay.date)))


def duty_counts(station: Station, year: int) -> dict[int, int]:
    """deputy id → duties at the station on the year's held days; every active deputy of the
    station appears, with 0 if need be, so the page shows who has not served yet."""
    counts = {d.id: 0 for d in station.deputies if d.is_active}
    counts.update((deputy_id, n) for deputy_id, n in db.session.execute(
        db.select(ReceptionDuty.deputy_id, sa.func.count())
        .join(ReceptionDay, ReceptionDay.id == ReceptionDuty.day_id)
        .where(ReceptionDay.station_id == station.id, ReceptionDay.status == "scheduled",
               ReceptionDay.date.between(date(year, 1, 1), date(year, 12, 31)))
        .group_by(ReceptionDuty.deputy_id)))
    return counts


def open_swaps_for_station(station: Station) -> list[SwapView]:
    swaps = db.session.scalars(
        db.select(DutySwap).join(ReceptionDuty, ReceptionDuty.id == DutySwap.duty_id)
        .join(ReceptionDay, ReceptionDay.id == ReceptionDuty.day_id)
        .where(ReceptionDay.station_id == station.id, DutySwap.status.in_(OPEN_SWAP_STATUSES))
        .order_by(ReceptionDay.date, DutySwap.id))
    return [swap_view(s) for s in swaps]


def swaps_for_deputy(deputy: Deputy, today: date) -> list[SwapView]:
    """Swaps to and from the deputy about days still to come: open ones, and decided ones so
    they see the outcome."""
    swaps = db.session.scalars(
        db.select(DutySwap).join(ReceptionDuty, ReceptionDuty.id == DutySwap.duty_id)
        .join(ReceptionDay, ReceptionDay.id == ReceptionDuty.day_id)
        .where(sa.or_(DutySwap.from_deputy_id == deputy.id, DutySwap.to_deputy_id == deputy.id),
               ReceptionDay.date >= today)
        .order_by(DutySwap.id.desc()).limit(20))
    return [swap_view(s) for s in swaps]


def unavailable_dates(deputies, today: date) -> list[DeputyUnavailability]:
    ids = [d.id for d in deputies]
    return list(db.session.scalars(
        db.select(DeputyUnavailability)
        .where(DeputyUnavailability.deputy_id.in_(ids), DeputyUnavailability.date >= today)
        .order_by(DeputyUnavailability.date, DeputyUnavailability.deputy_id)))


@dataclass(frozen=True)
class SwapOption:
    value: str  # "d<deputy id>": they stand in; "c<duty id>": exchange with that duty
    label: str


def swap_options(duty: ReceptionDuty, today: date) -> list[SwapOption]:
    """What the deputy on duty may ask for: a free colleague to stand in, or an exchange with a
    colleague's upcoming duty on a day the deputy is free. The same rules as _check_swap."""
    day = duty.day
    colleagues = [d for d in day.station.deputies if d.is_active and d.id != duty.deputy_id]
    busy_today = _busy([d.id for d in colleagues], [day.date])
    free = [d for d in colleagues if (d.id, day.date) not in busy_today]
    options = [SwapOption(f"d{d.id}", f"请{d.name}代表代班") for d in free]
    theirs = db.session.scalars(
        db.select(ReceptionDuty).join(ReceptionDay, ReceptionDay.id == ReceptionDuty.day_id)
        .where(ReceptionDay.station_id == day.station_id, ReceptionDay.status == "scheduled",
               ReceptionDay.date >= today, ReceptionDay.date != day.date,
               ReceptionDuty.deputy_id.in_([d.id for d in free]))
        .order_by(ReceptionDay.date, ReceptionDuty.id)).all()
    mine = _busy([duty.deputy_id], [t.day.date for t in theirs])
    options += [SwapOption(f"c{t.id}", f"与{t.deputy.name}代表互换（对方{_md(t.day.date)}）")
                for t in theirs if (duty.deputy_id, t.day.date) not in mine]
    return options


def resolve_swap_option(value: str) -> tuple[Deputy, ReceptionDuty | None]:
    """The colleague (and their duty, for an exchange) a swap_options value names."""
    model = {"d": Deputy, "c": ReceptionDuty}.get((value or "")[:1])
    raw = (value or "")[1:]
    target = db.session.get(model, int(raw)) if model and raw.isdigit() else None
    if target is None:
        raise ValidationFailed(errors={"to_deputy": ["请选择换班的代表"]})
    return (target.deputy, target) if model is ReceptionDuty else (target, None)


# ---- small helpers ----

def _md(d: date) -> str:
    return f"{d.month}月{d.day}日"


def _where_when(day: ReceptionDay) -> str:
    return f"{day.station.name}，{day.start_time:%H:%M}–{day.end_time:%H:%M}"


def _duty_snapshot(duty: ReceptionDuty) -> dict:
    return {"day_id": duty.day_id, "deputy_id": duty.deputy_id, "source": duty.source}


def _swap_snapshot(swap: DutySwap) -> dict:
    return {"status": swap.status, "duty_id": swap.duty_id, "from_deputy_id": swap.from_deputy_id,
            "to_deputy_id": swap.to_deputy_id, "counter_duty_id": swap.counter_duty_id}
