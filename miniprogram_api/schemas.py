"""Marshmallow schemas shared by the whole API: the input base (whitespace stripped, Chinese
errors), the output base (local times), the error body, and the public deputy card."""
from collections.abc import Mapping

from marshmallow import EXCLUDE, Schema, fields, pre_load, validate

from backend.core.parsing import MAX_ID
from backend.core.timeutil import local

# marshmallow's own messages are English: each key gets a Chinese one, by field type where
# the meaning differs ("invalid" for a number is not "invalid" for a list).
_INVALID = (
    (fields.Boolean, "请选择是或否"),
    (fields.Integer, "请填写整数"),
    (fields.Number, "请填写数字"),
    (fields.DateTime, "时间格式不正确"),
    (fields.Date, "日期格式不正确，应为 2026-01-31"),
    (fields.List, "请以列表形式提交"),
    (fields.String, "请填写文字"),
)
_BY_KEY = {"required": "此项必填", "null": "此项不能为空", "too_large": "数字太大了"}
_FALLBACK = "格式不正确"


def _english_defaults(field_class) -> dict:
    messages = {}
    for cls in reversed(field_class.__mro__):
        messages.update(getattr(cls, "default_error_messages", {}))
    return messages


def _chinese(field: fields.Field) -> None:
    """Replace the messages a field still has from marshmallow; ones we wrote stay."""
    english = _english_defaults(type(field))
    invalid = next((text for cls, text in _INVALID if isinstance(field, cls)), _FALLBACK)
    for key, text in list(field.error_messages.items()):
        if text == english.get(key):
            field.error_messages[key] = invalid if key == "invalid" else _BY_KEY.get(key, _FALLBACK)
    inner = getattr(field, "inner", None)
    if inner is not None:
        _chinese(inner)


def _strip(value):
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


class In(Schema):
    """Base of every input schema."""

    class Meta:
        # An older or newer mini-program may send a field this version does not know:
        # ignore it rather than refuse the whole request.
        unknown = EXCLUDE

    error_messages = {"type": "提交的数据格式不正确"}

    def on_bind_field(self, field_name, field_obj):
        _chinese(field_obj)

    @pre_load
    def _strip_whitespace(self, data, **kwargs):
        if isinstance(data, Mapping):
            return {key: _strip(value) for key, value in data.items()}
        return data


def text_field(*, required=False, max_length: int | None = None, **kw) -> fields.Str:
    """A text input: required means present and not blank (after stripping)."""
    rules = []
    if required:
        rules.append(validate.Length(min=1, error="此项不能为空"))
    if max_length:
        rules.append(validate.Length(max=max_length, error=f"不能超过 {max_length} 个字"))
    if not required:
        kw.setdefault("load_default", "")
    return fields.Str(required=required, validate=rules, **kw)


class RowId(fields.Integer):
    """An id the mini-program sends (in a body or a query): a whole number that fits the integer
    columns. Every input schema uses it for ids, so 2147483648 is a Chinese 422, not a 500 from
    PostgreSQL, and the OpenAPI says the range (1 to 2147483647)."""

    def __init__(self, *, error: str = "编号无效", **kw):
        kw.setdefault("validate", validate.Range(min=1, max=MAX_ID, error=error))
        super().__init__(**kw)


def id_cursor() -> fields.Str:
    """The cursor of a list paged by id, as the previous page's next_cursor gave it. The handler
    reads it (a bad one is `cursor_invalid`); the pattern tells the OpenAPI what it accepts."""
    return text_field(max_length=10, metadata={
        "pattern": "^[0-9]{0,10}$", "description": "上一页返回的 next_cursor；第一页不传或为空"})


def keyset_cursor() -> fields.Str:
    """The cursor of a list paged by keyset (backend/core/paging.py): opaque to the client. A
    string that cannot be one is refused here; one that is not ours, by the query."""
    return fields.Str(load_default="", validate=validate.Regexp(
        r"^[A-Za-z0-9_-]{0,100}$", error="翻页参数无效，请回到第一页"),
        metadata={"description": "上一页返回的 next_cursor（不透明的字符串）；第一页不传"})


class LocalDateTime(fields.DateTime):
    """Stored in UTC, shown in Asia/Shanghai: the offset (+08:00) stays in the string."""

    def _serialize(self, value, attr, obj, **kwargs):
        return super()._serialize(local(value), attr, obj, **kwargs)


class Error(Schema):
    """The one error body of this API."""
    code = fields.Str(required=True, metadata={"description": "稳定的英文错误代码"})
    message = fields.Str(required=True, metadata={"description": "给用户看的中文说明"})
    errors = fields.Dict(keys=fields.Str(), metadata={
        "description": "按字段列出的问题，如 {\"body\": [\"留言内容至少 5 个字\"]}"})
    retry_after = fields.Int(metadata={
        "description": "多少秒后可以再试：提交太频繁（429，rate_limited）或系统暂时无法访问"
                       "（503，database_unavailable）时才有，与 Retry-After 头相同"})


class StationBrief(Schema):
    id = fields.Int()
    name = fields.Str()
    kind_label = fields.Str()
    address = fields.Str()


class DeputyCard(Schema):
    """A deputy as the public sees them: no phone, no internal fields."""
    token = fields.Str()
    name = fields.Str()
    level = fields.Str()
    level_label = fields.Str()
    occupation = fields.Str()
    expertise = fields.Str()
    intro = fields.Str()
    photo_url = fields.Str(allow_none=True)
    stations = fields.List(fields.Nested(StationBrief))
    next_reception_date = fields.Date(allow_none=True)


class SceneQuery(In):
    scene = text_field(required=True, max_length=512, metadata={
        "description": "小程序码的 scene（即代表二维码的 token），也可传扫码得到的 /d/<token> 链接"})


class SubscriptionsIn(In):
    template_ids = fields.List(text_field(required=True, max_length=64), required=True,
                               load_only=True,
                               validate=validate.Length(min=1, max=10, error="请提交1到10个模板"),
                               metadata={"description": "wx.requestSubscribeMessage 中用户选择「允许」的模板"})


class TemplateOut(Schema):
    template_id = fields.Str(dump_only=True)
    topics = fields.List(fields.Str(), dump_only=True, metadata={"description": "用这个模板发送的通知"})
    remaining = fields.Int(dump_only=True, metadata={"description": "还可以给您发送几次"})


class SubscriptionsOut(Schema):
    templates = fields.List(fields.Nested(TemplateOut), dump_only=True)
