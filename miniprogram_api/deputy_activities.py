"""Deputy mode: my activities (代表活动) — the invitations and what is ahead, one activity (the
page an activity notice opens: pages/deputy/activity?id=), answering 参加/请假, checking in with
the organiser's code, and reporting an activity of my own. The rules are backend/activities'."""
from backend.activities import operations as ops
from backend.activities import policy
from backend.activities.models import Activity
from backend.activities.queries import activity_page
from backend.core.errors import Forbidden, NotFound
from backend.core.extensions import db
from backend.core.loading import load_for
from backend.core.ratelimit import limiter
from backend.core.timeutil import utcnow
from miniprogram_api import bp
from miniprogram_api.auth import current_staff, deputy_required
from miniprogram_api.endpoint import endpoint
from miniprogram_api.schemas_activities import (
    ActivityListOut, ActivityListQuery, ActivityOut, AnswerIn, CheckInIn, ReportIn,
)

# The operations' argument names → the report body's fields.
REPORT_FIELDS = {"starts_at": "start", "ends_at": "end"}
CHECKIN_RATE = "10 per 10 minutes"  # six digits are guessable at speed


@bp.get("/deputy/activities")
@deputy_required
@endpoint(query=ActivityListQuery, out=ActivityListOut)
def deputy_activity_list(data):
    """我的活动：先是待举行的（回复邀请、签到，最近的在前），再是其他活动（已举行、已取消、报备的，新的在前）；以及报备活动可选的联络站和类型

    分页：每页最多 20 项；把 next_cursor 作为 cursor 传回取下一页，为 null 时已到最后。
    cursor 无效时返回 422（cursor_invalid），请回到第一页。"""
    staff = current_staff()
    page = activity_page(staff, utcnow(), cursor=data["cursor"] or None)
    return {"upcoming": page.upcoming, "recent": page.recent, "next_cursor": page.next_cursor,
            "report_stations": [s for s in staff.deputy.stations if s.is_active]}


@bp.get("/deputy/activities/<int:activity_id>")
@deputy_required
@endpoint(out=ActivityOut)
def deputy_activity(activity_id: int):
    """一项活动：时间地点、我的参加情况、现在可以做的；议事类附议题、参加群众人数和议定事项"""
    return _load(activity_id)


@bp.post("/deputy/activities/<int:activity_id>/answer")
@deputy_required
@endpoint(body=AnswerIn, out=ActivityOut, commit=True, errors={
    "409": "活动已开始（activity_started）、已签到（already_checked_in）、已取消或已结束（invalid_state）"})
def deputy_activity_answer(activity_id: int, data):
    """回复邀请：参加，或请假（须写原因）；活动开始前可以改

    活动已开始返回 409 activity_started；已取消或已结束返回 409 invalid_state。"""
    activity = _load(activity_id)
    ops.answer_invitation(activity.attendance_of(current_staff().deputy_id),
                          actor=current_staff(), answer=data["answer"], reason=data["reason"])
    return activity


@bp.post("/deputy/activities/<int:activity_id>/check-in")
@deputy_required
@limiter.limit(CHECKIN_RATE, key_func=lambda: f"mp-activity-checkin:{current_staff().id}")
@endpoint(body=CheckInIn, out=ActivityOut, commit=True, errors={
    "409": "不在签到时间内（checkin_closed），或活动已取消、已结束（invalid_state）",
    "429": "10 分钟内签到码输错太多次（rate_limited）"})
def deputy_activity_check_in(activity_id: int, data):
    """输入组织者出示的签到码签到（活动开始前 1 小时到结束后 2 小时内）

    不在邀请名单上返回 403 not_invited；不在签到时间内返回 409 checkin_closed；签到码不对返回 422。"""
    activity = db.session.get(Activity, activity_id)
    if activity is None:
        raise _missing()
    ops.check_in_with_code(activity, actor=current_staff(), code=data["code"])
    return activity


@bp.post("/deputy/activities")
@deputy_required
@endpoint(body=ReportIn, out=ActivityOut, status=201, commit=True, error_fields=REPORT_FIELDS)
def deputy_activity_report(data):
    """报备我自己的活动（如走访本选区群众），联络站确认后计入履职档案

    只能报备已经结束的活动，报备给本人所在的联络站。"""
    day, start, end = data.pop("date"), data.pop("start"), data.pop("end")
    return ops.report_activity(
        current_staff().deputy, actor=current_staff(), **data,
        starts_at=ops.local_datetime(day, start), ends_at=ops.local_datetime(day, end))


def _load(activity_id: int) -> Activity:
    return load_for(current_staff(), Activity, activity_id, policy.can_view,
                    missing=_missing(),
                    refused=Forbidden("这项活动没有邀请您", code="activity_forbidden"))


def _missing() -> NotFound:
    return NotFound("没有找到这项活动", code="activity_not_found")
