"""Schemas of logging in and binding a staff account."""
from marshmallow import Schema, fields, validate

from miniprogram_api.schemas import In, StationBrief, text_field

MODES = ("resident", "deputy", "liaison")


class LoginIn(In):
    code = text_field(required=True, max_length=128, load_only=True,
                metadata={"description": "wx.login() 得到的 code，只能用一次"})


class BindIn(In):
    code = fields.Str(required=True, load_only=True, validate=validate.Regexp(
        r"^[0-9]{6}$", error="请输入6位数字绑定码"),
        metadata={"description": "工作台「绑定微信」页面显示的6位绑定码"})


class StaffBrief(Schema):
    id = fields.Int(dump_only=True)
    display_name = fields.Str(dump_only=True)
    role = fields.Str(dump_only=True)
    role_label = fields.Str(dump_only=True)
    deputy_name = fields.Str(attribute="deputy.name", allow_none=True, dump_default=None,
                            dump_only=True)
    stations = fields.List(fields.Nested(StationBrief), dump_only=True)


class SessionOut(Schema):
    """Our own login token; WeChat's session_key never leaves the server."""
    token = fields.Str(dump_only=True, metadata={
        "description": "之后的请求放在 Authorization: Bearer <token> 里"})
    token_type = fields.Str(dump_only=True, dump_default="Bearer")
    expires_in = fields.Int(dump_only=True, metadata={"description": "有效秒数"})
    mode = fields.Str(dump_only=True, validate=validate.OneOf(MODES), metadata={
        "description": "resident 选民；deputy 代表模式；liaison 联络员模式"})
    staff = fields.Nested(StaffBrief, allow_none=True, dump_only=True)
