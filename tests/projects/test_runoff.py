"""The run-off (决选): among the tied only, for the places still open, by the deputies present;
as secret as the first vote; paper totals entered twice; combined results; new ties reported."""
import pytest
import sqlalchemy as sa

from backend.core.errors import Forbidden, InvalidState, ValidationFailed
from backend.projects import delivery, results, runoff as runoffs, voting
from backend.projects.models import (
    ProjectRunoffParticipation, ProjectRunoffTally, ProjectTally,
)
from tests.conftest import at_once
from tests.projects.test_vote import _snapshot


@pytest.fixture
def tied(db, office, voting_round, make_voter):
    """First vote decided: a and b chosen, c and d tied for the third place, e out."""
    round_, c = voting_round
    a, b, cc, d, e = (p.id for p in c)
    deputies = [make_voter(round_) for _ in range(5)]
    for deputy, ids in zip(deputies, [[a, b, cc], [a, b, d], [a, b, cc], [a, b, d], [a, cc, d]]):
        voting.cast_ballot(round_, ids, actor=deputy)
    voting.close_vote(round_, actor=office)
    voting.decide(round_, actor=office)
    return round_, c, deputies


def test_a_runoff_is_among_the_tied_for_the_places_still_open(db, office, tied):
    round_, c, deputies = tied
    run = runoffs.open_runoff(round_, actor=office)
    assert run.number == 1 and run.places == 1 and run.status == "voting"
    assert results.candidate_ids(round_, run) == sorted([c[2].id, c[3].id])
    with pytest.raises(ValidationFailed) as outside:  # a first-round candidate not tied
        voting.cast_ballot(round_, [c[0].id], actor=deputies[0], runoff=run)
    assert outside.value.code == "ballot_invalid"
    with pytest.raises(ValidationFailed) as two:  # one place: one choice at most
        voting.cast_ballot(round_, [c[2].id, c[3].id], actor=deputies[0], runoff=run)
    assert two.value.code == "ballot_too_many"
    with pytest.raises(InvalidState) as again:  # only one run-off open at a time
        runoffs.open_runoff(round_, actor=office)
    assert again.value.code == "runoff_open"


def test_only_the_office_opens_it(db, office, tied):
    round_, c, deputies = tied
    with pytest.raises(Forbidden):
        runoffs.open_runoff(round_, actor=deputies[0])
    assert runoffs.open_runoff_of(round_) is None


def test_no_tie_no_runoff(db, office, voting_round, make_voter):
    round_, c = voting_round
    voting.cast_ballot(round_, [c[0].id], actor=make_voter(round_))
    voting.close_vote(round_, actor=office)
    voting.decide(round_, actor=office)
    with pytest.raises(InvalidState) as err:
        runoffs.open_runoff(round_, actor=office)
    assert err.value.code == "nothing_to_runoff"


def test_a_first_round_vote_after_the_runoff_opened_is_refused(db, office, tied):
    round_, c, deputies = tied
    runoffs.open_runoff(round_, actor=office)
    with pytest.raises(InvalidState) as err:
        voting.cast_ballot(round_, [c[4].id], actor=deputies[0])
    assert err.value.code == "round_cannot_cast"
    assert db.session.get(ProjectTally, c[4].id).votes == 0


def test_once_only_and_not_after_close(db, office, tied):
    round_, c, deputies = tied
    run = runoffs.open_runoff(round_, actor=office)
    voting.cast_ballot(round_, [c[2].id], actor=deputies[0], runoff=run)
    with pytest.raises(InvalidState) as twice:
        voting.cast_ballot(round_, [c[3].id], actor=deputies[0], runoff=run)
    assert twice.value.code == "already_voted"
    voting.close_vote(round_, actor=office, runoff=run)
    with pytest.raises(InvalidState) as closed:
        voting.cast_ballot(round_, [c[3].id], actor=deputies[1], runoff=run)
    assert closed.value.code == "runoff_cannot_cast"
    assert run.ballots_cast == 1
    assert db.session.get(ProjectRunoffTally, (run.id, c[2].id)).votes == 1


def test_only_deputies_present_vote_in_the_runoff(db, office, tied, make_deputy_user):
    round_, c, _ = tied
    run = runoffs.open_runoff(round_, actor=office)
    with pytest.raises(Forbidden) as err:
        voting.cast_ballot(round_, [c[2].id], actor=make_deputy_user(), runoff=run)
    assert err.value.code == "deputy_not_present"


def test_combined_results_add_the_runoff_winner_to_the_first_rounds_chosen(db, office, tied,
                                                                          make_staff):
    round_, c, deputies = tied
    run = runoffs.open_runoff(round_, actor=office)
    for deputy, pick in zip(deputies[:3], [c[3].id, c[3].id, c[2].id]):
        voting.cast_ballot(round_, [pick], actor=deputy, runoff=run)
    voting.close_vote(round_, actor=office, runoff=run)
    # Paper: 2 more ballots (d 1, c 1), entered twice; one entry only blocks the result.
    voting.enter_paper(round_, ballots=2, counts={c[2].id: 1, c[3].id: 1}, actor=office,
                       runoff=run)
    with pytest.raises(InvalidState) as pending:
        voting.decide(round_, actor=office, runoff=run)
    assert pending.value.code == "paper_pending"
    voting.enter_paper(round_, ballots=2, counts={c[2].id: 1, c[3].id: 1},
                       actor=make_staff("admin"), runoff=run)
    outcome = voting.decide(round_, actor=office, runoff=run)
    # 5 run-off ballots: d has 3 (more than half), c 2.
    assert outcome.ballots == 5 and outcome.needed == 3
    assert [r.candidate_id for r in outcome.chosen] == [c[3].id]
    assert {p.id: p.status for p in c} == {c[0].id: "chosen", c[1].id: "chosen",
                                          c[2].id: "unchosen", c[3].id: "chosen",
                                          c[4].id: "unchosen"}
    both = results.combined(round_)
    assert [s.label for s in both.stages] == ["票决", "决选"]
    assert [r.candidate_id for r in both.chosen] == [c[0].id, c[1].id, c[3].id]
    assert both.places_open == 0 and both.pending_runoff == []
    # The first vote's paper state is its own: the run-off's entries do not count there.
    assert both.stages[0].paper.state == "none" and both.stages[1].paper.state == "agreed"
    assert len(delivery.start_delivery(round_, actor=office)) == 3


def test_without_a_majority_in_the_runoff_the_place_stays_open(db, office, tied):
    round_, c, deputies = tied
    run = runoffs.open_runoff(round_, actor=office)
    for deputy, pick in zip(deputies[:4], [c[2].id, c[3].id, c[2].id, c[3].id]):
        voting.cast_ballot(round_, [pick], actor=deputy, runoff=run)
    voting.close_vote(round_, actor=office, runoff=run)
    outcome = voting.decide(round_, actor=office, runoff=run)
    assert outcome.needed == 3 and outcome.chosen == [] and outcome.runoff == []
    assert c[2].status == c[3].status == "unchosen"
    both = results.combined(round_)
    assert len(both.chosen) == 2 and both.places_open == 1


def test_a_new_tie_is_reported_again_and_may_go_to_a_second_runoff(db, office, voting_round,
                                                                   make_voter):
    round_, c = voting_round
    a, b, cc, d, _ = (p.id for p in c)
    deputies = [make_voter(round_) for _ in range(5)]
    # a:5 b:3 c:3 d:3: a chosen, b, c and d tied for the two places left.
    for deputy, ids in zip(deputies, [[a, b, cc], [a, b, d], [a, cc, d], [a, b, cc], [a, d]]):
        voting.cast_ballot(round_, ids, actor=deputy)
    voting.close_vote(round_, actor=office)
    voting.decide(round_, actor=office)
    run = runoffs.open_runoff(round_, actor=office)
    assert run.places == 2
    # b:3 c:3 d:3 again, each past the majority (3 of 5): still three for two places.
    for deputy, ids in zip(deputies, [[b, cc], [cc, d], [b, d], [b, cc], [d]]):
        voting.cast_ballot(round_, ids, actor=deputy, runoff=run)
    voting.close_vote(round_, actor=office, runoff=run)
    outcome = voting.decide(round_, actor=office, runoff=run)
    assert {r.candidate_id for r in outcome.runoff} == {b, cc, d}
    assert {p.status for p in c[1:4]} == {"runoff"}
    assert {r.candidate_id for r in results.combined(round_).pending_runoff} == {b, cc, d}
    second = runoffs.open_runoff(round_, actor=office)
    assert second.number == 2 and second.places == 2
    assert [e.kind for e in c[1].events][-1] == "tie_again"


def test_delivery_waits_for_the_runoff(db, office, tied):
    round_, c, _ = tied
    runoffs.open_runoff(round_, actor=office)
    with pytest.raises(InvalidState) as err:
        delivery.start_delivery(round_, actor=office)
    assert err.value.code == "runoff_open"
    assert c[0].status == "chosen"


def test_no_table_links_a_deputy_to_their_runoff_choice(db, office, tied):
    round_, c, deputies = tied
    run = runoffs.open_runoff(round_, actor=office)
    db.session.commit()
    before = _snapshot(db)
    voting.cast_ballot(round_, [c[2].id], actor=deputies[0], runoff=run)
    db.session.commit()
    after = _snapshot(db)
    changed = {t: after[t] - before[t] for t in after if after[t] - before[t]}
    assert set(changed) == {"project_runoff_participations", "project_runoff_tallies",
                            "project_runoffs", "audit_events"}
    (participation,) = changed["project_runoff_participations"]
    assert set(dict(participation)) == {"runoff_id", "deputy_id"}
    (audit_row,) = changed["audit_events"]
    assert str(c[2].id) not in dict(audit_row)["after"]
    assert {col.name for col in ProjectRunoffTally.__table__.columns} == {
        "runoff_id", "candidate_id", "votes"}


def test_a_double_tap_in_the_runoff_casts_exactly_one_ballot(app, db, postgres_only, office,
                                                             tied):
    round_, c, deputies = tied
    run = runoffs.open_runoff(round_, actor=office)
    db.session.commit()
    round_id, run_id, uid = round_.id, run.id, deputies[0].id

    def tap(pick):
        def go():
            from backend.accounts.models import StaffUser
            from backend.core.extensions import db as _db
            from backend.projects.models import ProjectRound, ProjectRunoff
            voting.cast_ballot(_db.session.get(ProjectRound, round_id), [pick],
                               actor=_db.session.get(StaffUser, uid),
                               runoff=_db.session.get(ProjectRunoff, run_id))
        return go
    outcomes = at_once(app, tap(c[2].id), tap(c[3].id), tap(c[2].id))
    refused = [o for o in outcomes if isinstance(o, InvalidState)]
    assert len(refused) == 2 and all(o.code == "already_voted" for o in refused)
    assert outcomes.count(None) == 1
    db.session.expire_all()
    assert sum(t.votes for t in db.session.query(ProjectRunoffTally)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(
        ProjectRunoffParticipation)) == 1
    assert db.session.get(type(run), run_id).ballots_cast == 1


def test_a_runoff_ballot_counts_on_the_deputys_record_apart_from_the_first_vote(db, office, tied):
    """The record counts who voted electronically in the run-off, as in the first vote, in a
    line of its own (a run-off is no second session); never for whom."""
    from backend.records.dossier import deputy_record
    from backend.records.display import EXCEL_HEADERS, excel_row, sections
    round_, c, deputies = tied
    run = runoffs.open_runoff(round_, actor=office)
    voting.cast_ballot(round_, [c[2].id], actor=deputies[0], runoff=run)
    voted = deputy_record(deputies[0].deputy, round_.year)
    not_yet = deputy_record(deputies[1].deputy, round_.year)
    assert (voted.vote_sessions, voted.votes_cast, voted.runoff_votes_cast) == (1, 1, 1)
    assert (not_yet.vote_sessions, not_yet.votes_cast, not_yet.runoff_votes_cast) == (1, 1, 0)
    assert deputy_record(deputies[0].deputy, round_.year - 1).runoff_votes_cast == 0
    lines = dict(dict(sections(voted))["民生实事项目"])
    assert lines["再次表决电子投票"] == "1 次"
    row = dict(zip(EXCEL_HEADERS, excel_row(1, voted)))
    assert (row["电子投票"], row["再次表决电子投票"]) == (1, 1)
