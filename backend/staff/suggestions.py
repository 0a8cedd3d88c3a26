"""Suggestion pages for deputies and liaisons: the list, drafting from messages, editing,
co-signing, submitting, rating; and the detail page every role shares (it includes the admin's
and the department's action partials)."""

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from backend.messages import policy as message_policy
from backend.suggestions import policy
from backend.core.errors import Forbidden, ValidationFailed
from backend.core.extensions import db
from backend.suggestions.models import (
    SUGGESTION_STATUS_LABELS, SuggestionExtension, SuggestionFollowUp, SuggestionRating,
)
from backend.org.models import Department, Deputy
from backend.messages.models import Message
from backend.suggestions import actions, core
from backend.suggestions import drafting as ops
from backend.messages.operations import CATEGORIES
from backend.core.parsing import row_id, row_ids
from backend.staff import bp
from backend.staff.guard import roles_required
from backend.staff.once import posted_key, said
from backend.staff.suggestion_actions import suggestion_action
from backend.core.timeutil import local_today



@bp.app_template_global()
def suggestion_draft_url(user, message: Message) -> str | None:
    """Where the message page's 形成代表建议 button leads, or None when the user may not draft
    a suggestion from this message."""
    if not ops.can_draft_from(user, message):
        return None
    args = {"message": message.id}
    if user.role == "liaison":
        args["deputy"] = ops.draft_deputy_for(user, message).id
    return url_for("staff.suggestion_new", **args)


bp.add_app_template_global(actions.ADMIN_VERBS, "suggestion_admin_verbs")


@bp.app_template_global()
def suggestion_actions(user, suggestion) -> set[str]:
    """For an action partial rendered without the detail page's `actions`."""
    return actions.allowed_actions(user, suggestion)


# ---- the list ----

@bp.get("/suggestions")
@roles_required("admin", "liaison", "deputy")
def suggestions():
    status = request.args.get("status", "")
    status = status if status in SUGGESTION_STATUS_LABELS else ""
    page, tab = ops.list_for(current_user, tab=request.args.get("tab"), status=status or None,
                             page=request.args.get("page", type=row_id) or 1)
    today = local_today()
    return render_template(
        "staff/suggestion_list.html", page=page, tab=tab, tabs=ops.tabs_for(current_user),
        status=status, statuses=SUGGESTION_STATUS_LABELS, today=today,
        is_overdue=lambda s: core.is_overdue(s, today),
        can_draft=bool(ops.draftable_deputies(current_user)))


# ---- drafting and editing ----

def _posted() -> dict:
    form = request.form
    return {"title": form.get("title", ""), "category": form.get("category", ""),
            "problem": form.get("problem", ""), "proposal": form.get("proposal", ""),
            "message_ids": form.getlist("message_ids"),
            "is_complex": form.get("is_complex") == "1"}


def _offered(deputy, chosen_ids: list[int], *, keep=()) -> list[Message]:
    """The checkboxes: the chosen messages first (a merged one shown as its case), then the
    deputy's others, newest first. `keep`: messages already in the suggestion."""
    keep_ids = {m.id for m in keep}
    shown: dict[int, Message] = {}
    for m in [*keep, *ops.messages_by_id(chosen_ids)]:
        case = ops.case_of(m)
        if m.id in keep_ids or (deputy is not None and ops.message_usable(current_user, m, deputy)):
            shown.setdefault(case.id, case)
    for m in ops.selectable_messages(current_user, deputy, q=request.args.get("q", "")):
        shown.setdefault(m.id, m)
    return list(shown.values())


def _render_form(*, suggestion=None, deputy=None, deputies=(), values, errors=None,
                 status=200, keep=()):
    chosen = row_ids(values["message_ids"])
    messages = _offered(deputy, chosen, keep=keep)
    chosen_cases = {ops.case_of(m).id for m in ops.messages_by_id(chosen)} | set(chosen)
    return render_template(
        "staff/suggestion_form.html", suggestion=suggestion, deputy=deputy, deputies=deputies,
        values=values, errors=errors or {}, messages=messages, chosen=chosen_cases,
        categories=CATEGORIES, q=request.args.get("q", ""), limits=ops,
        excerpt=core.excerpt), status


@bp.route("/suggestions/new", methods=["GET", "POST"])
@roles_required("liaison", "deputy")
def suggestion_new():
    deputies = ops.draftable_deputies(current_user)
    if not deputies:
        raise Forbidden("您目前不能起草代表建议", code="suggestion_forbidden")
    if request.method == "POST":
        values = _posted()
        deputy = _chosen_deputy(row_id(request.form.get("deputy_id")), deputies)
        if deputy is None:
            values_errors = {"deputy_id": ["请选择领衔代表"]}
            flash("提交的内容有误，请按提示修改", "error")
            return _render_form(deputy=None, deputies=deputies, values=values,
                                errors=values_errors, status=422)
        try:
            done = ops.create_draft_once(actor=current_user, deputy=deputy,
                                         idempotency_key=posted_key(), **values)
        except ValidationFailed as err:
            db.session.rollback()
            # A refused key has no field to sit under: its own words say what to do.
            flash("提交的内容有误，请按提示修改" if err.errors else err.message, "error")
            return _render_form(deputy=deputy, deputies=deputies, values=values,
                                errors=err.errors, status=422)
        db.session.commit()
        flash(said(done, "建议草稿已保存。核对无误后，请点「提交建议」",
                   "这份建议草稿已经保存过了，没有重复保存"), "success")
        return redirect(url_for("staff.suggestion", suggestion_id=done[0].id))

    chosen = row_ids(request.args.getlist("message"))
    wanted = row_id(request.args.get("deputy"))
    deputy = next((d for d in deputies if d.id == wanted), None)
    if deputy is None and chosen:
        first = db.session.get(Message, chosen[0])
        deputy = ops.draft_deputy_for(current_user, first) if first else None
    if deputy is None and len(deputies) == 1:
        deputy = deputies[0]
    first = next(iter(ops.messages_by_id(chosen)), None)
    values = {"title": "", "category": first.category if first else "", "problem": "",
              "proposal": "", "message_ids": chosen, "is_complex": False}
    return _render_form(deputy=deputy, deputies=deputies, values=values)


def _chosen_deputy(deputy_id, deputies) -> Deputy | None:
    """A deputy id from the form. One outside the user's list is still returned, so that
    create_draft refuses it (403) instead of the form pretending nothing was chosen."""
    if not deputy_id:
        return None
    deputy = next((d for d in deputies if d.id == deputy_id), None)
    return deputy or db.session.get(Deputy, deputy_id)


@bp.route("/suggestions/<int:suggestion_id>/edit", methods=["GET", "POST"])
@login_required
def suggestion_edit(suggestion_id):
    suggestion = core.get_for(current_user, suggestion_id)
    if not policy.can_edit(current_user, suggestion):
        if not ops.is_drafter(current_user, suggestion):
            raise Forbidden("您无权修改这件建议", code="suggestion_forbidden")
        flash(f"建议当前为「{suggestion.status_label}」，不能修改", "error")
        return redirect(url_for("staff.suggestion", suggestion_id=suggestion.id))
    keep = list(suggestion.messages)
    if request.method == "POST":
        values = _posted()
        try:
            ops.update_draft(suggestion, actor=current_user, **values)
        except ValidationFailed as err:
            db.session.rollback()
            flash("提交的内容有误，请按提示修改", "error")
            suggestion = core.get_for(current_user, suggestion_id)
            return _render_form(suggestion=suggestion, deputy=suggestion.deputy, values=values,
                                errors=err.errors, status=422, keep=list(suggestion.messages))
        db.session.commit()
        flash("建议已修改", "success")
        return redirect(url_for("staff.suggestion", suggestion_id=suggestion.id))
    values = {"title": suggestion.title, "category": suggestion.category,
              "problem": suggestion.problem, "proposal": suggestion.proposal,
              "message_ids": [m.id for m in keep], "is_complex": suggestion.is_complex}
    return _render_form(suggestion=suggestion, deputy=suggestion.deputy, values=values,
                        keep=keep)


# ---- the detail page every role shares ----

@bp.get("/suggestions/<int:suggestion_id>")
@login_required
def suggestion(suggestion_id):
    s = core.get_for(current_user, suggestion_id)
    today = local_today()
    is_department = current_user.role == "department"
    return render_template(
        "staff/suggestion_detail.html", suggestion=s, today=today,
        overdue=core.is_overdue(s, today), actions=actions.allowed_actions(current_user, s),
        assignment=policy.department_assignment(current_user, s),
        departments=list(db.session.scalars(
            db.select(Department).filter_by(is_active=True).order_by(Department.name)))
        if current_user.role == "admin" else [],
        policy=policy,
        # Departments never learn who the residents were, nor what they wrote.
        source_messages=[] if is_department else policy.source_messages(s),
        show_sources=not is_department, can_view_message=message_policy.can_view,
        ratings=list(db.session.scalars(db.select(SuggestionRating).filter_by(
            suggestion_id=s.id).order_by(SuggestionRating.round))),
        extensions=list(db.session.scalars(db.select(SuggestionExtension).filter_by(
            suggestion_id=s.id).order_by(SuggestionExtension.id))),
        followups=list(db.session.scalars(db.select(SuggestionFollowUp).filter_by(
            suggestion_id=s.id).order_by(SuggestionFollowUp.id))),
        # A resident's own rating could name them, and the office's internal notes are its
        # own: neither is for departments.
        events=[e for e in s.events
                if not (is_department and (e.actor_kind == "resident" or e.kind == "note"))],
        rating_labels=ops.RATING_LABELS, event_labels=core.EVENT_LABELS,
        status_labels=SUGGESTION_STATUS_LABELS, excerpt=core.excerpt)


# ---- POST actions ----

def _other_deputy(user, s) -> bool:
    return user.role == "deputy" and not policy.is_author(user, s)


@suggestion_action("/suggestions/<int:suggestion_id>/submit", ops.is_drafter)
def suggestion_submit(s):
    first = s.submitted_at is None
    ops.submit(s, actor=current_user)
    return ("建议已提交区人大常委会，反映问题的居民会收到通知" if first
            else "建议已重新提交，等待审核")


@suggestion_action("/suggestions/<int:suggestion_id>/cosign", _other_deputy)
def suggestion_cosign(s):
    ops.cosign(s, actor=current_user)
    return "已附议这件建议"


@suggestion_action("/suggestions/<int:suggestion_id>/rate", policy.can_rate)
def suggestion_rate(s):
    value = request.form.get("value", "")
    ops.rate(s, value, request.form.get("comment", ""), actor=current_user)
    if s.status == "reanswering":
        return "已评价为不满意，建议已退回承办单位重新办理"
    return f"已评价为{ops.RATING_LABELS[value]}，建议已办结"
