"""Schemas of livelihood projects (民生实事项目): a resident's proposal and support, the public
list, and the deputy's ballot. A proposal shows nobody's identity; the ballot shows whether the
deputy voted, never what anyone chose."""
from marshmallow import Schema, fields, validate

from miniprogram_api.schemas import In, LocalDateTime, text_field


class ProposalIn(In):
    title = text_field(required=True, max_length=60, load_only=True)
    content = text_field(required=True, max_length=2000, load_only=True,
                         metadata={"description": "项目内容和地点"})
    reason = text_field(required=True, max_length=2000, load_only=True)
    category = text_field(required=True, max_length=20, load_only=True)
    idempotency_key = text_field(required=True, max_length=64, load_only=True,
                                 metadata={"description": "客户端生成的提交编号，重试时不变"})


class ResidentProposalIn(ProposalIn):
    photo_ids = fields.List(fields.Int(validate=validate.Range(min=1, max=2**31 - 1)),
                            load_default=list, load_only=True,
                            validate=validate.Length(max=9, error="最多上传9张照片"),
                            metadata={"description": "先用 POST /projects/photos 逐张上传得到的照片 id（选填）。"
                                      "照片只有提出人和工作人员可见，代工委确认没有个人信息后才公开"})


class ProposalPhotoOut(Schema):
    id = fields.Int(dump_only=True)
    width = fields.Int(dump_only=True)
    height = fields.Int(dump_only=True)
    is_public = fields.Bool(dump_only=True, metadata={"description": "是否已由代工委设为可公开；否则只有提出人和工作人员可见"})


class ProjectListQuery(In):
    q = text_field(max_length=60, metadata={
        "description": "正在输入的项目名称：给出时只返回类似的已有建议（可以附议，不必重复提）"})


class ProjectMilestoneOut(Schema):
    title = fields.Str(dump_only=True)
    due_on = fields.Date(dump_only=True, metadata={"description": "计划完成日期"})
    done_on = fields.Date(dump_only=True, allow_none=True, metadata={"description": "完成日期，未完成为空"})


class ProposalOut(Schema):
    id = fields.Int(dump_only=True)
    number = fields.Str(dump_only=True, metadata={"description": "回执编号"})
    title = fields.Str(dump_only=True)
    category = fields.Str(dump_only=True)
    content = fields.Str(dump_only=True)
    reason = fields.Str(dump_only=True)
    status = fields.Str(dump_only=True)
    status_label = fields.Str(dump_only=True)
    supports = fields.Int(dump_only=True)
    progress = fields.Int(dump_only=True)
    reject_reason = fields.Str(dump_only=True)
    created_at = LocalDateTime(dump_only=True)


class ProposalDetailOut(ProposalOut):
    """One project as its page shows it: with the delivery's milestones (not in lists)."""
    milestones = fields.List(fields.Nested(ProjectMilestoneOut), dump_only=True,
                             metadata={"description": "实施节点（按计划完成日期排列）"})
    photos = fields.List(fields.Nested(ProposalPhotoOut), attribute="viewer_photos",
                         dump_only=True, metadata={
        "description": "群众上传的现场照片中您可以看到的（文件：GET /projects/{id}/photos/{photo_id}）"})


class RoundOut(Schema):
    year = fields.Int(dump_only=True)
    theme = fields.Str(dump_only=True)
    categories = fields.List(fields.Str(), dump_only=True)
    status = fields.Str(dump_only=True)
    status_label = fields.Str(dump_only=True)
    places = fields.Int(dump_only=True, allow_none=True)


class ProjectListOut(Schema):
    round = fields.Nested(RoundOut, dump_only=True, allow_none=True)
    items = fields.List(fields.Nested(ProposalOut), dump_only=True)


class CandidateOut(Schema):
    id = fields.Int(dump_only=True)
    title = fields.Str(dump_only=True)
    plan = fields.Str(dump_only=True)
    department = fields.Str(dump_only=True)
    estimated_cost = fields.Int(dump_only=True, metadata={"description": "估算投资（元）"})


class BallotOut(Schema):
    year = fields.Int(dump_only=True)
    session_name = fields.Str(dump_only=True)
    stage = fields.Str(dump_only=True, metadata={"description": "票决，或票数相同时的决选（第2次决选…）"})
    runoff_id = fields.Int(dump_only=True, allow_none=True,
                           metadata={"description": "决选的编号；投票时原样传回。第一轮票决为 null"})
    places = fields.Int(dump_only=True, metadata={"description": "应选个数（决选为剩余名额）"})
    is_open = fields.Bool(dump_only=True)
    has_voted = fields.Bool(dump_only=True)
    is_present = fields.Bool(dump_only=True, metadata={"description": "是否已登记出席会议（只有出席代表可以投票）"})
    candidates = fields.List(fields.Nested(CandidateOut), dump_only=True)


class BallotIn(In):
    candidate_ids = fields.List(fields.Int(), required=True, load_only=True,
                                validate=validate.Length(max=100, error="选择的项目太多"),
                                metadata={"description": "选择的候选项目，最多为票决项目数；可以为空（弃权）"})
    runoff_id = fields.Int(load_only=True, allow_none=True, load_default=None,
                           validate=validate.Range(min=1, max=2**31 - 1, error="决选编号无效"),
                           metadata={"description": "选票上的 runoff_id（决选时必须传回；第一轮票决不传）"})
