"""Liaison mode: the station's queue and the triage actions on one message."""
from backend.core.errors import ValidationFailed
from backend.core.extensions import db
from backend.org.models import Deputy
from backend.messages import display as views
from backend.messages import operations as ops
from backend.messages import triage
from backend.messages.hot_issues import hot_issues
from backend.messages.queue import liaison_queue, queue_counts
from miniprogram_api import bp
from miniprogram_api.auth import current_staff, liaison_required
from miniprogram_api.casework import case_action, phone_action
from miniprogram_api.endpoint import endpoint
from miniprogram_api.schemas_staff import (
    AssignIn, CategoryIn, ForwardIn, HotIssuesOut, HotIssuesQuery, LiaisonMessageOut, MergeIn, NoteIn, QueuePageOut, QueueQuery,
    ReasonIn,
)


@bp.get("/liaison/queue")
@liaison_required
@endpoint(query=QueueQuery, out=QueuePageOut)
def liaison_queue_page(data):
    """联络站的留言队列：先到期的在前"""
    page = liaison_queue(current_staff(), data["filters"], cursor=data["cursor"])
    return {"items": page.items, "next_cursor": page.next_cursor,
            "counts": queue_counts(current_staff())}


@bp.get("/liaison/hot-issues")
@liaison_required
@endpoint(query=HotIssuesQuery, out=HotIssuesOut)
def liaison_hot_issues(data):
    """热点问题：近期多位居民反映的同一问题，按热度排序"""
    return {"items": hot_issues(current_staff(), days=data["days"],
                                station_ids=[data["station_id"]] if data["station_id"] else [])}


@bp.get("/liaison/messages/<int:message_id>")
@liaison_required
@endpoint(out=LiaisonMessageOut)
def liaison_message(message_id: int):
    """一条留言，含内部记录、现在可以进行的操作、分类建议、建议分办对象和可能重复的留言"""
    return ops.get_for(current_staff(), message_id)


@case_action("/liaison/messages/<int:message_id>/acknowledge", liaison_required)
def liaison_acknowledge(message, data, actor):
    """受理"""
    ops.acknowledge(message, actor=actor)


@case_action("/liaison/messages/<int:message_id>/category", liaison_required, CategoryIn,
             out=LiaisonMessageOut)
def liaison_category(message, data, actor):
    """设置分类；有分类建议时记为采纳或更正（用于重新训练模型）"""
    triage.categorise(message, data["category"], actor=actor)


@case_action("/liaison/messages/<int:message_id>/assign", liaison_required, AssignIn)
def liaison_assign(message, data, actor):
    """分办给本站的一位代表"""
    deputy = db.session.get(Deputy, data["deputy_id"])
    if deputy is None:
        raise ValidationFailed(errors={"deputy_id": ["没有找到这位代表"]})
    ops.assign(message, deputy, actor=actor)


@case_action("/liaison/messages/<int:message_id>/merge", liaison_required, MergeIn)
def liaison_merge(message, data, actor):
    """与同类留言合并办理（按 into_id 或留言编号）"""
    ops.merge(message, views.merge_target(data["into_id"], data["tracking_no"]), actor=actor)


@case_action("/liaison/messages/<int:message_id>/forward", liaison_required, ForwardIn)
def liaison_forward(message, data, actor):
    """转交有关单位办理"""
    ops.forward(message, to=data["to"], ref=data["ref"], actor=actor)


@case_action("/liaison/messages/<int:message_id>/reject", liaison_required, ReasonIn)
def liaison_reject(message, data, actor):
    """不予受理（居民会看到理由）"""
    ops.reject(message, reason=data["reason"], actor=actor)


@case_action("/liaison/messages/<int:message_id>/release", liaison_required)
def liaison_release(message, data, actor):
    """审核放行待审核的留言"""
    ops.release(message, actor=actor)


@case_action("/liaison/messages/<int:message_id>/note", liaison_required, NoteIn)
def liaison_note(message, data, actor):
    """添加内部备注（居民看不到）"""
    ops.add_note(message, data["text"], actor=actor)


phone_action("/liaison/messages/<int:message_id>/phone", liaison_required, "liaison_phone")
