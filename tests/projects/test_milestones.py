"""Delivery milestones: the lead department (or the office) plans dated steps, the department
reports each done once, followers hear of it, and residents see the plan with what is late."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.core.audit_model import AuditEvent
from backend.core.errors import Forbidden, InvalidState, ValidationFailed
from backend.core.timeutil import local_today
from backend.notifications.models import Notification
from backend.projects import core, delivery, lists, voting
from backend.projects.models import ProjectMilestone


@pytest.fixture
def delivering(db, office, voting_round, make_voter, make_staff, make_resident):
    """c0 in delivery with a follower; its lead department's account."""
    round_, c = voting_round
    voting.cast_ballot(round_, [c[0].id], actor=make_voter(round_))
    voting.close_vote(round_, actor=office)
    voting.decide(round_, actor=office)
    delivery.start_delivery(round_, actor=office)
    follower = make_resident()
    core.follow(c[0], follower)
    lead = make_staff("department", department=c[0].department)
    db.session.flush()
    return c[0], lead, follower, c


def _count(db, model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_the_lead_department_plans_and_completes_a_step_and_followers_hear(db, delivering):
    project, lead, follower, _ = delivering
    today = local_today()
    first = delivery.plan_milestone(project, title="完成设计招标", due_on=today + timedelta(days=30),
                                    actor=lead)
    delivery.plan_milestone(project, title="主体施工", due_on=today + timedelta(days=10), actor=lead)
    assert [m.title for m in project.milestones] == ["主体施工", "完成设计招标"]  # by due date
    assert db.session.query(Notification).filter_by(topic="project.milestone").count() == 0
    delivery.complete_milestone(first, actor=lead)
    assert first.done_on == today and first.done_by_id == lead.id
    told = db.session.query(Notification).filter_by(topic="project.milestone").all()
    assert sorted(n.recipient_id for n in told) == core.follower_ids(project)  # proposer too
    assert follower.id in core.follower_ids(project) and {n.recipient_kind for n in told} == {"resident"}
    steps = [text for _, text, *_ in lists.public_timeline(project)]
    assert any(t.startswith("节点完成：完成设计招标") for t in steps)
    with pytest.raises(InvalidState) as twice:
        delivery.complete_milestone(first, actor=lead)
    assert twice.value.code == "milestone_already_done"
    assert db.session.query(Notification).filter_by(topic="project.milestone").count() == len(told)


@pytest.mark.parametrize("title, due, field", [
    ("", 30, "title"), ("完成设计招标", -400, "due_on"), ("完成设计招标", 365 * 7, "due_on"),
    ("完成设计招标", None, "due_on"), ("设" * 61, 30, "title"),
])
def test_a_bad_step_is_refused_and_changes_nothing(db, delivering, title, due, field):
    project, lead, _, _ = delivering
    audits = _count(db, AuditEvent)
    due_on = None if due is None else local_today() + timedelta(days=due)
    with pytest.raises(ValidationFailed) as err:
        delivery.plan_milestone(project, title=title, due_on=due_on, actor=lead)
    assert err.value.code == "milestone_invalid" and field in err.value.errors
    assert _count(db, ProjectMilestone) == 0 and _count(db, AuditEvent) == audits


def test_only_the_lead_department_or_the_office_plans_and_only_the_department_completes(
        db, office, delivering, make_staff, make_department, make_deputy_user):
    project, lead, _, c = delivering
    soon = local_today() + timedelta(days=5)
    others = [make_staff("department", department=make_department()), make_staff("liaison"),
              make_deputy_user()]
    for user in others:
        with pytest.raises(Forbidden):
            delivery.plan_milestone(project, title="完成设计招标", due_on=soon, actor=user)
    step = delivery.plan_milestone(project, title="完成设计招标", due_on=soon, actor=office)
    for user in [office, *others]:
        with pytest.raises(Forbidden):
            delivery.complete_milestone(step, actor=user)
    assert step.done_on is None
    with pytest.raises(Forbidden):  # c4 was not chosen: no delivery to plan (as for progress)
        delivery.plan_milestone(c[4], title="完成设计招标", due_on=soon, actor=office)
    assert len(c[4].milestones) == 0


def test_a_step_cannot_be_done_in_the_future_and_late_is_said(db, delivering):
    project, lead, _, _ = delivering
    today = local_today()
    step = delivery.plan_milestone(project, title="完成设计招标", due_on=today, actor=lead)
    with pytest.raises(ValidationFailed):
        delivery.complete_milestone(step, done_on=today + timedelta(days=1), actor=lead)
    with pytest.raises(ValidationFailed):
        delivery.complete_milestone(step, done_on="明天", actor=lead)
    assert step.done_on is None
    late = delivery.plan_milestone(project, title="主体施工", due_on=today, actor=lead)
    late.due_on = today - timedelta(days=3)  # planned before; now past
    assert late.is_overdue(today) and not step.is_overdue(today)
    delivery.complete_milestone(late, actor=lead)
    assert "晚于计划" in project.events[-1].text and not late.is_overdue(today)


def test_residents_see_the_plan_with_what_is_late(client, db, delivering):
    project, lead, _, _ = delivering
    today = local_today()
    done = delivery.plan_milestone(project, title="完成设计招标", due_on=today, actor=lead)
    delivery.complete_milestone(done, actor=lead)
    late = delivery.plan_milestone(project, title="主体施工完工", due_on=today, actor=lead)
    late.due_on = today - timedelta(days=2)
    delivery.plan_milestone(project, title="竣工验收", due_on=today + timedelta(days=60), actor=lead)
    db.session.commit()
    page = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert page.count('data-testid="milestone"') == 3
    assert f"{today}已完成" in page and page.count('data-testid="milestone-overdue"') == 1
    assert "节点完成：完成设计招标" in page


def test_the_department_works_its_steps_on_the_staff_page(client, login, db, delivering):
    from tests.conftest import post_form
    project, lead, _, _ = delivering
    db.session.commit()
    login(lead)
    url = f"/staff/projects/{project.id}"
    assert 'data-testid="milestone-form"' in client.get(url).get_data(as_text=True)
    bad = post_form(client, url + "/milestone", {"title": "完成设计招标", "due_on": "2027-02-30"},
                    form_url=url, follow_redirects=True)
    assert "请填写计划完成日期" in bad.get_data(as_text=True) and not project.milestones
    post_form(client, url + "/milestone", {"title": "完成设计招标",
                                           "due_on": local_today().isoformat()}, form_url=url)
    step = db.session.scalars(sa.select(ProjectMilestone)).one()
    nonsense = post_form(client, f"/staff/projects/milestones/{step.id}/done",
                         {"done_on": "昨天"}, form_url=url, follow_redirects=True)
    assert "完成日期应在票决之日以后" in nonsense.get_data(as_text=True)
    db.session.expire_all()
    assert step.done_on is None
    post_form(client, f"/staff/projects/milestones/{step.id}/done", {}, form_url=url)
    db.session.expire_all()
    assert step.done_on == local_today()
    assert 'data-testid="milestone-done"' in client.get(url).get_data(as_text=True)


def test_the_mini_program_shows_a_projects_milestones(client, db, delivering):
    from tests.projects.test_access_matrix import API, _token
    project, lead, follower, _ = delivering
    step = delivery.plan_milestone(project, title="完成设计招标", due_on=local_today(), actor=lead)
    delivery.complete_milestone(step, actor=lead)
    db.session.commit()
    got = client.get(f"{API}/projects/{project.id}",
                     headers={"Authorization": f"Bearer {_token(db)}"})  # public once chosen
    assert got.status_code == 200, got.json
    assert got.json["milestones"] == [{"title": "完成设计招标", "due_on": local_today().isoformat(),
                                       "done_on": local_today().isoformat()}]
