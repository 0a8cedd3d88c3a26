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


class HotCluster(db.Model):
    """热点问题: messages of one station about one place and problem, grouped on arrival by the
    scheduler (backend/messages/hot_clusters.py). No text is stored here: the page shows the
    messages themselves, so what a message says is only ever in the message."""
    __tablename__ = "hot_clusters"
    __table_args__ = (sa.Index("ix_hot_clusters_station_last", "station_id", "last_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id", ondelete="CASCADE"))
    # Kept by the job over all its members: the page counts its own window (7/30/90 days).
    messages: Mapped[int] = mapped_column(default=0)
    residents: Mapped[int] = mapped_column(default=0)  # distinct residents; anonymous ones count per message
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class HotClusterMessage(db.Model):
    """A message's cluster: one per message (the primary key), never re-decided once set."""
    __tablename__ = "hot_cluster_messages"
    __table_args__ = (sa.Index("ix_hot_cluster_messages_cluster", "cluster_id"),
                      sa.Index("ix_hot_cluster_messages_station_at", "station_id", "at"),
                      sa.Index("ix_hot_cluster_messages_at", "at"))  # the office's page: every station
    message_id: Mapped[int] = mapped_column(sa.ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    cluster_id: Mapped[int] = mapped_column(sa.ForeignKey("hot_clusters.id", ondelete="CASCADE"))
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id", ondelete="CASCADE"))
    resident_id: Mapped[int | None] = mapped_column()  # who spoke: counted once however often
    at: Mapped[datetime] = mapped_column(UTCDateTime)  # the message's created_at
