"""The category model's suggestion for a message, kept beside it (never in the submission's
insert: see backend/messages/triage.py), and what the liaison decided about it."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.db import UTCDateTime, str_enum, utcnow
from backend.core.extensions import db

DECISIONS = ("accepted", "corrected")


class MessageTriage(db.Model):
    __tablename__ = "message_triage"
    __table_args__ = (
        # A decision names the label the liaison chose and who chose it.
        sa.CheckConstraint("decision IS NULL OR (decided_label != '' AND decided_by_id IS NOT NULL)",
                           name="decision_has_label"),
        sa.Index("ix_message_triage_decision", "decision"),
    )
    message_id: Mapped[int] = mapped_column(sa.ForeignKey("messages.id", ondelete="CASCADE"),
                                            primary_key=True)
    label: Mapped[str] = mapped_column(sa.String(20))
    confidence: Mapped[float] = mapped_column(sa.Float)
    # [[label, probability], ...] when the first is not clearly ahead; [] otherwise
    top3: Mapped[list] = mapped_column(sa.JSON, default=list)
    is_uncertain: Mapped[bool] = mapped_column(default=False)
    decision: Mapped[str | None] = mapped_column(str_enum("triage_decision", *DECISIONS))
    decided_label: Mapped[str] = mapped_column(sa.String(20), default="")
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    message = relationship("Message")

    @property
    def id(self) -> int:
        """The audit log names objects by id: a suggestion is its message's."""
        return self.message_id

    @property
    def confidence_pct(self) -> int:
        return round(self.confidence * 100)


class RoutingRule(db.Model):
    """分办规则: the office's table from a category (and, optionally, words in the message) to
    the deputy of the station or the department that usually handles it."""
    __tablename__ = "routing_rules"
    __table_args__ = (
        sa.CheckConstraint("(deputy_id IS NULL) != (department_id IS NULL)", name="one_assignee"),
        sa.Index("ix_routing_rules_station_category", "station_id", "category"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(sa.String(20))
    # Words separated by spaces; any one of them in the message makes the rule apply.
    keywords: Mapped[str] = mapped_column(sa.String(200), default="")
    deputy_id: Mapped[int | None] = mapped_column(sa.ForeignKey("deputies.id", ondelete="CASCADE"))
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    station = relationship("Station")
    deputy = relationship("Deputy")
    department = relationship("Department")

    @property
    def keyword_list(self) -> list[str]:
        return self.keywords.split()

    @property
    def assignee_label(self) -> str:
        return f"{self.deputy.name}代表" if self.deputy else self.department.name
