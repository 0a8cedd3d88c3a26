"""Admin-entered statutory holidays and swapped working days (调休), one row per date."""
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.extensions import db
from backend.core.db import UTCDateTime, str_enum, utcnow

HOLIDAY_KINDS = ("holiday", "workday")
HOLIDAY_KIND_LABELS = {"holiday": "放假", "workday": "调休上班"}


class HolidayOverride(db.Model):
    """Wins over the built-in calendar for its date; a year with any row counts as admin-kept."""

    __tablename__ = "holiday_overrides"
    id: Mapped[int] = mapped_column(primary_key=True)
    date: Mapped[date] = mapped_column(sa.Date, unique=True)
    kind: Mapped[str] = mapped_column(str_enum("holiday_kind", *HOLIDAY_KINDS))
    name: Mapped[str] = mapped_column(sa.String(40))
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))

    created_by = relationship("StaffUser")

    @property
    def kind_label(self) -> str:
        return HOLIDAY_KIND_LABELS[self.kind]
