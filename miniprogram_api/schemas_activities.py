"""Schemas of deputy mode's activities (代表活动): answering an invitation, checking in, reporting
an own activity, and an activity as the deputy of the request sees it. The 议事 residents' names
are staff-page only: no schema here has them."""
from marshmallow import Schema, fields, pre_dump, validate

from backend.activities import policy
from backend.activities.models import ACTIVITY_KIND_LABELS, ACTIVITY_KINDS
from backend.activities.operations import ANSWERS, REASON_MAX, SUMMARY_MAX, TITLE_MAX
from backend.activities.queries import deputy_actions
from backend.core.timeutil import utcnow
from miniprogram_api.auth import current_staff
from miniprogram_api.schemas import In, LocalDateTime, RowId, text_field

_TIME = {"invalid": "时间格式应为 09:00"}


# ---- input ----

class AnswerIn(In):
    answer = fields.Str(required=True, load_only=True, validate=validate.OneOf(
        list(ANSWERS), error="请选择 accept（参加）或 excuse（请假）"),
        metadata={"enum": list(ANSWERS), "description": "accept：参加；excuse：请假（须写原因）"})
    reason = text_field(max_length=REASON_MAX, load_only=True,
                        metadata={"description": "请假原因，请假时必填"})


class CheckInIn(In):
    code = text_field(required=True, max_length=8, load_only=True,
                      metadata={"description": "组织者手机上显示的 6 位签到码"})


class ReportIn(In):
    kind = fields.Str(required=True, load_only=True, validate=validate.OneOf(
        ACTIVITY_KINDS, error="请选择活动类型"), metadata={"enum": list(ACTIVITY_KINDS)})
    title = text_field(required=True, max_length=TITLE_MAX, load_only=True)
    place = text_field(required=True, max_length=200, load_only=True)
    date = fields.Date(required=True, load_only=True, metadata={"description": "北京时间的日期"})
    start = fields.Time(required=True, load_only=True, error_messages=_TIME,
                        metadata={"description": "开始时间（北京时间），如 09:00"})
    end = fields.Time(required=True, load_only=True, error_messages=_TIME,
                      metadata={"description": "结束时间（北京时间），如 11:30"})
    station_id = RowId(required=True, load_only=True, metadata={"description": "报备给本人所在的哪个联络站"})
    summary = text_field(required=True, max_length=SUMMARY_MAX, load_only=True,
                         metadata={"description": "活动情况"})


# ---- output ----

class DeliberationOut(Schema):
    """议事 only: the topic, how many residents took part (never who), what was agreed."""
    topic = fields.Str(dump_only=True)
    resident_count = fields.Int(dump_only=True, allow_none=True)
    agreed = fields.Str(dump_only=True, metadata={"description": "议定事项"})


class ActivityOut(Schema):
    id = fields.Int(dump_only=True)
    kind = fields.Str(dump_only=True)
    kind_label = fields.Str(dump_only=True)
    origin = fields.Str(dump_only=True, metadata={"description": "organised：组织的；reported：本人报备的"})
    status = fields.Str(dump_only=True)
    status_label = fields.Str(dump_only=True)
    status_note = fields.Str(dump_only=True, metadata={"description": "取消或不予确认的原因"})
    title = fields.Str(dump_only=True)
    place = fields.Str(dump_only=True)
    organiser = fields.Str(dump_only=True)
    starts_at = LocalDateTime(dump_only=True)
    ends_at = LocalDateTime(dump_only=True)
    summary = fields.Str(dump_only=True, metadata={"description": "活动记录"})
    deliberation = fields.Method("_deliberation", dump_only=True, allow_none=True,
                                 metadata={"type": "object", "description": "议事情况（仅议事类活动）"})
    my_status = fields.Str(dump_only=True, allow_none=True, metadata={
        "description": "invited 待回复、accepted 参加、excused 请假、attended 已到、absent 缺席"})
    my_status_label = fields.Str(dump_only=True, allow_none=True)
    my_reason = fields.Str(dump_only=True, allow_none=True, metadata={"description": "我的请假原因"})
    actions = fields.List(fields.Str(), dump_only=True, metadata={
        "description": "现在可以做的：answer（回复参加或请假）、check_in（输入签到码签到）；"
                       "联络员：confirm、reject（处理代表的报备）"})

    @pre_dump
    def _mine(self, activity, **kwargs):
        mine = activity.attendance_of(getattr(current_staff(), "deputy_id", None))
        activity.my_status = mine.status if mine else None
        activity.my_status_label = mine.status_label if mine else None
        activity.my_reason = mine.reason if mine else None
        activity.actions = deputy_actions(activity, mine, utcnow())
        return activity

    def _deliberation(self, activity):
        if not activity.is_deliberation or not activity.topic:
            return None
        return DeliberationOut().dump(activity)


class StationChoiceOut(Schema):
    id = fields.Int(dump_only=True)
    name = fields.Str(dump_only=True)


class KindOut(Schema):
    value = fields.Str(dump_only=True)
    label = fields.Str(dump_only=True)


class ActivityListOut(Schema):
    upcoming = fields.List(fields.Nested(ActivityOut), dump_only=True,
                           metadata={"description": "待举行的活动（邀请和签到），最近的在前"})
    recent = fields.List(fields.Nested(ActivityOut), dump_only=True,
                         metadata={"description": "其他活动（已举行、已取消、报备的），新的在前，最多 30 项"})
    report_stations = fields.List(fields.Nested(StationChoiceOut), dump_only=True,
                                  metadata={"description": "报备活动时可选的联络站（本人所在的）"})
    kinds = fields.Function(lambda _: [{"value": k, "label": v}
                                       for k, v in ACTIVITY_KIND_LABELS.items()],
                            dump_only=True, metadata={"type": "array", "items": {"type": "object"}})


class AttendanceOut(Schema):
    deputy_id = fields.Int(dump_only=True)
    deputy_name = fields.Str(attribute="deputy.name", dump_only=True)
    status = fields.Str(dump_only=True)
    status_label = fields.Str(dump_only=True)
    reason = fields.Str(dump_only=True, metadata={"description": "请假原因"})


class OrganisedActivityOut(ActivityOut):
    """The organiser's view (the page a liaison's activity notice opens): every deputy's answer;
    actions: confirm / reject for a deputy's report awaiting the station."""
    attendances = fields.List(fields.Nested(AttendanceOut), dump_only=True)

    @pre_dump
    def _mine(self, activity, **kwargs):
        activity.my_status = activity.my_status_label = activity.my_reason = None
        activity.actions = (["confirm", "reject"]
                            if activity.status == "reported"
                            and policy.can_manage(current_staff(), activity) else [])
        return activity
