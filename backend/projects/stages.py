"""A vote's stage: the first vote of a round, or one of its run-offs (决选). Both keep the same
secret record (counters per candidate, who took part, how many ballots), in their own tables;
a `Stage` names where, so casting, paper entry and results are written once for both."""
from dataclasses import dataclass

from backend.core.errors import Forbidden, InvalidState, NotFound
from backend.core.extensions import db
from backend.projects import core
from backend.projects.models import (
    ProjectRound, ProjectRunoff, ProjectRunoffParticipation, ProjectRunoffTally, ProjectTally,
    ProjectVoteParticipation,
)

# A run-off's verbs: (statuses it may start from, status it leads to)
RUNOFF_VERBS = {"cast": ({"voting"}, None), "close_vote": ({"voting"}, "counting"),
                "enter_paper": ({"counting"}, None), "decide": ({"counting"}, "decided")}


@dataclass(frozen=True)
class Stage:
    round: ProjectRound
    runoff: ProjectRunoff | None = None

    @property
    def number(self) -> int:
        """0 for the first vote, n for the n-th run-off (the paper entries' `stage`)."""
        return self.runoff.number if self.runoff else 0

    @property
    def label(self) -> str:
        if self.runoff is None:
            return "票决"
        return "决选" if self.runoff.number == 1 else f"第{self.runoff.number}次决选"

    @property
    def places(self) -> int:
        return (self.runoff.places if self.runoff else self.round.places) or 0

    @property
    def status(self) -> str:
        return self.runoff.status if self.runoff else self.round.status

    @property
    def ballots_cast(self) -> int:
        return (self.runoff or self.round).ballots_cast

    @property
    def tally(self):
        return ProjectRunoffTally if self.runoff else ProjectTally

    def tally_filter(self):
        if self.runoff:
            return ProjectRunoffTally.runoff_id == self.runoff.id
        return ProjectTally.round_id == self.round.id

    def lock(self) -> None:
        """Every stage takes turns on the round's row (core.lock_round), then re-reads its own."""
        core.lock_round(self.round)
        if self.runoff is not None:
            db.session.refresh(self.runoff)

    def guard(self, verb: str, allowed: bool = True) -> None:
        if self.runoff is None:
            core.guard_round(self.round, verb, allowed)
            return
        if not allowed:
            raise Forbidden("您无权进行此操作", code="project_forbidden")
        if self.runoff.status not in RUNOFF_VERBS[verb][0]:
            raise InvalidState(f"{self.label}当前为「{self.runoff.status_label}」，"
                               f"不能{core.ROUND_VERB_LABELS[verb]}", code=f"runoff_cannot_{verb}")

    def move(self, verb: str) -> None:
        if self.runoff is None:
            core.move_round(self.round, verb)
        elif RUNOFF_VERBS[verb][1] is not None:
            self.runoff.status = RUNOFF_VERBS[verb][1]

    def participation(self, deputy_id: int):
        if self.runoff:
            return ProjectRunoffParticipation(runoff_id=self.runoff.id, deputy_id=deputy_id)
        return ProjectVoteParticipation(round_id=self.round.id, deputy_id=deputy_id)

    def has_voted(self, deputy_id: int | None) -> bool:
        if deputy_id is None:
            return False
        if self.runoff:
            key, model = (self.runoff.id, deputy_id), ProjectRunoffParticipation
        else:
            key, model = (self.round.id, deputy_id), ProjectVoteParticipation
        return db.session.get(model, key) is not None

    def participants(self) -> int:
        if self.runoff:
            query = db.select(db.func.count()).select_from(ProjectRunoffParticipation).filter_by(
                runoff_id=self.runoff.id)
        else:
            query = db.select(db.func.count()).select_from(ProjectVoteParticipation).filter_by(
                round_id=self.round.id)
        return db.session.scalar(query)

    def candidate_ids(self) -> list[int]:
        return list(db.session.scalars(db.select(self.tally.candidate_id)
                                       .where(self.tally_filter())
                                       .order_by(self.tally.candidate_id)))

    def count_ballot(self, chosen: list[int]) -> None:
        """One ballot on the counters, as SQL increments (the round's row lock is held)."""
        if chosen:
            db.session.execute(db.update(self.tally)
                               .where(self.tally_filter(), self.tally.candidate_id.in_(chosen))
                               .values(votes=self.tally.votes + 1))
        holder = self.runoff or self.round
        model = type(holder)
        db.session.execute(db.update(model).where(model.id == holder.id)
                           .values(ballots_cast=model.ballots_cast + 1))
        db.session.expire(holder, ["ballots_cast"])


def runoffs(round_: ProjectRound) -> list[ProjectRunoff]:
    return list(db.session.scalars(db.select(ProjectRunoff).filter_by(round_id=round_.id)
                                   .order_by(ProjectRunoff.number)))


def latest_runoff(round_: ProjectRound) -> ProjectRunoff | None:
    return db.session.scalar(db.select(ProjectRunoff).filter_by(round_id=round_.id)
                             .order_by(ProjectRunoff.number.desc()).limit(1))


def current(round_: ProjectRound) -> Stage:
    """The stage a deputy's ballot goes to now: the latest run-off once one is opened."""
    return Stage(round_, latest_runoff(round_))


def get_runoff(runoff_id: int) -> ProjectRunoff:
    runoff = db.session.get(ProjectRunoff, runoff_id)
    if runoff is None:
        raise NotFound("没有这次决选", code="runoff_not_found")
    return runoff
