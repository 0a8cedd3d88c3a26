"""The run-off (决选): when candidates tie at the cut-off, the office opens a vote among the tied
only, for the places still open, by the same deputies present. Casting, closing, paper entry
and publishing are voting.py's with `runoff=` given; a new tie can go to another run-off."""
from backend.core import audit
from backend.core.errors import InvalidState
from backend.core.extensions import db
from backend.notifications.notify import notify
from backend.notifications.places import Place
from backend.projects import core, policy
from backend.projects.models import (
    ProjectProposal, ProjectRound, ProjectRunoff, ProjectRunoffTally,
)
from backend.projects.stages import latest_runoff
from backend.projects.screening import attendee_ids

SETTLED = ("chosen", "delivering")  # statuses holding a place


def open_runoff(round_: ProjectRound, *, actor) -> ProjectRunoff:
    core.lock_round(round_)
    core.guard_round(round_, "open_runoff", policy.is_office(actor))
    last = latest_runoff(round_)
    if last is not None and last.status != "decided":
        raise InvalidState("上一次决选尚未公布结果", code="runoff_open")
    tied = list(db.session.scalars(db.select(ProjectProposal).filter_by(
        round_id=round_.id, status="runoff").order_by(ProjectProposal.id)))
    settled = db.session.scalar(db.select(db.func.count()).select_from(ProjectProposal).where(
        ProjectProposal.round_id == round_.id, ProjectProposal.status.in_(SETTLED)))
    places = (round_.places or 0) - settled
    if len(tied) < 2 or places < 1:
        raise InvalidState("没有票数相同、待再次表决的项目", code="nothing_to_runoff")
    core.lock(*tied)
    runoff = ProjectRunoff(round_id=round_.id, number=(last.number + 1) if last else 1,
                           places=min(places, len(tied) - 1), opened_by_id=actor.id)
    db.session.add(runoff)
    db.session.flush()
    db.session.add_all(ProjectRunoffTally(runoff_id=runoff.id, candidate_id=p.id, votes=0)
                       for p in tied)
    db.session.flush()
    for deputy_id in sorted(attendee_ids(round_)):
        notify("deputy", deputy_id, "project.runoff_open", f"{round_.year}年度民生实事项目决选开始",
               body=f"票数相同的{len(tied)}个项目争{runoff.places}个名额，请在会议期间投票",
               place=Place("project_ballot"), subject=round_)
    audit.record("project_round.open_runoff", round_, actor=actor, after={
        "runoff": runoff.number, "places": runoff.places, "candidates": [p.id for p in tied]})
    return runoff


def open_runoff_of(round_: ProjectRound) -> ProjectRunoff | None:
    """The run-off still voting or counting, if any."""
    last = latest_runoff(round_)
    return last if last is not None and last.status != "decided" else None


def can_open(user, round_: ProjectRound) -> bool:
    """For pages: whether to offer the office the button (the operation checks again)."""
    if not policy.is_office(user) or round_.status != "decided" or open_runoff_of(round_):
        return False
    return db.session.scalar(db.select(db.func.count()).select_from(ProjectProposal).filter_by(
        round_id=round_.id, status="runoff")) >= 2
