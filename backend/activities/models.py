"""Deputy activities (代表活动): organised by the office or a station, or reported by a deputy
for the station to confirm; one attendance row per deputy invited (or reporting)."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.db import UTCDateTime, str_enum, utcnow
from backend.core.extensions import db

ACTIVITY_KINDS = ("visit", "inspection", "research", "group", "training", "meeting",
                  "deliberation")
ACTIVITY_KIND_LABELS = {"visit": "走访选民", "inspection": "视察", "research": "专题调研",
                        "group": "代表小组活动", "training": "培训", "meeting": "会议",
                        "deliberation": "议事"}
ORIGINS = ("organised", "reported")
# organised: planned → held | cancelled; reported by a deputy: reported → confirmed | rejected.
ACTIVITY_STATUSES = ("planned", "held", "cancelled", "reported", "confirmed", "rejected")
ACTIVITY_STATUS_LABELS = {"planned": "待举行", "held": "已举行", "cancelled": "已取消",
                          "reported": "待确认", "confirmed": "已确认", "rejected": "未确认"}
# Activities that count on a deputy's record.
COUNTED_STATUSES = ("held", "confirmed")


def counted_between(start, end):
    """The condition for activities on a deputy's record between two instants: held or
    confirmed, starting in [start, end). The record's counts and its list of lines share it."""
    return sa.and_(Activity.status.in_(COUNTED_STATUSES), Activity.starts_at >= start,
                   Activity.starts_at < end)
ATTENDANCE_STATUSES = ("invited", "accepted", "excused", "attended", "absent")
ATTENDANCE_STATUS_LABELS = {"invited": "待回复", "accepted": "参加", "excused": "请假",
                            "attended": "已到", "absent": "缺席"}
# reported: the deputy's own activity, present by definition once the station confirms it.
CHECKIN_WAYS = ("code", "organiser", "reported")


class Activity(db.Model):
    __tablename__ = "activities"
    __table_args__ = (
        sa.CheckConstraint(
            "(origin = 'organised' AND status IN ('planned', 'held', 'cancelled')) OR "
            "(origin = 'reported' AND status IN ('reported', 'confirmed', 'rejected'))",
            name="status_fits_origin"),
        # A reported activity is confirmed by a station, so it names one.
        sa.CheckConstraint("origin = 'organised' OR station_id IS NOT NULL",
                           name="reported_has_station"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.CheckConstraint("resident_count IS NULL OR resident_count >= 0",
                           name="resident_count_not_negative"),
        sa.Index("ix_activities_station_starts", "station_id", "starts_at"),
        sa.Index("ix_activities_starts", "starts_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(str_enum("activity_kind", *ACTIVITY_KINDS))
    origin: Mapped[str] = mapped_column(str_enum("activity_origin", *ORIGINS), default="organised")
    status: Mapped[str] = mapped_column(str_enum("activity_status", *ACTIVITY_STATUSES),
                                        default="planned")
    title: Mapped[str] = mapped_column(sa.String(100))
    place: Mapped[str] = mapped_column(sa.String(200), default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # None: organised by the office (代工委) itself.
    station_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stations.id"))
    organiser: Mapped[str] = mapped_column(sa.String(80), default="")  # 组织单位, as printed
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    checkin_code: Mapped[str] = mapped_column(sa.String(8), default="")
    summary: Mapped[str] = mapped_column(sa.Text, default="")  # the short record afterwards
    # 议事 (人民议事厅) only: the topic, how many residents took part, what was agreed. The
    # residents' names are personal data: staff pages only, never an API or a public page.
    topic: Mapped[str] = mapped_column(sa.String(200), default="")
    resident_count: Mapped[int | None] = mapped_column()
    resident_names: Mapped[str] = mapped_column(sa.Text, default="")
    agreed: Mapped[str] = mapped_column(sa.Text, default="")  # 议定事项
    status_note: Mapped[str] = mapped_column(sa.String(200), default="")  # why cancelled/rejected
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The staff form's key (backend/core/idempotency.py): a resubmit makes the activity once.
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow,
                                                 nullable=False)

    station = relationship("Station")
    created_by = relationship("StaffUser")
    attendances = relationship("ActivityAttendance", order_by="ActivityAttendance.id",
                               back_populates="activity", cascade="all, delete-orphan")
    items = relationship("ActivityItem", order_by="ActivityItem.id", back_populates="activity",
                         cascade="all, delete-orphan")

    @property
    def is_deliberation(self) -> bool:
        return self.kind == "deliberation"

    @property
    def kind_label(self) -> str:
        return ACTIVITY_KIND_LABELS[self.kind]

    @property
    def status_label(self) -> str:
        return ACTIVITY_STATUS_LABELS[self.status]

    def attendance_of(self, deputy_id: int | None) -> "ActivityAttendance | None":
        return next((a for a in self.attendances if a.deputy_id == deputy_id), None)


class ActivityAttendance(db.Model):
    __tablename__ = "activity_attendances"
    __table_args__ = (
        sa.UniqueConstraint("activity_id", "deputy_id", name="uq_activity_attendances_deputy"),
        sa.CheckConstraint("status != 'excused' OR reason != ''", name="excused_has_reason"),
        sa.CheckConstraint("(status = 'attended') = (checked_in_at IS NOT NULL)",
                           name="attended_has_checkin"),
        sa.Index("ix_activity_attendances_deputy", "deputy_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(sa.ForeignKey("activities.id", ondelete="CASCADE"))
    deputy_id: Mapped[int] = mapped_column(sa.ForeignKey("deputies.id"))
    status: Mapped[str] = mapped_column(str_enum("attendance_status", *ATTENDANCE_STATUSES),
                                        default="invited")
    reason: Mapped[str] = mapped_column(sa.String(200), default="")  # 请假 reason
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_by: Mapped[str | None] = mapped_column(str_enum("checkin_way", *CHECKIN_WAYS))

    activity = relationship(Activity, back_populates="attendances")
    deputy = relationship("Deputy")

    @property
    def status_label(self) -> str:
        return ATTENDANCE_STATUS_LABELS[self.status]


class ActivityItem(db.Model):
    """A matter a resident raised at an activity, kept on its record; with the resident's
    consent it becomes a message in the station's queue (as a reception day's matters do)."""
    __tablename__ = "activity_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(sa.ForeignKey("activities.id", ondelete="CASCADE"),
                                             index=True)
    deputy_id: Mapped[int | None] = mapped_column(sa.ForeignKey("deputies.id"))
    summary: Mapped[str] = mapped_column(sa.Text)  # the resident's words
    resident_name: Mapped[str] = mapped_column(sa.String(40), default="")  # staff-only
    phone_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    resident_consent: Mapped[bool] = mapped_column(default=False)
    message_id: Mapped[int | None] = mapped_column(sa.ForeignKey("messages.id"), unique=True)
    # From the mini-program, where a retry sends the same key (backend/core/idempotency.py).
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    activity = relationship(Activity, back_populates="items")
    deputy = relationship("Deputy")
