"""Liaison mode: an activity of my station (the page an organiser's activity notice opens:
pages/liaison/activity?id=) with every deputy's answer, and confirming or rejecting a deputy's
report of their own activity. The rules are backend/activities'."""
from backend.activities import operations as ops
from backend.activities import policy
from backend.activities.models import Activity
from backend.core.errors import Forbidden, NotFound
from backend.core.loading import load_for
from miniprogram_api import bp
from miniprogram_api.auth import current_staff, liaison_required
from miniprogram_api.endpoint import endpoint
from miniprogram_api.schemas_activities import OrganisedActivityOut
from miniprogram_api.schemas_staff import ReasonIn

SETTLED = {"409": "不是待确认的报备，或已经处理过（invalid_state）"}


@bp.get("/liaison/activities/<int:activity_id>")
@liaison_required
@endpoint(out=OrganisedActivityOut)
def liaison_activity(activity_id: int):
    """本站的一项活动：各位代表的回复、签到和请假；代表报备的活动可确认或不予确认"""
    return _load(activity_id)


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
