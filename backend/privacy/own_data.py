"""A resident's own data: what the system holds about them, and deleting it. Deletion
anonymises (backend/privacy/anonymise.py) rather than removing rows: the deputies' records and
the figures keep counting the messages, bookings and supports, which no longer name anyone.
Only flushes; the channel commits."""
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from backend.accounts.resident_model import Resident
from backend.core.audit import record
from backend.core.errors import InvalidState, ValidationFailed
from backend.core.extensions import db
from backend.core.protect import mask_phone
from backend.core.timeutil import utcnow
from backend.delivery.subscriptions import grants_for
from backend.messages.models import Message, MessagePhoto
from backend.privacy.anonymise import (
    anonymise_appointments, anonymise_messages, tombstone_residents)
from backend.projects.lists import residents_own
from backend.projects.models import ProjectFollow, ProjectProposal, ProjectSupport
from backend.reception import appointments as reception
from backend.reception.models import Appointment

EXCERPT = 40


@dataclass
class Holdings:
    messages: list[dict]
    appointments: list[dict]
    proposals: list[dict]
    supports: list[dict]
    follows: int
    subscriptions: list[dict]
    has_wechat: bool  # whether an openid is held (never shown)


def holdings(resident: Resident) -> Holdings:
    """Everything tied to this resident, as they may see it: phones masked, ids never shown."""
    messages = list(db.session.scalars(
        sa.select(Message).filter_by(resident_id=resident.id).order_by(Message.id.desc())))
    photo_counts = dict(db.session.execute(
        sa.select(MessagePhoto.message_id, sa.func.count())
        .where(MessagePhoto.message_id.in_([m.id for m in messages]))
        .group_by(MessagePhoto.message_id)).all()) if messages else {}
    appointments = list(db.session.scalars(
        sa.select(Appointment).filter_by(resident_id=resident.id).order_by(Appointment.id.desc())))
    supports = list(db.session.scalars(
        sa.select(ProjectProposal).join(ProjectSupport, ProjectSupport.proposal_id == ProjectProposal.id)
        .where(ProjectSupport.resident_id == resident.id).order_by(ProjectProposal.id.desc())))
    return Holdings(
        messages=[{"id": m.id, "tracking_no": m.tracking_no, "created_at": m.created_at,
                   "status": m.status_label, "excerpt": _excerpt(m.body),
                   "phone": mask_phone(m.phone_prefix, m.phone_last4),
                   "place": m.place, "photos": photo_counts.get(m.id, 0)} for m in messages],
        appointments=[{"id": a.id, "code": a.code, "created_at": a.created_at,
                       "status": a.status_label, "topic": _excerpt(a.topic),
                       "contact_name": a.contact_name,
                       "phone": mask_phone(a.phone_prefix, a.phone_last4)} for a in appointments],
        proposals=[{"id": p.id, "number": p.number, "title": p.title, "status": p.status_label}
                   for p in residents_own(resident)],
        supports=[{"id": p.id, "number": p.number, "title": p.title} for p in supports],
        follows=db.session.scalar(sa.select(sa.func.count()).select_from(ProjectFollow)
                                  .filter_by(resident_id=resident.id)),
        subscriptions=[g for g in grants_for(resident) if g["remaining"]],
        has_wechat=bool(resident.openid),
    )


@dataclass
class Deletion:
    messages: int
    photos: int
    appointments: int
    cancelled: int


def delete_own_data(resident: Resident, *, confirmed: bool, now: datetime | None = None) -> Deletion:
    """The resident's choice, after a confirm step: bookings still ahead are cancelled (their
    seats freed, the first waiter promoted), then messages and bookings lose name, phone,
    photos and the link to the resident, and the resident row is tombstoned."""
    if not confirmed:
        raise ValidationFailed("请确认您已了解删除的后果，再删除个人信息",
                               code="deletion_not_confirmed",
                               errors={"confirm": ["请勾选确认"]})
    # The resident's row lock (PostgreSQL): a double tap waits for the first deletion and then
    # finds it done, instead of cancelling the same bookings (and freeing their seats) twice.
    deleted_at = db.session.scalar(
        sa.select(Resident.anonymised_at).where(Resident.id == resident.id).with_for_update())
    if deleted_at is not None:
        raise InvalidState("您的个人信息已经删除", code="already_deleted")
    now = now or utcnow()
    cancelled = 0
    live = db.session.scalars(sa.select(Appointment).where(
        Appointment.resident_id == resident.id,
        Appointment.status.in_(reception.TRANSITIONS["cancel"][0])).order_by(Appointment.id))
    for appointment in list(live):
        # Past the station's cut-off a booking stands (the seat is counted on the day), but it
        # no longer names the resident either.
        if reception.resident_can_cancel(appointment, now):
            reception.cancel(appointment, by_resident=resident, reason="居民删除个人信息", now=now)
            cancelled += 1
    db.session.flush()
    message_ids = list(db.session.scalars(sa.select(Message.id).filter_by(resident_id=resident.id)))
    appointment_ids = list(db.session.scalars(
        sa.select(Appointment.id).filter_by(resident_id=resident.id)))
    messages, photos = anonymise_messages(message_ids, now)
    appointments = anonymise_appointments(appointment_ids, now)
    tombstone_residents([resident.id], now)
    db.session.expire(resident)
    outcome = Deletion(messages, photos, appointments, cancelled)
    record("resident.delete_own_data", resident, actor_label="居民本人",
           after=outcome.__dict__)
    return outcome


def _excerpt(text: str) -> str:
    return text if len(text) <= EXCERPT else text[:EXCERPT] + "…"
