"""The run-off over HTTP: the office opens it from the results page, deputies present vote on
the run-off ballot (a first-vote form sent late is refused), paper entered twice, results
page and public page show both stages; only the office runs it, only deputies vote."""
import pytest
import sqlalchemy as sa

from backend.core.audit_model import AuditEvent
from backend.projects import runoff as runoffs, voting
from backend.projects.models import ProjectProposal, ProjectRunoff, ProjectRunoffTally
from tests.conftest import csrf_token, post_form
from tests.projects.test_runoff import tied  # noqa: F401 - the fixture


def _status(db, proposal):
    return db.session.get(ProjectProposal, proposal.id).status


def test_office_runs_a_runoff_and_both_stages_are_shown(client, login, db, office, make_staff,
                                                        tied):  # noqa: F811
    round_, c, deputies = tied
    results_url = f"/staff/projects/rounds/{round_.id}/results"
    login(office)
    page = client.get(results_url).get_data(as_text=True)
    assert 'data-testid="open-runoff"' in page
    opened = post_form(client, f"/staff/projects/rounds/{round_.id}/runoff", {},
                       form_url=results_url, follow_redirects=True).get_data(as_text=True)
    assert "决选已开始" in opened and "决选（决选投票中）" in opened
    run = db.session.scalar(sa.select(ProjectRunoff))
    client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/")})

    login(deputies[0])
    ballot = client.get("/staff/projects/ballot").get_data(as_text=True)
    assert 'data-testid="runoff-note"' in ballot and "争剩余的1个名额" in ballot
    assert ballot.count('data-testid="candidate"') == 2
    late_first = post_form(client, "/staff/projects/ballot", {"candidate_ids": [str(c[4].id)]},
                           form_url="/staff/projects/ballot", follow_redirects=True)
    assert "不能投票" in late_first.get_data(as_text=True)
    voted = post_form(client, "/staff/projects/ballot",
                      {"candidate_ids": [str(c[3].id)], "runoff_id": str(run.id)},
                      follow_redirects=True).get_data(as_text=True)
    assert "投票成功" in voted and 'data-testid="voted"' in voted
    client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/")})

    login(office)
    base = f"/staff/projects/runoffs/{run.id}/"
    post_form(client, base + "close-vote", {}, form_url=results_url)
    counts = {f"votes_{c[2].id}": "0", f"votes_{c[3].id}": "2"}
    post_form(client, base + "paper", {"ballots": "2", **counts}, form_url=results_url)
    early = post_form(client, base + "decide", {}, form_url=results_url, follow_redirects=True)
    assert "纸质票只录入了一次" in early.get_data(as_text=True)
    client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/")})
    login(make_staff("admin"))
    post_form(client, base + "paper", {"ballots": "2", **counts}, form_url=results_url)
    done = post_form(client, base + "decide", {}, form_url=results_url,
                     follow_redirects=True).get_data(as_text=True)
    assert "决选结果已公布" in done and done.count('data-testid="stage"') == 2
    assert 'data-testid="combined"' in done and "合计当选3个" in done
    db.session.expire_all()
    assert _status(db, c[3]) == "chosen" and _status(db, c[2]) == "unchosen"
    public = client.get(f"/projects/results/{round_.year}").get_data(as_text=True)
    assert public.count('data-testid="stage"') == 2 and "合计当选3个" in public


@pytest.mark.parametrize("role", ("anonymous", "liaison", "deputy", "department"))
def test_only_the_office_opens_and_runs_a_runoff(client, login, db, office, make_staff,
                                                 make_station, make_department, tied,  # noqa: F811
                                                 role):
    round_, c, deputies = tied
    run = runoffs.open_runoff(round_, actor=office)
    voting.cast_ballot(round_, [c[2].id], actor=deputies[0], runoff=run)
    db.session.commit()
    user = {"liaison": make_staff("liaison", stations=[make_station()]), "deputy": deputies[1],
            "department": make_staff("department", department=make_department())}.get(role)
    if user is not None:
        login(user)
    audits = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    for url in (f"/staff/projects/runoffs/{run.id}/close-vote",
                f"/staff/projects/runoffs/{run.id}/decide",
                f"/staff/projects/rounds/{round_.id}/runoff"):
        resp = post_form(client, url, {}, form_url="/staff/projects") if user else client.post(url)
        assert resp.status_code in ((302, 400) if user is None else (403,))
    db.session.expire_all()
    assert db.session.get(ProjectRunoff, run.id).status == "voting"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == audits


@pytest.mark.parametrize("role", ("admin", "liaison", "department"))
def test_only_deputies_vote_in_the_runoff(client, login, db, office, make_staff, make_station,
                                          make_department, tied, role):  # noqa: F811
    round_, c, _ = tied
    run = runoffs.open_runoff(round_, actor=office)
    user = {"admin": office, "liaison": make_staff("liaison", stations=[make_station()]),
            "department": make_staff("department", department=make_department())}[role]
    login(user)
    resp = post_form(client, "/staff/projects/ballot",
                     {"candidate_ids": [str(c[2].id)], "runoff_id": str(run.id)},
                     form_url="/staff/projects")
    assert resp.status_code == 403
    assert db.session.get(ProjectRunoffTally, (run.id, c[2].id)).votes == 0


def test_api_ballot_is_the_runoffs_once_it_is_open(client, db, office, tied):  # noqa: F811
    from tests.projects.test_access_matrix import API, _token
    round_, c, deputies = tied
    run = runoffs.open_runoff(round_, actor=office)
    headers = {"Authorization": f"Bearer {_token(db, deputies[0])}"}
    got = client.get(API + "/deputy/projects/ballot", headers=headers).json
    assert got["stage"] == "决选" and got["runoff_id"] == run.id and got["places"] == 1
    assert {x["id"] for x in got["candidates"]} == {c[2].id, c[3].id} and got["is_open"]
    first = client.post(API + "/deputy/projects/ballot", json={"candidate_ids": [c[4].id]},
                        headers=headers)  # the first vote's ballot, sent after the run-off opened
    assert first.status_code == 409 and first.json["code"] == "round_cannot_cast"
    cast = client.post(API + "/deputy/projects/ballot",
                       json={"candidate_ids": [c[2].id], "runoff_id": run.id}, headers=headers)
    assert cast.status_code == 200 and cast.json["has_voted"] is True
    twice = client.post(API + "/deputy/projects/ballot",
                        json={"candidate_ids": [c[3].id], "runoff_id": run.id}, headers=headers)
    assert twice.status_code == 409 and twice.json["code"] == "already_voted"
    db.session.expire_all()
    assert db.session.get(ProjectRunoff, run.id).ballots_cast == 1
