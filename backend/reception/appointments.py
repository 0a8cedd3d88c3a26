"""Appointments (选民约见代表): a seat in a reception-day slot, a place on its waitlist, or a
meeting asked for outside reception days that the deputy or the station's liaison answers.

Seats are a hard limit held by the database: a seat is taken with one conditional UPDATE
(`booked < capacity`), never by reading the count and writing it back, so of two residents
racing for the last seat exactly one wins; the CHECK on reception_slots is the backstop.

Every transition goes through `_guard` (permission, row lock, status) and `_transition`
(status, audit entry); notifications go to the outbox in the caller's transaction. Operations
only flush. Each takes `now=` so tests and scheduler jobs pin the clock.

Kept whole (past 400 lines): seats, waitlists and meeting requests share one
state machine, one guard and one set of notifications.
"""
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from backend.org import policy as access
from backend.reception.policy import can_handle, can_manage, can_view_day, is_deputy
from backend.core.errors import Forbidden, InvalidState, NotFound, ValidationFailed
from backend.core.extensions import db
from backend.core.loading import load_for
from backend.reception.models import (
    Appointment, ReceptionDay, ReceptionDuty, ReceptionRule, ReceptionSlot,
)
from backend.org.models import Deputy, Station
from backend.notifications.models import Notification
from backend.accounts.resident_model import Resident
from backend.core.audit import record
from backend.notifications.places import Place
from backend.notifications.notify import notify, notify_station_liaisons
from backend.core.protect import LOOKUP_ALPHABET, PHONE_RE, mask_phone, normalise_phone, phone_fields
from backend.core.textcount import clean_text, visible_length
from backend.core.timeutil import LOCAL_TZ, people_day, people_time, utcnow

TOPIC_MIN, TOPIC_MAX = 2, 200
NAME_MAX = 40
CODE_LENGTH = 8  # 31 letters and digits without look-alikes: about 8.5e11 codes
DEFAULT_CUTOFF_HOURS = 24  # ReceptionRule's default, for a station without a rule row
LIVE_ON_DAY = ("booked", "waitlisted", "checked_in")  # at most one per resident and day
OPEN_REQUESTS = ("requested", "proposed")
MEETING_HORIZON = timedelta(days=180)

# verb: (statuses it may start from, status it leads to)
TRANSITIONS = {
    "check_in": ({"booked"}, "checked_in"),
    "no_show": ({"booked"}, "no_show"),
    "cancel": ({"booked", "waitlisted", "requested", "proposed", "accepted"}, "cancelled"),
    "promote": ({"waitlisted"}, "booked"),
    "accept": ({"requested"}, "accepted"),
    "propose": ({"requested", "proposed"}, "proposed"),
    "accept_proposal": ({"proposed"}, "accepted"),
    "decline": ({"requested", "proposed"}, "declined"),
}
VERB_LABELS = {
    "check_in": "签到", "no_show": "标记未到场", "cancel": "取消", "promote": "候补转为预约",
    "accept": "确认约见", "propose": "建议新时间", "accept_proposal": "接受新时间", "decline": "婉拒",
}


class SlotFull(InvalidState):
    code = "slot_full"
    message = "该时段已约满，您可以选择其他时段或登记候补"


# ---- reception-day seats ----

def book(*, resident: Resident, day: ReceptionDay, slot: ReceptionSlot | None,
         deputy: Deputy | None = None, topic: str, contact_name: str = "", phone: str = "",
         now: datetime | None = None) -> Appointment:
    """A seat in `slot`, with a deputy on duty that day or with the station (deputy None)."""
    now = now or utcnow()
    fields = _seat_request(day, slot, deputy, topic, contact_name, phone, now, slot_required=True)
    _claim_day(resident, day)
    _take_seat(slot)
    appointment = _create(resident, "booked", fields)
    _notify_resident(appointment, "appointment.booked", "接待预约成功", _when_where(appointment))
    return appointment


def join_waitlist(*, resident: Resident, day: ReceptionDay, slot: ReceptionSlot | None = None,
                  deputy: Deputy | None = None, topic: str, contact_name: str = "",
                  phone: str = "", now: datetime | None = None) -> Appointment:
    """A place in line for a full slot, or for any slot of the day (slot None): the first
    seat that frees is theirs (see `_promote_next`)."""
    now = now or utcnow()
    fields = _seat_request(day, slot, deputy, topic, contact_name, phone, now, slot_required=False)
    if any(s.booked < s.capacity for s in ([slot] if slot else _open_slots(day, now))):
        raise InvalidState("该时段还有空位，请直接预约" if slot else "这一天还有空位，请直接选时段预约",
                           code="seats_available")
    _claim_day(resident, day)
    appointment = _create(resident, "waitlisted", fields)
    _notify_resident(appointment, "appointment.waitlisted", "已登记候补",
                     "有人取消时会按登记先后为您预约，并通知您")
    return appointment


def cancel(appointment: Appointment, *, by_resident: Resident | None = None, by_staff=None,
           reason: str = "", now: datetime | None = None) -> Appointment:
    """A resident until the cut-off, staff any time with a reason. A freed seat goes at once
    to the first resident waiting for it."""
    if (by_resident is None) == (by_staff is None):
        raise ValueError("cancel needs exactly one of by_resident, by_staff")
    now = now or utcnow()
    a = appointment
    reason = clean_text(reason)[:200]
    if by_staff is not None:
        _guard(a, "cancel", can_handle(by_staff, a))
        if visible_length(reason) < 2:
            raise ValidationFailed(errors={"reason": ["请填写取消原因，居民会看到它"]})
        a.cancelled_by_id = by_staff.id
    else:
        _guard(a, "cancel", a.resident_id == by_resident.id)
        deadline = cancel_deadline(a)
        if deadline is not None and now >= deadline:
            raise InvalidState(
                f"离接待开始已不足{cutoff_hours(a.station_id)}小时，网上不能再取消。"
                "如有变化，请致电联络站说明。", code="cancel_too_late")
    seat = a.slot if a.status == "booked" else None
    a.cancel_reason = reason
    _transition(a, "cancel", by_staff or by_resident, reason=reason)
    if by_staff is not None:
        _notify_resident(a, "appointment.cancelled", "您的预约已被取消", reason)
    else:
        _notify_resident(a, "appointment.cancelled", "您已取消预约", _when_where(a))
        if a.kind == "request":
            _notify_handlers(a, "meeting.cancelled", "居民取消了约见")
    if seat is not None:
        _free_seat(seat)
        _promote_next(seat, now)
    return a


def check_in(code: str, *, actor, day: ReceptionDay | None = None,
             now: datetime | None = None) -> Appointment:
    """At the station, by booking code, on the reception day itself."""
    now = now or utcnow()
    a = find_by_code(code)
    if day is not None and a.day_id != day.id:
        raise NotFound("这个预约码不是本接待日的预约", code="code_other_day")
    _guard(a, "check_in", a.kind == "slot" and can_manage(actor, a.station))
    if now.astimezone(LOCAL_TZ).date() != a.day.date:
        raise InvalidState(f"只能在接待日当天（{a.day.date.month}月{a.day.date.day}日）签到",
                           code="not_reception_day")
    a.checked_in_at = now
    _transition(a, "check_in", actor)
    return a


def mark_no_show(appointment: Appointment, *, actor, now: datetime | None = None) -> Appointment:
    now = now or utcnow()
    a = appointment
    _guard(a, "no_show", a.kind == "slot" and can_manage(actor, a.station))
    if now < slot_end(a.slot):
        raise InvalidState("时段结束后才能标记未到场", code="slot_not_over")
    _transition(a, "no_show", actor)
    return a


# ---- meetings outside reception days ----

def request_meeting(*, resident: Resident, station: Station, deputy: Deputy | None = None,
                    topic: str, requested_at: datetime | None, contact_name: str = "",
                    phone: str = "", now: datetime | None = None) -> Appointment:
    now = now or utcnow()
    if station is None or not station.is_active:
        raise NotFound("该联络站不存在或已停用", code="station_unknown")
    errors: dict = {}
    fields = _resident_fields(topic, contact_name, phone, errors)
    if deputy is not None and (not deputy.is_active or station not in deputy.stations):
        errors["deputy_id"] = ["该代表不在这个联络站，请重新选择"]
    _check_meeting_time(requested_at, now, errors, "requested_at")
    if errors:
        raise ValidationFailed(errors=errors)
    appointment = _create(resident, "requested", {
        **fields, "kind": "request", "station_id": station.id,
        "deputy_id": deputy.id if deputy else None, "requested_at": requested_at})
    _notify_handlers(appointment, "meeting.requested", "有居民请求约见")
    return appointment


def accept_meeting(appointment: Appointment, *, actor, at: datetime | None = None,
                   note: str = "", now: datetime | None = None) -> Appointment:
    """Agree to meet at the time asked for, or at `at` when the deputy fixes another."""
    a = appointment
    _guard(a, "accept", can_handle(actor, a))
    at = at or a.requested_at
    _valid_time(at, now or utcnow(), "at")
    if at != a.requested_at:
        a.proposed_at = at
    a.answer_note = clean_text(note)[:300]
    _transition(a, "accept", actor, at=at.isoformat())
    _notify_resident(a, "meeting.accepted", "您的约见已确认", _when_where(a))
    return a


def propose_time(appointment: Appointment, at: datetime | None, *, actor, note: str = "",
                 now: datetime | None = None) -> Appointment:
    a = appointment
    _guard(a, "propose", can_handle(actor, a))
    _valid_time(at, now or utcnow(), "at")
    a.proposed_at = at
    a.answer_note = clean_text(note)[:300]
    _transition(a, "propose", actor, at=at.isoformat())
    _notify_resident(a, "meeting.proposed", "代表建议了新的见面时间", _when_where(a))
    return a


def accept_proposal(appointment: Appointment, *, resident: Resident,
                    now: datetime | None = None) -> Appointment:
    a = appointment
    _guard(a, "accept_proposal", a.resident_id == resident.id)
    if a.proposed_at <= (now or utcnow()):
        raise InvalidState("建议的时间已经过了，请重新申请约见", code="proposal_expired")
    _transition(a, "accept_proposal", resident)
    _notify_handlers(a, "meeting.proposal_accepted", "居民接受了新的见面时间")
    return a


def decline_meeting(appointment: Appointment, reason: str, *, actor) -> Appointment:
    a = appointment
    _guard(a, "decline", can_handle(actor, a))
    reason = clean_text(reason)
    if visible_length(reason) < 2:
        raise ValidationFailed(errors={"reason": ["请写明原因，居民会看到它"]})
    a.answer_note = reason[:300]
    _transition(a, "decline", actor, reason=a.answer_note)
    _notify_resident(a, "meeting.declined", "您的约见未能安排", a.answer_note)
    return a


# ---- reminders (scheduler jobs; the caller commits) ----

@dataclass(frozen=True)
class ReminderCounts:
    residents: int = 0
    deputies: int = 0


def send_day_before_reminders(day_date: date) -> ReminderCounts:
    """Residents booked on days dated `day_date`, and each deputy on duty with the day's list.
    Idempotent: what was sent is the outbox itself, checked per (recipient, topic, subject)."""
    residents = deputies = 0
    for day in _lock_days(day_date):
        booked = _booked_on(day)
        residents += sum(_remind(a, "appointment.day_before", "明天是您预约的代表接待日")
                         for a in booked)
        for duty in day.duties:
            deputies += _send_once(
                "deputy", duty.deputy_id, "appointment.duty_list", day,
                f"明天您在{day.station.name}值班，已有{len(booked)}位居民预约",
                _duty_list(booked, duty.deputy_id), Place("day_appointments", day.id))
    return ReminderCounts(residents, deputies)


def send_morning_reminders(day_date: date) -> ReminderCounts:
    return ReminderCounts(residents=sum(
        _remind(a, "appointment.morning", "今天是您预约的代表接待日")
        for day in _lock_days(day_date) for a in _booked_on(day)))


def _lock_days(day_date: date) -> list[ReceptionDay]:
    # Two schedulers sending the same reminders queue behind this lock (PostgreSQL), and the
    # second then sees what the first sent. NO KEY UPDATE leaves bookings (FK checks) alone.
    return list(db.session.scalars(
        sa.select(ReceptionDay).where(ReceptionDay.date == day_date,
                                      ReceptionDay.status == "scheduled")
        .order_by(ReceptionDay.id).with_for_update(key_share=True)))


def _booked_on(day: ReceptionDay) -> list[Appointment]:
    return list(db.session.scalars(
        sa.select(Appointment).join(ReceptionSlot, Appointment.slot_id == ReceptionSlot.id)
        .where(Appointment.day_id == day.id, Appointment.status == "booked")
        .order_by(ReceptionSlot.starts_at, Appointment.id)))


def _remind(a: Appointment, topic: str, title: str) -> int:
    return _send_once("resident", a.resident_id, topic, a, title, _when_where(a),
                      Place("resident_appointment", a.id))


def _send_once(kind: str, recipient_id: int, topic: str, subject, title: str, body: str,
               place: Place) -> int:
    sent = db.session.scalar(sa.select(Notification.id).filter_by(
        recipient_kind=kind, recipient_id=recipient_id, topic=topic,
        subject_type=subject.__tablename__, subject_id=subject.id).limit(1))
    if sent is not None:
        return 0
    notify(kind, recipient_id, topic, title, body=body, place=place, subject=subject)
    return 1


def _duty_list(booked: list[Appointment], deputy_id: int) -> str:
    if not booked:
        return "目前还没有居民预约，欢迎现场来访的居民。"
    return "；".join(f"{a.slot.starts_at:%H:%M} {_excerpt(a.topic, 16)}"
                    + ("（约您）" if a.deputy_id == deputy_id else "") for a in booked)


def resident_can_cancel(a: Appointment, now: datetime | None = None) -> bool:
    deadline = cancel_deadline(a)
    return a.status in TRANSITIONS["cancel"][0] and (deadline is None or (now or utcnow()) < deadline)


# ---- reads for the pages ----

@dataclass(frozen=True)
class SlotView:
    slot: ReceptionSlot
    free: int
    started: bool

    @property
    def full(self) -> bool:
        return self.free <= 0


def upcoming_days(station: Station, *, today: date, limit: int = 3) -> list[ReceptionDay]:
    return list(db.session.scalars(
        sa.select(ReceptionDay)
        .where(ReceptionDay.station_id == station.id, ReceptionDay.status == "scheduled",
               ReceptionDay.date >= today)
        .order_by(ReceptionDay.date).limit(limit)
        .options(selectinload(ReceptionDay.slots),
                 selectinload(ReceptionDay.duties).selectinload(ReceptionDuty.deputy))))


def slot_views(day: ReceptionDay, now: datetime | None = None) -> list[SlotView]:
    now = now or utcnow()
    return [SlotView(s, s.capacity - s.booked, slot_start(s) <= now) for s in day.slots]


def on_duty(day: ReceptionDay) -> list[Deputy]:
    return sorted((d.deputy for d in day.duties if d.deputy.is_active), key=lambda d: d.name)


def next_duty(deputy: Deputy, *, today: date, within_days: int = 31) -> ReceptionDuty | None:
    """The deputy's next duty on a scheduled day soon, for the "预约接待" link on their page."""
    return db.session.scalar(
        sa.select(ReceptionDuty).join(ReceptionDay)
        .where(ReceptionDuty.deputy_id == deputy.id, ReceptionDay.status == "scheduled",
               ReceptionDay.date.between(today, today + timedelta(days=within_days)))
        .order_by(ReceptionDay.date).limit(1))


def resident_appointments(resident: Resident, limit: int = 50) -> list[Appointment]:
    return list(db.session.scalars(
        sa.select(Appointment).filter_by(resident_id=resident.id)
        .order_by(Appointment.id.desc()).limit(limit)))


def live_on_day(resident: Resident | None, day: ReceptionDay) -> Appointment | None:
    """The resident's booking (or place in line) on that day, if any."""
    if resident is None:
        return None
    return db.session.scalar(sa.select(Appointment).where(
        Appointment.resident_id == resident.id, Appointment.day_id == day.id,
        Appointment.status.in_(LIVE_ON_DAY)).limit(1))


def day_appointments(day: ReceptionDay) -> tuple[list[Appointment], list[Appointment]]:
    """The day's appointments by slot time, and the waitlist in the order it is served."""
    rows = db.session.scalars(
        sa.select(Appointment).where(Appointment.day_id == day.id)
        .order_by(Appointment.created_at, Appointment.id)
        .options(selectinload(Appointment.slot), selectinload(Appointment.deputy))).all()
    waiting = [a for a in rows if a.status == "waitlisted"]
    seated = sorted((a for a in rows if a.status != "waitlisted"),
                    key=lambda a: (a.slot.starts_at if a.slot else datetime.max.time(),
                                   a.status == "cancelled"))
    return seated, waiting


def staff_days(user, *, today: date, limit: int = 30) -> list[ReceptionDay]:
    """Reception days from a week back on: a liaison's stations', a deputy's duties, all for
    an admin."""
    query = (sa.select(ReceptionDay).where(ReceptionDay.date >= today - timedelta(days=7))
             .order_by(ReceptionDay.date, ReceptionDay.station_id).limit(limit))
    scope = access.managed_station_ids(user)
    if is_deputy(user):
        query = query.join(ReceptionDuty).where(ReceptionDuty.deputy_id == user.deputy_id)
    elif scope is not None:
        query = query.where(ReceptionDay.station_id.in_(scope))
    return list(db.session.scalars(query))


def meeting_requests(user, limit: int = 100) -> list[Appointment]:
    """Meeting requests this user answers: open ones first, then the latest answered."""
    query = (sa.select(Appointment).where(Appointment.kind == "request")
             .order_by(Appointment.status.notin_(OPEN_REQUESTS), Appointment.id.desc()).limit(limit))
    scope = access.managed_station_ids(user)
    if is_deputy(user):
        query = query.where(Appointment.deputy_id == user.deputy_id)
    elif scope is not None:
        query = query.where(Appointment.station_id.in_(scope))
    return list(db.session.scalars(query))


def get_day_for(user, day_id: int) -> ReceptionDay:
    return load_for(user, ReceptionDay, day_id, can_view_day,
                    missing=NotFound("接待日不存在", code="day_not_found"),
                    refused=Forbidden("您无权查看这个接待日的预约", code="day_forbidden"))


def get_for_staff(user, appointment_id: int) -> Appointment:
    return load_for(user, Appointment, appointment_id, can_handle,
                    missing=NotFound("预约不存在", code="appointment_not_found"),
                    refused=Forbidden("您无权办理这个预约", code="appointment_forbidden"))


def find_by_code(code: str) -> Appointment:
    code = "".join((code or "").split()).upper()
    a = db.session.scalar(sa.select(Appointment).filter_by(code=code)) if code else None
    if a is None:
        raise NotFound("没有找到这个预约码，请核对后重新输入", code="code_not_found")
    return a


def slot_start(slot: ReceptionSlot) -> datetime:
    return datetime.combine(slot.day.date, slot.starts_at, tzinfo=LOCAL_TZ)


def slot_end(slot: ReceptionSlot) -> datetime:
    return datetime.combine(slot.day.date, slot.ends_at, tzinfo=LOCAL_TZ)


def meeting_time(a: Appointment) -> datetime | None:
    """When a meeting asked for outside reception days takes (or would take) place."""
    return a.proposed_at or a.requested_at


def cancel_deadline(a: Appointment) -> datetime | None:
    """Until when the resident may cancel online; None when no seat is held."""
    if a.status != "booked" or a.slot is None:
        return None
    return slot_start(a.slot) - timedelta(hours=cutoff_hours(a.station_id))


def cutoff_hours(station_id: int) -> int:
    rule = db.session.get(ReceptionRule, station_id)
    return rule.cancel_cutoff_hours if rule is not None else DEFAULT_CUTOFF_HOURS


def masked_phone(a: Appointment) -> str:
    return mask_phone(a.phone_prefix, a.phone_last4)


def parse_local(text: str) -> datetime | None:
    """A local "YYYY-MM-DDTHH:MM" from a form (date and time inputs) as an aware datetime."""
    try:
        return datetime.fromisoformat((text or "").strip().replace(" ", "T")).replace(tzinfo=LOCAL_TZ)
    except ValueError:
        return None


# ---- internals ----

def _seat_request(day, slot, deputy, topic, contact_name, phone, now, *, slot_required) -> dict:
    """Checks what book and join_waitlist share; returns the new appointment's fields."""
    if day.status != "scheduled":
        raise InvalidState(f"这一天的接待已取消：{day.cancel_reason}", code="day_cancelled")
    if not day.station.is_active:
        raise NotFound("该联络站不存在或已停用", code="station_unknown")
    errors: dict = {}
    if slot is not None and slot.day_id != day.id:
        slot = None
    if slot is None and slot_required:
        errors["slot_id"] = ["请选择时段"]
    elif slot is not None and slot_start(slot) <= now:
        errors["slot_id"] = ["这个时段已经开始，请选择其他时段"]
    elif slot is None and not _open_slots(day, now, include_full=True):
        errors["slot_id"] = ["这一天的接待已经开始，不能再预约"]
    if deputy is not None and not (deputy.is_active and any(d.deputy_id == deputy.id
                                                            for d in day.duties)):
        errors["deputy_id"] = ["这位代表当天不值班，请重新选择"]
    fields = _resident_fields(topic, contact_name, phone, errors)
    if errors:
        raise ValidationFailed(errors=errors)
    return {**fields, "kind": "slot", "station_id": day.station_id, "day_id": day.id,
            "slot_id": slot.id if slot else None, "deputy_id": deputy.id if deputy else None}


def _resident_fields(topic, contact_name, phone, errors) -> dict:
    topic, contact_name = clean_text(topic), clean_text(contact_name)
    length = visible_length(topic)
    if length < TOPIC_MIN:
        errors["topic"] = [f"请用几句话说明想谈的事，至少 {TOPIC_MIN} 个字"]
    elif length > TOPIC_MAX:
        errors["topic"] = [f"想谈的事不能超过 {TOPIC_MAX} 个字（现在 {length} 个字）"]
    if visible_length(contact_name) > NAME_MAX:
        errors["contact_name"] = [f"称呼不能超过 {NAME_MAX} 个字"]
    phone = normalise_phone(phone)
    if phone and not PHONE_RE.match(phone):
        errors["phone"] = ["请填写11位手机号码，或留空"]
    fields = {"topic": topic, "contact_name": contact_name}
    if phone:
        fields.update(phone_fields(phone))
    return fields


def _check_meeting_time(at, now, errors, name) -> None:
    if at is None:
        errors[name] = ["请选择希望见面的日期和时间"]
    elif at <= now:
        errors[name] = ["请选择以后的时间"]
    elif at > now + MEETING_HORIZON:
        errors[name] = ["只能约半年以内的时间"]


def _valid_time(at, now, name) -> None:
    errors: dict = {}
    _check_meeting_time(at, now, errors, name)
    if errors:
        raise ValidationFailed(errors=errors)


def _open_slots(day, now, *, include_full=False) -> list[ReceptionSlot]:
    return [s for s in day.slots
            if slot_start(s) > now and (include_full or s.booked < s.capacity)]


def _claim_day(resident: Resident, day: ReceptionDay) -> None:
    """One live appointment per resident and day. The resident's row lock (PostgreSQL) makes a
    double tap wait for the first request; SQLite has a single writer anyway."""
    db.session.execute(sa.select(Resident.id).where(Resident.id == resident.id).with_for_update())
    held = live_on_day(resident, day)
    if held is not None:
        raise InvalidState(f"您已{'登记了这一天的候补' if held.status == 'waitlisted' else '预约了这一天的接待'}"
                           "，如需改时段，请先在“我的预约”里取消原来的预约",
                           code="already_booked_that_day")


def _take_seat(slot: ReceptionSlot) -> None:
    taken = db.session.execute(
        sa.update(ReceptionSlot)
        .where(ReceptionSlot.id == slot.id, ReceptionSlot.booked < ReceptionSlot.capacity)
        .values(booked=ReceptionSlot.booked + 1)
        .execution_options(synchronize_session=False))
    db.session.expire(slot, ["booked"])
    if taken.rowcount != 1:
        raise SlotFull()


def _free_seat(slot: ReceptionSlot) -> None:
    db.session.execute(
        sa.update(ReceptionSlot).where(ReceptionSlot.id == slot.id, ReceptionSlot.booked > 0)
        .values(booked=ReceptionSlot.booked - 1).execution_options(synchronize_session=False))
    db.session.expire(slot, ["booked"])


def _promote_next(slot: ReceptionSlot, now: datetime) -> Appointment | None:
    """The first resident waiting for this slot (or for any slot of its day) gets the seat in
    the same transaction, taken with the same conditional UPDATE."""
    if slot_start(slot) <= now:
        return None
    waiting = db.session.scalar(
        sa.select(Appointment)
        .where(Appointment.day_id == slot.day_id, Appointment.status == "waitlisted",
               sa.or_(Appointment.slot_id == slot.id, Appointment.slot_id.is_(None)))
        .order_by(Appointment.created_at, Appointment.id).limit(1)
        # A waiter cancelling right now is skipped rather than waited for.
        .with_for_update(skip_locked=True).execution_options(populate_existing=True))
    if waiting is None:
        return None
    _take_seat(slot)
    waiting.slot_id = slot.id
    _transition(waiting, "promote", None, slot_id=slot.id)
    db.session.flush()
    db.session.expire(waiting, ["slot"])
    _notify_resident(waiting, "appointment.promoted", "您候补的接待时段有空位，已为您预约成功",
                     _when_where(waiting))
    return waiting


def _create(resident: Resident, status: str, fields: dict) -> Appointment:
    appointment = Appointment(resident_id=resident.id, status=status, code=_new_code(), **fields)
    db.session.add(appointment)
    db.session.flush()
    _audit(f"appointment.{'request' if status == 'requested' else status}", appointment, resident,
           None, {"status": status, "slot_id": appointment.slot_id,
                  "deputy_id": appointment.deputy_id})
    return appointment


def _new_code() -> str:
    # The unique constraint is the backstop; a clash among 31**8 codes is not worth a savepoint.
    while True:
        code = "".join(secrets.choice(LOOKUP_ALPHABET) for _ in range(CODE_LENGTH))
        if db.session.scalar(sa.select(Appointment.id).filter_by(code=code)) is None:
            return code


def _guard(a: Appointment, verb: str, allowed: bool) -> None:
    if not allowed:
        raise Forbidden("您无权办理这个预约", code="appointment_forbidden")
    # Re-read under a row lock: two taps (or a promotion and a cancel) never both pass.
    db.session.refresh(a, with_for_update=True)
    if a.status not in TRANSITIONS[verb][0]:
        raise InvalidState(f"预约当前为「{a.status_label}」，不能{VERB_LABELS[verb]}",
                           code=f"cannot_{verb}")


def _transition(a: Appointment, verb: str, actor, **data) -> None:
    before = a.status
    a.status = TRANSITIONS[verb][1]
    _audit(f"appointment.{verb}", a, actor, {"status": before}, {"status": a.status, **data})


def _audit(action, a, actor, before, after) -> None:
    # The audit log's actor is a staff account; a resident is named by label only.
    event = record(action, a, actor=None if isinstance(actor, Resident) else actor,
                   before=before, after=after)
    if isinstance(actor, Resident):
        event.actor_label = "居民"


def _when_where(a: Appointment) -> str:
    if a.kind == "slot":
        d = a.day.date
        when = people_day(d) + (f" {a.slot.starts_at:%H:%M}" if a.slot else "")
    else:
        when = people_time(meeting_time(a))
    who = f"{a.deputy.name}代表" if a.deputy else "联络站安排的代表"
    return f"{when} · {a.station.name} · {who} · 预约码 {a.code}"


def _notify_resident(a: Appointment, topic: str, title: str, body: str = "") -> None:
    notify("resident", a.resident_id, topic, title, body=body, place=Place("resident_appointment", a.id),
           subject=a)


def _notify_handlers(a: Appointment, topic: str, title: str) -> None:
    body, place = _excerpt(a.topic), Place("meeting_requests")
    if a.deputy_id:
        notify("deputy", a.deputy_id, topic, title, body=body, place=place, subject=a)
    else:
        notify_station_liaisons(a.station_id, topic, title, body=body, place=place, subject=a)


def _excerpt(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[:n] + "…"
