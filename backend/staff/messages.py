"""Staff message pages: the liaison's queue, one message with its triage actions, and the
pieces the deputy's inbox (backend/staff/inbox.py) shares: the detail page, photos, the phone
reveal, internal notes and the `message_action` wrapper every POST action goes through."""
from datetime import date
from functools import wraps

from flask import (
    abort, flash, make_response, redirect, render_template, request, url_for,
)
from flask_login import current_user, login_required

from backend.messages import policy
from backend.core.errors import DomainError, Forbidden, ValidationFailed
from backend.core.extensions import db
from backend.core.media import image_response
from backend.messages.models import RATING_LABELS, STATUS_LABELS
from backend.org.models import Deputy
from backend.messages import display as views
from backend.messages import operations as ops
from backend.messages import answer_help, routing, triage
from backend.messages.queue import (
    Page, QueueFilters, is_overdue, liaison_queue, queue_counts, similar_open_messages,
)
from backend.core.parsing import row_id
from backend.staff import bp
from backend.staff.guard import roles_required
from backend.staff.once import posted_key, said
from backend.staff.pages import error_text
from backend.core.timeutil import local_today, people_day
from backend.workdays.calendar import coverage_notice



@bp.app_template_global()
def message_menu_count(user) -> int | None:
    """For the staff home page's menu entries."""
    return views.menu_count(user)


# ---- the liaison's queue ----

@bp.get("/messages")
@roles_required("admin", "liaison")
def message_queue():
    filters = _queue_filters(request.args)
    cursor = request.args.get("cursor") or None
    search_error = None
    try:
        page = liaison_queue(current_user, filters, cursor=cursor)
    except ValidationFailed as err:
        if not err.code.startswith("search_query"):
            raise
        page, search_error = Page([], None), err.message  # said above an empty list, not a page of its own
    suggestions = triage.suggestions_for(page.items)
    year = local_today().year
    return render_template(
        "staff/messages_queue.html", page=page, items=views.preload(page.items),
        suggestions=suggestions, routes=routing.routes_for(
            [(m, m.category or (suggestions[m.id].label if m.id in suggestions else None))
             for m in page.items]),
        filters=filters, counts=queue_counts(current_user), is_overdue=is_overdue,
        deadline_of=views.next_deadline,
        stations=views.queue_stations(current_user),
        deputies=views.queue_deputies(filters.station_ids or sorted(current_user.station_ids)),
        statuses=STATUS_LABELS, categories=ops.CATEGORIES, cursor=cursor,
        shown=_describe_filters(filters),
        coverage=coverage_notice(year, year + 1), search_error=search_error)


def _queue_filters(args) -> QueueFilters:
    station = args.get("station", type=row_id)
    q = args.get("q", "").strip()[:50]
    # A search looks through every state unless a state is chosen: what was typed is most
    # often about a case already answered or closed.
    return QueueFilters(
        station_ids=[station] if station else [], status=args.get("status") or (
            "all" if q else "todo"),
        deputy_id=args.get("deputy", type=row_id), category=args.get("category", ""),
        date_from=args.get("from", type=date.fromisoformat),
        date_to=args.get("to", type=date.fromisoformat),
        overdue=args.get("overdue") == "1", held=args.get("held") == "1",
        q=q)


def _describe_filters(f: QueueFilters) -> list[str]:
    """What the list shows, in words, so a filter left on is never a surprise."""
    shown = [f"含「{f.q}」"] if f.q else []
    shown.append("状态：" + ({"todo": "待办", "all": "全部"}.get(f.status)
                          or STATUS_LABELS.get(f.status, f.status)))
    if f.station_ids:
        shown.append("站点：" + "、".join(
            s.name for s in views.queue_stations(current_user) if s.id in f.station_ids))
    if f.deputy_id:
        deputy = db.session.get(Deputy, f.deputy_id)
        shown.append(f"代表：{deputy.name}" if deputy else "代表：已选")
    if f.category:
        shown.append(f"分类：{f.category}")
    if f.date_from or f.date_to:
        shown.append(f"收到日期：{people_day(f.date_from) or '最早'}至{people_day(f.date_to) or '今天'}")
    shown += ["仅超期"] * f.overdue + ["仅待审核"] * f.held
    return shown


# ---- one message ----

@bp.get("/messages/<int:message_id>")
@login_required
def message(message_id):
    return render_message(ops.get_for(current_user, message_id))


def render_message(message, *, revealed_phone: str | None = None, draft: str = "",
                   hints=None):
    """The detail page for any staff user who may view the message; it shows only the
    actions `allowed_actions` grants, the inbox and the queue share it. With the reply form
    come the earlier answers (`answers_q`, prefilled with the message's key words) and the
    hints on a checked `draft`."""
    actions = views.allowed_actions(current_user, message)
    earlier = _earlier_answers(message) if "reply" in actions else None
    triaging = "set_category" in actions or "merge" in actions
    suggestion = triage.suggestion_for(message) if triaging else None
    route = routing.route(message, message.category or (suggestion.label if suggestion else None)) \
        if triaging else None
    return render_template(
        "staff/messages_detail.html", message=message, actions=actions,
        timeline=ops.full_timeline(message), merged_here=ops.merged_into(message),
        masked_phone=ops.masked_phone(message), revealed_phone=revealed_phone,
        rating=ops.latest_rating(message), rating_labels=RATING_LABELS,
        overdue=is_overdue(message), deadline=views.next_deadline(message),
        categories=ops.CATEGORIES, event_labels=views.EVENT_LABELS,
        event_summary=views.event_summary,
        deputies=views.assignable_deputies(message) if "assign" in actions else [],
        similar=similar_open_messages(message) if "merge" in actions else [],
        suggestion=suggestion, route=route,
        duplicates=triage.duplicates_of(message) if triaging else [],
        earlier=earlier, draft=draft, hints=hints)


def _earlier_answers(message) -> dict:
    """The search box over earlier answers and what it found, or why it found nothing."""
    q = request.args.get("answers_q")
    q = answer_help.key_words(message) if q is None else q.strip()[:50]
    found, error = [], None
    if q:
        try:
            found = answer_help.earlier_answers(current_user, message, q)
        except ValidationFailed as err:
            error = err.message
    return {"q": q, "found": found, "error": error}


@bp.get("/messages/<int:message_id>/photos/<int:photo_id>")
@login_required
def message_photo(message_id, photo_id):
    # Residents' photos never go through the public /media route: each request checks can_view.
    message = ops.get_for(current_user, message_id)
    photo = ops.visible_photo(photo_id)
    response = image_response(photo.storage_key) if photo and photo.message_id == message.id else None
    if response is None:
        abort(404)
    return response


# ---- POST actions ----

def message_action(rule: str, allowed):
    """Register a POST action on one message. Loads the message (404, or 403 unless the user
    may view it and `allowed(user, message)`), then runs the view, which calls one operation
    and returns either the Chinese success text or a response of its own. On success: one
    commit, the text flashed, back to the message (or the list when the user may no longer see
    it). A domain error from the operation (wrong status, bad input) is flashed instead and
    nothing changes."""
    def decorator(view):
        @bp.post(rule, endpoint=view.__name__)
        @login_required
        @wraps(view)
        def wrapped(message_id):
            message = ops.get_for(current_user, message_id)
            if not allowed(current_user, message):
                raise Forbidden("您无权办理这条留言", code="message_forbidden")
            try:
                result = view(message)
            except DomainError as err:
                db.session.rollback()
                flash(error_text(err), "error")
                return redirect(_back_url(message_id))
            db.session.commit()
            if not isinstance(result, str):
                return result
            flash(result, "success")
            return redirect(_back_url(message_id, policy.can_view(current_user, message)))
        return wrapped
    return decorator


def _back_url(message_id: int, viewable: bool = True) -> str:
    """The user's own page for the message (a deputy's inbox, else the queue's), or their
    list when the action took the message out of their sight (a deputy handing it back)."""
    deputy = current_user.role == "deputy"
    if not viewable:
        return url_for(".inbox" if deputy else ".message_queue")
    return url_for(".inbox_message" if deputy else ".message", message_id=message_id)


def form_text(name: str) -> str:
    return request.form.get(name, "")


def form_object(model, name: str, missing: str):
    """The object whose id a select sent, or a clear error when none was picked."""
    obj = db.session.get(model, request.form.get(name, type=row_id) or 0)
    if obj is None:
        raise ValidationFailed(missing, code=f"{name}_missing")
    return obj


@message_action("/messages/<int:message_id>/release", policy.can_triage)
def message_release(message):
    ops.release(message, actor=current_user)
    return "已审核放行，留言进入办理"


@message_action("/messages/<int:message_id>/acknowledge", policy.can_triage)
def message_acknowledge(message):
    ops.acknowledge(message, actor=current_user)
    return "已受理，居民会收到通知"


@message_action("/messages/<int:message_id>/category", policy.can_triage)
def message_category(message):
    triage.categorise(message, form_text("category"), actor=current_user)
    return f"已设置分类：{message.category}"


@message_action("/messages/<int:message_id>/assign", policy.can_triage)
def message_assign(message):
    deputy = form_object(Deputy, "deputy_id", "请选择要分办的代表")
    ops.assign(message, deputy, actor=current_user)
    return f"已分办给{deputy.name}代表"


@message_action("/messages/<int:message_id>/merge", policy.can_triage)
def message_merge(message):
    into = views.merge_target(request.form.get("into_id", type=row_id), form_text("tracking_no"))
    ops.merge(message, into, actor=current_user)
    return f"已合并到留言 {into.tracking_no}"


@message_action("/messages/<int:message_id>/forward", policy.can_triage)
def message_forward(message):
    ops.forward(message, to=form_text("to"), ref=form_text("ref"), actor=current_user)
    return f"已转交{message.forward_to}办理"


@message_action("/messages/<int:message_id>/reject", policy.can_triage)
def message_reject(message):
    was_held = message.status == "held"
    ops.reject(message, reason=form_text("reason"), actor=current_user)
    return "审核未通过，已告知居民理由" if was_held else "已不予受理，居民会看到理由"


@message_action("/messages/<int:message_id>/note", policy.can_note)
def message_note(message):
    done = ops.add_note_once(message, form_text("text"), actor=current_user,
                             idempotency_key=posted_key())
    return said(done, "已添加内部备注", "这条备注已经添加过了，没有重复添加")


@message_action("/messages/<int:message_id>/phone", policy.can_see_phone)
def message_phone(message):
    # Shown in this response only (never flashed into the cookie); each reveal is audited.
    phone = ops.reveal_phone(message, reason=form_text("reason"), actor=current_user)
    return make_response(render_message(message, revealed_phone=phone))
