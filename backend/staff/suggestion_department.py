"""A department's suggestion pages: its assignments, signing for them, opinions, answers,
extension and reassignment requests, 回头看. Departments see only what is assigned to them now,
and never the residents or their messages."""
from datetime import date, timedelta

from flask import render_template, request
from flask_login import current_user

from backend.suggestions import actions, policy
from backend.suggestions.models import RESOLUTION_LABELS, SuggestionFollowUp
from backend.suggestions import handling as ops
from backend.core.parsing import row_id
from backend.staff import bp
from backend.staff.guard import roles_required
from backend.staff.pages import form_date
from backend.staff.suggestion_actions import part_of, suggestion_action
from backend.core.timeutil import format_date_cn, local_today

PER_PAGE = 20
MILESTONE_ROWS = 5


# ---- the list ----

@bp.get("/assignments")
@roles_required("department")
def department_suggestions():
    today = local_today()
    department_id = current_user.department_id
    counts = ops.department_counts(department_id)
    tab = request.args.get("tab", "")
    if tab not in ops.TABS:
        tab = "pending" if counts["pending"] else "handling"
    page = request.args.get("page", type=row_id) or 1
    rows = ops.department_list(department_id, tab, today, limit=PER_PAGE,
                               offset=(page - 1) * PER_PAGE)
    return render_template("staff/department_suggestions.html", tabs=ops.TABS, tab=tab,
                           counts=counts, rows=rows, page=page,
                           has_next=counts[tab] > page * PER_PAGE, today=today)


# ---- what the department partial of the detail page needs ----

@bp.app_template_global()
def department_open_followup(suggestion):
    return ops.open_followup(suggestion)


@bp.app_template_global()
def department_pending_extension(suggestion):
    """The extension request still waiting for the office (none once the clock has stopped)."""
    return ops.pending_extension(suggestion) if suggestion.is_handling else None


@bp.app_template_global()
def department_missing_opinions(suggestion):
    """Assisting departments the user's (lead) department waits for before its first answer."""
    return actions.awaited_opinions(current_user, suggestion)


@bp.app_template_global()
def department_resolutions() -> dict[str, str]:
    return RESOLUTION_LABELS


@bp.app_template_global()
def department_day_after(d: date) -> str:
    """For a date input's min: the day after `d`."""
    return (d + timedelta(days=1)).isoformat()


# ---- POST actions ----

def department_action(rule: str):
    # The operations check lead / assisting themselves; a refusal there is a 403 page.
    return suggestion_action(rule, policy.can_handle, roles=("department",))


def _form(name: str) -> str:
    return request.form.get(name, "")


@department_action("/suggestions/<int:suggestion_id>/accept")
def department_accept(suggestion):
    assignment = ops.accept(suggestion, actor=current_user)
    return "已签收，请抓紧办理" if assignment.role == "lead" else "已签收，请在答复前向主办单位提出协办意见"


@department_action("/suggestions/<int:suggestion_id>/request-reassign")
def department_request_reassign(suggestion):
    ops.request_reassign(suggestion, _form("reason"), actor=current_user)
    return "已提交调整申请，请等待代工委处理"


@department_action("/suggestions/<int:suggestion_id>/request-extension")
def department_request_extension(suggestion):
    ext = ops.request_extension(suggestion, form_date("until"), _form("reason"),
                                actor=current_user)
    return f"已申请延期至{format_date_cn(ext.requested_until)}，请等待代工委审批"


@department_action("/suggestions/<int:suggestion_id>/opinion")
def department_opinion(suggestion):
    ops.send_opinion(suggestion, _form("text"), actor=current_user)
    return "协办意见已送主办单位"


@department_action("/suggestions/<int:suggestion_id>/answer")
def department_answer(suggestion):
    milestones = []
    for n in range(1, MILESTONE_ROWS + 1):
        when, text = _form(f"milestone_date_{n}").strip(), _form(f"milestone_text_{n}")
        if when or text.strip():
            # An unreadable date stays a string: the operation reports the row as incomplete.
            milestones.append((when, text))
    reply = ops.answer(suggestion, actor=current_user, resolution=_form("resolution"),
                       body=_form("body"), promised_by=form_date("promised_by"),
                       milestones=milestones, reason=_form("reason"))
    return f"已答复（{RESOLUTION_LABELS[reply.resolution]}），代表和相关居民会收到通知"


@department_action("/suggestions/<int:suggestion_id>/followups/<int:followup_id>")
def department_followup(suggestion, followup_id):
    followup = part_of(suggestion, SuggestionFollowUp, followup_id)
    kept = {"yes": True, "no": False}.get(_form("kept"))
    ops.complete_followup(followup, actor=current_user, kept=kept, result=_form("result"))
    return "回头看情况已报告，代表和相关居民会收到通知"
