"""Screening (初选) by the office: close the collection, merge duplicates, reject with a reason
the proposer is told, form the candidate list (each with a department, a cost estimate and a
plan), and open the vote with fewer places than candidates (差额)."""
from backend.accounts.resident_model import Resident
from backend.core import audit
from backend.core.errors import ValidationFailed
from backend.core.extensions import db
from backend.core.textcount import clean_text, visible_length
from backend.core.timeutil import utcnow
from backend.notifications.notify import notify
from backend.notifications.places import Place
from backend.org.models import Department, Deputy
from backend.projects import core, policy
from backend.projects.models import (
    ProjectAttendee, ProjectFollow, ProjectProposal, ProjectRound, ProjectRunoff, ProjectSupport,
    ProjectTally,
)
from backend.projects.stages import Stage

REASON_MIN, REASON_MAX = 2, 500
PLAN_MIN, PLAN_MAX = 10, 2000
COST_MAX = 10**12  # yuan
SESSION_MAX = 100


def _office(actor) -> bool:
    return policy.is_office(actor)


def close_collection(round_: ProjectRound, *, actor) -> ProjectRound:
    core.lock_round(round_)
    core.guard_round(round_, "close_collection", _office(actor))
    core.move_round(round_, "close_collection")
    audit.record("project_round.close_collection", round_, actor=actor,
                 after={"status": round_.status})
    return round_


def reject(proposal: ProjectProposal, reason: str, *, actor) -> ProjectProposal:
    core.lock(proposal)
    core.guard_round(proposal.round, "screen", _office(actor))
    core.guard(proposal, "reject")
    reason = clean_text(reason or "")
    if not REASON_MIN <= visible_length(reason) <= REASON_MAX:
        raise ValidationFailed(errors={"reason": [f"请填写不予采纳的理由（{REASON_MIN}到{REASON_MAX}个字）"]},
                               code="reject_reason_invalid")
    proposal.reject_reason = reason
    core.transition(proposal, "reject", actor, text=reason)
    audit.record("project.reject", proposal, actor=actor, after={"reason": reason})
    core.notify_followers(proposal, "project.rejected", "您关注的项目建议未被采纳",
                          body=f"{proposal.title}：{reason}")
    return proposal


def merge(proposal: ProjectProposal, into: ProjectProposal, *, actor) -> ProjectProposal:
    """The duplicate's supporters and followers move to the one it joins, once each."""
    core.lock(proposal, into)
    core.guard_round(proposal.round, "screen", _office(actor))
    core.guard(proposal, "merge")
    if into.id == proposal.id or into.round_id != proposal.round_id or into.status not in (
            "submitted", "candidate"):
        raise ValidationFailed(errors={"into": ["请选择同一年度、仍在征集或候选中的另一个项目"]},
                               code="merge_target_invalid")
    for model in (ProjectSupport, ProjectFollow):
        taken = set(db.session.scalars(db.select(model.resident_id).filter_by(proposal_id=into.id)))
        for row in db.session.scalars(db.select(model).filter_by(proposal_id=proposal.id)):
            if row.resident_id in taken or row.resident_id == into.resident_id and model is ProjectSupport:
                db.session.delete(row)
            else:
                row.proposal_id = into.id
                taken.add(row.resident_id)
    if proposal.resident_id is not None:  # the proposer keeps hearing of it
        core.follow(into, _resident(proposal.resident_id))
    db.session.flush()
    proposal.merged_into_id = into.id
    core.transition(proposal, "merge", actor, text=into.title)
    core.event(into, "merged_in", actor, into.status, into.status, text=proposal.title)
    audit.record("project.merge", proposal, actor=actor, after={"into": into.id})
    core.notify_followers(into, "project.merged", "同类项目建议已合并",
                          body=f"「{proposal.title}」并入「{into.title}」")
    return proposal


def _resident(resident_id: int) -> Resident:
    return db.session.get(Resident, resident_id)


def nominate(proposal: ProjectProposal, *, department_id, estimated_cost, plan: str,
             actor) -> ProjectProposal:
    """On the candidate list, with its lead department, estimated cost (yuan) and plan."""
    core.lock(proposal)
    core.guard_round(proposal.round, "screen", _office(actor))
    core.guard(proposal, "nominate")
    errors: dict = {}
    department = db.session.get(Department, department_id) if isinstance(department_id, int) else None
    if department is None or not department.is_active:
        errors["department_id"] = ["请选择牵头承办单位"]
    if not isinstance(estimated_cost, int) or not 0 < estimated_cost <= COST_MAX:
        errors["estimated_cost"] = ["请填写估算投资（元），应为正整数"]
    plan = clean_text(plan or "")
    if not PLAN_MIN <= visible_length(plan) <= PLAN_MAX:
        errors["plan"] = [f"请填写实施方案（{PLAN_MIN}到{PLAN_MAX}个字）"]
    if errors:
        raise ValidationFailed(errors=errors, code="candidate_invalid")
    proposal.department_id, proposal.estimated_cost, proposal.plan = (
        department.id, estimated_cost, plan)
    core.transition(proposal, "nominate", actor)
    audit.record("project.nominate", proposal, actor=actor, after={
        "department_id": department.id, "estimated_cost": estimated_cost})
    core.notify_followers(proposal, "project.nominated", "您关注的项目列为候选项目",
                          body=proposal.title)
    return proposal


def withdraw(proposal: ProjectProposal, *, actor) -> ProjectProposal:
    core.lock(proposal)
    core.guard_round(proposal.round, "screen", _office(actor))
    core.guard(proposal, "withdraw")
    core.transition(proposal, "withdraw", actor, public=False)
    audit.record("project.withdraw", proposal, actor=actor)
    return proposal


def candidates(round_: ProjectRound) -> list[ProjectProposal]:
    return list(db.session.scalars(
        db.select(ProjectProposal).filter_by(round_id=round_.id, status="candidate")
        .order_by(ProjectProposal.id)))


def open_vote(round_: ProjectRound, *, places, session_name: str, present_ids,
              actor) -> ProjectRound:
    """N places among M candidates, M > N (差额); a zero counter per candidate; the deputies
    registered present are the electorate, and only they are called to vote."""
    core.lock_round(round_)
    core.guard_round(round_, "open_vote", _office(actor))
    listed = candidates(round_)
    session_name = clean_text(session_name or "")
    errors: dict = {}
    if not isinstance(places, int) or places < 1:
        errors["places"] = ["请填写票决项目数（正整数）"]
    elif len(listed) <= places:
        errors["places"] = [f"候选项目（{len(listed)}个）须多于票决项目数（{places}个），实行差额票决"]
    if not 2 <= visible_length(session_name) <= SESSION_MAX:
        errors["session_name"] = ["请填写会议名称，如“区十八届人大四次会议”"]
    present = _present_deputies(present_ids, errors)
    if errors:
        raise ValidationFailed(errors=errors, code="vote_invalid")
    round_.places, round_.session_name = places, session_name
    round_.vote_opened_at = utcnow()
    core.move_round(round_, "open_vote")
    db.session.add_all(ProjectTally(candidate_id=c.id, round_id=round_.id) for c in listed)
    db.session.flush()
    _register(round_, present, actor)
    audit.record("project_round.open_vote", round_, actor=actor, after={
        "places": places, "candidates": [c.id for c in listed], "session_name": session_name,
        "present": [d.id for d in present]})
    return round_


def register_present(round_: ProjectRound, present_ids, *, actor) -> list[Deputy]:
    """A deputy who arrives after the vote opened joins the electorate; nobody leaves it (a
    deputy struck off after voting would leave a ballot without its voter). Idempotent."""
    core.lock_round(round_)
    core.guard_round(round_, "register_present", _office(actor))
    errors: dict = {}
    present = _present_deputies(present_ids, errors)
    if errors:
        raise ValidationFailed(errors=errors, code="attendees_invalid")
    taken = set(db.session.scalars(db.select(ProjectAttendee.deputy_id)
                                   .filter_by(round_id=round_.id)))
    added = [d for d in present if d.id not in taken]
    _register(round_, added, actor)
    audit.record("project_round.register_present", round_, actor=actor,
                 after={"added": [d.id for d in added]})
    return added


def _present_deputies(present_ids, errors: dict) -> list[Deputy]:
    ids = present_ids if isinstance(present_ids, (list, tuple)) else []
    wanted = {i for i in ids if isinstance(i, int)}
    found = list(db.session.scalars(db.select(Deputy).where(
        Deputy.id.in_(wanted), Deputy.is_active.is_(True)).order_by(Deputy.id))) if wanted else []
    if not wanted:
        errors["present_ids"] = ["请选择出席会议的代表"]
    elif len(found) != len(wanted) or len(wanted) != len(ids):
        errors["present_ids"] = ["出席代表名单中有不存在、已离任或重复的代表"]
    return found


def _register(round_: ProjectRound, deputies: list[Deputy], actor) -> None:
    db.session.add_all(ProjectAttendee(round_id=round_.id, deputy_id=d.id,
                                       registered_by_id=actor.id) for d in deputies)
    db.session.flush()
    count = db.session.scalar(db.select(db.func.count()).select_from(ProjectTally)
                              .filter_by(round_id=round_.id))
    for deputy in deputies:
        notify("deputy", deputy.id, "project.vote_open", f"{round_.year}年度民生实事项目票决开始",
               body=f"候选项目{count}个，应选{round_.places}个，请在会议期间投票",
               place=Place("project_ballot"), subject=round_)


def attendee_ids(round_: ProjectRound) -> set[int]:
    return set(db.session.scalars(db.select(ProjectAttendee.deputy_id)
                                  .filter_by(round_id=round_.id)))


def candidates_for_ballot(round_: ProjectRound, runoff: ProjectRunoff | None = None) -> list[dict]:
    """The ballot's lines: every candidate put to the vote (or to `runoff`), in list order."""
    stage = Stage(round_, runoff)
    rows = db.session.execute(
        db.select(ProjectProposal, Department.name)
        .join(stage.tally, stage.tally.candidate_id == ProjectProposal.id)
        .join(Department, Department.id == ProjectProposal.department_id)
        .where(stage.tally_filter()).order_by(ProjectProposal.id)).all()
    return [{"id": p.id, "title": p.title, "plan": p.plan, "department": name,
             "estimated_cost": p.estimated_cost} for p, name in rows]
