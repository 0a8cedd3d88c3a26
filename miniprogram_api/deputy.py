"""Deputy mode: the deputy's inbox, a message (opening it marks it read), and answering."""
from backend.core.errors import Forbidden
from backend.core.extensions import db
from backend.messages import policy
from backend.messages import answer_help
from backend.messages import operations as ops
from backend.messages.queue import deputy_inbox, deputy_unread_count
from miniprogram_api import bp
from miniprogram_api.auth import current_staff, deputy_required
from miniprogram_api.casework import case_action, phone_action
from miniprogram_api.endpoint import endpoint
from miniprogram_api.schemas_staff import (
    AnswerDraftIn, AnswerHintsOut, EarlierAnswersOut, EarlierAnswersQuery, InboxPageOut,
    InboxQuery, ReasonIn, ReplyIn, RequestInfoIn, StaffMessageOut,
)


@bp.get("/deputy/inbox")
@deputy_required
@endpoint(query=InboxQuery, out=InboxPageOut)
def deputy_inbox_page(data):
    """我的留言（todo：待我答复；all：全部），新的在前"""
    deputy_id = current_staff().deputy_id
    page = deputy_inbox(deputy_id, cursor=data["cursor"] or None, status=data["status"])
    return {"items": page.items, "next_cursor": page.next_cursor,
            "unread_count": deputy_unread_count(deputy_id)}


@bp.get("/deputy/messages/<int:message_id>")
@deputy_required
@endpoint(out=StaffMessageOut)
def deputy_message(message_id: int):
    """一条留言（打开即标记已读；手机号打码）"""
    message = ops.get_for(current_staff(), message_id)
    ops.mark_read(message, actor=current_staff())
    db.session.commit()
    return message


@case_action("/deputy/messages/<int:message_id>/reply", deputy_required, ReplyIn)
def deputy_reply(message, data, actor):
    """答复留言，居民会收到通知"""
    ops.reply(message, data["body"], actor=actor)


@bp.get("/deputy/messages/<int:message_id>/earlier-answers")
@deputy_required
@endpoint(query=EarlierAnswersQuery, out=EarlierAnswersOut)
def deputy_earlier_answers(message_id: int, data):
    """以往答复：本站及本人所在各站已答复留言的答复（只有答复内容），含全部关键词的在前，可用作开头"""
    actor = current_staff()
    message = ops.get_for(actor, message_id)
    q = answer_help.key_words(message) if data["q"] is None else data["q"]
    return {"q": q, "items": answer_help.earlier_answers(actor, message, q) if q.strip() else []}


@bp.post("/deputy/messages/<int:message_id>/answer-hints")
@deputy_required
@endpoint(body=AnswerDraftIn, out=AnswerHintsOut)
def deputy_answer_hints(message_id: int, data):
    """发送前检查答复草稿：是否回应了留言、有没有措施、负责单位、时间，是否超期；只是提示，不影响发送，什么也不改变"""
    actor = current_staff()
    message = ops.get_for(actor, message_id)
    if not policy.can_answer(actor, message):
        raise Forbidden("您无权办理这条留言", code="message_forbidden")
    return {"hints": answer_help.draft_hints(message, data["body"])}


@case_action("/deputy/messages/<int:message_id>/request-info", deputy_required, RequestInfoIn)
def deputy_request_info(message, data, actor):
    """请居民补充说明"""
    ops.request_info(message, data["question"], actor=actor)


@case_action("/deputy/messages/<int:message_id>/hand-back", deputy_required, ReasonIn)
def deputy_hand_back(message, data, actor):
    """退回联络员重新分办"""
    ops.hand_back(message, data["reason"], actor=actor)


phone_action("/deputy/messages/<int:message_id>/phone", deputy_required, "deputy_phone")
