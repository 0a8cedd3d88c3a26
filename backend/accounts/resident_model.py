"""Residents (选民): people who write, known by their WeChat openid or by a portal cookie."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.extensions import db
from backend.core.db import UTCDateTime, utcnow


class Resident(db.Model):
    __tablename__ = "residents"
    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    unionid: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    # A random id kept in a long-lived cookie for residents who write from the web page.
    web_key: Mapped[str | None] = mapped_column(sa.String(43), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the resident deleted their data or stayed idle past the retention period: the
    # row stays (deputies' records and figures count it) but names no one any more.
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SubscribeGrant(db.Model):
    """WeChat allows one subscribe message per acceptance: we count what the resident granted."""
    __tablename__ = "subscribe_grants"
    resident_id: Mapped[int] = mapped_column(
        sa.ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True)
    template_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    remaining: Mapped[int] = mapped_column(default=0)
    __table_args__ = (sa.CheckConstraint("remaining >= 0", name="remaining_not_negative"),)
