"""Messages (留言) and everything that happens to them."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.extensions import db
from backend.core.db import UTCDateTime, str_enum, utcnow
from backend.core.timeutil import local

STATUSES = ("held", "new", "acknowledged", "awaiting_info", "answered", "reopened", "closed",
            "rejected", "forwarded", "merged")
STATUS_LABELS = {
    "held": "待审核", "new": "待受理", "acknowledged": "办理中", "awaiting_info": "待补充",
    "answered": "已答复", "reopened": "重新办理", "closed": "已办结", "rejected": "不予受理",
    "forwarded": "已转办", "merged": "已合并",
}
# Cases still in someone's hands; the clocks run only for these.
OPEN_STATUSES = ("new", "acknowledged", "awaiting_info", "reopened")
QUEUE_STATUSES = ("held", *OPEN_STATUSES)
QUEUE_PREDICATE = "status IN ('held', 'new', 'acknowledged', 'awaiting_info', 'reopened')"
RATINGS = ("satisfied", "basically_satisfied", "dissatisfied")
RATING_LABELS = {"satisfied": "满意", "basically_satisfied": "基本满意", "dissatisfied": "不满意"}
CHANNELS = ("web", "miniprogram", "reception", "staff", "activity")
REPLY_KINDS = ("answer", "info_request", "resident_info")


class Message(db.Model):
    __tablename__ = "messages"
    __table_args__ = (
        sa.CheckConstraint("(status = 'merged') = (merged_into_id IS NOT NULL)", name="merged_has_target"),
        sa.CheckConstraint("status != 'rejected' OR reject_reason != ''", name="rejected_has_reason"),
        sa.CheckConstraint("status != 'forwarded' OR forward_to != ''", name="forwarded_has_target"),
        sa.CheckConstraint("status != 'held' OR hold_reason != ''", name="held_has_reason"),
        # The liaison queue: a station's cases in hand, due first; keyset pages walk (due, id).
        # Partial, so closed cases (most of a station's history) cost the queue nothing.
        sa.Index("ix_messages_queue", "station_id", "answer_due_at", "id",
                 sqlite_where=sa.text(QUEUE_PREDICATE), postgresql_where=sa.text(QUEUE_PREDICATE)),
        sa.Index("ix_messages_station_due", "station_id", "answer_due_at", "id"),
        sa.Index("ix_messages_deputy_inbox", "assigned_deputy_id", "id"),
        sa.Index("ix_messages_addressed_deputy", "deputy_id", "id"),
        sa.Index("ix_messages_resident", "resident_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    channel: Mapped[str] = mapped_column(str_enum("message_channel", *CHANNELS), default="web")
    resident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("residents.id"))
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id"))
    # The deputy the resident wrote to (None: written to the station as a whole) ...
    deputy_id: Mapped[int | None] = mapped_column(sa.ForeignKey("deputies.id"))
    # ... and the deputy who must answer it now.
    assigned_deputy_id: Mapped[int | None] = mapped_column(sa.ForeignKey("deputies.id"))
    status: Mapped[str] = mapped_column(str_enum("message_status", *STATUSES), default="new")
    category: Mapped[str] = mapped_column(sa.String(20), default="")
    body: Mapped[str] = mapped_column(sa.Text)
    place: Mapped[str] = mapped_column(sa.String(120), default="")
    phone_encrypted: Mapped[str | None] = mapped_column(sa.String(200))
    phone_last4: Mapped[str] = mapped_column(sa.String(4), default="")
    phone_prefix: Mapped[str] = mapped_column(sa.String(3), default="")
    # Keyed hash of the normalised phone (backend/core/protect.py): staff search by phone.
    phone_index: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    may_publish: Mapped[bool] = mapped_column(default=False)
    # Full-text search tokens of body, place and merged bodies (backend/messages/search.py);
    # indexed by the migration: GIN on PostgreSQL, FTS5 table messages_fts on SQLite.
    search_tokens: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    hold_reason: Mapped[str] = mapped_column(sa.String(200), default="")
    reject_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    forward_to: Mapped[str] = mapped_column(sa.String(120), default="")
    forward_ref: Mapped[str] = mapped_column(sa.String(60), default="")
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("messages.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    ack_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answer_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deputy_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the writer last opened the message on the web: an answer after it is news to them.
    resident_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the writer's personal data left it (retention or the resident's own deletion).
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow,
                                                 nullable=False)

    station = relationship("Station")
    deputy = relationship("Deputy", foreign_keys=[deputy_id])
    assigned_deputy = relationship("Deputy", foreign_keys=[assigned_deputy_id])
    resident = relationship("Resident")
    merged_into = relationship("Message", remote_side=[id])
    # What anyone may see: a photo WeChat's media check found risky is hidden (hidden_at).
    photos = relationship("MessagePhoto", order_by="MessagePhoto.position",
                          primaryjoin="and_(Message.id == MessagePhoto.message_id,"
                                      " MessagePhoto.hidden_at.is_(None))",
                          back_populates="message")
    replies = relationship("MessageReply", order_by="MessageReply.id", back_populates="message")
    events = relationship("MessageEvent", order_by="MessageEvent.id", back_populates="message")

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def tracking_no(self) -> str:
        """Derived from the local date and the id, so it never needs a second write."""
        return f"LY{local(self.created_at):%Y%m%d}-{self.id:06d}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def has_unread_answer(self) -> bool:
        return self.answered_at is not None and (
            self.resident_read_at is None or self.answered_at > self.resident_read_at)

    @classmethod
    def unread_answer_clause(cls):
        """has_unread_answer, in SQL."""
        return cls.answered_at.is_not(None) & (
            cls.resident_read_at.is_(None) | (cls.answered_at > cls.resident_read_at))


class MessagePhoto(db.Model):
    """A photo uploaded by a resident; attached to a message when the message is sent."""
    __tablename__ = "message_photos"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    resident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("residents.id"), index=True)
    storage_key: Mapped[str] = mapped_column(sa.String(200))
    position: Mapped[int] = mapped_column(default=0)
    width: Mapped[int] = mapped_column(default=0)
    height: Mapped[int] = mapped_column(default=0)
    size_bytes: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    # The trace_id WeChat's mediaCheckAsync answered for this photo: its later verdict
    # (a wxa_media_check push) names the photo only by it.
    media_trace_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    message = relationship(Message, back_populates="photos")


class MessageReply(db.Model):
    """What the deputy answers, asks, or what the resident adds when asked."""
    __tablename__ = "message_replies"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(sa.ForeignKey("messages.id", ondelete="CASCADE"),
                                            index=True)
    kind: Mapped[str] = mapped_column(str_enum("reply_kind", *REPLY_KINDS))
    body: Mapped[str] = mapped_column(sa.Text)
    deputy_id: Mapped[int | None] = mapped_column(sa.ForeignKey("deputies.id"))
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    message = relationship(Message, back_populates="replies")
    deputy = relationship("Deputy")


class MessageRating(db.Model):
    """The resident's judgement of an answer; one per answer round."""
    __tablename__ = "message_ratings"
    __table_args__ = (sa.UniqueConstraint("message_id", "round", name="uq_message_ratings_round"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(sa.ForeignKey("messages.id", ondelete="CASCADE"))
    round: Mapped[int] = mapped_column(default=1)
    value: Mapped[str] = mapped_column(str_enum("rating_value", *RATINGS))
    comment: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class MessageEvent(db.Model):
    """One row per transition or note: who, when, what, before and after. Residents see the
    public ones as the message's timeline."""
    __tablename__ = "message_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(sa.ForeignKey("messages.id", ondelete="CASCADE"),
                                            index=True)
    kind: Mapped[str] = mapped_column(sa.String(30))
    actor_kind: Mapped[str] = mapped_column(
        str_enum("event_actor_kind", "resident", "staff", "system"))
    actor_id: Mapped[int | None] = mapped_column()
    actor_label: Mapped[str] = mapped_column(sa.String(60), default="")
    from_status: Mapped[str | None] = mapped_column(sa.String(20))
    to_status: Mapped[str | None] = mapped_column(sa.String(20))
    is_internal: Mapped[bool] = mapped_column(default=False)
    text: Mapped[str] = mapped_column(sa.Text, default="")
    data: Mapped[dict | None] = mapped_column(sa.JSON)
    # A staff note form's key (backend/core/idempotency.py): a resubmit notes it once.
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    message = relationship(Message, back_populates="events")
