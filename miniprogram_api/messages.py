"""A resident's messages: write one, list mine, follow one, add what the deputy asked, rate; and
rate the outcome of a deputy suggestion the message fed (backend.suggestions.residents).
Every rule lives in backend.messages.operations; a message that is not the caller's is a 404,
so a stranger cannot tell it from a missing one."""
from flask import request
from sqlalchemy.exc import IntegrityError

from backend.messages import policy
from backend.core.errors import Forbidden, NotFound
from backend.core.extensions import db
from backend.messages.models import Message
from backend.messages import operations as ops
from backend.org import public
from backend.suggestions import residents as outcome
from backend.messages.queue import resident_messages
from backend.core.ratelimit import replayed, submission_limits
from miniprogram_api import bp
from miniprogram_api.auth import current_resident, resident_required
from miniprogram_api.deputies import live_deputy
from miniprogram_api.endpoint import endpoint
from miniprogram_api.schemas_messages import (
    InfoIn, MessageIn, MessagePageOut, MyMessageOut, MyMessagesQuery, RatingIn, ReceiptOut,
    SuggestionRatingIn, SuggestionRatingOut,
)

# submit_message names its arguments; the mini-program names what it sent.
SUBMIT_FIELDS = {"deputy": "deputy_token"}


def _is_retry() -> bool:
    """A resident past the limit who retries a message already sent gets its receipt."""
    body = request.get_json(silent=True)
    key = body.get("idempotency_key") if isinstance(body, dict) else None
    return isinstance(key, str) and ops.submitted_before(current_resident(), key)


@bp.post("/messages")
@resident_required
@submission_limits("message", replay=_is_retry)
@endpoint(body=MessageIn, out=ReceiptOut, status=201, replay=True, error_fields=SUBMIT_FIELDS,
          commit=True)
def submit(data):
    """写留言；同一个 idempotency_key 重试时返回第一次的回执（200）"""
    token, station_id = data.pop("deputy_token"), data.pop("station_id")
    target = {"deputy": live_deputy(token)[1]} if token else {}
    if station_id:
        target["station"] = public.public_station(station_id)
    result = ops.submit_message(resident=current_resident(), channel="miniprogram", **target,
                                **data)
    if not result.created:
        replayed()
    return result, 201 if result.created else 200


@bp.get("/messages")
@resident_required
@endpoint(query=MyMessagesQuery, out=MessagePageOut)
def my_messages(data):
    """我的留言，新的在前"""
    page = resident_messages(current_resident().id, cursor=data["cursor"])
    return {"items": page.items, "next_cursor": page.next_cursor}


@bp.get("/messages/<int:message_id>")
@resident_required
@endpoint(out=MyMessageOut)
def my_message(message_id: int):
    """我的一条留言：进展、答复、据此提出的代表建议，以及现在能否评价或补充"""
    return own_message(message_id)


@bp.post("/messages/<int:message_id>/rating")
@resident_required
@endpoint(body=RatingIn, out=MyMessageOut)
def rate(message_id: int, data):
    """评价代表的答复；不满意会重新办理"""
    message = own_message(message_id)
    ops.rate(message, data["value"], data["comment"], resident=current_resident())
    db.session.commit()
    return message


@bp.post("/messages/<int:message_id>/suggestions/<int:suggestion_id>/rating")
@resident_required
@endpoint(body=SuggestionRatingIn, out=SuggestionRatingOut, status=201)
def rate_suggestion(message_id: int, suggestion_id: int, data):
    """评价据留言提出的代表建议的办理结果，每人一次

    只有承办单位答复后才能评价；已评价过或尚未答复时返回 409。"""
    message = own_message(message_id)
    suggestion = outcome.suggestion_for_message(message, suggestion_id)
    if suggestion is None:
        raise NotFound("建议不存在", code="suggestion_not_found")
    try:
        rating = outcome.rate_outcome(suggestion, data["value"], data["comment"],
                                      resident=current_resident())
        db.session.commit()
    except Forbidden:  # not behind it after all: the same answer as a stranger gets
        raise NotFound("建议不存在", code="suggestion_not_found") from None
    except IntegrityError:  # a parallel request rated first
        raise outcome.AlreadyRated() from None
    return rating


@bp.post("/messages/<int:message_id>/info")
@resident_required
@endpoint(body=InfoIn, out=MyMessageOut)
def add_info(message_id: int, data):
    """按代表的要求补充说明"""
    message = own_message(message_id)
    ops.add_info(message, data["text"], resident=current_resident())
    db.session.commit()
    return message


def own_message(message_id: int) -> Message:
    message = db.session.get(Message, message_id)
    if message is None or not policy.can_view(current_resident(), message):
        raise NotFound("留言不存在", code="message_not_found")
    return message

