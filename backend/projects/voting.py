"""The vote (票决): a deputy casts one secret ballot for up to N candidates; the office closes
the vote, enters the paper totals (twice, by two staff, who must agree) and publishes the result.
A run-off (决选, see runoff.py) goes through the same steps with `runoff=` given.

Secrecy (see models.py): casting writes the participation row and adds to the counters; it
writes no event on any candidate, and its audit entry names the round, not the choices."""
from sqlalchemy.exc import IntegrityError

from backend.core import audit
from backend.core.errors import Forbidden, InvalidState, ValidationFailed
from backend.core.extensions import db
from backend.core.timeutil import utcnow
from backend.notifications.notify import notify
from backend.notifications.places import Place
from backend.projects import core, policy, results
from backend.projects.models import (
    ProjectAttendee, ProjectPaperCount, ProjectPaperEntry, ProjectProposal, ProjectRound,
    ProjectRunoff,
)
from backend.projects.stages import Stage

ALREADY_VOTED = "您已经投过票了，选票投出后不能更改"
NOT_PRESENT = "您未登记出席本次会议，不能投票；如已到会，请联系会务工作人员补登"


def is_present(round_: ProjectRound, deputy_id: int | None) -> bool:
    return deputy_id is not None and db.session.get(
        ProjectAttendee, (round_.id, deputy_id)) is not None


def has_voted(round_: ProjectRound, deputy_id: int | None,
              runoff: ProjectRunoff | None = None) -> bool:
    return Stage(round_, runoff).has_voted(deputy_id)


def cast_ballot(round_: ProjectRound, candidate_ids, *, actor,
                runoff: ProjectRunoff | None = None) -> None:
    """One ballot in the first vote or in `runoff`: up to N distinct candidates of that stage
    (none at all is an abstention). The round's row lock makes a double tap, two devices or a
    close at the same instant take turns: the second finds the participation (or the closed
    stage) and changes nothing."""
    stage = Stage(round_, runoff)
    stage.lock()
    stage.guard("cast", policy.can_propose_as_deputy(actor))
    if not is_present(round_, actor.deputy_id):
        raise Forbidden(NOT_PRESENT, code="deputy_not_present")
    if stage.has_voted(actor.deputy_id):
        raise InvalidState(ALREADY_VOTED, code="already_voted")
    chosen = _checked_choice(stage, candidate_ids)
    db.session.add(stage.participation(actor.deputy_id))
    try:
        db.session.flush()
    except IntegrityError:  # only without the row lock (it is always taken): still one ballot
        db.session.rollback()
        raise InvalidState(ALREADY_VOTED, code="already_voted")
    stage.count_ballot(chosen)
    audit.record("project_round.ballot_cast", round_, actor=actor,
                 after={"runoff": runoff.number} if runoff else None)


def _checked_choice(stage: Stage, candidate_ids) -> list[int]:
    if not isinstance(candidate_ids, (list, tuple)) or not all(
            isinstance(i, int) for i in candidate_ids):
        raise ValidationFailed(errors={"candidate_ids": ["请选择候选项目"]}, code="ballot_invalid")
    chosen = sorted(set(candidate_ids))
    if len(chosen) != len(candidate_ids):
        raise ValidationFailed(errors={"candidate_ids": ["同一个项目只能选一次"]},
                               code="ballot_invalid")
    if len(chosen) > stage.places:
        raise ValidationFailed(errors={"candidate_ids": [f"最多选择{stage.places}个项目"]},
                               code="ballot_too_many")
    if not set(chosen) <= set(stage.candidate_ids()):
        raise ValidationFailed(errors={"candidate_ids": [f"所选项目不在本次{stage.label}的候选名单中"]},
                               code="ballot_invalid")
    return chosen


def close_vote(round_: ProjectRound, *, actor, runoff: ProjectRunoff | None = None):
    stage = Stage(round_, runoff)
    stage.lock()
    stage.guard("close_vote", policy.is_office(actor))
    if runoff is None:
        round_.vote_closed_at = utcnow()
    else:
        runoff.closed_at = utcnow()
    stage.move("close_vote")
    audit.record("project_round.close_vote", round_, actor=actor,
                 after={"ballots_cast": stage.ballots_cast, "stage": stage.number})
    return runoff or round_


def enter_paper(round_: ProjectRound, *, ballots, counts: dict, actor,
                runoff: ProjectRunoff | None = None) -> ProjectPaperEntry:
    """One staff member's count of a stage's paper ballots; entering again replaces one's own."""
    stage = Stage(round_, runoff)
    stage.lock()
    stage.guard("enter_paper", policy.is_office(actor))
    listed = stage.candidate_ids()
    errors: dict = {}
    if not isinstance(ballots, int) or ballots < 0:
        errors["ballots"] = ["请填写收回的纸质选票张数"]
    for cid in listed:
        votes = counts.get(cid)
        if not isinstance(votes, int) or votes < 0:
            errors[f"votes_{cid}"] = ["请填写得票数（0或正整数）"]
        elif isinstance(ballots, int) and votes > ballots:
            errors[f"votes_{cid}"] = ["得票数不能多于选票张数"]
    if set(counts) - set(listed):
        errors["counts"] = ["有不在候选名单中的项目"]
    if not errors and sum(counts.values()) > ballots * stage.places:
        errors["counts"] = [f"得票总数不能多于选票张数的{stage.places}倍"]
    electorate = results.electorate(round_)
    if not errors and ballots + stage.ballots_cast > electorate:
        errors["ballots"] = [f"纸质票{ballots}张与电子票{stage.ballots_cast}张合计，"
                             f"不能多于出席代表{electorate}人"]
    if errors:
        raise ValidationFailed(errors=errors, code="paper_invalid")
    old = db.session.scalar(db.select(ProjectPaperEntry).filter_by(
        round_id=round_.id, stage=stage.number, staff_id=actor.id))
    if old is not None:
        db.session.delete(old)
        db.session.flush()
    entry = ProjectPaperEntry(round_id=round_.id, stage=stage.number, staff_id=actor.id,
                              ballots=ballots,
                              counts=[ProjectPaperCount(candidate_id=cid, votes=counts[cid])
                                      for cid in listed])
    db.session.add(entry)
    db.session.flush()
    audit.record("project_round.paper_entry", round_, actor=actor,
                 after={"stage": stage.number, "ballots": ballots,
                        "counts": {str(k): v for k, v in counts.items()}})
    return entry


# outcome: (verb in the first vote, verb in a run-off, what followers are told)
OUTCOME_VERBS = {"chosen": ("choose", "win_runoff", "您关注的项目票决当选"),
                 "runoff": ("tie", "tie_again", "您关注的项目票数相同，待再次表决"),
                 "unchosen": ("lose", "lose_runoff", "您关注的项目未当选")}


def decide(round_: ProjectRound, *, actor, runoff: ProjectRunoff | None = None) -> results.Results:
    """Publish a stage: the chosen, the tied at the cut-off (for a run-off) and the rest, each
    told to its followers. Refused while the stage's paper entries are one or disagree."""
    stage = Stage(round_, runoff)
    stage.lock()
    stage.guard("decide", policy.is_office(actor))
    paper = results.paper_state(round_, stage.number)
    if paper.state in ("pending", "disagree"):
        raise InvalidState(paper.label + "，纸质票须由两名工作人员分别录入且一致后才能公布结果",
                           code=f"paper_{paper.state}")
    outcome = results.compute(round_, runoff)
    by_id = {p.id: p for p in db.session.scalars(db.select(ProjectProposal).where(
        ProjectProposal.id.in_([r.candidate_id for r in outcome.rows])))}
    for row in outcome.rows:
        proposal = by_id[row.candidate_id]
        first, again, title = OUTCOME_VERBS[row.outcome]
        core.transition(proposal, again if runoff else first, actor,
                        text=f"{stage.label}得票{row.total}")
        core.notify_followers(proposal, f"project.{row.outcome}", title, body=proposal.title)
        if proposal.deputy_id is not None:
            notify("deputy", proposal.deputy_id, f"project.{row.outcome}", title,
                   body=proposal.title, place=Place("staff_project", proposal.id), subject=proposal)
    if runoff is None:
        round_.decided_at = utcnow()
    else:
        runoff.decided_at = utcnow()
    stage.move("decide")
    audit.record("project_round.decide", round_, actor=actor,
                 after={**outcome.summary(), "stage": stage.number})
    return outcome
