"""回访 in the mini-program: the resident answers, once, whether the deputy's answer dealt with
their message, or, for a message left unanswered past its deadline, whether it was dealt with
at all (the outbox notice opens the message page). Rules in
backend.records.responsiveness."""
from marshmallow import Schema, fields, validate

from backend.core.extensions import db
from backend.records import responsiveness
from backend.records.responsiveness_model import RESPONSE_LABELS, RESPONSES
from miniprogram_api import bp
from miniprogram_api.auth import current_resident, resident_required
from miniprogram_api.endpoint import endpoint
from miniprogram_api.messages import own_message
from miniprogram_api.schemas import In


class FollowUpIn(In):
    response = fields.Str(required=True, load_only=True, validate=validate.OneOf(
        RESPONSES, error="请选择一项：已解决、答复了但没解决、只是收到或没有答复"),
        metadata={"enum": list(RESPONSES)})


class FollowUpOut(Schema):
    message_id = fields.Int()
    response = fields.Str()
    response_label = fields.Function(lambda f: RESPONSE_LABELS[f.response])
    responded_at = fields.DateTime()


@bp.post("/messages/<int:message_id>/followup")
@resident_required
@endpoint(body=FollowUpIn, out=FollowUpOut, status=201)
def answer_followup(message_id: int, data):
    """回答回访：代表答复两周后答复是否解决了问题，或留言过了答复期限仍未答复时问题是否得到答复；每条留言一次

    没有待回答的回访时返回 403，已回答过返回 409。"""
    followup = responsiveness.answer_followup(own_message(message_id), data["response"],
                                              resident=current_resident())
    db.session.commit()
    return followup
