"""The deputy's inbox: newest first with unread marks; opening a message marks it read; the
deputy answers, asks the resident for more, or hands the case back to the liaison."""
from flask import jsonify, render_template, request
from flask_login import current_user

from backend.messages import policy
from backend.core.errors import Forbidden
from backend.core.extensions import db
from backend.messages import answer_help
from backend.messages import display as views
from backend.messages import operations as ops
from backend.messages.queue import deputy_inbox, deputy_unread_count
from backend.staff import bp
from backend.staff.guard import roles_required
from backend.staff.messages import form_text, message_action, render_message

INBOX_VIEWS = {"todo": "待我答复", "all": "全部"}


@bp.get("/inbox")
@roles_required("deputy")
def inbox():
    show = request.args.get("show") if request.args.get("show") in INBOX_VIEWS else "todo"
    cursor = request.args.get("cursor") or None
    page = deputy_inbox(current_user.deputy_id, cursor=cursor, status=show)
    return render_template(
        "staff/inbox.html", page=page, items=views.preload(page.items), show=show,
        views_=INBOX_VIEWS, unread=deputy_unread_count(current_user.deputy_id),
        is_unread=views.is_unread, deadline_of=views.next_deadline, cursor=cursor)


@bp.get("/inbox/<int:message_id>")
@roles_required("deputy")
def inbox_message(message_id):
    message = ops.get_for(current_user, message_id)
    ops.mark_read(message, actor=current_user)
    db.session.commit()
    return render_message(message)


@message_action("/inbox/<int:message_id>/reply", policy.can_answer)
def inbox_reply(message):
    ops.reply(message, form_text("body"), actor=current_user)
    return "答复已发送，居民会收到通知"


@bp.post("/inbox/<int:message_id>/check-answer")
@roles_required("deputy")
def inbox_check_answer(message_id):
    """Hints on a draft answer; changes nothing and never stops the answer being sent. JSON
    for the page's script as the deputy types, else the page again with the draft and hints."""
    message = ops.get_for(current_user, message_id)
    if not policy.can_answer(current_user, message):
        raise Forbidden("您无权办理这条留言", code="message_forbidden")
    draft = form_text("body")[:ops.BODY_MAX * 2]
    hints = answer_help.draft_hints(message, draft)
    if request.accept_mimetypes.best == "application/json":
        return jsonify({"hints": [{"code": h.code, "message": h.message} for h in hints]})
    return render_message(message, draft=draft, hints=hints)


@message_action("/inbox/<int:message_id>/request-info", policy.can_answer)
def inbox_request_info(message):
    ops.request_info(message, form_text("body"), actor=current_user)
    return "已请居民补充信息，补充后会通知您"


@message_action("/inbox/<int:message_id>/hand-back", policy.can_answer)
def inbox_hand_back(message):
    ops.hand_back(message, form_text("reason"), actor=current_user)
    return "已退回联络员重新分办"
