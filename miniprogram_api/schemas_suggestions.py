"""Schemas of deputy suggestions (代表建议) in deputy mode: the list, one suggestion as the
deputy of the request sees it, and the rating they give the department's answer.

Source messages show only their tracking number and an excerpt: never who wrote them."""
from functools import cached_property

from marshmallow import Schema, fields, pre_dump, validate

from backend.suggestions import policy
from backend.suggestions.actions import ALL_VERBS, allowed_actions
from backend.core.extensions import db
from backend.suggestions.models import SuggestionRating
from backend.suggestions import core
from backend.suggestions import drafting as ops
from miniprogram_api.auth import current_staff
from miniprogram_api.schemas import In, LocalDateTime, id_cursor, text_field

SUGGESTION_TABS = tuple(ops.TABS["deputy"])


class SuggestionView:
    """A suggestion with the values the API shows beside its columns, each computed only when a
    schema asks for it, for the staff user `viewer`."""

    def __init__(self, suggestion, viewer):
        self.suggestion, self.viewer = suggestion, viewer

    def __getattr__(self, name):
        return getattr(self.suggestion, name)

    @cached_property
    def actions(self) -> list[str]:
        """What the staff page would offer this user: one rule for both channels."""
        return sorted(allowed_actions(self.viewer, self.suggestion))

    needs_rating = property(lambda self: "rate" in self.actions)
    can_cosign = property(lambda self: "cosign" in self.actions)
    cosigner_names = property(lambda self: [c.deputy.name for c in self.suggestion.cosigners])
    departments = property(lambda self: self.suggestion.current_assignments)
    # Events a resident wrote (their own rating) could name them: left out, as for departments.
    timeline = property(lambda self: [e for e in self.suggestion.events
                                      if e.actor_kind != "resident"])
    source_messages = property(lambda self: policy.source_messages(self.suggestion))

    @property
    def ratings(self):
        return list(db.session.scalars(db.select(SuggestionRating).filter_by(
            suggestion_id=self.suggestion.id).order_by(SuggestionRating.round)))


# ---- input ----

class SuggestionListQuery(In):
    tab = fields.Str(load_default=SUGGESTION_TABS[0], validate=validate.OneOf(
        SUGGESTION_TABS, error="请选择 led（我领衔的）、cosigned（我附议的）或 cosignable（可附议）"),
        metadata={"enum": list(SUGGESTION_TABS),
                  "description": "led：我领衔的（默认）；cosigned：我附议的；cosignable：本站同事可附议的"})
    cursor = id_cursor()


class DeputyRatingIn(In):
    """The rules (which values, how long a comment) are the operation's: its errors come back
    in the one error shape, after the permission and status checks."""
    value = text_field(required=True, max_length=30, load_only=True, metadata={
        "enum": list(ops.RATING_LABELS),
        "description": "satisfied（满意）、basically_satisfied（基本满意）或 dissatisfied（不满意）"})
    comment = text_field(load_only=True, metadata={
        "description": f"评价意见，可不填，不超过 {ops.COMMENT_MAX} 个字；不满意时会转给承办单位"})


# ---- output ----

class _ForViewer:
    @pre_dump
    def _view(self, suggestion, **kwargs):
        if isinstance(suggestion, SuggestionView):
            return suggestion
        return SuggestionView(suggestion, current_staff())


class SuggestionSummaryOut(_ForViewer, Schema):
    id = fields.Int(dump_only=True)
    number = fields.Str(dump_only=True, metadata={"description": "建议编号，如 JY2026-00012"})
    title = fields.Str(dump_only=True)
    status = fields.Str(dump_only=True)
    status_label = fields.Str(dump_only=True, metadata={"description": "状态的中文名称"})
    category = fields.Str(dump_only=True)
    deadline_on = fields.Date(allow_none=True, dump_only=True, metadata={
        "description": "承办单位的答复期限（交办后才有）"})
    supervision_label = fields.Str(dump_only=True, metadata={
        "description": "重点督办、重要督办，未督办为空"})
    needs_rating = fields.Bool(dump_only=True, metadata={
        "description": "承办单位已答复，等待您评价"})


class SuggestionListOut(Schema):
    items = fields.List(fields.Nested(SuggestionSummaryOut), dump_only=True)
    next_cursor = fields.Str(allow_none=True, dump_only=True)
    tab = fields.Str(dump_only=True, metadata={"description": "本页所属的分类"})


class SuggestionDepartmentOut(Schema):
    name = fields.Str(attribute="department.name", dump_only=True)
    role = fields.Str(dump_only=True, metadata={"description": "lead（主办）或 assisting（协办）"})
    role_label = fields.Str(dump_only=True)
    status = fields.Str(dump_only=True)
    status_label = fields.Str(dump_only=True, metadata={"description": "待签收、已签收等"})


class MilestoneOut(Schema):
    date = fields.Str(dump_only=True)
    text = fields.Str(dump_only=True)


class DepartmentReplyOut(Schema):
    round = fields.Int(dump_only=True, metadata={"description": "第几次答复（不满意退回后为 2）"})
    department_name = fields.Str(attribute="department.name", dump_only=True)
    resolution = fields.Str(dump_only=True, metadata={"enum": ["A", "B", "C"]})
    resolution_label = fields.Str(dump_only=True)
    body = fields.Str(dump_only=True)
    promised_by = fields.Date(allow_none=True, dump_only=True, metadata={
        "description": "B类：承诺解决的日期"})
    milestones = fields.List(fields.Nested(MilestoneOut), allow_none=True, dump_only=True,
                             metadata={"description": "B类：办理进度安排"})
    reason = fields.Str(dump_only=True, metadata={"description": "C类：暂时难以解决的原因"})
    created_at = LocalDateTime(dump_only=True)


class DeputyRatingOut(Schema):
    round = fields.Int(dump_only=True)
    value = fields.Str(dump_only=True)
    value_label = fields.Function(lambda r: ops.RATING_LABELS[r.value], dump_only=True,
                                  metadata={"type": "string"})
    comment = fields.Str(dump_only=True)
    created_at = LocalDateTime(dump_only=True)


class SuggestionEventOut(Schema):
    kind = fields.Str(dump_only=True)
    label = fields.Function(lambda e: core.EVENT_LABELS.get(e.kind, "办理记录"), dump_only=True,
                            metadata={"type": "string"})
    actor_label = fields.Str(dump_only=True)
    is_public = fields.Bool(dump_only=True, metadata={"description": "居民能否看到这一步"})
    text = fields.Str(dump_only=True)
    created_at = LocalDateTime(dump_only=True)


class SourceMessageOut(Schema):
    """Which messages it came from: the number and the start of the text, nothing else."""
    tracking_no = fields.Str(dump_only=True)
    excerpt = fields.Function(lambda m: core.excerpt(m.body), dump_only=True,
                              metadata={"type": "string", "description": "留言内容的前 60 个字"})


class SuggestionOut(SuggestionSummaryOut):
    problem = fields.Str(dump_only=True, metadata={"description": "案由"})
    proposal = fields.Str(dump_only=True, metadata={"description": "建议内容"})
    deputy_name = fields.Str(attribute="deputy.name", dump_only=True, metadata={
        "description": "领衔代表"})
    cosigners = fields.List(fields.Str(), attribute="cosigner_names", dump_only=True,
                            metadata={"description": "附议代表的姓名"})
    departments = fields.List(fields.Nested(SuggestionDepartmentOut), dump_only=True,
                              metadata={"description": "主办、协办单位"})
    replies = fields.List(fields.Nested(DepartmentReplyOut), dump_only=True)
    ratings = fields.List(fields.Nested(DeputyRatingOut), dump_only=True, metadata={
        "description": "领衔代表对每次答复的评价"})
    timeline = fields.List(fields.Nested(SuggestionEventOut), dump_only=True)
    source_messages = fields.List(fields.Nested(SourceMessageOut), dump_only=True)
    can_cosign = fields.Bool(dump_only=True, metadata={"description": "您现在可以附议这件建议"})
    actions = fields.List(fields.Str(metadata={"enum": list(ALL_VERBS)}), dump_only=True,
                          metadata={"description": "您现在可以进行的操作（与网页端相同），"
                                                   "如 rate（评价答复）、cosign（附议）"})
    submitted_at = LocalDateTime(allow_none=True, dump_only=True)
    created_at = LocalDateTime(dump_only=True)
