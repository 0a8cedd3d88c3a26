"""The year's projects in the district's figures and in each deputy's record of duty: who was
present, who cast an electronic ballot, who rated (验单); never what anyone voted for."""
from datetime import timedelta

from backend.core.timeutil import local_today
from backend.projects import collection, delivery, screening, voting
from backend.projects.figures import year_projects
from backend.records.dossier import deputy_record


def _decided(db, office, voting_round, make_voter, make_staff, make_resident):
    """3 voters present plus the fixture's one; c0..c2 chosen and in delivery, c1 finished."""
    round_, c = voting_round
    voters = [make_voter(round_) for _ in range(3)]
    for v in voters:
        voting.cast_ballot(round_, [c[0].id, c[1].id, c[2].id], actor=v)
    voting.close_vote(round_, actor=office)
    voting.decide(round_, actor=office)
    delivery.start_delivery(round_, actor=office)
    lead = make_staff("department", department=c[0].department)
    delivery.report_progress(c[1], progress=100, title="全部完工", actor=lead)
    return round_, c, voters, lead


def test_a_deputys_record_counts_presence_ballots_and_ratings_of_the_projects_year(
        db, office, voting_round, make_voter, make_staff, make_resident, make_deputy):
    round_, c, voters, _ = _decided(db, office, voting_round, make_voter, make_staff,
                                    make_resident)
    present_on_paper = next(iter(screening.attendee_ids(round_) - {v.deputy_id for v in voters}))
    absent = make_deputy()
    delivery.rate(c[1], "satisfied", actor=voters[0])
    year = round_.year
    voted = deputy_record(voters[0].deputy, year)
    assert (voted.vote_sessions, voted.votes_cast, voted.projects_rated) == (1, 1, 1)
    on_paper = deputy_record(db.session.get(type(absent), present_on_paper), year)
    assert (on_paper.vote_sessions, on_paper.votes_cast, on_paper.projects_rated) == (1, 0, 0)
    away = deputy_record(absent, year)
    assert (away.vote_sessions, away.votes_cast, away.projects_rated) == (0, 0, 0)
    other_year = deputy_record(voters[0].deputy, year - 1)
    assert (other_year.vote_sessions, other_year.votes_cast, other_year.projects_rated) == (0, 0, 0)


def test_the_record_page_shows_the_project_lines(client, login, db, office, voting_round,
                                                 make_voter, make_staff, make_resident):
    round_, c, voters, _ = _decided(db, office, voting_round, make_voter, make_staff,
                                    make_resident)
    db.session.commit()
    login(office)
    page = client.get(f"/staff/records/deputies/{voters[0].deputy_id}?year={round_.year}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-testid="出席票决">1 次' in text and 'data-testid="电子投票">1 次' in text


def test_district_figures_for_the_projects_year(db, office, voting_round, make_voter, make_staff,
                                                make_resident, make_proposal):
    round_, c, voters, lead = _decided(db, office, voting_round, make_voter, make_staff,
                                       make_resident)
    today = local_today()
    done = delivery.plan_milestone(c[0], title="完成设计招标", due_on=today, actor=lead)
    delivery.complete_milestone(done, actor=lead)
    late = delivery.plan_milestone(c[0], title="主体施工", due_on=today, actor=lead)
    late.due_on = today - timedelta(days=1)
    delivery.plan_milestone(c[0], title="竣工验收", due_on=today + timedelta(days=90), actor=lead)
    delivery.rate(c[1], "satisfied", actor=voters[0])
    delivery.rate(c[1], "dissatisfied", actor=voters[1])  # 1 of 2: not more than half
    f = year_projects(round_.year, today=today)
    assert (f.proposals, f.candidates, f.places, f.chosen) == (5, 5, 3, 3)
    assert (f.electorate, f.ballots, f.delivering, f.completed) == (4, 3, 3, 1)
    assert (f.milestones, f.milestones_done, f.milestones_overdue) == (3, 1, 1)
    assert (f.rated, f.rated_satisfied) == (1, 0)
    delivery.rate(c[1], "basically_satisfied", actor=voters[2])  # now 2 of 3
    assert year_projects(round_.year, today=today).rated_satisfied == 1
    assert year_projects(round_.year - 1) is None


def test_merged_proposals_and_their_supports_are_counted_once(db, office, make_round,
                                                              make_proposal, make_resident):
    round_ = make_round()
    keep, dup = make_proposal(round_), make_proposal(round_)
    fan = make_resident()
    collection.support(dup, resident=fan)
    collection.support(keep, resident=make_resident())
    screening.merge(dup, keep, actor=office)
    f = year_projects(round_.year)
    assert (f.proposals, f.supports) == (1, 2)  # the duplicate's supporter moved across


def test_the_district_dashboard_shows_projects_to_the_office_only(client, login, db, office,
                                                                  voting_round, make_staff,
                                                                  make_station):
    round_, _ = voting_round
    db.session.commit()
    login(office)
    page = client.get(f"/staff/figures?year={round_.year}").get_data(as_text=True)
    assert 'data-testid="projects-headline"' in page and "候选项目 5 个、应选 3 个" in page
    client.post("/staff/logout", data={"csrf_token": _token(client)})
    login(make_staff("liaison", stations=[make_station()]))
    page = client.get(f"/staff/figures?year={round_.year}").get_data(as_text=True)
    assert 'data-testid="figures-projects"' not in page


def _token(client):
    from tests.conftest import csrf_token
    return csrf_token(client, "/staff/")
