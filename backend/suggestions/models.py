"""Deputy suggestions (代表建议): drafted from residents' messages, reviewed and assigned (交办) to
departments, answered A/B/C, rated by the deputy, supervised (督办), re-checked (回头看)."""
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.extensions import db
from backend.core.db import UTCDateTime, str_enum, utcnow
from backend.core.timeutil import local

SUGGESTION_STATUSES = ("draft", "submitted", "returned", "merged", "assigned", "in_progress",
                       "answered", "reanswering", "closed")
SUGGESTION_STATUS_LABELS = {
    "draft": "草稿", "submitted": "待审核", "returned": "退回修改", "merged": "已并案",
    "assigned": "已交办", "in_progress": "办理中", "answered": "已答复",
    "reanswering": "重新办理", "closed": "已办结",
}
# Between 交办 and the deputy's final rating: the department's clock runs.
HANDLING_STATUSES = ("assigned", "in_progress", "reanswering")
SUPERVISIONS = ("key", "important")
SUPERVISION_LABELS = {"key": "重点督办", "important": "重要督办"}
RESOLUTIONS = ("A", "B", "C")
RESOLUTION_LABELS = {"A": "A类（已解决或基本解决）", "B": "B类（正在解决或列入计划解决）",
                     "C": "C类（因条件限制暂时难以解决）"}
ASSIGNMENT_ROLES = ("lead", "assisting")
ASSIGNMENT_ROLE_LABELS = {"lead": "主办", "assisting": "协办"}
# pending: waiting for the department to accept; replaced: admin moved it elsewhere.
ASSIGNMENT_STATUSES = ("pending", "accepted", "reassign_requested", "replaced")
ASSIGNMENT_STATUS_LABELS = {"pending": "待签收", "accepted": "已签收",
                            "reassign_requested": "申请调整承办单位", "replaced": "已调整"}
EXTENSION_STATUSES = ("pending", "approved", "refused")
EXTENSION_STATUS_LABELS = {"pending": "待审批", "approved": "已同意", "refused": "未同意"}
FOLLOWUP_STATUSES = ("open", "done")
SUGGESTION_RATINGS = ("satisfied", "basically_satisfied", "dissatisfied")

suggestion_messages = db.Table(
    "suggestion_messages",
    sa.Column("suggestion_id", sa.ForeignKey("suggestions.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("message_id", sa.ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True,
              index=True),
)


class Suggestion(db.Model):
    __tablename__ = "suggestions"
    __table_args__ = (
        sa.CheckConstraint("(status = 'merged') = (merged_into_id IS NOT NULL)",
                           name="merged_has_target"),
        sa.Index("ix_suggestions_deputy", "deputy_id", "id"),
        sa.Index("ix_suggestions_status_deadline", "status", "deadline_on"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    # The deputy who makes it (领衔代表); a liaison may draft it for them.
    deputy_id: Mapped[int] = mapped_column(sa.ForeignKey("deputies.id"))
    drafted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    status: Mapped[str] = mapped_column(str_enum("suggestion_status", *SUGGESTION_STATUSES),
                                        default="draft")
    title: Mapped[str] = mapped_column(sa.String(100))
    category: Mapped[str] = mapped_column(sa.String(20), default="")
    problem: Mapped[str] = mapped_column(sa.Text, default="")  # 案由
    proposal: Mapped[str] = mapped_column(sa.Text, default="")  # 建议
    is_complex: Mapped[bool] = mapped_column(default=False)
    review_comment: Mapped[str] = mapped_column(sa.String(500), default="")  # why it was returned
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("suggestions.id"))
    supervision: Mapped[str | None] = mapped_column(str_enum("supervision_level", *SUPERVISIONS))
    supervision_note: Mapped[str] = mapped_column(sa.String(200), default="")
    # Set when the deputy was unsatisfied: it belongs on the chase list whatever its level.
    flagged_unsatisfied: Mapped[bool] = mapped_column(default=False)
    reanswers: Mapped[int] = mapped_column(default=0)  # second answers already asked for
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deadline_on: Mapped[date | None] = mapped_column(sa.Date)  # local date the answer is due
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the first answer
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The staff form's key (backend/core/idempotency.py): a resubmit makes the draft once.
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow,
                                                 nullable=False)

    deputy = relationship("Deputy")
    drafted_by = relationship("StaffUser")
    merged_into = relationship("Suggestion", remote_side=[id])
    messages = relationship("Message", secondary=suggestion_messages, order_by="Message.id")
    cosigners = relationship("SuggestionCosigner", order_by="SuggestionCosigner.id",
                             cascade="all, delete-orphan", back_populates="suggestion")
    assignments = relationship("SuggestionAssignment", order_by="SuggestionAssignment.id",
                               back_populates="suggestion")
    replies = relationship("DepartmentReply", order_by="DepartmentReply.id",
                           back_populates="suggestion")
    events = relationship("SuggestionEvent", order_by="SuggestionEvent.id",
                          back_populates="suggestion")

    @property
    def status_label(self) -> str:
        return SUGGESTION_STATUS_LABELS[self.status]

    @property
    def number(self) -> str:
        """建议编号, derived from the year it was made and the id: never a second write."""
        return f"JY{local(self.submitted_at or self.created_at).year}-{self.id:05d}"

    @property
    def supervision_label(self) -> str:
        return SUPERVISION_LABELS.get(self.supervision or "", "")

    @property
    def is_handling(self) -> bool:
        """With a department, its clock running (the deadline counts)."""
        return self.status in HANDLING_STATUSES

    @property
    def open_review_comment(self) -> str:
        """The office's return comment while the deputy revises the suggestion; "" after."""
        return self.review_comment if self.status == "returned" else ""

    @property
    def current_assignments(self) -> list["SuggestionAssignment"]:
        return [a for a in self.assignments if a.status != "replaced"]

    @property
    def lead_assignment(self) -> "SuggestionAssignment | None":
        return next((a for a in self.current_assignments if a.role == "lead"), None)

    @property
    def latest_reply(self) -> "DepartmentReply | None":
        return self.replies[-1] if self.replies else None


class SuggestionCosigner(db.Model):
    """附议: another deputy who signs on to the suggestion."""
    __tablename__ = "suggestion_cosigners"
    __table_args__ = (sa.UniqueConstraint("suggestion_id", "deputy_id",
                                          name="uq_suggestion_cosigners_deputy"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    suggestion_id: Mapped[int] = mapped_column(sa.ForeignKey("suggestions.id", ondelete="CASCADE"))
    deputy_id: Mapped[int] = mapped_column(sa.ForeignKey("deputies.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    suggestion = relationship(Suggestion, back_populates="cosigners")
    deputy = relationship("Deputy")


class SuggestionAssignment(db.Model):
    """交办 to one department, as lead (主办) or assisting (协办). A reassignment replaces the
    row rather than editing it, so the history stays."""
    __tablename__ = "suggestion_assignments"
    __table_args__ = (
        sa.Index("ix_suggestion_assignments_department", "department_id", "status"),
        # One live lead per suggestion.
        sa.Index("uq_suggestion_assignments_lead", "suggestion_id", unique=True,
                 sqlite_where=sa.text("role = 'lead' AND status != 'replaced'"),
                 postgresql_where=sa.text("role = 'lead' AND status != 'replaced'")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    suggestion_id: Mapped[int] = mapped_column(sa.ForeignKey("suggestions.id", ondelete="CASCADE"))
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("departments.id"))
    role: Mapped[str] = mapped_column(str_enum("assignment_role", *ASSIGNMENT_ROLES))
    status: Mapped[str] = mapped_column(str_enum("assignment_status", *ASSIGNMENT_STATUSES),
                                        default="pending")
    reassign_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    # An assisting department's opinion, sent to the lead before the lead answers.
    opinion: Mapped[str] = mapped_column(sa.Text, default="")
    opinion_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    suggestion = relationship(Suggestion, back_populates="assignments")
    department = relationship("Department")

    @property
    def role_label(self) -> str:
        return ASSIGNMENT_ROLE_LABELS[self.role]

    @property
    def status_label(self) -> str:
        return ASSIGNMENT_STATUS_LABELS[self.status]


class DepartmentReply(db.Model):
    """The lead department's written answer: class A, B (by when, with milestones) or C (why)."""
    __tablename__ = "department_replies"
    __table_args__ = (
        sa.UniqueConstraint("suggestion_id", "round", name="uq_department_replies_round"),
        sa.CheckConstraint("resolution != 'B' OR promised_by IS NOT NULL", name="b_has_date"),
        sa.CheckConstraint("resolution != 'C' OR reason != ''", name="c_has_reason"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    suggestion_id: Mapped[int] = mapped_column(sa.ForeignKey("suggestions.id", ondelete="CASCADE"))
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("departments.id"))
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    round: Mapped[int] = mapped_column(default=1)
    resolution: Mapped[str] = mapped_column(str_enum("reply_resolution", *RESOLUTIONS))
    body: Mapped[str] = mapped_column(sa.Text)
    promised_by: Mapped[date | None] = mapped_column(sa.Date)  # B: the date it will be done
    milestones: Mapped[list | None] = mapped_column(sa.JSON)  # B: [{"date": ..., "text": ...}]
    reason: Mapped[str] = mapped_column(sa.Text, default="")  # C: why not now
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    suggestion = relationship(Suggestion, back_populates="replies")
    department = relationship("Department")

    @property
    def resolution_label(self) -> str:
        return RESOLUTION_LABELS[self.resolution]


class SuggestionRating(db.Model):
    """The deputy's judgement of one answer round (代表满意度测评)."""
    __tablename__ = "suggestion_ratings"
    __table_args__ = (sa.UniqueConstraint("suggestion_id", "round",
                                          name="uq_suggestion_ratings_round"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    suggestion_id: Mapped[int] = mapped_column(sa.ForeignKey("suggestions.id", ondelete="CASCADE"))
    round: Mapped[int] = mapped_column(default=1)
    deputy_id: Mapped[int] = mapped_column(sa.ForeignKey("deputies.id"))
    value: Mapped[str] = mapped_column(str_enum("suggestion_rating", *SUGGESTION_RATINGS))
    comment: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class SuggestionResidentRating(db.Model):
    """A resident behind one of the source messages rates the outcome; once per resident."""
    __tablename__ = "suggestion_resident_ratings"
    __table_args__ = (sa.UniqueConstraint("suggestion_id", "resident_id",
                                          name="uq_suggestion_resident_ratings_resident"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    suggestion_id: Mapped[int] = mapped_column(sa.ForeignKey("suggestions.id", ondelete="CASCADE"))
    resident_id: Mapped[int] = mapped_column(sa.ForeignKey("residents.id"))
    value: Mapped[str] = mapped_column(str_enum("suggestion_resident_rating", *SUGGESTION_RATINGS))
    comment: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class SuggestionExtension(db.Model):
    """A department asks for more time; admin approves or refuses."""
    __tablename__ = "suggestion_extensions"
    id: Mapped[int] = mapped_column(primary_key=True)
    suggestion_id: Mapped[int] = mapped_column(sa.ForeignKey("suggestions.id", ondelete="CASCADE"),
                                               index=True)
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("departments.id"))
    requested_until: Mapped[date] = mapped_column(sa.Date)
    reason: Mapped[str] = mapped_column(sa.String(500))
    status: Mapped[str] = mapped_column(str_enum("extension_status", *EXTENSION_STATUSES),
                                        default="pending")
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    decision_note: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    department = relationship("Department")

    @property
    def status_label(self) -> str:
        return EXTENSION_STATUS_LABELS[self.status]


class SuggestionFollowUp(db.Model):
    """回头看: opened by the scheduler on a B answer's promised date; the lead department reports
    whether the promise was kept."""
    __tablename__ = "suggestion_followups"
    __table_args__ = (sa.UniqueConstraint("reply_id", name="uq_suggestion_followups_reply"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    suggestion_id: Mapped[int] = mapped_column(sa.ForeignKey("suggestions.id", ondelete="CASCADE"),
                                               index=True)
    reply_id: Mapped[int] = mapped_column(sa.ForeignKey("department_replies.id"))
    due_on: Mapped[date] = mapped_column(sa.Date)
    status: Mapped[str] = mapped_column(str_enum("followup_status", *FOLLOWUP_STATUSES),
                                        default="open")
    kept: Mapped[bool | None] = mapped_column()  # was the B promise kept?
    result: Mapped[str] = mapped_column(sa.Text, default="")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))


class SuggestionEvent(db.Model):
    """One row per transition or note, like a message's events. Residents see the public ones
    (submitted, assigned, answered, closed) in plain words."""
    __tablename__ = "suggestion_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    suggestion_id: Mapped[int] = mapped_column(sa.ForeignKey("suggestions.id", ondelete="CASCADE"),
                                               index=True)
    kind: Mapped[str] = mapped_column(sa.String(30))
    actor_kind: Mapped[str] = mapped_column(
        str_enum("suggestion_actor_kind", "resident", "staff", "system"))
    actor_id: Mapped[int | None] = mapped_column()
    actor_label: Mapped[str] = mapped_column(sa.String(60), default="")
    from_status: Mapped[str | None] = mapped_column(sa.String(20))
    to_status: Mapped[str | None] = mapped_column(sa.String(20))
    is_public: Mapped[bool] = mapped_column(default=False)
    text: Mapped[str] = mapped_column(sa.Text, default="")
    data: Mapped[dict | None] = mapped_column(sa.JSON)
    # A staff note form's key (backend/core/idempotency.py): a resubmit notes it once.
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    suggestion = relationship(Suggestion, back_populates="events")
