"""The notification outbox: written in the same transaction as the change it tells of,
delivered afterwards by a worker, with retries."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.extensions import db
from backend.core.db import UTCDateTime, str_enum, utcnow
from backend.notifications.places import Place, from_stored

OUTBOX_STATUSES = ("pending", "sent", "failed", "dead")
RECIPIENT_KINDS = ("resident", "staff", "deputy")


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_kind: Mapped[str] = mapped_column(str_enum("recipient_kind", *RECIPIENT_KINDS))
    recipient_id: Mapped[int] = mapped_column()
    topic: Mapped[str] = mapped_column(sa.String(40))  # e.g. message.answered
    subject_type: Mapped[str] = mapped_column(sa.String(30), default="")
    subject_id: Mapped[int | None] = mapped_column()
    title: Mapped[str] = mapped_column(sa.String(60))
    body: Mapped[str] = mapped_column(sa.String(500), default="")
    # Where the reader is taken, as backend/notifications/places.py names it (`name:id`).
    place_ref: Mapped[str] = mapped_column("link", sa.String(200), default="")
    status: Mapped[str] = mapped_column(str_enum("outbox_status", *OUTBOX_STATUSES),
                                        default="pending")
    channel: Mapped[str] = mapped_column(sa.String(20), default="")  # how it went out
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str] = mapped_column(sa.String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def place(self) -> Place | None:
        return from_stored(self.place_ref)

    @property
    def link(self) -> str:
        """The portal path of the place, for the web and the in-app inbox ("" for none)."""
        place = self.place
        return place.web_path if place is not None else ""
