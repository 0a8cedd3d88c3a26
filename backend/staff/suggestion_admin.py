"""The admin office's suggestion pages: the review page (待审核, requests, chase lists) and the
POST actions behind the admin part of the suggestion page (staff/suggestion_actions_admin.html).
Each action runs one operation from backend/suggestions/review.py, commits once,
flashes, and goes back to the suggestion; a domain error is flashed and changes nothing."""
from datetime import date

from flask import current_app, render_template, request
from flask_login import current_user

from backend.suggestions import policy
from backend.core.errors import ValidationFailed
from backend.core.extensions import db
from backend.org.models import Department
from backend.suggestions.models import SuggestionAssignment, SuggestionExtension
from backend.suggestions import core
from backend.suggestions import review
from backend.core.parsing import row_id
from backend.staff import bp
from backend.staff.guard import roles_required
from backend.staff.once import posted_key, said
from backend.staff.suggestion_actions import part_of, suggestion_action
from backend.core.timeutil import local_today

TABS = (("review", "待审核"), ("extensions", "延期申请"), ("reassign", "调整申请"),
        ("overdue", "超期"), ("unsatisfied", "不满意"), ("key", "重点督办"),
        ("important", "重要督办"))


@bp.get("/suggestions/review")
@roles_required("admin")
def suggestion_review():
    tab = request.args.get("tab", "review")
    if tab not in dict(TABS):
        tab = "review"
    today = local_today()
    context = {"items": [], "extensions": [], "requests": []}
    if tab == "review":
        context["items"] = [review.ChaseItem(s, 0) for s in review.review_queue()]
    elif tab == "extensions":
        context["extensions"] = review.pending_extensions()
    elif tab == "reassign":
        context["requests"] = review.pending_reassign_requests()
    else:
        context["items"] = review.chase_list(today, kind=tab)
    return render_template("staff/suggestion_review.html", tab=tab, tabs=TABS,
                           counts=review.review_counts(today), today=today, **context)


@bp.app_template_global()
def suggestion_admin_extras(suggestion) -> dict:
    """What the admin partial needs beyond the detail page's context: the suggestion's pending
    requests and, for a submitted one, suggestions it could be merged into."""
    extensions, requests = review.suggestion_requests(suggestion)
    return {"extensions": extensions, "reassign_requests": requests,
            "merge_candidates": review.merge_candidates(suggestion)
            if suggestion.status == "submitted" else [],
            "complex_deadline": core.deadline_for(local_today(), is_complex=True),
            "simple_deadline": core.deadline_for(local_today(), is_complex=False),
            "simple_months": current_app.config["SUGGESTION_DEADLINE_MONTHS"],
            "complex_months": current_app.config["SUGGESTION_COMPLEX_DEADLINE_MONTHS"]}


# ---- POST actions ----

def admin_action(rule: str):
    return suggestion_action(rule, policy.can_review, roles=("admin",))


@admin_action("/suggestions/<int:suggestion_id>/assign")
def suggestion_assign(suggestion):
    form = request.form
    lead = _department(form.get("lead_id"))
    assisting = [_department(v) for v in form.getlist("assisting_ids") if v.strip()]
    flag = form.get("is_complex", "")
    review.accept_and_assign(
        suggestion, actor=current_user, lead=lead, assisting=assisting,
        is_complex={"1": True, "0": False}.get(flag),
        deadline_on=_date(form.get("deadline_on"), "deadline_on"))
    return f"已交办，办理期限至{review.cn_date(suggestion.deadline_on)}"


@admin_action("/suggestions/<int:suggestion_id>/return")
def suggestion_return(suggestion):
    review.return_for_changes(suggestion, request.form.get("comment", ""), actor=current_user)
    return "已退回修改，代表会收到退回意见"


@admin_action("/suggestions/<int:suggestion_id>/merge")
def suggestion_merge(suggestion):
    into_id = request.form.get("into_id", "").strip()
    number = request.form.get("into", "").strip()
    if into_id:
        into = review.find_by_number(into_id) if row_id(into_id) else None
    elif number:
        into = review.find_by_number(number)
        if into is None:
            raise ValidationFailed(errors={"into": [f"没有找到编号为{number}的建议"]},
                                   code="merge_target_not_found")
    else:
        into = None
    review.merge(suggestion, into, actor=current_user)
    return f"已并入建议{into.number}"


@admin_action("/suggestions/<int:suggestion_id>/deadline")
def suggestion_deadline(suggestion):
    deadline_on = _date(request.form.get("deadline_on"), "deadline_on")
    review.set_deadline(suggestion, deadline_on, request.form.get("reason", ""),
                        actor=current_user)
    return f"办理期限已调整为{review.cn_date(deadline_on)}"


@admin_action("/suggestions/<int:suggestion_id>/supervision")
def suggestion_supervision(suggestion):
    level = request.form.get("level", "").strip() or None
    review.set_supervision(suggestion, level, request.form.get("note", ""), actor=current_user)
    return f"已列为{suggestion.supervision_label}" if level else "已取消督办"


@admin_action("/suggestions/<int:suggestion_id>/reassign")
def suggestion_reassign(suggestion):
    form = request.form
    new_lead = _department(form.get("department_id"))
    review.reassign(suggestion, new_lead, form.get("reason", ""), actor=current_user,
                    deadline_on=_date(form.get("deadline_on"), "deadline_on"))
    return f"承办单位已调整为{new_lead.name}"


@admin_action("/suggestions/<int:suggestion_id>/chase")
def suggestion_chase(suggestion):
    review.chase(suggestion, actor=current_user, note=request.form.get("note", ""))
    return "已催办，承办单位会收到提醒"


@admin_action("/suggestions/<int:suggestion_id>/note")
def suggestion_note(suggestion):
    done = review.add_note_once(suggestion, request.form.get("text", ""), actor=current_user,
                                idempotency_key=posted_key())
    return said(done, "备注已添加", "这条备注已经添加过了，没有重复添加")


@admin_action("/suggestions/<int:suggestion_id>/extensions/<int:ext_id>/decide")
def suggestion_extension_decide(suggestion, ext_id):
    extension = part_of(suggestion, SuggestionExtension, ext_id)
    decision = request.form.get("decision", "")
    if decision not in ("approve", "refuse"):
        raise ValidationFailed(errors={"decision": ["请选择同意或不同意"]},
                               code="decision_invalid")
    review.decide_extension(extension, decision == "approve", request.form.get("note", ""),
                            actor=current_user)
    return ("已同意延期" if decision == "approve" else "已不同意延期，承办单位会收到理由")


@admin_action("/suggestions/<int:suggestion_id>/assignments/<int:aid>/refuse-reassign")
def suggestion_refuse_reassign(suggestion, aid):
    assignment = part_of(suggestion, SuggestionAssignment, aid)
    review.refuse_reassign(assignment, request.form.get("note", ""), actor=current_user)
    return "已不同意调整，承办单位会继续办理"


@admin_action("/suggestions/<int:suggestion_id>/assignments/<int:aid>/release")
def suggestion_release_assisting(suggestion, aid):
    assignment = part_of(suggestion, SuggestionAssignment, aid)
    replacement = _department(request.form.get("department_id"))
    review.release_assisting(assignment, request.form.get("note", ""), actor=current_user,
                             replacement=replacement)
    return (f"已同意调整，改由{replacement.name}协办" if replacement
            else "已同意调整，该单位不再协办")


def _department(value) -> Department | None:
    """The department a form names; None for nothing or nonsense (the operation says why)."""
    department_id = row_id(value)
    return db.session.get(Department, department_id) if department_id else None


def _date(value, field: str) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(errors={field: ["日期格式不正确"]}, code="date_invalid") from None
