"""The vote's figures, computed in the database: turnout, electronic and paper votes per
candidate with their sources, who is chosen (more than half of the ballots cast, then by votes,
up to N), and ties at the cut-off reported for a run-off, never broken silently. A run-off is
ranked by the same rule among its candidates, for its places, against its own ballots."""
from dataclasses import dataclass, field

import sqlalchemy as sa

from backend.core.extensions import db
from backend.org.models import Department
from backend.projects.models import (
    ProjectAttendee, ProjectPaperCount, ProjectPaperEntry, ProjectProposal, ProjectRound,
    ProjectRunoff,
)
from backend.projects.stages import Stage, runoffs

OUTCOME_LABELS = {"chosen": "当选", "runoff": "票数相同，待再次表决", "unchosen": "未当选"}
PAPER_LABELS = {"none": "没有纸质票", "pending": "纸质票只录入了一次",
                "disagree": "纸质票两次录入不一致", "agreed": "纸质票两次录入一致"}


@dataclass
class PaperState:
    state: str  # none | pending | disagree | agreed
    entry: ProjectPaperEntry | None = None  # the agreed one

    @property
    def label(self) -> str:
        return PAPER_LABELS[self.state]


@dataclass
class Row:
    candidate_id: int
    title: str
    department: str
    estimated_cost: int
    electronic: int
    paper: int
    outcome: str = "unchosen"

    @property
    def total(self) -> int:
        return self.electronic + self.paper

    @property
    def outcome_label(self) -> str:
        return OUTCOME_LABELS[self.outcome]


@dataclass
class Results:
    label: str  # 票决, 决选, 第2次决选…
    places: int
    electorate: int  # deputies registered present at the session
    participants: int  # deputies who cast an electronic ballot
    electronic_ballots: int
    paper_ballots: int
    paper: PaperState
    rows: list[Row] = field(default_factory=list)

    @property
    def ballots(self) -> int:
        return self.electronic_ballots + self.paper_ballots

    @property
    def needed(self) -> int:
        """Fewest votes that are more than half of the ballots cast."""
        return self.ballots // 2 + 1

    @property
    def turnout_percent(self) -> float:
        return round(100 * self.ballots / self.electorate, 1) if self.electorate else 0.0

    @property
    def chosen(self) -> list[Row]:
        return [r for r in self.rows if r.outcome == "chosen"]

    @property
    def runoff(self) -> list[Row]:
        return [r for r in self.rows if r.outcome == "runoff"]

    def summary(self) -> dict:
        return {"ballots": self.ballots, "electronic": self.electronic_ballots,
                "paper": self.paper_ballots, "chosen": [r.candidate_id for r in self.chosen],
                "runoff": [r.candidate_id for r in self.runoff]}


def candidate_ids(round_: ProjectRound, runoff: ProjectRunoff | None = None) -> list[int]:
    return Stage(round_, runoff).candidate_ids()


def electorate(round_: ProjectRound) -> int:
    return db.session.scalar(db.select(sa.func.count()).select_from(ProjectAttendee)
                             .filter_by(round_id=round_.id))


def paper_state(round_: ProjectRound, stage: int = 0) -> PaperState:
    entries = list(db.session.scalars(db.select(ProjectPaperEntry).filter_by(
        round_id=round_.id, stage=stage).order_by(ProjectPaperEntry.id)))
    if not entries:
        return PaperState("none")
    if len(entries) == 1:
        return PaperState("pending")
    key = lambda e: (e.ballots, [(c.candidate_id, c.votes) for c in e.counts])  # noqa: E731
    if all(key(e) == key(entries[0]) for e in entries):
        return PaperState("agreed", entries[0])
    return PaperState("disagree")


def compute(round_: ProjectRound, runoff: ProjectRunoff | None = None) -> Results:
    """One stage's figures: the first vote's, or `runoff`'s among its tied candidates."""
    stage = Stage(round_, runoff)
    paper = paper_state(round_, stage.number)
    paper_votes = (db.select(ProjectPaperCount.candidate_id, ProjectPaperCount.votes)
                   .where(ProjectPaperCount.entry_id == (paper.entry.id if paper.entry else -1))
                   .subquery())
    tally = stage.tally
    query = (db.select(ProjectProposal.id, ProjectProposal.title, ProjectProposal.estimated_cost,
                       ProjectProposal.department_id, tally.votes,
                       sa.func.coalesce(paper_votes.c.votes, 0))
             .join(tally, tally.candidate_id == ProjectProposal.id)
             .outerjoin(paper_votes, paper_votes.c.candidate_id == ProjectProposal.id)
             .where(stage.tally_filter())
             .order_by((tally.votes + sa.func.coalesce(paper_votes.c.votes, 0)).desc(),
                       ProjectProposal.id))
    names = dict(db.session.execute(db.select(Department.id, Department.name)).all())
    rows = [Row(cid, title, names.get(dep, ""), cost or 0, electronic, paper_n)
            for cid, title, cost, dep, electronic, paper_n in db.session.execute(query)]
    result = Results(
        label=stage.label, places=stage.places, electorate=electorate(round_),
        participants=stage.participants(), electronic_ballots=stage.ballots_cast,
        paper_ballots=paper.entry.ballots if paper.entry else 0, paper=paper, rows=rows)
    _rank(result)
    return result


@dataclass
class Combined:
    """Every stage of a round's vote, first to last, and what they come to together: the
    chosen of the first vote plus each run-off's winners; the tied still awaiting a run-off."""
    stages: list[Results]
    decided: list[bool]  # per stage: published (outcomes may be shown)

    @property
    def chosen(self) -> list[Row]:
        return [r for s, done in zip(self.stages, self.decided) if done for r in s.chosen]

    @property
    def pending_runoff(self) -> list[Row]:
        """The tied of the last published stage: a new run-off is due for them."""
        last = [s for s, done in zip(self.stages, self.decided) if done]
        return last[-1].runoff if last else []

    @property
    def places_open(self) -> int:
        return (self.stages[0].places - len(self.chosen)) if self.stages else 0


def combined(round_: ProjectRound) -> Combined:
    stages, decided = [compute(round_)], [round_.status == "decided"]
    for runoff in runoffs(round_):
        stages.append(compute(round_, runoff))
        decided.append(runoff.status == "decided")
    return Combined(stages, decided)


def _rank(result: Results) -> None:
    """Rows come sorted by votes. Those past the majority fill the places; if the last place
    is shared by more candidates than places remain, all of them go to a run-off."""
    eligible = [r for r in result.rows if result.ballots and r.total >= result.needed]
    if len(eligible) <= result.places:
        for r in eligible:
            r.outcome = "chosen"
        return
    cutoff = eligible[result.places - 1].total
    above = [r for r in eligible if r.total > cutoff]
    at = [r for r in eligible if r.total == cutoff]
    for r in above:
        r.outcome = "chosen"
    for r in at:
        r.outcome = "chosen" if len(above) + len(at) <= result.places else "runoff"
