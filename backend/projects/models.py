"""Livelihood projects chosen by deputies' vote (民生实事项目人大代表票决制): a year's round, the
residents' proposals, the candidate list, the secret ballot's counters, paper tallies, progress.

The secret ballot: no row anywhere holds a deputy's choices. Casting writes a participation row
(who voted, no time) and adds one to the per-candidate counters (`project_tallies`) and to the
round's ballot count, in one transaction. There is no ballot row to link back to a deputy, so
no role, admin or database superuser, can read who voted for what; the price is that electronic
ballots cannot be recounted one by one (the counters equal the participations by construction,
and a test checks it). The deputies' end-of-year rating of delivered projects (满意度测评) is
kept the same way: who rated, and counts per answer."""
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.db import UTCDateTime, str_enum, utcnow
from backend.core.extensions import db

ROUND_STATUSES = ("collecting", "screening", "voting", "counting", "decided")
ROUND_STATUS_LABELS = {"collecting": "征集中", "screening": "初选中", "voting": "投票中",
                       "counting": "计票中", "decided": "已公布结果"}
PROPOSAL_STATUSES = ("submitted", "merged", "rejected", "candidate", "chosen", "runoff",
                     "unchosen", "reserve", "delivering")
PROPOSAL_STATUS_LABELS = {
    "submitted": "已提交", "merged": "已合并", "rejected": "未采纳", "candidate": "候选项目",
    "chosen": "票决当选", "runoff": "票数相同待再次表决", "unchosen": "未当选",
    "reserve": "列入项目储备库", "delivering": "实施中",
}
AUTHOR_KINDS = ("resident", "deputy", "liaison")
RATINGS = ("satisfied", "basically_satisfied", "dissatisfied")
RATING_LABELS = {"satisfied": "满意", "basically_satisfied": "基本满意", "dissatisfied": "不满意"}
TALLY_SOURCES = ("electronic", "paper")
RUNOFF_STATUSES = ("voting", "counting", "decided")
RUNOFF_STATUS_LABELS = {"voting": "决选投票中", "counting": "决选计票中", "decided": "决选已公布结果"}


class ProjectRound(db.Model):
    """One year's cycle: collection window, screening, the vote at the session, results."""
    __tablename__ = "project_rounds"
    __table_args__ = (sa.CheckConstraint("places IS NULL OR places > 0", name="places_positive"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(unique=True)
    theme: Mapped[str] = mapped_column(sa.String(100))
    categories: Mapped[list] = mapped_column(sa.JSON, default=list)
    status: Mapped[str] = mapped_column(str_enum("project_round_status", *ROUND_STATUSES),
                                        default="collecting")
    session_name: Mapped[str] = mapped_column(sa.String(100), default="")  # the congress session
    places: Mapped[int | None] = mapped_column()  # N: how many projects the vote chooses
    # Electronic ballots cast: kept with the counters, so a ballot is one transaction's update.
    ballots_cast: Mapped[int] = mapped_column(default=0)
    opened_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    vote_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    vote_closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def status_label(self) -> str:
        return ROUND_STATUS_LABELS[self.status]


class ProjectProposal(db.Model):
    """A proposal (项目建议); once on the list it is a candidate, once chosen a project."""
    __tablename__ = "project_proposals"
    __table_args__ = (
        sa.CheckConstraint("(status = 'merged') = (merged_into_id IS NOT NULL)",
                           name="merged_has_target"),
        sa.CheckConstraint("status != 'rejected' OR reject_reason != ''", name="rejected_has_reason"),
        sa.CheckConstraint(
            "status NOT IN ('candidate', 'chosen', 'runoff', 'unchosen', 'reserve', 'delivering')"
            " OR (department_id IS NOT NULL AND estimated_cost IS NOT NULL AND plan != '')",
            name="candidate_has_plan"),
        sa.CheckConstraint("progress >= 0 AND progress <= 100", name="progress_percent"),
        sa.Index("ix_project_proposals_round_status", "round_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("project_rounds.id"))
    status: Mapped[str] = mapped_column(str_enum("project_proposal_status", *PROPOSAL_STATUSES),
                                        default="submitted")
    title: Mapped[str] = mapped_column(sa.String(60))
    category: Mapped[str] = mapped_column(sa.String(20), default="")
    content: Mapped[str] = mapped_column(sa.Text)  # what, and where
    reason: Mapped[str] = mapped_column(sa.Text)  # why it matters
    author_kind: Mapped[str] = mapped_column(str_enum("project_author_kind", *AUTHOR_KINDS))
    resident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("residents.id"), index=True)
    deputy_id: Mapped[int | None] = mapped_column(sa.ForeignKey("deputies.id"))
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    source_message_id: Mapped[int | None] = mapped_column(sa.ForeignKey("messages.id"), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("project_proposals.id"))
    reject_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    # Screening: the candidate's lead department, cost estimate (yuan) and plan.
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"))
    estimated_cost: Mapped[int | None] = mapped_column(sa.BigInteger)
    plan: Mapped[str] = mapped_column(sa.Text, default="")
    progress: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow,
                                                 nullable=False)

    round = relationship(ProjectRound)
    deputy = relationship("Deputy")
    department = relationship("Department")
    merged_into = relationship("ProjectProposal", remote_side=[id])
    source_message = relationship("Message")
    events = relationship("ProjectEvent", order_by="ProjectEvent.id", back_populates="proposal")
    updates = relationship("ProjectUpdate", order_by="ProjectUpdate.id")
    milestones = relationship("ProjectMilestone",
                              order_by="(ProjectMilestone.due_on, ProjectMilestone.id)")
    photos = relationship("ProjectProposalPhoto", order_by="ProjectProposalPhoto.id",
                          back_populates="proposal")

    @property
    def status_label(self) -> str:
        return PROPOSAL_STATUS_LABELS[self.status]

    @property
    def source_label(self) -> str:
        """Where it came from, in the words of its page."""
        if self.author_kind == "deputy":
            return f"{self.deputy.name}代表提出" if self.deputy else "代表提出"
        if self.author_kind == "liaison":
            if self.source_message is not None and self.source_message.channel == "reception":
                return "接待选民日群众反映，联络员转入"
            return "群众留言，联络员转入"
        return "群众提出"

    @property
    def number(self) -> str:
        """回执编号, from the round's year and the id: never a second write."""
        return f"MS{self.round.year}-{self.id:05d}"


class ProjectSupport(db.Model):
    """One resident's support (附议) for a proposal already there: once each."""
    __tablename__ = "project_supports"
    __table_args__ = (sa.UniqueConstraint("proposal_id", "resident_id",
                                          name="uq_project_supports_resident"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        sa.ForeignKey("project_proposals.id", ondelete="CASCADE"))
    resident_id: Mapped[int] = mapped_column(sa.ForeignKey("residents.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class ProjectFollow(db.Model):
    """A resident who hears of each step: the proposer and supporters at once, others by choice."""
    __tablename__ = "project_follows"
    __table_args__ = (sa.UniqueConstraint("proposal_id", "resident_id",
                                          name="uq_project_follows_resident"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        sa.ForeignKey("project_proposals.id", ondelete="CASCADE"))
    resident_id: Mapped[int] = mapped_column(sa.ForeignKey("residents.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class ProjectVoteParticipation(db.Model):
    """Who voted in a round: the deputy and nothing else (no time, no choice). Its primary key
    is the pair, so a second ballot from the same deputy cannot be written."""
    __tablename__ = "project_vote_participations"
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("project_rounds.id"), primary_key=True)
    deputy_id: Mapped[int] = mapped_column(sa.ForeignKey("deputies.id"), primary_key=True)


class ProjectAttendee(db.Model):
    """A deputy registered present at the session (出席代表): the vote's electorate. Only those
    present may cast an electronic ballot, and turnout is counted against them."""
    __tablename__ = "project_attendees"
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("project_rounds.id"), primary_key=True)
    deputy_id: Mapped[int] = mapped_column(sa.ForeignKey("deputies.id"), primary_key=True)
    registered_by_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class ProjectTally(db.Model):
    """Electronic votes per candidate: a counter, never a row per ballot (see the module note)."""
    __tablename__ = "project_tallies"
    __table_args__ = (sa.CheckConstraint("votes >= 0", name="votes_not_negative"),)
    candidate_id: Mapped[int] = mapped_column(
        sa.ForeignKey("project_proposals.id", ondelete="CASCADE"), primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("project_rounds.id"), index=True)
    votes: Mapped[int] = mapped_column(default=0)


class ProjectPaperEntry(db.Model):
    """One staff member's entry of the counted paper ballots of one stage (0: the first vote,
    n: the n-th run-off); two from different staff must agree before paper votes count.
    Re-entering replaces one's own entry."""
    __tablename__ = "project_paper_entries"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "stage", "staff_id", name="uq_project_paper_entries_staff"),
        sa.CheckConstraint("ballots >= 0", name="ballots_not_negative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("project_rounds.id"))
    stage: Mapped[int] = mapped_column(default=0, server_default="0")
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_users.id"))
    ballots: Mapped[int] = mapped_column()  # paper ballots cast
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    staff = relationship("StaffUser")
    counts = relationship("ProjectPaperCount", cascade="all, delete-orphan",
                          order_by="ProjectPaperCount.candidate_id")


class ProjectPaperCount(db.Model):
    __tablename__ = "project_paper_counts"
    __table_args__ = (sa.CheckConstraint("votes >= 0", name="votes_not_negative"),)
    entry_id: Mapped[int] = mapped_column(
        sa.ForeignKey("project_paper_entries.id", ondelete="CASCADE"), primary_key=True)
    candidate_id: Mapped[int] = mapped_column(sa.ForeignKey("project_proposals.id"),
                                              primary_key=True)
    votes: Mapped[int] = mapped_column()


class ProjectRunoff(db.Model):
    """A run-off (决选) among the candidates tied at the cut-off, for the places still open, by
    the same deputies present. Kept as secret as the first vote: its own counters and
    participation rows, never a ballot row."""
    __tablename__ = "project_runoffs"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "number", name="uq_project_runoffs_number"),
        sa.CheckConstraint("places > 0", name="places_positive"),
        sa.CheckConstraint("status IN ('voting', 'counting', 'decided')", name="status_known"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("project_rounds.id"), index=True)
    number: Mapped[int] = mapped_column()  # 1 for the first run-off of the round
    places: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(sa.String(10), default="voting")
    ballots_cast: Mapped[int] = mapped_column(default=0)
    opened_by_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_users.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    round = relationship(ProjectRound)

    @property
    def status_label(self) -> str:
        return RUNOFF_STATUS_LABELS[self.status]


class ProjectRunoffTally(db.Model):
    """A run-off's electronic votes per candidate: a counter, as `ProjectTally`."""
    __tablename__ = "project_runoff_tallies"
    __table_args__ = (sa.CheckConstraint("votes >= 0", name="votes_not_negative"),)
    runoff_id: Mapped[int] = mapped_column(
        sa.ForeignKey("project_runoffs.id", ondelete="CASCADE"), primary_key=True)
    candidate_id: Mapped[int] = mapped_column(
        sa.ForeignKey("project_proposals.id", ondelete="CASCADE"), primary_key=True)
    votes: Mapped[int] = mapped_column(default=0)


class ProjectRunoffParticipation(db.Model):
    """Who voted in a run-off, and nothing else; one per deputy by its primary key."""
    __tablename__ = "project_runoff_participations"
    runoff_id: Mapped[int] = mapped_column(sa.ForeignKey("project_runoffs.id"), primary_key=True)
    deputy_id: Mapped[int] = mapped_column(sa.ForeignKey("deputies.id"), primary_key=True)


class ProjectProposalPhoto(db.Model):
    """A resident's photo on their proposal. Private, like a message photo (the proposer and
    staff see it), until the office marks it public (可公开) in screening after checking it for
    faces, plates and house numbers; `proposal_id` is empty from the mini-program's upload
    until the proposal that carries it is sent."""
    __tablename__ = "project_proposal_photos"
    __table_args__ = (sa.CheckConstraint("(public_at IS NULL) = (approved_by_id IS NULL)",
                                         name="public_has_approver"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("project_proposals.id", ondelete="CASCADE"), index=True)
    resident_id: Mapped[int] = mapped_column(sa.ForeignKey("residents.id"), index=True)
    storage_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    width: Mapped[int] = mapped_column()
    height: Mapped[int] = mapped_column()
    size_bytes: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    public_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))

    proposal = relationship(ProjectProposal, back_populates="photos")


class ProjectUpdate(db.Model):
    """The lead department's progress report on a project in delivery."""
    __tablename__ = "project_updates"
    __table_args__ = (sa.CheckConstraint("progress >= 0 AND progress <= 100",
                                         name="progress_percent"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        sa.ForeignKey("project_proposals.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_users.id"))
    title: Mapped[str] = mapped_column(sa.String(60))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    progress: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    photos = relationship("ProjectPhoto", order_by="ProjectPhoto.id")


class ProjectPhoto(db.Model):
    """A photo of a progress report: the lead department's, public with its project (residents'
    photos on proposals are `ProjectProposalPhoto`, private until approved)."""
    __tablename__ = "project_photos"
    id: Mapped[int] = mapped_column(primary_key=True)
    update_id: Mapped[int] = mapped_column(
        sa.ForeignKey("project_updates.id", ondelete="CASCADE"), index=True)
    storage_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    width: Mapped[int] = mapped_column()
    height: Mapped[int] = mapped_column()
    size_bytes: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class ProjectMilestone(db.Model):
    """A planned step of a project in delivery (立项、设计、施工、验收…), with the date it is due
    (Beijing) and the date the lead department reported it done."""
    __tablename__ = "project_milestones"
    __table_args__ = (sa.CheckConstraint("(done_on IS NULL) = (done_by_id IS NULL)",
                                         name="done_has_reporter"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        sa.ForeignKey("project_proposals.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(sa.String(60))
    due_on: Mapped[date] = mapped_column(sa.Date)
    done_on: Mapped[date | None] = mapped_column(sa.Date)
    done_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    def is_overdue(self, today: date) -> bool:
        return self.done_on is None and self.due_on < today


class ProjectRating(db.Model):
    """Who rated a delivered project (满意度测评): the deputy and nothing else, once each. The
    rating is secret like the ballot (see `ProjectRatingCount`), so no row says how they rated."""
    __tablename__ = "project_ratings"
    __table_args__ = (sa.UniqueConstraint("proposal_id", "deputy_id",
                                          name="uq_project_ratings_deputy"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        sa.ForeignKey("project_proposals.id", ondelete="CASCADE"))
    deputy_id: Mapped[int] = mapped_column(sa.ForeignKey("deputies.id"), index=True)


class ProjectRatingCount(db.Model):
    """满意 / 基本满意 / 不满意 counted per project: deputies assess the government's delivery,
    and a rating the departments could read by name would not be free; so, as in the usual
    无记名 测评, only the counts are kept, added in the same transaction as the rater's row."""
    __tablename__ = "project_rating_counts"
    __table_args__ = (sa.CheckConstraint("votes >= 0", name="votes_not_negative"),)
    proposal_id: Mapped[int] = mapped_column(
        sa.ForeignKey("project_proposals.id", ondelete="CASCADE"), primary_key=True)
    value: Mapped[str] = mapped_column(str_enum("project_rating", *RATINGS), primary_key=True)
    votes: Mapped[int] = mapped_column(default=0)


class ProjectEvent(db.Model):
    """One row per transition of a proposal; residents see the public ones."""
    __tablename__ = "project_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        sa.ForeignKey("project_proposals.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(30))
    actor_kind: Mapped[str] = mapped_column(
        str_enum("project_actor_kind", "resident", "staff", "system"))
    actor_id: Mapped[int | None] = mapped_column()
    from_status: Mapped[str | None] = mapped_column(sa.String(20))
    to_status: Mapped[str | None] = mapped_column(sa.String(20))
    is_public: Mapped[bool] = mapped_column(default=True)
    text: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    proposal = relationship(ProjectProposal, back_populates="events")
