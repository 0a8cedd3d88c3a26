"""The office's retention period (保存期限): one row, present only once the office has saved a
period; without it the config key RETENTION_MONTHS applies."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import UTCDateTime, utcnow
from backend.core.extensions import db

MIN_MONTHS, MAX_MONTHS = 6, 120


class RetentionSetting(db.Model):
    __tablename__ = "retention_settings"
    __table_args__ = (
        sa.CheckConstraint("id = 1", name="single_row"),
        sa.CheckConstraint(f"months >= {MIN_MONTHS} AND months <= {MAX_MONTHS}",
                           name="months_in_bounds"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    months: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    updated_by: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow,
                                                 nullable=False)
