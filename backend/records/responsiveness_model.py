"""Responsiveness follow-ups (回访, as mySociety's WriteToThem asks): two weeks after a deputy
answers, or once a message left unanswered is overdue, the resident who wrote is asked whether
what they raised was dealt with; one row per message (so one answer per resident per message),
one reminder a week later."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.db import UTCDateTime, str_enum, utcnow
from backend.core.extensions import db

RESPONSES = ("solved", "unsolved", "acknowledged", "no_answer")
KINDS = ("answered", "unanswered")
RESPONSE_LABELS = {"solved": "已解决", "unsolved": "答复了但没解决", "acknowledged": "只是收到",
                   "no_answer": "没有答复"}


class FollowUp(db.Model):
    __tablename__ = "responsiveness_followups"
    __table_args__ = (
        sa.UniqueConstraint("message_id", name="uq_responsiveness_followups_message"),
        sa.CheckConstraint("(response IS NULL) = (responded_at IS NULL)",
                           name="response_has_time"),
        sa.CheckConstraint("reminded_at IS NULL OR reminded_at >= asked_at",
                           name="reminded_after_asked"),
        sa.Index("ix_responsiveness_followups_deputy", "deputy_id", "answered_at"),
        # An answered case is dated by its answer; an unanswered one by when it fell due.
        sa.CheckConstraint("(kind = 'answered') = (answered_at IS NOT NULL)",
                           name="answered_has_answer"),
        sa.CheckConstraint("kind = 'answered' OR due_at IS NOT NULL", name="unanswered_has_due"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(sa.ForeignKey("messages.id", ondelete="CASCADE"))
    # Whose answer is judged, and when it came: fixed when asked, so a later reassignment or
    # reopening does not move the judgement to someone else or out of its window.
    deputy_id: Mapped[int] = mapped_column(sa.ForeignKey("deputies.id"))
    resident_id: Mapped[int] = mapped_column(sa.ForeignKey("residents.id"))
    kind: Mapped[str] = mapped_column(str_enum("followup_kind", *KINDS), default="answered",
                                      server_default="answered")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Unanswered: 14 days after it became the deputy's, or the station's deadline if sooner.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response: Mapped[str | None] = mapped_column(str_enum("followup_response", *RESPONSES))
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    message = relationship("Message")
