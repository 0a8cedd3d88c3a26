"""Schemas of the activities (代表活动) in deputy mode (answering an invitation, checking in,
reporting an own activity, an activity as the deputy of the request sees it) and in liaison mode
(the organiser's list and page with the check-in code, ticking a deputy present, the record, the
matters residents raised). The 议事 residents' names and a matter's resident name are staff-page
only: the organiser may send them, but no output schema here has them."""
from marshmallow import Schema, fields, pre_dump, validate

from backend.activities import policy
from backend.activities.matters import NAME_MAX
from backend.activities.models import ACTIVITY_KIND_LABELS, ACTIVITY_KINDS
from backend.activities.operations import (
    AGREED_MAX, ANSWERS, NAMES_MAX, REASON_MAX, RESIDENTS_MAX, SUMMARY_MAX, TITLE_MAX, TOPIC_MAX,
)
from backend.activities.queries import deputy_actions, organiser_actions, still_invitable
from backend.core.extensions import db
from backend.core.timeutil import utcnow
from backend.messages.models import Message
from backend.messages.operations import BODY_MAX
from backend.privacy.consent import phone_consent
from config import BaseConfig
from miniprogram_api.auth import current_staff
from miniprogram_api.schemas import In, LocalDateTime, RowId, keyset_cursor, text_field

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


class PresentIn(In):
    deputy_id = RowId(required=True, load_only=True, metadata={
        "description": "为哪位受邀代表签到（attendances 里的 deputy_id）"})


class RecordIn(In):
    """The record afterwards; the 议事 fields only for kind deliberation (other kinds ignore
    them). Which are required and how long is the operation's rule (record_activity)."""
    summary = text_field(required=True, max_length=SUMMARY_MAX, load_only=True,
                         metadata={"description": "活动情况、收集到的意见（5 到 2000 个字）"})
    topic = text_field(max_length=TOPIC_MAX, load_only=True,
                       metadata={"description": "议题（议事类必填）"})
    resident_count = fields.Int(
        load_default=None, allow_none=True, load_only=True,
        validate=validate.Range(min=0, max=RESIDENTS_MAX,
                                error=f"参加议事的群众人数应为 0 到 {RESIDENTS_MAX} 之间的整数"),
        metadata={"description": "参加议事的群众人数（议事类必填）"})
    resident_names = text_field(
        max_length=NAMES_MAX, load_default=None, allow_none=True, load_only=True,
        metadata={"description": "参加群众姓名，可不填；只有联络站和代工委在工作台活动页上看得到，"
                                 "小程序不会返回。不传或传 null：保留已登记的姓名；传空字符串：清除"})
    agreed = text_field(max_length=AGREED_MAX, load_only=True, metadata={
        "description": "议定事项（议事类必填）；没有议定的，写明“未形成议定事项”及原因"})


class CancelIn(In):
    reason = text_field(required=True, max_length=REASON_MAX, load_only=True, metadata={
        "description": "取消原因，受邀代表会在通知里看到"})


class InviteIn(In):
    deputy_ids = fields.List(
        RowId(), required=True, load_only=True,
        validate=validate.Length(min=1, max=200, error="请选择 1 到 200 位要邀请的代表"),
        metadata={"description": "要邀请的代表（活动的 invitable 里的 id）；已经邀请过的不重复邀请"})


class ActivityListQuery(In):
    """A page of a deputy's or an organiser's activities."""
    cursor = keyset_cursor()


class ItemIn(In):
    """A matter a resident raised at the activity (after the record is saved)."""
    summary = text_field(required=True, max_length=BODY_MAX, load_only=True,
                         metadata={"description": "群众反映的问题，尽量用群众的原话"})
    resident_name = text_field(max_length=NAME_MAX, load_only=True, metadata={
        "description": "群众姓名，可不填；只有联络站和代工委在工作台上看得到，小程序不会返回"})
    phone = text_field(max_length=20, load_only=True, metadata={
        "description": "11位手机号，可不填，须群众同意转为留言才能登记。填写处须向群众说明："
                       + phone_consent("matter", BaseConfig.RETENTION_MONTHS)})
    deputy_id = RowId(load_default=None, allow_none=True, load_only=True, metadata={
        "description": "交给哪位到场的代表（attendances 里 status 为 attended 的）；不填：交联络站"})
    resident_consent = fields.Bool(required=True, load_only=True, error_messages={
        "required": "请选择群众是否同意将此事转为留言"}, metadata={
        "description": "群众是否同意将此事转为留言，由联络站跟踪办理；不同意的只记在活动上"})
    idempotency_key = text_field(required=True, max_length=64, load_only=True, metadata={
        "description": "每登记一个新问题生成一个（8–64位），网络重试时原样再发"})


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
                       "联络员：confirm、reject（处理代表的报备）、mark_present（为代表签到）、"
                       "record（填写或修改活动记录）、add_item（登记群众反映的问题）、"
                       "invite（再邀请代表）、cancel（取消活动）"})

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
    """One page of a deputy's list, paged as the organiser's (OrganisedActivityListOut)."""
    upcoming = fields.List(fields.Nested(ActivityOut), dump_only=True, metadata={
        "description": "待举行的活动（邀请和签到），最近的在前；接在上一页的 upcoming 后面"})
    recent = fields.List(fields.Nested(ActivityOut), dump_only=True, metadata={
        "description": "其他活动（已举行、已取消、报备的），新的在前；待举行的列完之后才有，"
                       "接在上一页的 recent 后面"})
    next_cursor = fields.Str(allow_none=True, dump_only=True,
                             metadata={"description": "下一页的 cursor；没有更多时为 null"})
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


class ItemOut(Schema):
    """A matter raised at the activity: never the resident's name or phone, only whether
    they were written down (the staff page shows the name to the organiser)."""
    id = fields.Int(dump_only=True)
    summary = fields.Str(dump_only=True)
    deputy_id = fields.Int(dump_only=True, allow_none=True,
                           metadata={"description": "交给的到场代表；null：交联络站"})
    deputy_name = fields.Str(attribute="deputy.name", dump_only=True, allow_none=True,
                             dump_default=None)
    resident_consent = fields.Bool(dump_only=True, metadata={"description": "群众同意转为留言"})
    named = fields.Function(lambda item: bool(item.resident_name), dump_only=True,
                            metadata={"type": "boolean", "description": "已登记群众姓名"})
    phone_recorded = fields.Function(lambda item: bool(item.phone_encrypted), dump_only=True,
                                     metadata={"type": "boolean", "description": "已登记手机号"})
    message_id = fields.Int(dump_only=True, allow_none=True,
                            metadata={"description": "转成的留言（GET /liaison/messages/<id>）"})
    tracking_no = fields.Method("_tracking_no", dump_only=True, allow_none=True,
                                metadata={"type": "string", "description": "转成的留言的编号"})
    actions = fields.Function(
        lambda item: ["to_message"] if item.resident_consent and not item.message_id else [],
        dump_only=True, metadata={"type": "array", "items": {"type": "string"},
                                  "description": "to_message：可以转为留言"})

    def _tracking_no(self, item):
        message = db.session.get(Message, item.message_id) if item.message_id else None
        return message.tracking_no if message else None


class DeputyChoiceOut(Schema):
    id = fields.Int(dump_only=True)
    name = fields.Str(dump_only=True)


class OrganisedDeliberationOut(DeliberationOut):
    resident_names_recorded = fields.Function(
        lambda activity: bool(activity.resident_names), dump_only=True,
        metadata={"type": "boolean", "description": "已登记参加群众姓名（姓名只在工作台活动页显示）"})


class OrganisedActivitySummaryOut(ActivityOut):
    """An activity in the organiser's list; actions: what the operations allow the organiser
    now."""

    @pre_dump
    def _mine(self, activity, **kwargs):
        activity.my_status = activity.my_status_label = activity.my_reason = None
        activity.actions = (organiser_actions(activity, utcnow())
                            if policy.can_manage(current_staff(), activity) else [])
        return activity

    def _deliberation(self, activity):
        if not activity.is_deliberation or not activity.topic:
            return None
        return OrganisedDeliberationOut().dump(activity)


class OrganisedActivityOut(OrganisedActivitySummaryOut):
    """The organiser's view (the page a liaison's activity notice opens): every deputy's
    answer, the check-in code while it is of use, the matters residents raised."""
    attendances = fields.List(fields.Nested(AttendanceOut), dump_only=True)
    checkin_code = fields.Method("_code", dump_only=True, allow_none=True, metadata={
        "type": "string", "description": "签到码：活动待举行时显示在组织者手机上，请在现场出示，"
                                         "代表输入即可签到（活动开始前 1 小时到结束后 2 小时内有效）；"
                                         "其他时候为 null"})
    items = fields.List(fields.Nested(ItemOut), dump_only=True,
                        metadata={"description": "群众反映的问题（保存活动记录后登记）"})
    invitable = fields.List(fields.Nested(DeputyChoiceOut), attribute="invitable_deputies",
                            dump_only=True, metadata={
        "description": "还可以邀请的代表（本站在任、尚未邀请的）；活动待举行时才有，其他时候为空"})

    @pre_dump
    def _invitable(self, activity, **kwargs):
        activity.invitable_deputies = (still_invitable(activity)
                                       if policy.can_manage(current_staff(), activity) else [])
        return activity

    def _code(self, activity):
        return activity.checkin_code if policy.can_see_code(current_staff(), activity) else None


class OrganisedActivityListOut(Schema):
    """One page of the organiser's list: all the activities ahead first, then the others; a
    page has at most 20 in all, the end of upcoming and the start of recent when it spans both."""
    upcoming = fields.List(fields.Nested(OrganisedActivitySummaryOut), dump_only=True, metadata={
        "description": "本站待举行的活动（还可以签到的），最近的在前；接在上一页的 upcoming 后面"})
    recent = fields.List(fields.Nested(OrganisedActivitySummaryOut), dump_only=True, metadata={
        "description": "本站其他活动（已举行、已取消、代表报备的），新的在前；待举行的列完之后才有，"
                       "接在上一页的 recent 后面"})
    next_cursor = fields.Str(allow_none=True, dump_only=True,
                             metadata={"description": "下一页的 cursor；没有更多时为 null"})
