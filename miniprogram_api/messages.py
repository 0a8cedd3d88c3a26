"""A resident's messages: write one, list mine, follow one, add what the deputy asked, rate.
Every rule lives in backend.operations.messages; a message that is not the caller's is a 404,
so a stranger cannot tell it from a missing one."""
from backend import message_policy as policy
from backend.errors import NotFound
from backend.extensions import db
from backend.models import Message
from backend.operations import messages as ops
from backend.operations import public
from backend.operations.queue import resident_messages
from backend.ratelimit import submission_limits
from miniprogram_api import bp
from miniprogram_api.auth import current_resident, resident_required
from miniprogram_api.deputies import live_deputy
from miniprogram_api.endpoint import endpoint
from miniprogram_api.schemas_messages import (
    InfoIn, MessageIn, MessageOut, MessagePageOut, MyMessagesQuery, RatingIn, ReceiptOut,
)

# submit_message names its arguments; the mini-program names what it sent.
SUBMIT_FIELDS = {"deputy": "deputy_token"}


@bp.post("/messages")
@resident_required
@submission_limits
@endpoint(body=MessageIn, out=ReceiptOut, status=201, replay=True, error_fields=SUBMIT_FIELDS)
def submit(data):
    """写留言；同一个 idempotency_key 重试时返回第一次的回执（200）"""
    token, station_id = data.pop("deputy_token"), data.pop("station_id")
    target = {"deputy": live_deputy(token)[1]} if token else {}
    if station_id:
        target["station"] = public.public_station(station_id)
    result = ops.submit_message(resident=current_resident(), channel="miniprogram", **target,
                                **data)
    db.session.commit()
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
@endpoint(out=MessageOut)
def my_message(message_id: int):
    """我的一条留言：进展、答复，以及现在能否评价或补充"""
    return own_message(message_id)


@bp.post("/messages/<int:message_id>/rating")
@resident_required
@endpoint(body=RatingIn, out=MessageOut)
def rate(message_id: int, data):
    """评价代表的答复；不满意会重新办理"""
    message = own_message(message_id)
    ops.rate(message, data["value"], data["comment"], resident=current_resident())
    db.session.commit()
    return message


@bp.post("/messages/<int:message_id>/info")
@resident_required
@endpoint(body=InfoIn, out=MessageOut)
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

