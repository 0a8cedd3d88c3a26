"""The vote: one secret ballot per deputy, up to N choices, none after closing; paper totals
entered twice; results by majority with ties reported; secrecy checked on the tables."""
import pytest
import sqlalchemy as sa

from backend.core.errors import Forbidden, InvalidState, ValidationFailed
from backend.projects import delivery, results, screening, voting
from backend.projects.models import ProjectTally, ProjectVoteParticipation
from tests.conftest import at_once


def _votes(db, round_):
    return {t.candidate_id: t.votes for t in db.session.query(ProjectTally).filter_by(
        round_id=round_.id)}


def test_a_ballot_counts_once_and_cannot_be_changed(db, voting_round, make_voter):
    round_, c = voting_round
    deputy = make_voter(round_)
    voting.cast_ballot(round_, [c[0].id, c[1].id], actor=deputy)
    with pytest.raises(InvalidState) as again:
        voting.cast_ballot(round_, [c[2].id], actor=deputy)
    assert again.value.code == "already_voted"
    assert _votes(db, round_) == {c[0].id: 1, c[1].id: 1, c[2].id: 0, c[3].id: 0, c[4].id: 0}
    assert round_.ballots_cast == 1


@pytest.mark.parametrize("choice, code", [
    ("four", "ballot_too_many"), ("dup", "ballot_invalid"), ("foreign", "ballot_invalid")])
def test_an_invalid_ballot_changes_nothing(db, voting_round, make_voter, choice, code):
    round_, c = voting_round
    ids = {"four": [p.id for p in c[:4]], "dup": [c[0].id, c[0].id],
           "foreign": [c[0].id, 999999]}[choice]
    deputy = make_voter(round_)
    with pytest.raises(ValidationFailed) as err:
        voting.cast_ballot(round_, ids, actor=deputy)
    assert err.value.code == code
    assert not voting.has_voted(round_, deputy.deputy_id)
    assert set(_votes(db, round_).values()) == {0}


def test_only_deputies_vote_and_not_after_closing(db, office, voting_round, make_voter,
                                                  make_staff):
    round_, c = voting_round
    late_voter = make_voter(round_)
    with pytest.raises(Forbidden):
        voting.cast_ballot(round_, [c[0].id], actor=office)
    with pytest.raises(Forbidden):
        voting.cast_ballot(round_, [c[0].id], actor=make_staff("liaison"))
    voting.close_vote(round_, actor=office)
    with pytest.raises(InvalidState) as late:
        voting.cast_ballot(round_, [c[0].id], actor=late_voter)
    assert late.value.code == "round_cannot_cast"
    assert round_.ballots_cast == 0


def _cast_many(round_, deputies, choices):
    for deputy, ids in zip(deputies, choices):
        voting.cast_ballot(round_, ids, actor=deputy)


def test_majority_places_and_a_tie_at_the_cut_off_goes_to_a_runoff(db, office, voting_round,
                                                                  make_voter):
    round_, c = voting_round
    a, b, cc, d, e = (p.id for p in c)
    deputies = [make_voter(round_) for _ in range(5)]
    # a:5 b:4 c:3 d:3 e:0 — majority of 5 ballots is 3; the 3rd place is shared by c and d.
    _cast_many(round_, deputies, [[a, b, cc], [a, b, d], [a, b, cc], [a, b, d], [a, cc, d]])
    voting.close_vote(round_, actor=office)
    outcome = voting.decide(round_, actor=office)
    assert outcome.needed == 3 and outcome.ballots == 5
    assert [r.candidate_id for r in outcome.chosen] == [a, b]
    assert {r.candidate_id for r in outcome.runoff} == {cc, d}
    assert {p.id: p.status for p in c} == {a: "chosen", b: "chosen", cc: "runoff", d: "runoff",
                                          e: "unchosen"}


def test_no_majority_no_place(db, office, voting_round, make_voter):
    round_, c = voting_round
    deputies = [make_voter(round_) for _ in range(4)]
    # 4 ballots: more than half is 3; c1 has 2 and stays out though places remain.
    _cast_many(round_, deputies, [[c[0].id, c[1].id], [c[0].id, c[1].id], [c[0].id], [c[0].id]])
    voting.close_vote(round_, actor=office)
    outcome = voting.decide(round_, actor=office)
    assert [r.candidate_id for r in outcome.chosen] == [c[0].id]
    assert c[1].status == "unchosen"


def test_paper_totals_count_only_when_two_staff_agree(db, office, make_staff, voting_round,
                                                      make_voter):
    round_, c = voting_round
    voting.cast_ballot(round_, [c[0].id], actor=make_voter(round_))
    for _ in range(3):  # present, voting on paper
        make_voter(round_)
    voting.close_vote(round_, actor=office)
    second = make_staff("admin")
    counts = {p.id: v for p, v in zip(c, [3, 3, 2, 1, 0])}
    voting.enter_paper(round_, ballots=4, counts=counts, actor=office)
    with pytest.raises(InvalidState) as once:
        voting.decide(round_, actor=office)
    assert once.value.code == "paper_pending"
    voting.enter_paper(round_, ballots=4, counts={**counts, c[3].id: 2}, actor=second)
    assert results.paper_state(round_).state == "disagree"
    with pytest.raises(InvalidState):
        voting.decide(round_, actor=office)
    voting.enter_paper(round_, ballots=4, counts=counts, actor=second)  # corrected
    outcome = voting.decide(round_, actor=office)
    rows = {r.candidate_id: (r.electronic, r.paper) for r in outcome.rows}
    assert rows[c[0].id] == (1, 3) and rows[c[1].id] == (0, 3)
    assert outcome.ballots == 5 and outcome.paper.state == "agreed"
    assert [r.candidate_id for r in outcome.chosen] == [c[0].id, c[1].id]


def test_only_deputies_present_vote_and_turnout_counts_them(db, office, voting_round,
                                                            make_deputy_user, make_staff,
                                                            make_deputy):
    round_, c = voting_round
    absent = make_deputy_user()
    with pytest.raises(Forbidden) as refused:
        voting.cast_ballot(round_, [c[0].id], actor=absent)
    assert refused.value.code == "deputy_not_present"
    assert round_.ballots_cast == 0 and _votes(db, round_)[c[0].id] == 0
    assert db.session.query(ProjectVoteParticipation).count() == 0
    # Arriving late: registered during the vote, then votes once.
    assert [d.id for d in screening.register_present(round_, [absent.deputy_id],
                                                     actor=office)] == [absent.deputy_id]
    assert screening.register_present(round_, [absent.deputy_id], actor=office) == []
    voting.cast_ballot(round_, [c[0].id], actor=absent)
    assert round_.ballots_cast == 1
    make_deputy()  # active but absent: not in the electorate
    outcome = results.compute(round_)
    assert outcome.electorate == 2 and outcome.turnout_percent == 50.0
    # Nobody else registers, nor a former deputy, nor anyone after the close.
    with pytest.raises(Forbidden):
        screening.register_present(round_, [make_deputy().id], actor=make_staff("liaison"))
    retired = make_deputy(is_active=False)
    with pytest.raises(ValidationFailed) as bad:
        screening.register_present(round_, [retired.id], actor=office)
    assert bad.value.code == "attendees_invalid"
    voting.close_vote(round_, actor=office)
    with pytest.raises(InvalidState) as late:
        screening.register_present(round_, [make_deputy().id], actor=office)
    assert late.value.code == "round_cannot_register_present"
    assert len(screening.attendee_ids(round_)) == 2


def test_paper_ballots_cannot_exceed_the_deputies_present(db, office, voting_round, make_voter):
    round_, c = voting_round  # one deputy present
    voting.cast_ballot(round_, [c[0].id], actor=make_voter(round_))  # two present, one voted
    voting.close_vote(round_, actor=office)
    counts = {p.id: 0 for p in c}
    with pytest.raises(ValidationFailed) as err:
        voting.enter_paper(round_, ballots=2, counts=counts, actor=office)
    assert err.value.code == "paper_invalid" and "出席代表2人" in err.value.errors["ballots"][0]
    assert results.paper_state(round_).state == "none"
    voting.enter_paper(round_, ballots=1, counts=counts, actor=office)
    assert results.paper_state(round_).state == "pending"


def test_paper_entry_is_checked(db, office, voting_round):
    round_, c = voting_round
    voting.close_vote(round_, actor=office)
    with pytest.raises(ValidationFailed) as err:
        voting.enter_paper(round_, ballots=2, counts={c[0].id: 3}, actor=office)
    assert f"votes_{c[0].id}" in err.value.errors and f"votes_{c[1].id}" in err.value.errors


def test_chosen_move_into_delivery_in_one_step_and_progress_reaches_followers(
        db, office, voting_round, make_voter, make_staff, make_resident, make_department):
    from backend.notifications.models import Notification
    from backend.projects import collection
    round_, c = voting_round
    supporter = make_resident()
    collection.follow(c[0], resident=supporter)
    for d in [make_voter(round_) for _ in range(3)]:
        voting.cast_ballot(round_, [c[0].id, c[1].id], actor=d)
    voting.close_vote(round_, actor=office)
    voting.decide(round_, actor=office)
    moved = delivery.start_delivery(round_, actor=office)
    assert {p.id for p in moved} == {c[0].id, c[1].id}
    assert all(p.status == "delivering" for p in moved)
    delivery.keep_in_reserve(c[2], actor=office)
    assert c[2].status == "reserve"
    lead = make_staff("department", department=c[0].department)
    other = make_staff("department", department=make_department())
    with pytest.raises(Forbidden):
        delivery.report_progress(c[0], progress=50, title="完成一半", actor=other)
    delivery.report_progress(c[0], progress=50, title="主体施工完成", actor=lead)
    assert c[0].progress == 50
    with pytest.raises(ValidationFailed):
        delivery.report_progress(c[0], progress=30, title="倒退", actor=lead)
    told = {n.recipient_id for n in db.session.query(Notification).filter_by(
        topic="project.progress", recipient_kind="resident")}
    assert told == {c[0].resident_id, supporter.id}


def test_no_table_links_a_deputy_to_their_choices(db, office, voting_round, make_voter):
    """Read every table of the database as its owner would (admin included): the only rows
    naming a deputy say that they voted, and nothing written while voting names a choice."""
    round_, c = voting_round
    deputy = make_voter(round_)
    db.session.commit()
    before = _snapshot(db)
    voting.cast_ballot(round_, [c[1].id, c[3].id], actor=deputy)
    db.session.commit()
    after = _snapshot(db)
    changed = {t: after[t] - before[t] for t in after if after[t] - before[t]}
    # What casting wrote: a participation, the counters, the round's total, one audit row.
    assert set(changed) == {"project_vote_participations", "project_tallies", "project_rounds",
                            "audit_events"}
    (participation,) = changed["project_vote_participations"]
    assert set(dict(participation)) == {"round_id", "deputy_id"}  # no time, no choice
    (audit_row,) = changed["audit_events"]
    audit_row = dict(audit_row)
    assert audit_row["object_type"] == "project_rounds" and audit_row["after"] in ("None", "null")
    # The counters hold totals only: no column could name a deputy or a ballot.
    assert {col.name for col in ProjectTally.__table__.columns} == {"candidate_id", "round_id",
                                                                    "votes"}
    # No event on any candidate was written by the ballot.
    assert "project_events" not in changed


def _snapshot(db) -> dict[str, set]:
    out = {}
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            out[table.name] = {tuple(sorted((k, str(v)) for k, v in row._mapping.items()))
                               for row in conn.execute(sa.select(table))}
    return out


# ---- races, on PostgreSQL with real threads ----

def test_two_deputies_at_the_same_instant_both_count(app, db, postgres_only, voting_round,
                                                      make_voter):
    round_, c = voting_round
    deputies = [make_voter(round_) for _ in range(2)]
    db.session.commit()
    round_id, first, users = round_.id, c[0].id, [d.id for d in deputies]
    outcomes = at_once(app, *[_voter(round_id, uid, [first]) for uid in users])
    assert outcomes == [None, None]
    db.session.expire_all()
    assert db.session.get(ProjectTally, first).votes == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProjectVoteParticipation)) == 2


def test_a_double_tap_or_two_devices_cast_exactly_one_ballot(app, db, postgres_only,
                                                             voting_round, make_voter):
    round_, c = voting_round
    uid = make_voter(round_).id
    db.session.commit()
    outcomes = at_once(app, _voter(round_.id, uid, [c[0].id]), _voter(round_.id, uid, [c[1].id]),
                       _voter(round_.id, uid, [c[2].id]))
    refused = [o for o in outcomes if isinstance(o, InvalidState)]
    assert len(refused) == 2 and all(o.code == "already_voted" for o in refused)
    db.session.expire_all()
    assert sum(t.votes for t in db.session.query(ProjectTally)) == 1
    assert db.session.get(type(round_), round_.id).ballots_cast == 1


def test_a_vote_racing_the_close_is_counted_or_refused_never_after(app, db, postgres_only,
                                                                  voting_round, make_voter):
    from backend.accounts.models import StaffUser
    from backend.projects.models import ProjectRound
    round_, c = voting_round
    uid = make_voter(round_).id
    office_id = db.session.scalar(sa.select(StaffUser.id).filter_by(role="admin"))
    db.session.commit()

    def close():
        r = db.session.get(ProjectRound, round_.id)
        voting.close_vote(r, actor=db.session.get(StaffUser, office_id))
    outcomes = at_once(app, _voter(round_.id, uid, [c[0].id]), close)
    db.session.expire_all()
    closed = db.session.get(ProjectRound, round_.id)
    counted = db.session.get(ProjectTally, c[0].id).votes
    assert closed.status == "counting"
    if outcomes[0] is None:
        assert counted == 1 and closed.ballots_cast == 1
    else:
        assert isinstance(outcomes[0], InvalidState) and counted == 0 and closed.ballots_cast == 0


def _voter(round_id, staff_id, ids):
    def run():
        from backend.accounts.models import StaffUser
        from backend.core.extensions import db as _db
        from backend.projects.models import ProjectRound
        round_ = _db.session.get(ProjectRound, round_id)
        voting.cast_ballot(round_, ids, actor=_db.session.get(StaffUser, staff_id))
    return run


def test_deputies_rate_a_finished_project_once_and_the_majority_decides(
        db, office, voting_round, make_voter, make_staff):
    round_, c = voting_round
    voters = [make_voter(round_) for _ in range(3)]
    for d in voters:
        voting.cast_ballot(round_, [c[0].id], actor=d)
    voting.close_vote(round_, actor=office)
    voting.decide(round_, actor=office)
    delivery.start_delivery(round_, actor=office)
    lead = make_staff("department", department=c[0].department)
    delivery.report_progress(c[0], progress=60, title="过半", actor=lead)
    with pytest.raises(Forbidden):  # not finished yet
        delivery.rate(c[0], "satisfied", actor=voters[0])
    delivery.report_progress(c[0], progress=100, title="全部完工", actor=lead)
    with pytest.raises(Forbidden):
        delivery.rate(c[0], "satisfied", actor=lead)
    with pytest.raises(ValidationFailed):
        delivery.rate(c[0], "great", actor=voters[0])
    delivery.rate(c[0], "dissatisfied", actor=voters[0])
    with pytest.raises(InvalidState) as twice:
        delivery.rate(c[0], "satisfied", actor=voters[0])
    assert twice.value.code == "project_already_rated"
    delivery.rate(c[0], "basically_satisfied", actor=voters[1])
    assert delivery.rating_summary(c[0]).verdict == "不满意"  # 1 of 2 is not more than half
    delivery.rate(c[0], "satisfied", actor=voters[2])
    summary = delivery.rating_summary(c[0])
    assert summary.total == 3 and summary.verdict == "满意"


def test_a_reserve_project_joins_a_later_years_list(db, office, voting_round, make_voter,
                                                    make_round, make_department):
    from backend.projects import screening
    round_, c = voting_round
    voting.cast_ballot(round_, [c[0].id], actor=make_voter(round_))
    voting.close_vote(round_, actor=office)
    voting.decide(round_, actor=office)
    with pytest.raises(InvalidState):  # not in the reserve pool yet
        delivery.carry_over(c[4], round_, actor=office)
    delivery.keep_in_reserve(c[4], actor=office)
    with pytest.raises(InvalidState):  # the same, decided year
        delivery.carry_over(c[4], round_, actor=office)
    later = make_round(2028)
    delivery.carry_over(c[4], later, actor=office)
    assert c[4].round_id == later.id and c[4].status == "submitted"
    assert c[4].number.startswith("MS2028-")
    screening.nominate(c[4], department_id=make_department().id, estimated_cost=1000,
                       plan="新年度重新评估后实施", actor=office)
    assert c[4].status == "candidate"


def test_no_table_links_a_deputy_to_their_rating(db, office, voting_round, make_voter,
                                                 make_staff):
    """满意度测评 is secret like the ballot: rating writes who rated and a count, and no row,
    event or audit entry says how a deputy rated."""
    round_, c = voting_round
    voters = [make_voter(round_) for _ in range(2)]
    voting.cast_ballot(round_, [c[0].id], actor=voters[0])
    voting.cast_ballot(round_, [c[0].id], actor=voters[1])
    voting.close_vote(round_, actor=office)
    voting.decide(round_, actor=office)
    delivery.start_delivery(round_, actor=office)
    lead = make_staff("department", department=c[0].department)
    delivery.report_progress(c[0], progress=100, title="全部完工", actor=lead)
    delivery.rate(c[0], "satisfied", actor=voters[0])
    db.session.commit()
    before = _snapshot(db)
    delivery.rate(c[0], "dissatisfied", actor=voters[1])
    db.session.commit()
    after = _snapshot(db)
    changed = {t: after[t] - before[t] for t in after if after[t] - before[t]}
    assert set(changed) == {"project_ratings", "project_rating_counts", "project_events",
                            "audit_events"}
    (rater,) = changed["project_ratings"]
    assert set(dict(rater)) == {"id", "proposal_id", "deputy_id"}  # no value, no time
    written = str(changed["project_events"]) + str(changed["audit_events"])
    assert "dissatisfied" not in written and "不满意" not in written
    (count,) = changed["project_rating_counts"]
    assert dict(count)["value"] == "dissatisfied" and "deputy_id" not in dict(count)
    assert delivery.rating_summary(c[0]).counts == {"satisfied": 1, "basically_satisfied": 0,
                                                    "dissatisfied": 1}
