"""Staff pages of livelihood projects (民生实事项目): the office runs the round (open, screen, list,
vote, paper entries, results, run-offs, delivery) and decides which residents' photos are
public; deputies propose and cast their ballot; a liaison turns a queue message or a reception
day's matter into a proposal; a department reports progress on the projects it leads.
Every POST: load, one operation from backend/projects/, one commit, a flashed line."""
from flask import redirect, render_template, request, url_for
from flask_login import current_user

from backend.core.errors import NotFound
from backend.core.extensions import db
from backend.core.media import image_response
from backend.core.parsing import row_id
from backend.core.timeutil import local_today
from backend.messages import operations as message_ops
from backend.org.models import Department, Deputy
from backend.projects import (
    collection, core, delivery, lists, policy, proposal_photos, results, runoff as runoffs,
    screening, stages, voting,
)
from backend.projects.models import PROPOSAL_STATUS_LABELS, ProjectProposal
from backend.staff import bp
from backend.staff.guard import roles_required
from backend.staff.once import posted_key, said
from backend.reception import records as reception_records
from backend.reception.models import ReceptionItem
from backend.staff.pages import form_date, get_or_404, run_and_flash

STAFF = ("admin", "liaison", "deputy", "department")
INT_MAX = 2**31 - 1  # the integer columns
COST_LIMIT = 2**63 - 1  # estimated cost is a BigInteger; screening bounds it further


def _run(operation, done: str, back: str):
    run_and_flash(operation, done)
    return redirect(back)


def _int(name: str, limit: int = INT_MAX):
    """A whole number from the form, or None: only ASCII digits, and no more than the column
    holds (an id or count past the integer column is no number we accept, never a 500)."""
    value = request.form.get(name, "").strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        return None
    return int(value) if int(value) <= limit else None


def _ids(name: str) -> list:
    return [row_id(v) for v in request.form.getlist(name)]


@bp.app_template_global()
def project_round_for_message(user, message):
    """The round a message may be turned into a proposal for, on its page; None when the user
    may not, no collection is open, or it was turned into one already."""
    round_ = core.current_round()
    if (round_ is None or round_.status != "collecting"
            or not policy.can_convert_message(user, message)
            or message.status in ("held", "rejected")):
        return None
    taken = db.session.scalar(db.select(ProjectProposal.id).filter_by(source_message_id=message.id))
    return None if taken else round_


@bp.app_template_global()
def reception_item_project(user, item):
    """(the round the reception item may become a proposal for, the proposal it became): the
    first only for a liaison, while a collection is open, when the resident agreed."""
    proposal = db.session.scalar(db.select(ProjectProposal).filter_by(
        source_message_id=item.message_id)) if item.message_id else None
    round_ = core.current_round()
    if (proposal is not None or round_ is None or round_.status != "collecting"
            or getattr(user, "role", None) != "liaison" or not item.resident_consent):
        return None, proposal
    return round_, None


@bp.post("/reception-items/<int:item_id>/project")
@roles_required("liaison")
def project_from_reception_item(item_id: int):
    """One step for the liaison: the item becomes a message (reception's rule: only with the
    resident's consent, once) and that message a proposal, in one transaction: a refusal of
    either leaves neither."""
    item = get_or_404(ReceptionItem, item_id)
    round_ = _open_round()
    data = {k: request.form.get(k, "") for k in ("title", "reason", "category")}

    def both():
        message = reception_records.item_to_message(item, actor=current_user)
        return collection.propose_from_message(round_, message, data, actor=current_user)
    return _run(both, "已转为民生实事项目建议，群众会收到通知",
                url_for("staff.reception_record", day_id=item.record.day_id))


@bp.get("/projects")
@roles_required(*STAFF)
def projects():
    round_ = core.current_round()
    if current_user.role == "department":
        shown = lists.department_projects(current_user.department_id)
    else:
        status = request.args.get("status", "")
        shown = lists.all_proposals(round_, status if status in PROPOSAL_STATUS_LABELS else None) \
            if round_ else []
    return render_template(
        "staff/projects.html", round=round_, proposals=shown, policy=policy,
        supports=lists.support_counts(p.id for p in shown), statuses=PROPOSAL_STATUS_LABELS,
        has_voted=bool(round_) and stages.current(round_).has_voted(current_user.deputy_id),
        runoff=round_ and runoffs.open_runoff_of(round_),
        can_open_runoff=bool(round_) and runoffs.can_open(current_user, round_),
        deputies=_roll_call(round_))


def _roll_call(round_):
    """For the office while the vote is to open or open: active deputies, and who is present."""
    if round_ is None or not policy.is_office(current_user) or round_.status not in (
            "screening", "voting"):
        return None
    present = screening.attendee_ids(round_)
    return [(d, d.id in present) for d in db.session.scalars(
        db.select(Deputy).where(Deputy.is_active.is_(True)).order_by(Deputy.name, Deputy.id))]


@bp.post("/projects/rounds")
@roles_required("admin")
def project_round_open():
    data = {"year": _int("year"), "theme": request.form.get("theme", ""),
            "categories": request.form.get("categories", "").replace("，", ",").split(",")}
    return _run(lambda: collection.open_round(**data, actor=current_user), "已开启项目征集",
                url_for("staff.projects"))


ROUND_ACTIONS = {
    "close-collection": (lambda r, u: screening.close_collection(r, actor=u), "征集已结束，进入初选"),
    "open-vote": (lambda r, u: screening.open_vote(
        r, places=_int("places"), session_name=request.form.get("session_name", ""),
        present_ids=_ids("present_ids"), actor=u), "投票已开始"),
    "register-present": (lambda r, u: screening.register_present(r, _ids("present_ids"), actor=u),
                         "出席代表已补登"),
    "close-vote": (lambda r, u: voting.close_vote(r, actor=u), "投票已结束"),
    "paper": (lambda r, u: voting.enter_paper(r, ballots=_int("ballots"), counts={
        cid: _int(f"votes_{cid}") for cid in results.candidate_ids(r)}, actor=u), "纸质票已录入"),
    "decide": (lambda r, u: voting.decide(r, actor=u), "票决结果已公布"),
    "deliver": (lambda r, u: delivery.start_delivery(r, actor=u), "当选项目已转入实施"),
    "runoff": (lambda r, u: runoffs.open_runoff(r, actor=u), "决选已开始，出席代表会收到通知"),
}


@bp.post("/projects/rounds/<int:round_id>/<any(" + ", ".join(f"'{v}'" for v in ROUND_ACTIONS) + "):verb>")
@roles_required("admin")
def project_round_action(round_id: int, verb: str):
    round_ = core.get_round(round_id)
    operation, done = ROUND_ACTIONS[verb]
    return _run(lambda: operation(round_, current_user), done,
                url_for("staff.project_results", round_id=round_id)
                if verb in ("close-vote", "paper", "decide", "runoff")
                else url_for("staff.projects"))


RUNOFF_ACTIONS = {
    "close-vote": (lambda r, run, u: voting.close_vote(r, runoff=run, actor=u), "决选投票已结束"),
    "paper": (lambda r, run, u: voting.enter_paper(r, runoff=run, ballots=_int("ballots"), counts={
        cid: _int(f"votes_{cid}") for cid in results.candidate_ids(r, run)}, actor=u),
        "决选纸质票已录入"),
    "decide": (lambda r, run, u: voting.decide(r, runoff=run, actor=u), "决选结果已公布"),
}


@bp.post("/projects/runoffs/<int:runoff_id>/<any("
         + ", ".join(f"'{v}'" for v in RUNOFF_ACTIONS) + "):verb>")
@roles_required("admin")
def project_runoff_action(runoff_id: int, verb: str):
    run = stages.get_runoff(runoff_id)
    operation, done = RUNOFF_ACTIONS[verb]
    return _run(lambda: operation(run.round, run, current_user), done,
                url_for("staff.project_results", round_id=run.round_id))


@bp.post("/projects/propose")
@roles_required("deputy")
def project_propose():
    data = {k: request.form.get(k, "") for k in ("title", "content", "reason", "category")}
    round_ = core.current_round()
    if round_ is None:
        raise NotFound("项目征集尚未开启", code="project_round_not_found")

    def propose():
        # The page's key: a double click or a browser resubmit sends it again, making nothing.
        done = collection.propose_as_deputy_once(
            round_, data, actor=current_user,
            idempotency_key=posted_key())
        return said(done, "项目建议已提交", "这条项目建议已经提交过了，没有重复提交")
    return _run(propose, None, url_for("staff.projects"))


@bp.post("/messages/<int:message_id>/project")
@roles_required("liaison")
def project_from_message(message_id: int):
    message = message_ops.get_for(current_user, message_id)
    round_ = core.current_round()
    if round_ is None:
        raise NotFound("项目征集尚未开启", code="project_round_not_found")
    data = {k: request.form.get(k, "") for k in ("title", "reason", "category")}
    return _run(lambda: collection.propose_from_message(round_, message, data, actor=current_user),
                "留言已转为民生实事项目建议", url_for("staff.projects"))


@bp.get("/projects/<int:proposal_id>")
@roles_required(*STAFF)
def project(proposal_id: int):
    proposal = core.get_for(current_user, proposal_id)
    others = [p for p in lists.all_proposals(proposal.round)
              if p.id != proposal.id and p.status in ("submitted", "candidate")] \
        if policy.is_office(current_user) else []
    return render_template(
        "staff/project.html", p=proposal, policy=policy, others=others,
        event_labels=core.EVENT_LABELS, rating=delivery.rating_summary(proposal),
        rated=delivery.has_rated(proposal, current_user.deputy_id),
        supports=collection.support_count(proposal), today=local_today(),
        photos=proposal_photos.visible(current_user, proposal),
        privacy_check=proposal_photos.PRIVACY_CHECK,
        departments=db.session.scalars(db.select(Department).filter_by(is_active=True)
                                       .order_by(Department.name)).all())


PROPOSAL_ACTIONS = {
    "reject": (lambda p, u: screening.reject(p, request.form.get("reason", ""), actor=u),
               "已不予采纳，提出人会收到通知"),
    "merge": (lambda p, u: screening.merge(p, _target(p), actor=u), "已合并"),
    "nominate": (lambda p, u: screening.nominate(
        p, department_id=_int("department_id"), estimated_cost=_int("estimated_cost", limit=COST_LIMIT),
        plan=request.form.get("plan", ""), actor=u), "已列为候选项目"),
    "withdraw": (lambda p, u: screening.withdraw(p, actor=u), "已移出候选名单"),
    "reserve": (lambda p, u: delivery.keep_in_reserve(p, actor=u), "已列入项目储备库"),
    "carry-over": (lambda p, u: delivery.carry_over(p, _open_round(), actor=u),
                   "储备项目已转入本年度征集"),
    "progress": (lambda p, u: delivery.report_progress(
        p, progress=_int("progress"), title=request.form.get("title", ""),
        body=request.form.get("body", ""), actor=u,
        photos=[f.read() for f in request.files.getlist("photos") if f.filename]),
        "进度已报告，关注者会收到通知"),
    "rate": (lambda p, u: delivery.rate(p, request.form.get("value", ""), actor=u), "测评已提交"),
    "milestone": (lambda p, u: delivery.plan_milestone(
        p, title=request.form.get("title", ""), due_on=form_date("due_on"), actor=u),
        "实施节点已安排"),
}


def _open_round():
    round_ = core.current_round()
    if round_ is None:
        raise NotFound("项目征集尚未开启", code="project_round_not_found")
    return round_


def _target(proposal: ProjectProposal) -> ProjectProposal:
    target = db.session.get(ProjectProposal, row_id(request.form.get("into")) or 0)
    if target is None:
        raise NotFound("要并入的项目不存在", code="project_not_found")
    return target


@bp.post("/projects/<int:proposal_id>/<any(" + ", ".join(f"'{v}'" for v in PROPOSAL_ACTIONS) + "):verb>")
@roles_required("admin", "department", "deputy")
def project_action(proposal_id: int, verb: str):
    proposal = core.get_for(current_user, proposal_id)
    operation, done = PROPOSAL_ACTIONS[verb]
    return _run(lambda: operation(proposal, current_user), done,
                url_for("staff.project", proposal_id=proposal_id))


@bp.get("/projects/<int:proposal_id>/proposal-photos/<int:photo_id>")
@roles_required(*STAFF)
def project_proposal_photo(proposal_id: int, photo_id: int):
    """A resident's photo on a proposal: the office and liaisons always, others once public."""
    proposal = core.get_for(current_user, proposal_id)
    response = image_response(proposal_photos.get_for(current_user, proposal, photo_id).storage_key)
    if response is None:
        raise NotFound("照片不存在", code="photo_not_found")
    return response


@bp.post("/projects/<int:proposal_id>/proposal-photos/<int:photo_id>/<any(public, private):verb>")
@roles_required("admin")
def project_proposal_photo_public(proposal_id: int, photo_id: int, verb: str):
    proposal = core.get_for(current_user, proposal_id)
    photo = proposal_photos.get_for(current_user, proposal, photo_id)
    return _run(lambda: proposal_photos.set_public(photo, verb == "public", actor=current_user),
                "照片已设为可公开" if verb == "public" else "照片已改回不公开",
                url_for("staff.project", proposal_id=proposal_id))


@bp.post("/projects/milestones/<int:milestone_id>/done")
@roles_required("department")
def project_milestone_done(milestone_id: int):
    milestone = delivery.get_milestone(current_user, milestone_id)
    raw = request.form.get("done_on", "").strip()  # empty: today; nonsense: the operation's error
    done_on = (form_date("done_on") or raw) if raw else None
    return _run(lambda: delivery.complete_milestone(milestone, done_on=done_on, actor=current_user),
                "节点已完成，关注者会收到通知",
                url_for("staff.project", proposal_id=milestone.proposal_id))


@bp.get("/projects/ballot")
@roles_required("deputy")
def project_ballot():
    round_ = core.current_round()
    if round_ is None or round_.places is None:
        raise NotFound("暂无进行中的项目票决", code="project_vote_not_found")
    stage = stages.current(round_)
    return render_template("staff/project_ballot.html", round=round_, stage=stage,
                           candidates=screening.candidates_for_ballot(round_, stage.runoff),
                           has_voted=stage.has_voted(current_user.deputy_id),
                           is_present=voting.is_present(round_, current_user.deputy_id))


@bp.post("/projects/ballot")
@roles_required("deputy")
def project_cast():
    round_ = core.current_round()
    if round_ is None:
        raise NotFound("暂无进行中的项目票决", code="project_vote_not_found")
    ids = [row_id(v) for v in request.form.getlist("candidate_ids")]
    # The stage the page showed: a first-vote form sent after a run-off opened is refused.
    shown = row_id(request.form.get("runoff_id"))
    run = stages.get_runoff(shown) if shown else None
    if run is not None and run.round_id != round_.id:
        raise NotFound("没有这次决选", code="runoff_not_found")
    return _run(lambda: voting.cast_ballot(round_, ids, actor=current_user, runoff=run),
                "投票成功，您的选票已无记名计入", url_for("staff.project_ballot"))


@bp.get("/projects/rounds/<int:round_id>/results")
@roles_required("admin", "liaison", "deputy")
def project_results(round_id: int):
    round_ = core.get_round(round_id)
    if round_.places is None:
        raise NotFound("这一年度尚未票决", code="project_vote_not_found")
    return render_template("staff/project_results.html", round=round_,
                           combined=results.combined(round_), policy=policy,
                           runs=[None, *stages.runoffs(round_)],
                           can_open_runoff=runoffs.can_open(current_user, round_))
