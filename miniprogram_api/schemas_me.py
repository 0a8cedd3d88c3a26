"""Schemas of a resident's own data (我的信息) and its deletion."""
from marshmallow import Schema, fields

from miniprogram_api.schemas import In, LocalDateTime, TemplateOut


class HeldMessageOut(Schema):
    id = fields.Int(dump_only=True)
    tracking_no = fields.Str(dump_only=True, metadata={"description": "留言编号"})
    created_at = LocalDateTime(dump_only=True)
    status = fields.Str(dump_only=True, metadata={"description": "状态（中文）"})
    excerpt = fields.Str(dump_only=True, metadata={"description": "留言开头"})
    phone = fields.Str(dump_only=True, metadata={"description": "打码后的手机号，没有留时为空"})
    place = fields.Str(dump_only=True)
    photos = fields.Int(dump_only=True, metadata={"description": "照片张数"})


class HeldAppointmentOut(Schema):
    id = fields.Int(dump_only=True)
    code = fields.Str(dump_only=True, metadata={"description": "预约码"})
    created_at = LocalDateTime(dump_only=True)
    status = fields.Str(dump_only=True, metadata={"description": "状态（中文）"})
    topic = fields.Str(dump_only=True)
    contact_name = fields.Str(dump_only=True, metadata={"description": "居民填写的称呼"})
    phone = fields.Str(dump_only=True, metadata={"description": "打码后的手机号"})


class HeldProposalOut(Schema):
    id = fields.Int(dump_only=True)
    number = fields.Str(dump_only=True)
    title = fields.Str(dump_only=True)
    status = fields.Str(dump_only=True)


class HeldSupportOut(Schema):
    id = fields.Int(dump_only=True)
    number = fields.Str(dump_only=True)
    title = fields.Str(dump_only=True)


class MyDataOut(Schema):
    messages = fields.List(fields.Nested(HeldMessageOut), dump_only=True)
    appointments = fields.List(fields.Nested(HeldAppointmentOut), dump_only=True)
    proposals = fields.List(fields.Nested(HeldProposalOut), dump_only=True,
                            metadata={"description": "我提出的民生实事项目"})
    supports = fields.List(fields.Nested(HeldSupportOut), dump_only=True,
                           metadata={"description": "我附议的项目"})
    follows = fields.Int(dump_only=True, metadata={"description": "关注进展的项目数"})
    subscriptions = fields.List(fields.Nested(TemplateOut), dump_only=True,
                                metadata={"description": "还有可发送次数的订阅消息模板"})
    has_wechat = fields.Bool(dump_only=True,
                             metadata={"description": "是否保存了您的微信标识（openid，不显示）"})


class DeleteIn(In):
    confirm = fields.Bool(required=True, load_only=True, metadata={
        "description": "居民在确认框中同意删除后为 true；删除后不能恢复"})


class DeletedOut(Schema):
    messages = fields.Int(dump_only=True, metadata={"description": "不再与您关联的留言条数"})
    photos = fields.Int(dump_only=True, metadata={"description": "删除的照片张数"})
    appointments = fields.Int(dump_only=True, metadata={"description": "删除了称呼和手机号的预约个数"})
    cancelled = fields.Int(dump_only=True, metadata={"description": "因此取消的预约个数"})
