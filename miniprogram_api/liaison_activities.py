"""Liaison mode: the activities of my stations, for an organiser at the activity with only their
phone. The list; one activity (the page an organiser's activity notice opens:
pages/liaison/activity?id=) with every deputy's answer and, while it is of use, the check-in code
to show; inviting more deputies or cancelling it while it is planned; ticking a deputy present;
the record afterwards (with a 议事's details); the matters residents raised there and turning
one into a message; confirming or rejecting a deputy's report of their own activity. The rules
are backend/activities'."""
from backend.activities import matters
from backend.activities import operations as ops
from backend.activities import policy
from backend.activities.models import Activity
from backend.activities.queries import activity_page
from backend.core.errors import Forbidden, NotFound, ValidationFailed
from backend.core.loading import load_for
from backend.core.timeutil import utcnow
from miniprogram_api import bp
from miniprogram_api.auth import current_staff, liaison_required
from miniprogram_api.endpoint import endpoint
from miniprogram_api.schemas_activities import (
    ActivityListQuery, CancelIn, InviteIn, ItemIn, OrganisedActivityListOut,
    OrganisedActivityOut, PresentIn, RecordIn,
)
from miniprogram_api.schemas_staff import ReasonIn

SETTLED = {"409": "不是待确认的报备，或已经处理过（invalid_state）"}


@bp.get("/liaison/activities")
@liaison_required
@endpoint(query=ActivityListQuery, out=OrganisedActivityListOut)
def liaison_activity_list(data):
    """本站的活动：先是待举行的（现场签到用，最近的在前），再是其他活动（已举行、已取消、代表报备待确认的，新的在前）

    分页：每页最多 20 项；把 next_cursor 作为 cursor 传回取下一页，为 null 时已到最后。
    cursor 无效时返回 422（cursor_invalid），请回到第一页。"""
    return activity_page(current_staff(), utcnow(), cursor=data["cursor"] or None)


@bp.get("/liaison/activities/<int:activity_id>")
@liaison_required
@endpoint(out=OrganisedActivityOut)
def liaison_activity(activity_id: int):
    """本站的一项活动：各位代表的回复、签到和请假，待举行时的签到码，群众反映的问题；代表报备的活动可确认或不予确认"""
    return _load(activity_id)


@bp.post("/liaison/activities/<int:activity_id>/present")
@liaison_required
@endpoint(body=PresentIn, out=OrganisedActivityOut, commit=True, errors={
    "409": "活动已结束或已取消（invalid_state），或离开始还有 1 小时以上（checkin_closed）"})
def liaison_activity_present(activity_id: int, data):
    """为受邀代表签到（代表没带手机或签到码输不进去时）

    活动开始前 1 小时起、填写活动记录之前可以签到；已签到的代表再签一次不变。
    不在邀请名单上的代表返回 422（deputy_id）。"""
    activity = _load(activity_id)
    attendance = activity.attendance_of(data["deputy_id"])
    if attendance is None:
        raise ValidationFailed(errors={"deputy_id": ["这位代表不在这次活动的邀请名单上"]})
    ops.mark_present(attendance, actor=current_staff())
    return activity


@bp.post("/liaison/activities/<int:activity_id>/record")
@liaison_required
@endpoint(body=RecordIn, out=OrganisedActivityOut, commit=True, errors={
    "409": "活动还没开始（activity_not_held），或已取消、不是组织的活动（invalid_state）"})
def liaison_activity_record(activity_id: int, data):
    """填写或修改活动记录；议事类同时写明议题、参加议事的群众人数和议定事项

    第一次保存即结束活动：没有签到、也没有请假的代表记为缺席；之后保存只修改记录。
    群众姓名只保存、不返回（只在工作台活动页上显示给联络站和代工委）。"""
    activity = _load(activity_id)
    summary = data.pop("summary")
    return ops.record_activity(activity, actor=current_staff(), summary=summary, details=data)


@bp.post("/liaison/activities/<int:activity_id>/items")
@liaison_required
@endpoint(body=ItemIn, out=OrganisedActivityOut, status=201, replay=True, commit=True, errors={
    "409": "还没有保存活动记录（activity_not_held）"})
def liaison_activity_item(activity_id: int, data):
    """登记群众在活动上反映的问题（保存活动记录之后）；同一个 idempotency_key 重试时返回第一次的结果（200）

    群众同意的，可以再转为留言；不同意的只记在活动上，也不登记手机号。群众姓名和手机号只保存、不返回。
    返回活动，新登记的问题在 items 的最后。同一个 idempotency_key 用于另一个问题时返回 422
    （idempotency_conflict）。"""
    activity = _load(activity_id)
    _, created = matters.add_item_once(activity, actor=current_staff(), **data)
    return activity, 201 if created else 200


@bp.post("/liaison/activities/<int:activity_id>/items/<int:item_id>/message")
@liaison_required
@endpoint(out=OrganisedActivityOut, commit=True, errors={
    "409": "群众没有同意将此事转为留言（consent_missing）"})
def liaison_activity_item_message(activity_id: int, item_id: int):
    """把群众反映的问题转为留言，进入本站留言队列（须群众同意）

    交给登记时选的到场代表，或联络站。每个问题只转一次：再转返回同一条留言。返回活动，
    该问题的 message_id、tracking_no 即转成的留言。"""
    activity = _load(activity_id)
    item = next((i for i in activity.items if i.id == item_id), None)
    if item is None:
        raise NotFound("没有找到这条群众反映的问题", code="activity_item_not_found")
    matters.item_to_message(item, actor=current_staff())
    return activity


@bp.post("/liaison/activities/<int:activity_id>/invite")
@liaison_required
@endpoint(body=InviteIn, out=OrganisedActivityOut, commit=True, errors={
    "409": "活动已结束或已取消（invalid_state）"})
def liaison_activity_invite(activity_id: int, data):
    """再邀请代表参加待举行的活动；被邀请的代表会收到通知，请他们回复参加或请假

    只能邀请本站在任的代表（活动的 invitable）；已经邀请过的不重复邀请，都邀请过了返回 422（deputy_ids）。"""
    activity = _load(activity_id)
    ops.invite_deputies(activity, actor=current_staff(), deputy_ids=data["deputy_ids"])
    return activity


@bp.post("/liaison/activities/<int:activity_id>/cancel")
@liaison_required
@endpoint(body=CancelIn, out=OrganisedActivityOut, commit=True, errors={
    "409": "只有待举行的活动可以取消（invalid_state）"})
def liaison_activity_cancel(activity_id: int, data):
    """取消待举行的活动（须写原因）；受邀代表（已请假的除外）会收到通知，看到原因"""
    return ops.cancel_activity(_load(activity_id), actor=current_staff(), reason=data["reason"])


@bp.post("/liaison/activities/<int:activity_id>/confirm")
@liaison_required
@endpoint(out=OrganisedActivityOut, commit=True, errors=SETTLED)
def liaison_activity_confirm(activity_id: int):
    """确认代表报备的活动，计入履职档案；代表会收到通知

    已处理过的报备返回 409 invalid_state。"""
    return ops.confirm_report(_load(activity_id), actor=current_staff())


@bp.post("/liaison/activities/<int:activity_id>/reject")
@liaison_required
@endpoint(body=ReasonIn, out=OrganisedActivityOut, commit=True, errors=SETTLED)
def liaison_activity_reject(activity_id: int, data):
    """不予确认代表报备的活动（须写原因，代表会看到）"""
    return ops.reject_report(_load(activity_id), actor=current_staff(), reason=data["reason"])


def _load(activity_id: int) -> Activity:
    return load_for(current_staff(), Activity, activity_id, policy.can_manage,
                    missing=NotFound("没有找到这项活动", code="activity_not_found"),
                    refused=Forbidden("这项活动不归您的联络站管理", code="activity_forbidden"))
