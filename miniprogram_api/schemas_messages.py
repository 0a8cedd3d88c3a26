"""Schemas of messages: what a resident sends, and a message as its writer sees it."""
import functools

from marshmallow import Schema, ValidationError, fields, pre_dump, validate, validates_schema
from werkzeug.datastructures import FileStorage

from backend.messages.models import RATING_LABELS, RATINGS
from backend.suggestions.models import SUGGESTION_RATINGS
from backend.messages import display as views
from backend.messages import operations as ops
from backend.messages import routing, triage
from backend.suggestions import residents as outcome
from backend.messages.queue import is_overdue
from backend.privacy.consent import phone_consent
from config import BaseConfig
from miniprogram_api.schemas import In, LocalDateTime, RowId, text_field

EXCERPT_LENGTH = 60
DEFAULT_MONTHS = BaseConfig.RETENTION_MONTHS  # the document is built without an app


class MessageView:
    """A message with the values the API shows beside its columns, each computed only when a
    schema asks for it. `viewer` is the staff user a staff schema shows it to."""

    def __init__(self, message, viewer=None):
        self.message, self.viewer = message, viewer

    def __getattr__(self, name):
        return getattr(self.message, name)

    excerpt = property(lambda self: self.message.body[:EXCERPT_LENGTH])
    phone = property(lambda self: ops.masked_phone(self.message))
    answer = property(lambda self: ops.answer_for(self.message))
    rating = property(lambda self: ops.latest_rating(self.message))
    public_timeline = property(lambda self: ops.public_timeline(self.message))
    full_timeline = property(lambda self: ops.full_timeline(self.message))
    # rate() closes or reopens an answered message; add_info answers an info request.
    can_rate = property(lambda self: self.message.status in ops.TRANSITIONS["close"][0])
    can_add_info = property(lambda self: self.message.status in ops.TRANSITIONS["add_info"][0])
    overdue = property(lambda self: is_overdue(self.message))
    unread = property(lambda self: views.is_unread(self.message, self.viewer.deputy_id))
    actions = property(lambda self: sorted(views.allowed_actions(self.viewer, self.message)))
    # The deputy suggestions the message fed, as its writer sees them (MyMessageOut only).
    resident_suggestions = property(lambda self: outcome.suggestions_for_message(self.message))
    # The triage model's help (liaison schemas only).
    duplicates = property(lambda self: triage.duplicates_of(self.message))

    @functools.cached_property
    def category_suggestion(self):
        return triage.suggestion_for(self.message)

    @property
    def suggested_assignee(self):
        t = self.category_suggestion
        return routing.route(self.message, self.message.category or (t.label if t else None))

    @property
    def deadline(self):
        clock = views.next_deadline(self.message)
        return {"label": clock[0], "due_at": clock[1]} if clock else None


# ---- input ----

class PhotoUploadIn(In):
    photo = fields.Raw(required=True, load_only=True, metadata={
        "type": "string", "format": "binary", "minLength": 1,
        "description": "一张 JPG、PNG 或 WebP 照片，不能是空文件"})

    @validates_schema
    def _is_file(self, data, **kwargs):
        photo = data.get("photo")
        if not isinstance(photo, FileStorage):
            raise ValidationError("请选择一张照片", "photo")
        if not photo.stream.read(1):
            raise ValidationError("照片是空的，请重新选择", "photo")
        photo.stream.seek(0)


class MessageIn(In):
    """Length and format rules are the operation's (submit_message); this checks shapes."""
    deputy_token = text_field(max_length=64, load_only=True,
                        metadata={"description": "写给哪位代表（二维码 token）"})
    station_id = RowId(load_default=None, load_only=True,
                       metadata={"description": "写给联络站（不指定代表时）"})
    body = text_field(required=True, load_only=True)
    phone = text_field(load_only=True, metadata={"description": "11位手机号，可不填。填写处须向居民显示："
                                                 + phone_consent("message", DEFAULT_MONTHS)})
    place = text_field(load_only=True, metadata={"description": "问题发生的地点，可不填"})
    may_publish = fields.Bool(load_default=False, load_only=True,
                              metadata={"description": "是否同意公开"})
    photo_ids = fields.List(RowId(), load_default=list, load_only=True,
                            metadata={"description": "先用 POST /photos 上传得到的照片编号"})
    idempotency_key = text_field(required=True, max_length=64, load_only=True, metadata={
        "description": "每次新写的留言生成一个（8–64位），网络重试时原样再发"})

    @validates_schema
    def _has_target(self, data, **kwargs):
        if not data.get("deputy_token") and not data.get("station_id"):
            raise ValidationError("请选择要留言的代表或联络站", "deputy_token")


class MyMessagesQuery(In):
    cursor = RowId(load_default=None, error="翻页参数无效",
                   metadata={"description": "上一页返回的 next_cursor；第一页不传"})


class RatingIn(In):
    value = fields.Str(required=True, load_only=True, validate=validate.OneOf(
        RATINGS, error="请选择满意、基本满意或不满意"), metadata={"enum": list(RATINGS)})
    comment = text_field(max_length=500, load_only=True)


class SuggestionRatingIn(In):
    value = fields.Str(required=True, load_only=True, validate=validate.OneOf(
        SUGGESTION_RATINGS, error="请选择满意、基本满意或不满意"),
        metadata={"enum": list(SUGGESTION_RATINGS)})
    comment = text_field(max_length=outcome.COMMENT_MAX, load_only=True)


class InfoIn(In):
    text = text_field(required=True, load_only=True, metadata={"description": "按代表的要求补充的内容"})


# ---- output ----

class PhotoOut(Schema):
    id = fields.Int(dump_only=True)
    width = fields.Int(dump_only=True)
    height = fields.Int(dump_only=True)


class ReceiptOut(Schema):
    """The receipt of a submission; a retry with the same key gets the same one."""
    id = fields.Int(attribute="message.id", dump_only=True)
    tracking_no = fields.Str(attribute="message.tracking_no", dump_only=True)
    lookup_code = fields.Str(dump_only=True, metadata={"description": "查询码，凭留言编号和它在网页上查询"})
    status = fields.Str(attribute="message.status", dump_only=True)
    status_label = fields.Str(attribute="message.status_label", dump_only=True)
    created_at = LocalDateTime(attribute="message.created_at", dump_only=True)


class EventOut(Schema):
    kind = fields.Str(dump_only=True)
    label = fields.Function(lambda e: views.EVENT_LABELS.get(e.kind, ""), dump_only=True,
                            metadata={"type": "string"})
    actor = fields.Str(attribute="actor_label", dump_only=True)
    to_status = fields.Str(allow_none=True, dump_only=True)
    text = fields.Str(dump_only=True)
    created_at = LocalDateTime(dump_only=True)


class AnswerOut(Schema):
    body = fields.Str(dump_only=True)
    deputy_name = fields.Str(attribute="deputy.name", allow_none=True, dump_default=None,
                            dump_only=True)
    created_at = LocalDateTime(dump_only=True)


class RatingOut(Schema):
    """The resident's rating of the latest answer, with the words they added to it."""
    value = fields.Str(dump_only=True, metadata={"enum": list(RATINGS)})
    label = fields.Function(lambda r: RATING_LABELS[r.value], dump_only=True,
                            metadata={"type": "string", "description": "满意、基本满意或不满意"})
    comment = fields.Str(dump_only=True, metadata={"description": "居民评价时还想说的话，可能为空"})
    created_at = LocalDateTime(dump_only=True)


class MessageSummaryOut(Schema):
    id = fields.Int(dump_only=True)
    tracking_no = fields.Str(dump_only=True)
    status = fields.Str(dump_only=True)
    status_label = fields.Str(dump_only=True)
    excerpt = fields.Str(dump_only=True)
    deputy_name = fields.Str(attribute="deputy.name", allow_none=True, dump_default=None,
                            dump_only=True)
    station_name = fields.Str(attribute="station.name", dump_only=True)
    created_at = LocalDateTime(dump_only=True)
    updated_at = LocalDateTime(dump_only=True)

    @pre_dump
    def _view(self, message, **kwargs):
        return MessageView(message)


class MessageOut(MessageSummaryOut):
    """A message as its writer sees it: the public timeline, the answer, what they may do."""
    body = fields.Str(dump_only=True)
    place = fields.Str(dump_only=True)
    may_publish = fields.Bool(dump_only=True)
    phone = fields.Str(dump_only=True, metadata={"description": "打码后的手机号，如 138****1234"})
    photos = fields.List(fields.Nested(PhotoOut), dump_only=True)
    timeline = fields.List(fields.Nested(EventOut), attribute="public_timeline", dump_only=True)
    answer = fields.Nested(AnswerOut, allow_none=True, dump_only=True)
    rating = fields.Nested(RatingOut, allow_none=True, dump_only=True,
                           metadata={"description": "居民对最近一次答复的评价；未评价时为 null"})
    reject_reason = fields.Str(dump_only=True)
    forward_to = fields.Str(dump_only=True)
    can_rate = fields.Bool(dump_only=True)
    can_add_info = fields.Bool(dump_only=True)


class _MaybeLocalDateTime(LocalDateTime):
    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else super()._serialize(value, attr, obj, **kwargs)


class SuggestionMilestoneOut(Schema):
    date = fields.Str(dump_only=True, metadata={"description": "计划日期，如 2026-03-01"})
    text = fields.Str(dump_only=True)


class SuggestionAnswerOut(Schema):
    """The lead department's latest answer, as residents may read it."""
    department = fields.Str(dump_only=True)
    resolution = fields.Str(dump_only=True, metadata={"enum": ["A", "B", "C"]})
    resolution_label = fields.Str(dump_only=True)
    body = fields.Str(dump_only=True)
    answered_at = LocalDateTime(dump_only=True)
    promised_by = fields.Date(allow_none=True, dump_only=True,
                              metadata={"description": "B类：计划完成日期"})
    milestones = fields.List(fields.Nested(SuggestionMilestoneOut), dump_only=True,
                             metadata={"description": "B类：办理计划"})
    reason = fields.Str(dump_only=True, metadata={"description": "C类：暂时难以解决的原因"})


class SuggestionFollowUpOut(Schema):
    """回头看 of a B-class promise, once done."""
    kept = fields.Bool(allow_none=True, dump_only=True)
    kept_label = fields.Str(dump_only=True)
    result = fields.Str(dump_only=True)
    done_at = _MaybeLocalDateTime(allow_none=True, dump_only=True)


class SuggestionStepOut(Schema):
    at = LocalDateTime(dump_only=True)
    line = fields.Str(dump_only=True, metadata={"description": "这一步办理情况的说明"})


class ResidentSuggestionOut(Schema):
    """A deputy suggestion the message fed, in plain words: no internal notes, no staff."""
    id = fields.Int(dump_only=True)
    number = fields.Str(dump_only=True, metadata={"description": "建议编号"})
    title = fields.Str(dump_only=True)
    deputy_name = fields.Str(dump_only=True, metadata={"description": "如「王建国代表」"})
    stage = fields.Str(dump_only=True, metadata={"enum": sorted(set(outcome.STAGES.values()))})
    status_phrase = fields.Str(dump_only=True, metadata={"description": "办理进展，一句话"})
    merged_from = fields.Str(allow_none=True, dump_only=True, metadata={
        "description": "您的留言所在的建议已合并到本建议时，原建议的编号"})
    lead_department = fields.Str(allow_none=True, dump_only=True)
    assisting_departments = fields.List(fields.Str(), dump_only=True)
    deadline = fields.Date(allow_none=True, dump_only=True, metadata={"description": "答复期限"})
    answer = fields.Nested(SuggestionAnswerOut, allow_none=True, dump_only=True)
    followup = fields.Nested(SuggestionFollowUpOut, allow_none=True, dump_only=True)
    timeline = fields.List(fields.Nested(SuggestionStepOut), dump_only=True)
    can_rate = fields.Bool(dump_only=True)
    my_rating = fields.Str(allow_none=True, dump_only=True,
                           metadata={"enum": list(SUGGESTION_RATINGS)})
    my_rating_label = fields.Str(allow_none=True, dump_only=True)


class MyMessageOut(MessageOut):
    """A message as its writer sees it, with what came of the suggestions it fed."""
    suggestions = fields.List(fields.Nested(ResidentSuggestionOut),
                              attribute="resident_suggestions", dump_only=True)


class SuggestionRatingOut(Schema):
    id = fields.Int(dump_only=True)
    suggestion_id = fields.Int(dump_only=True)
    value = fields.Str(dump_only=True, metadata={"enum": list(SUGGESTION_RATINGS)})
    value_label = fields.Function(lambda r: RATING_LABELS[r.value], dump_only=True,
                                  metadata={"type": "string"})
    comment = fields.Str(dump_only=True)
    created_at = LocalDateTime(dump_only=True)


class MessagePageOut(Schema):
    items = fields.List(fields.Nested(MessageSummaryOut), dump_only=True)
    next_cursor = fields.Str(allow_none=True, dump_only=True,
                             metadata={"description": "下一页的 cursor；没有更多时为 null"})
