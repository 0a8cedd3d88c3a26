"""Reception days (代表接待选民日): each station's rule, the days it gives, who is on duty,
residents' appointments, and the record of what was raised."""
from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.extensions import db
from backend.core.db import UTCDateTime, str_enum, utcnow

DAY_POLICIES = ("keep", "next", "previous")
DAY_POLICY_LABELS = {"keep": "照常举行", "next": "顺延到下一个工作日", "previous": "提前到上一个工作日"}
DAY_STATUSES = ("scheduled", "cancelled")
DUTY_SOURCES = ("rotation", "swap", "manual")
SWAP_STATUSES = ("proposed", "accepted", "approved", "declined", "rejected", "withdrawn")
APPOINTMENT_KINDS = ("slot", "request")  # a seat on a reception day, or a meeting asked for
APPOINTMENT_STATUSES = ("booked", "waitlisted", "cancelled", "checked_in", "no_show",
                        "requested", "proposed", "accepted", "declined")
APPOINTMENT_STATUS_LABELS = {
    "booked": "已预约", "waitlisted": "候补中", "cancelled": "已取消", "checked_in": "已签到",
    "no_show": "未到场", "requested": "待回复", "proposed": "已建议新时间", "accepted": "已约定",
    "declined": "已婉拒",
}


class ReceptionRule(db.Model):
    """How a station holds its reception days; defaults are the statutory practice."""
    __tablename__ = "reception_rules"
    __table_args__ = (
        sa.CheckConstraint("day_of_month BETWEEN 1 AND 31", name="day_of_month_range"),
        sa.CheckConstraint("start_time < end_time", name="window_order"),
        sa.CheckConstraint("slot_minutes > 0 AND seats_per_slot > 0 AND duty_count > 0",
                           name="positive_sizes"),
    )
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id", ondelete="CASCADE"),
                                            primary_key=True)
    day_of_month: Mapped[int] = mapped_column(default=15)
    start_time: Mapped[time] = mapped_column(sa.Time, default=time(9, 0))
    end_time: Mapped[time] = mapped_column(sa.Time, default=time(11, 30))
    slot_minutes: Mapped[int] = mapped_column(default=30)
    seats_per_slot: Mapped[int] = mapped_column(default=3)
    weekend_policy: Mapped[str] = mapped_column(str_enum("weekend_policy", *DAY_POLICIES),
                                                default="keep")
    holiday_policy: Mapped[str] = mapped_column(str_enum("holiday_policy", *DAY_POLICIES),
                                                default="next")
    duty_count: Mapped[int] = mapped_column(default=2)
    months_ahead: Mapped[int] = mapped_column(default=3)
    cancel_cutoff_hours: Mapped[int] = mapped_column(default=24)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow,
                                                 nullable=False)

    station = relationship("Station")


class ReceptionDay(db.Model):
    """One reception day; keeps the window and sizes it was built with, so a later change of
    the rule never reshapes a day people have booked."""
    __tablename__ = "reception_days"
    __table_args__ = (
        sa.UniqueConstraint("station_id", "nominal_date", name="uq_reception_days_station_month"),
        sa.CheckConstraint("status != 'cancelled' OR cancel_reason != ''", name="cancel_has_reason"),
        sa.Index("ix_reception_days_date", "date", "station_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id", ondelete="CASCADE"))
    nominal_date: Mapped[date] = mapped_column(sa.Date)  # the rule's day this one stands for
    date: Mapped[date] = mapped_column(sa.Date)  # when it really takes place (local)
    start_time: Mapped[time] = mapped_column(sa.Time)
    end_time: Mapped[time] = mapped_column(sa.Time)
    status: Mapped[str] = mapped_column(str_enum("reception_day_status", *DAY_STATUSES),
                                        default="scheduled")
    moved_reason: Mapped[str] = mapped_column(sa.String(200), default="")
    cancel_reason: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    station = relationship("Station")
    slots = relationship("ReceptionSlot", order_by="ReceptionSlot.starts_at",
                         back_populates="day", cascade="all, delete-orphan")
    duties = relationship("ReceptionDuty", back_populates="day", cascade="all, delete-orphan")


class ReceptionSlot(db.Model):
    """A time slot with a hard number of seats: the database refuses one booking too many."""
    __tablename__ = "reception_slots"
    __table_args__ = (
        sa.CheckConstraint("booked >= 0 AND booked <= capacity", name="seats_within_capacity"),
        sa.UniqueConstraint("day_id", "starts_at", name="uq_reception_slots_day_start"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    day_id: Mapped[int] = mapped_column(sa.ForeignKey("reception_days.id", ondelete="CASCADE"))
    starts_at: Mapped[time] = mapped_column(sa.Time)
    ends_at: Mapped[time] = mapped_column(sa.Time)
    capacity: Mapped[int] = mapped_column()
    booked: Mapped[int] = mapped_column(default=0)

    day = relationship(ReceptionDay, back_populates="slots")


class ReceptionDuty(db.Model):
    __tablename__ = "reception_duties"
    __table_args__ = (sa.UniqueConstraint("day_id", "deputy_id", name="uq_reception_duties_day_deputy"),
                      sa.Index("ix_reception_duties_deputy", "deputy_id", "day_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    day_id: Mapped[int] = mapped_column(sa.ForeignKey("reception_days.id", ondelete="CASCADE"))
    deputy_id: Mapped[int] = mapped_column(sa.ForeignKey("deputies.id"))
    source: Mapped[str] = mapped_column(str_enum("duty_source", *DUTY_SOURCES), default="rotation")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    day = relationship(ReceptionDay, back_populates="duties")
    deputy = relationship("Deputy")


class DeputyUnavailability(db.Model):
    __tablename__ = "deputy_unavailabilities"
    __table_args__ = (sa.UniqueConstraint("deputy_id", "date", name="uq_deputy_unavailabilities_day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    deputy_id: Mapped[int] = mapped_column(sa.ForeignKey("deputies.id", ondelete="CASCADE"))
    date: Mapped[date] = mapped_column(sa.Date)
    reason: Mapped[str] = mapped_column(sa.String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class DutySwap(db.Model):
    """A deputy offers their duty to another, who accepts; the liaison approves."""
    __tablename__ = "duty_swaps"
    id: Mapped[int] = mapped_column(primary_key=True)
    duty_id: Mapped[int] = mapped_column(sa.ForeignKey("reception_duties.id", ondelete="CASCADE"))
    from_deputy_id: Mapped[int] = mapped_column(sa.ForeignKey("deputies.id"))
    to_deputy_id: Mapped[int] = mapped_column(sa.ForeignKey("deputies.id"))
    # Optional: the other deputy's duty they give in exchange (a true swap of days).
    counter_duty_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("reception_duties.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(str_enum("swap_status", *SWAP_STATUSES), default="proposed")
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))


class Appointment(db.Model):
    """A resident's meeting with a deputy: a seat on a reception day, or a meeting asked for
    outside them that the deputy or liaison answers."""
    __tablename__ = "appointments"
    __table_args__ = (
        sa.CheckConstraint("kind != 'slot' OR day_id IS NOT NULL", name="slot_has_day"),
        sa.CheckConstraint("status NOT IN ('booked', 'checked_in', 'no_show') OR slot_id IS NOT NULL",
                           name="seated_has_slot"),
        sa.Index("ix_appointments_slot_status", "slot_id", "status"),
        sa.Index("ix_appointments_day_status", "day_id", "status", "id"),
        sa.Index("ix_appointments_resident", "resident_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(str_enum("appointment_kind", *APPOINTMENT_KINDS), default="slot")
    code: Mapped[str] = mapped_column(sa.String(12), unique=True)  # booking code shown at check-in
    resident_id: Mapped[int] = mapped_column(sa.ForeignKey("residents.id"))
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id"))
    day_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reception_days.id", ondelete="CASCADE"))
    slot_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reception_slots.id", ondelete="SET NULL"))
    deputy_id: Mapped[int | None] = mapped_column(sa.ForeignKey("deputies.id"))  # None: the station
    status: Mapped[str] = mapped_column(str_enum("appointment_status", *APPOINTMENT_STATUSES))
    topic: Mapped[str] = mapped_column(sa.String(200))
    contact_name: Mapped[str] = mapped_column(sa.String(40), default="")
    phone_encrypted: Mapped[str | None] = mapped_column(sa.String(200))
    phone_prefix: Mapped[str] = mapped_column(sa.String(3), default="")
    phone_last4: Mapped[str] = mapped_column(sa.String(4), default="")
    phone_index: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # For a meeting asked for outside reception days: what was asked and what was offered.
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    proposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer_note: Mapped[str] = mapped_column(sa.String(300), default="")
    cancel_reason: Mapped[str] = mapped_column(sa.String(200), default="")
    cancelled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow,
                                                 nullable=False)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    day = relationship(ReceptionDay)
    slot = relationship(ReceptionSlot)
    station = relationship("Station")
    deputy = relationship("Deputy")
    resident = relationship("Resident")

    @property
    def status_label(self) -> str:
        return APPOINTMENT_STATUS_LABELS[self.status]


record_deputies = db.Table(
    "reception_record_deputies",
    sa.Column("record_id", sa.ForeignKey("reception_records.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("deputy_id", sa.ForeignKey("deputies.id"), primary_key=True),
)


class ReceptionRecord(db.Model):
    """What happened on a reception day: who came, and what was raised."""
    __tablename__ = "reception_records"
    id: Mapped[int] = mapped_column(primary_key=True)
    day_id: Mapped[int] = mapped_column(sa.ForeignKey("reception_days.id", ondelete="CASCADE"),
                                        unique=True)
    walk_in_count: Mapped[int] = mapped_column(default=0)
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow,
                                                 nullable=False)

    day = relationship(ReceptionDay)
    deputies = relationship("Deputy", secondary=record_deputies)
    items = relationship("ReceptionItem", order_by="ReceptionItem.id", back_populates="record")


class ReceptionItem(db.Model):
    """One matter raised at a reception; with the resident's consent it becomes a message."""
    __tablename__ = "reception_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(sa.ForeignKey("reception_records.id", ondelete="CASCADE"),
                                           index=True)
    appointment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("appointments.id"))
    deputy_id: Mapped[int | None] = mapped_column(sa.ForeignKey("deputies.id"))
    summary: Mapped[str] = mapped_column(sa.Text)
    resident_consent: Mapped[bool] = mapped_column(default=False)
    message_id: Mapped[int | None] = mapped_column(sa.ForeignKey("messages.id"))
    # The form's key (backend/core/idempotency.py): a resubmit records the matter once.
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    record = relationship(ReceptionRecord, back_populates="items")


class CalendarFeed(db.Model):
    """An unguessable token for an iCal feed (a station's days, a deputy's duties, a resident's
    bookings): phone calendars fetch without logging in."""
    __tablename__ = "calendar_feeds"
    __table_args__ = (
        sa.UniqueConstraint("owner_kind", "owner_id", name="uq_calendar_feeds_owner"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(43), unique=True)
    owner_kind: Mapped[str] = mapped_column(str_enum("feed_owner_kind", "station", "deputy", "resident"))
    owner_id: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
