"""The record of a reception day, kept after it by the station's liaison (or an admin): which
deputies came, how many people walked in, and the matters raised. A matter the resident agreed
to have followed up becomes a message (channel "reception") and lives the life of any message.

Operations flush and audit; the caller commits."""
from datetime import date

import sqlalchemy as sa

from backend.reception.policy import can_record
from backend.core.errors import Forbidden, InvalidState, ValidationFailed
from backend.core import idempotency
from backend.core.extensions import db
from backend.reception.models import (
    Appointment, ReceptionDay, ReceptionItem, ReceptionRecord, record_deputies,
)
from backend.org.models import Deputy
from backend.messages.models import Message
from backend.accounts.resident_model import Resident
from backend.core.audit import record as audit, snapshot
from backend.messages.matters import checked_summary, matter_to_message, unnamed_resident
from backend.core.textcount import clean_text, visible_length
from backend.core.timeutil import local_today

NOTES_MAX = 2000
WALK_INS_MAX = 10_000
RECORD_FIELDS = ("walk_in_count", "notes", "deputies")


def record_for(day: ReceptionDay) -> ReceptionRecord | None:
    return db.session.scalar(sa.select(ReceptionRecord).filter_by(day_id=day.id))


def attendance_choices(day: ReceptionDay) -> list[Deputy]:
    """Who may be ticked as present: the station's deputies and whoever was on duty."""
    people = {d.id: d for d in station_deputies(day)}
    people.update({duty.deputy.id: duty.deputy for duty in day.duties})
    return sorted(people.values(), key=lambda d: d.id)


def station_deputies(day: ReceptionDay) -> list[Deputy]:
    """Whom a matter may be addressed to: a message goes to a deputy of this station."""
    return list(db.session.scalars(
        sa.select(Deputy).where(Deputy.stations.any(id=day.station_id), Deputy.is_active.is_(True))
        .order_by(Deputy.id)))


def record_day(day: ReceptionDay, *, actor, deputy_ids, walk_in_count, notes,
               today: date | None = None) -> ReceptionRecord:
    _check_access(actor, day)
    if day.status == "cancelled":
        raise InvalidState("该接待日已取消，不能填写接待记录", code="day_cancelled")
    if day.date > (today or local_today()):
        raise InvalidState("接待日还没到，活动结束后再填写记录", code="day_not_held")
    allowed = {d.id: d for d in attendance_choices(day)}
    errors = {}
    ids = list(dict.fromkeys(deputy_ids or ()))
    if any(i not in allowed for i in ids):
        errors["deputy_ids"] = ["只能选择本站代表或当天值班的代表"]
    if not isinstance(walk_in_count, int) or not 0 <= walk_in_count <= WALK_INS_MAX:
        errors["walk_in_count"] = [f"现场接待人数应为 0 到 {WALK_INS_MAX} 之间的整数"]
    notes = clean_text(notes or "")
    if visible_length(notes) > NOTES_MAX:
        errors["notes"] = [f"备注不能超过 {NOTES_MAX} 个字"]
    if errors:
        raise ValidationFailed(errors=errors)

    rec = record_for(day)
    before = snapshot(rec, RECORD_FIELDS) if rec else None
    if rec is None:
        rec = ReceptionRecord(day_id=day.id)
        db.session.add(rec)
    rec.walk_in_count, rec.notes, rec.recorded_by_id = walk_in_count, notes, actor.id
    rec.deputies = [allowed[i] for i in ids]
    db.session.flush()
    audit("reception_record.save", rec, actor=actor, before=before,
          after=snapshot(rec, RECORD_FIELDS))
    return rec


def add_item(record: ReceptionRecord, *, actor, summary, deputy_id=None, appointment_id=None,
             resident_consent: bool) -> ReceptionItem:
    _check_access(actor, record.day)
    item = _new_item(record, summary, deputy_id, appointment_id, resident_consent)
    db.session.add(item)
    db.session.flush()
    db.session.expire(record, ["items"])
    _audit_item(item, actor)
    return item


def add_item_once(record: ReceptionRecord, *, actor, idempotency_key, summary, deputy_id=None,
                  appointment_id=None, resident_consent: bool) -> tuple[ReceptionItem, bool]:
    """add_item from a form a double click or a resubmit posts twice: (the item, whether it was
    recorded now); the same key again records nothing (backend/core/idempotency.py)."""
    _check_access(actor, record.day)
    item, created = idempotency.record_once(
        ReceptionItem, idempotency_key, what="个问题",
        make=lambda key: _new_item(record, summary, deputy_id, appointment_id, resident_consent,
                                   idempotency_key=key),
        same=lambda item: (item.record_id, item.summary, item.deputy_id, item.appointment_id,
                           item.resident_consent) == (
            record.id, clean_text(summary or ""), deputy_id or None, appointment_id or None,
            bool(resident_consent)))
    db.session.expire(record, ["items"])  # listed on the page, new or replayed
    if created:
        _audit_item(item, actor)
    return item, created


def _new_item(record, summary, deputy_id, appointment_id, resident_consent,
              idempotency_key=None) -> ReceptionItem:
    """The unsaved item, its input checked; ValidationFailed with every problem at once."""
    day = record.day
    errors = {}
    summary = checked_summary(summary, errors)
    if deputy_id and deputy_id not in {d.id for d in station_deputies(day)}:
        errors["deputy_id"] = ["只能选择本站的代表"]
    if appointment_id and db.session.scalar(sa.select(Appointment.id).filter_by(
            id=appointment_id, day_id=day.id)) is None:
        errors["appointment_id"] = ["该预约不属于这个接待日"]
    if errors:
        raise ValidationFailed(errors=errors)
    return ReceptionItem(record_id=record.id, summary=summary, deputy_id=deputy_id or None,
                         appointment_id=appointment_id or None,
                         resident_consent=bool(resident_consent), idempotency_key=idempotency_key)


def _audit_item(item: ReceptionItem, actor) -> None:
    audit("reception_item.create", item, actor=actor,
          after=snapshot(item, ("summary", "deputy_id", "appointment_id", "resident_consent")))


def item_to_message(item: ReceptionItem, *, actor) -> Message:
    """Once per item: a second call (or a racing one) returns the same message."""
    day = item.record.day
    _check_access(actor, day)
    message, made = matter_to_message(
        item, key=f"reception-item-{item.id}", station=day.station, channel="reception",
        deputy=db.session.get(Deputy, item.deputy_id) if item.deputy_id else None,
        resident_for=lambda: _resident_for(item))
    if made:
        audit("reception_item.to_message", item, actor=actor,
              after={"message_id": message.id})
    return message


def attendance(deputy: Deputy, year: int) -> int:
    """How many reception days of the year the deputy was recorded at."""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(ReceptionRecord)
        .join(record_deputies, record_deputies.c.record_id == ReceptionRecord.id)
        .join(ReceptionDay, ReceptionDay.id == ReceptionRecord.day_id)
        .where(record_deputies.c.deputy_id == deputy.id,
               ReceptionDay.date >= date(year, 1, 1), ReceptionDay.date < date(year + 1, 1, 1)))


def _check_access(actor, day: ReceptionDay) -> None:
    if not can_record(actor, day):
        raise Forbidden("只有本站联络员或管理员可以填写接待记录", code="record_forbidden")


def _resident_for(item: ReceptionItem) -> Resident:
    """The booked resident when the matter came with an appointment; else someone unnamed."""
    if item.appointment_id:
        return db.session.get(Appointment, item.appointment_id).resident
    return unnamed_resident()
