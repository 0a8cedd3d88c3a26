"""回访 on the resident's message page: the question asked two weeks after the answer, and the
resident's one answer. The rules live in backend.records.responsiveness."""
from flask import flash, redirect, request, url_for

from backend.core.errors import Forbidden, InvalidState, ValidationFailed
from backend.core.extensions import db
from backend.portal import bp
from backend.portal.messages import load_message
from backend.records import responsiveness
from backend.records.responsiveness_model import RESPONSE_LABELS


@bp.app_template_global()
def open_followup(message):
    """The question the writer has yet to answer about this message (None for anyone else)."""
    return responsiveness.open_followup(message, message.resident)


@bp.app_template_global()
def followup_labels() -> dict:
    return RESPONSE_LABELS


@bp.post("/m/<int:message_id>/followup")
def answer_followup(message_id: int):
    message = load_message(message_id)
    try:
        responsiveness.answer_followup(message, request.form.get("response", ""),
                                       resident=message.resident)
    except (ValidationFailed, InvalidState, Forbidden) as err:
        db.session.rollback()
        flash(err.message, "error")
    else:
        db.session.commit()
        flash("谢谢您的回答，这会帮助我们如实了解代表的答复情况", "success")
    return redirect(url_for(".message", message_id=message.id))
