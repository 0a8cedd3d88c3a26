"""A year's livelihood projects in the district's figures (the 民生实事 lines of an annual report:
"征集项目建议 186 件，票决产生 10 件，已完成 8 件，代表测评满意 8 件"), counted in the database.

Definitions (口径) for the round of year Y: 征集 = proposals of the round, merged duplicates left
out; 附议 = supports on them; 候选 = put to the vote; 当选 = chosen (in delivery or not yet);
出席 / 收回选票 as in the vote's results; 完成 = projects in delivery reported at 100 %;
实施节点: planned, done, and overdue (not done, due before today, Beijing); 测评满意 = projects
whose deputies' ratings are 满意 by the majority rule (满意 + 基本满意 more than half)."""
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from backend.core.extensions import db
from backend.core.timeutil import local_today
from backend.projects import results
from backend.projects.models import (
    ProjectMilestone, ProjectProposal, ProjectRatingCount, ProjectRound, ProjectSupport,
    ProjectTally,
)

CHOSEN = ("chosen", "delivering")


@dataclass
class YearProjects:
    year: int
    status_label: str
    proposals: int = 0
    supports: int = 0
    candidates: int = 0
    places: int = 0
    chosen: int = 0
    electorate: int = 0
    ballots: int = 0
    delivering: int = 0
    completed: int = 0
    milestones: int = 0
    milestones_done: int = 0
    milestones_overdue: int = 0
    rated: int = 0
    rated_satisfied: int = 0


def year_projects(year: int, *, today: date | None = None) -> YearProjects | None:
    """None when the year had no round."""
    today = today or local_today()
    round_ = db.session.scalar(sa.select(ProjectRound).filter_by(year=year))
    if round_ is None:
        return None
    f = YearProjects(year, round_.status_label, places=round_.places or 0)
    in_round = ProjectProposal.round_id == round_.id
    status = ProjectProposal.status
    f.proposals, f.chosen, f.delivering, f.completed = db.session.execute(
        sa.select(sa.func.count(sa.case((status != "merged", 1))),
                  sa.func.count(sa.case((status.in_(CHOSEN), 1))),
                  sa.func.count(sa.case((status == "delivering", 1))),
                  sa.func.count(sa.case((sa.and_(status == "delivering",
                                                 ProjectProposal.progress == 100), 1))))
        .where(in_round)).one()
    f.supports = db.session.scalar(
        sa.select(sa.func.count()).select_from(ProjectSupport)
        .join(ProjectProposal, ProjectProposal.id == ProjectSupport.proposal_id)
        .where(in_round, status != "merged"))
    f.candidates = db.session.scalar(sa.select(sa.func.count()).select_from(ProjectTally)
                                     .filter_by(round_id=round_.id))
    if round_.places:
        outcome = results.compute(round_)
        f.electorate, f.ballots = outcome.electorate, outcome.ballots
    done = ProjectMilestone.done_on.is_not(None)
    f.milestones, f.milestones_done, f.milestones_overdue = db.session.execute(
        sa.select(sa.func.count(), sa.func.count(sa.case((done, 1))),
                  sa.func.count(sa.case((sa.and_(~done, ProjectMilestone.due_on < today), 1))))
        .join(ProjectProposal, ProjectProposal.id == ProjectMilestone.proposal_id)
        .where(in_round)).one()
    counts = ProjectRatingCount
    good = sa.func.sum(sa.case((counts.value.in_(("satisfied", "basically_satisfied")),
                                counts.votes), else_=0))
    per_project = (sa.select(counts.proposal_id, good.label("good"),
                             sa.func.sum(counts.votes).label("all"))
                   .join(ProjectProposal, ProjectProposal.id == counts.proposal_id)
                   .where(in_round).group_by(counts.proposal_id)
                   .having(sa.func.sum(counts.votes) > 0).subquery())
    f.rated, f.rated_satisfied = db.session.execute(
        sa.select(sa.func.count(), sa.func.count(sa.case((2 * per_project.c.good > per_project.c.all, 1))))
        .select_from(per_project)).one()
    return f
