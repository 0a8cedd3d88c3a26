"""Reports to constituents (代表述职): the office plans one per deputy per term; residents present
rate it on their phones (one rating per resident), the organiser enters paper ratings in bulk."""
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.db import UTCDateTime, str_enum, utcnow
from backend.core.extensions import db

REPORT_RATINGS = ("satisfied", "basically_satisfied", "dissatisfied")
REPORT_RATING_LABELS = {"satisfied": "满意", "basically_satisfied": "基本满意",
                        "dissatisfied": "不满意"}
DEFAULT_MIN_ATTENDANCE = 10


class ConstituencyReport(db.Model):
    __tablename__ = "constituency_reports"
    __table_args__ = (
        sa.UniqueConstraint("deputy_id", "term_id", name="uq_constituency_reports_deputy_term"),
        sa.CheckConstraint("min_attendance > 0", name="min_attendance_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deputy_id: Mapped[int] = mapped_column(sa.ForeignKey("deputies.id"))
    term_id: Mapped[int] = mapped_column(sa.ForeignKey("terms.id"))
    held_on: Mapped[date] = mapped_column(sa.Date)
    place: Mapped[str] = mapped_column(sa.String(120))
    constituency: Mapped[str] = mapped_column(sa.String(80))
    # Residents have no address on file: the constituency is reached through the station their
    # messages to the deputy came in at (the deputy's first station unless the office picks).
    station_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stations.id"))
    # What the code on the screen at the session carries: random, never the id.
    token: Mapped[str] = mapped_column(sa.String(32), unique=True)
    min_attendance: Mapped[int] = mapped_column(default=DEFAULT_MIN_ATTENDANCE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    deputy = relationship("Deputy")
    term = relationship("Term")
    station = relationship("Station")


class ReportRating(db.Model):
    __tablename__ = "constituency_report_ratings"
    __table_args__ = (
        # One rating per resident per report; paper ratings have no resident.
        sa.UniqueConstraint("report_id", "resident_id", name="uq_report_ratings_resident"),
        sa.CheckConstraint("(source = 'scan') = (resident_id IS NOT NULL)",
                           name="scan_names_resident"),
        sa.Index("ix_report_ratings_report", "report_id", "value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(
        sa.ForeignKey("constituency_reports.id", ondelete="CASCADE"))
    value: Mapped[str] = mapped_column(str_enum("report_rating_value", *REPORT_RATINGS))
    source: Mapped[str] = mapped_column(str_enum("report_rating_source", "scan", "paper"))
    resident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("residents.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
