"""Schemas of deputy and liaison mode: list filters, case actions, and a message as the staff
user of the request sees it (full timeline, deadlines, the actions they may take now)."""
from marshmallow import Schema, fields, post_load, pre_dump, validate

from backend.messages import display as views
from backend.messages.queue import QueueFilters
from miniprogram_api.auth import current_staff
from miniprogram_api.schemas import (
    In, LocalDateTime, RowId, id_cursor, keyset_cursor, text_field,
)
from miniprogram_api.schemas_messages import (
    EventOut, MessageOut, MessageSummaryOut, MessageView,
)

INBOX_VIEWS = ("todo", "all")


# ---- input ----

class InboxQuery(In):
    status = fields.Str(load_default="todo", validate=validate.OneOf(
        INBOX_VIEWS, error="请选择 todo（待我答复）或 all（全部）"), metadata={"enum": list(INBOX_VIEWS)})
    cursor = id_cursor()


class QueueQuery(In):
    """The liaison queue's filters (backend.messages.queue.QueueFilters) and the cursor."""
    station_id = RowId(load_default=None, metadata={"description": "不填：我所有的联络站"})
    status = text_field(max_length=20, metadata={
        "description": "todo（待办，默认）、all，或一个留言状态"})
    deputy_id = RowId(load_default=None)
    category = text_field(max_length=20)
    date_from = fields.Date(load_default=None)
    date_to = fields.Date(load_default=None)
    overdue = fields.Bool(load_default=False)
    held = fields.Bool(load_default=False)
    q = text_field(max_length=50, metadata={
        "description": "搜索留言：关键词须全部出现（可以是更长的词的一部分），结果新的在前"})
    cursor = keyset_cursor()

    @post_load
    def _filters(self, data, **kwargs):
        station_id, cursor = data.pop("station_id"), data.pop("cursor")
        filters = QueueFilters(station_ids=[station_id] if station_id else [],
                               **{**data, "status": data["status"] or "todo"})
        return {"filters": filters, "cursor": cursor or None}


class ReplyIn(In):
    body = text_field(required=True, load_only=True, metadata={"description": "答复内容，居民会看到"})


class RequestInfoIn(In):
    question = text_field(required=True, load_only=True, metadata={"description": "请居民补充什么"})


class ReasonIn(In):
    """Handing back, rejecting: the reason is required (a rejected resident sees it)."""
    reason = text_field(required=True, load_only=True)


class RevealIn(In):
    reason = text_field(required=True, max_length=100, load_only=True, metadata={
        "description": "查看号码的原因，如：电话回访居民（记入审计日志）"})


class CategoryIn(In):
    category = text_field(required=True, load_only=True)


class AssignIn(In):
    deputy_id = RowId(required=True, load_only=True)


class MergeIn(In):
    into_id = RowId(load_default=None, load_only=True)
    tracking_no = text_field(max_length=30, load_only=True, metadata={"description": "或填写留言编号"})


class ForwardIn(In):
    to = text_field(required=True, load_only=True, metadata={"description": "转办单位，如 12345 热线"})
    ref = text_field(max_length=60, load_only=True, metadata={"description": "对方的编号，可不填"})


class NoteIn(In):
    text = text_field(required=True, load_only=True)


# ---- output ----

class DeadlineOut(Schema):
    label = fields.Str(dump_only=True, metadata={"description": "受理 或 答复"})
    due_at = LocalDateTime(dump_only=True)


class StaffEventOut(EventOut):
    # Staff also see what an event keeps in its data (a category change, why it was held).
    text = fields.Function(views.event_summary, dump_only=True, metadata={"type": "string"})
    is_internal = fields.Bool(dump_only=True)


class _ForStaff:
    """Staff schemas show the message to the staff user of this request."""

    @pre_dump
    def _view(self, message, **kwargs):
        return MessageView(message, viewer=current_staff())


class StaffMessageSummaryOut(_ForStaff, MessageSummaryOut):
    category = fields.Str(dump_only=True)
    assigned_deputy_name = fields.Str(attribute="assigned_deputy.name", allow_none=True,
                                      dump_default=None, dump_only=True)
    overdue = fields.Bool(dump_only=True)
    unread = fields.Bool(dump_only=True)
    deadline = fields.Nested(DeadlineOut, allow_none=True, dump_only=True)


class StaffMessageOut(MessageOut, StaffMessageSummaryOut):
    timeline = fields.List(fields.Nested(StaffEventOut), attribute="full_timeline",
                           dump_only=True)
    hold_reason = fields.Str(dump_only=True)
    forward_ref = fields.Str(dump_only=True)
    actions = fields.List(fields.Str(), dump_only=True, metadata={
        "description": "当前可以进行的操作，如 reply、assign、reveal_phone"})


# ---- liaison mode: the triage model's help ----

class LabelChanceOut(Schema):
    label = fields.Function(lambda pair: pair[0], dump_only=True, metadata={"type": "string"})
    probability = fields.Function(lambda pair: pair[1], dump_only=True, metadata={"type": "number"})


class CategorySuggestionOut(Schema):
    label = fields.Str(dump_only=True, metadata={"description": "建议的一级分类"})
    confidence = fields.Float(dump_only=True, metadata={"description": "0 到 1"})
    uncertain = fields.Bool(attribute="is_uncertain", dump_only=True, metadata={
        "description": "为 true 时模型没有把握：只能作为参考，请联络员选择"})
    top3 = fields.List(fields.Nested(LabelChanceOut), dump_only=True, metadata={
        "description": "第一名不明显领先（或不确定）时列出前三名，否则为空"})
    decision = fields.Str(allow_none=True, dump_only=True, metadata={
        "description": "accepted（采纳）或 corrected（更正）；null 为尚未处理"})
    decided_label = fields.Str(dump_only=True)


class AssigneeOut(Schema):
    kind = fields.Function(lambda r: "deputy" if r.deputy else "department", dump_only=True,
                           metadata={"type": "string", "enum": ["deputy", "department"]})
    id = fields.Function(lambda r: (r.deputy or r.department).id, dump_only=True,
                         metadata={"type": "integer"})
    name = fields.Str(attribute="label", dump_only=True)


class DuplicateOut(Schema):
    id = fields.Int(attribute="message.id", dump_only=True)
    tracking_no = fields.Str(attribute="message.tracking_no", dump_only=True)
    status = fields.Str(attribute="message.status", dump_only=True)
    excerpt = fields.Function(lambda d: d.message.body[:60], dump_only=True, metadata={"type": "string"})
    score = fields.Float(dump_only=True, metadata={"description": "相似度，0.5 到 1"})


class LiaisonMessageSummaryOut(StaffMessageSummaryOut):
    # null when the model is missing or failing: the message is there, its suggestion is not
    category_suggestion = fields.Nested(CategorySuggestionOut, allow_none=True, dump_only=True)


class LiaisonMessageOut(StaffMessageOut):
    category_suggestion = fields.Nested(CategorySuggestionOut, allow_none=True, dump_only=True)
    suggested_assignee = fields.Nested(AssigneeOut, allow_none=True, dump_only=True, metadata={
        "description": "分办规则建议的代表或承办单位"})
    duplicates = fields.List(fields.Nested(DuplicateOut), dump_only=True, metadata={
        "description": "本站较早、仍在办理、内容相近的留言，可用 merge 合并"})


HOT_WINDOWS = (7, 30, 90)


class HotIssuesQuery(In):
    days = fields.Int(load_default=30, validate=validate.OneOf(
        HOT_WINDOWS, error="请选择 7、30 或 90 天"), metadata={"enum": list(HOT_WINDOWS)})
    station_id = RowId(load_default=None, metadata={"description": "不填：我所有的联络站"})


class HotIssueOut(Schema):
    title = fields.Str(dump_only=True, metadata={"description": "第一条留言的开头"})
    heat = fields.Float(dump_only=True, metadata={"description": "热度：反映的居民人数，按最近程度衰减"})
    residents = fields.Int(dump_only=True, metadata={"description": "反映的居民人数（同一居民只算一次）"})
    last_at = LocalDateTime(dump_only=True)
    messages = fields.List(fields.Nested(StaffMessageSummaryOut), dump_only=True)


class HotIssuesOut(Schema):
    items = fields.List(fields.Nested(HotIssueOut), dump_only=True)


class InboxPageOut(Schema):
    items = fields.List(fields.Nested(StaffMessageSummaryOut), dump_only=True)
    next_cursor = fields.Str(allow_none=True, dump_only=True)
    unread_count = fields.Int(dump_only=True)


class QueueCountsOut(Schema):
    todo = fields.Int(dump_only=True)
    held = fields.Int(dump_only=True)
    new = fields.Int(dump_only=True)
    overdue = fields.Int(dump_only=True)


class QueuePageOut(Schema):
    items = fields.List(fields.Nested(LiaisonMessageSummaryOut), dump_only=True)
    next_cursor = fields.Str(allow_none=True, dump_only=True)
    counts = fields.Nested(QueueCountsOut, dump_only=True)


class PhoneOut(Schema):
    phone = fields.Str(dump_only=True, metadata={"description": "完整手机号；每次查看都会记入审计日志"})


# ---- deputy mode: help with an answer ----

class EarlierAnswersQuery(In):
    q = fields.Str(load_default=None, validate=validate.Length(max=50, error="不能超过 50 个字"),
                   metadata={"description": "关键词（空格分隔，须全部出现）；不传时用这条留言的关键词"})


class EarlierAnswerOut(Schema):
    reply_id = fields.Int(dump_only=True)
    category = fields.Str(dump_only=True)
    answered_at = LocalDateTime(dump_only=True)
    deputy_name = fields.Str(dump_only=True)
    text = fields.Str(dump_only=True, metadata={
        "description": "答复全文（长串数字已隐去），可用作新答复的开头；不含居民的留言和身份"})


class EarlierAnswersOut(Schema):
    q = fields.Str(dump_only=True, metadata={"description": "实际查找的关键词"})
    items = fields.List(fields.Nested(EarlierAnswerOut), dump_only=True)


class AnswerDraftIn(In):
    body = text_field(required=True, max_length=4000, load_only=True,
                      metadata={"description": "还没有发送的答复草稿"})


class HintOut(Schema):
    code = fields.Str(dump_only=True, metadata={
        "enum": ["off_topic", "no_action", "no_body", "no_date", "late"]})
    message = fields.Str(dump_only=True)


class AnswerHintsOut(Schema):
    hints = fields.List(fields.Nested(HintOut), dump_only=True, metadata={
        "description": "发送前的提示，仅供参考，不影响发送"})
