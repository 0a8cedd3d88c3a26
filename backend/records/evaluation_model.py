"""The office's evaluation settings (履职评价): one row per item of the catalogue in
backend.records.evaluation, and one row of bands (the row the audit log names). Rows only hold what the office changed; the
defaults live in code, and scores are never stored (they are computed on read)."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import UTCDateTime, utcnow
from backend.core.extensions import db


class EvaluationItem(db.Model):
    __tablename__ = "evaluation_items"
    __table_args__ = (
        sa.CheckConstraint("weight >= 0 AND weight <= 100", name="weight_in_scale"),
        sa.CheckConstraint("target IS NULL OR target > 0", name="target_positive"),
    )

    key: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    is_counted: Mapped[bool] = mapped_column(sa.Boolean, nullable=False)
    weight: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    target: Mapped[int | None] = mapped_column(sa.Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow,
                                                 nullable=False)


class EvaluationSettings(db.Model):
    """The bands, and the row the audit log names for any change to the evaluation."""
    __tablename__ = "evaluation_settings"
    __table_args__ = (
        sa.CheckConstraint("id = 1", name="single_row"),
        sa.CheckConstraint("fair_from > 0 AND fair_from < good_from AND good_from <= 100",
                           name="bands_ordered"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    good_from: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    fair_from: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow,
                                                 nullable=False)


class EvaluationPublication(db.Model):
    """A quarter of a year whose evaluation the office has published (季度公布). Nothing is
    frozen: scores are still computed when read; the row only says who may now see them
    (each deputy their own, the public page the published quarters)."""
    __tablename__ = "evaluation_publications"
    __table_args__ = (
        sa.UniqueConstraint("year", "quarter", name="uq_evaluation_publications_quarter"),
        sa.CheckConstraint("quarter BETWEEN 1 AND 4", name="quarter_in_year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    quarter: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    published_by: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
