"""Taking personal data out of rows that stay: deputies' records and the figures still count
the message, the appointment and the resident, but they no longer name anyone. Shared by the
retention job and by a resident deleting their own data. Functions only flush; photo files go
after the caller's commit (backend/messages/photos.py)."""
from datetime import datetime

import sqlalchemy as sa

from backend.accounts.resident_model import Resident, SubscribeGrant
from backend.core.extensions import db
from backend.core.protect import phone_fields
from backend.messages.models import Message
from backend.messages.photos import delete_photos_of
from backend.notifications.models import Notification
from backend.projects.models import ProjectFollow
from backend.reception.models import Appointment, CalendarFeed

NO_PHONE = phone_fields("")


def anonymise_messages(ids: list[int], now: datetime) -> tuple[int, int]:
    """Phone and photos removed, the writer unlinked (their openid with it); the text, dates,
    deputy and outcome stay for the figures. Returns (messages, photos)."""
    if not ids:
        return 0, 0
    photos = delete_photos_of(ids)
    changed = db.session.execute(
        sa.update(Message).where(Message.id.in_(ids), Message.anonymised_at.is_(None))
        .values(resident_id=None, anonymised_at=now, **NO_PHONE)
        .execution_options(synchronize_session="fetch")).rowcount
    return changed, photos


def anonymise_appointments(ids: list[int], now: datetime) -> int:
    """Name and phone removed; the booking itself (day, deputy, topic, status) stays."""
    if not ids:
        return 0
    return db.session.execute(
        sa.update(Appointment).where(Appointment.id.in_(ids), Appointment.anonymised_at.is_(None))
        .values(contact_name="", anonymised_at=now, **NO_PHONE)
        .execution_options(synchronize_session="fetch")).rowcount


def tombstone_residents(ids: list[int], now: datetime) -> int:
    """The resident row stays (supports, ratings and bookings point at it) without any id that
    finds the person: openid, unionid and the portal cookie's key go, and with them what only
    serves to reach them (subscribe grants, calendar feed, follows, notices)."""
    if not ids:
        return 0
    db.session.execute(sa.delete(SubscribeGrant).where(SubscribeGrant.resident_id.in_(ids)))
    db.session.execute(sa.delete(CalendarFeed).where(CalendarFeed.owner_kind == "resident",
                                                     CalendarFeed.owner_id.in_(ids)))
    db.session.execute(sa.delete(ProjectFollow).where(ProjectFollow.resident_id.in_(ids)))
    db.session.execute(sa.delete(Notification).where(Notification.recipient_kind == "resident",
                                                     Notification.recipient_id.in_(ids)))
    return db.session.execute(
        sa.update(Resident).where(Resident.id.in_(ids), Resident.anonymised_at.is_(None))
        .values(openid=None, unionid=None, web_key=None, anonymised_at=now)
        .execution_options(synchronize_session="fetch")).rowcount
