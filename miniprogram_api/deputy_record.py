"""Deputy mode: 我的履职, the deputy's own record of duty for a year."""
from marshmallow import Schema, ValidationError, fields, validates

from backend.core.timeutil import local_today
from backend.records import display
from backend.records.dossier import deputy_records
from backend.records.evaluation import current_settings, evaluate, rows as evaluation_rows
from backend.suggestions.figures import MIN_YEAR
from miniprogram_api import bp
from miniprogram_api.auth import current_staff, deputy_required
from miniprogram_api.endpoint import endpoint
from miniprogram_api.schemas import In


class RecordQuery(In):
    year = fields.Int(load_default=None, error_messages={"invalid": "年份应为四位数字，如 2026"},
                      metadata={"description": "年度（北京时间），不填为今年"})

    @validates("year")
    def _sensible(self, value, **_):
        latest = local_today().year + 1
        if value is not None and not MIN_YEAR <= value <= latest:
            raise ValidationError(f"请选择{MIN_YEAR}年至{latest}年之间的年份")


class RecordRowOut(Schema):
    label = fields.Str()
    value = fields.Str()


class RecordSectionOut(Schema):
    title = fields.Str()
    rows = fields.List(fields.Nested(RecordRowOut))


class RecordOut(Schema):
    """The figures as numbers for the mini-program to lay out, and the same wording the staff
    page shows (sections) for a plain list."""
    year = fields.Int()
    deputy_id = fields.Int()
    name = fields.Str()
    received = fields.Int()
    theirs = fields.Int()
    answered = fields.Int()
    answered_on_time = fields.Int()
    median_workdays = fields.Float(allow_none=True)
    satisfied = fields.Int()
    basically_satisfied = fields.Int()
    dissatisfied = fields.Int()
    satisfaction_rate = fields.Float(allow_none=True)
    duties = fields.Int()
    duties_kept = fields.Int()
    duties_missed = fields.Int()
    swapped_out = fields.Int()
    appointments_met = fields.Int()
    invited = fields.Int()
    attended = fields.Int()
    excused = fields.Int()
    absent = fields.Int()
    participation_rate = fields.Float(allow_none=True)
    suggestions_led = fields.Function(lambda r: r.suggestions.made)
    suggestions_cosigned = fields.Int(attribute="cosigned")
    vote_sessions = fields.Int(metadata={"description": "出席民生实事项目票决次数"})
    votes_cast = fields.Int(metadata={"description": "电子投票次数（投给哪个项目不记录）"})
    projects_rated = fields.Int(metadata={"description": "参加满意度测评的项目数"})
    sections = fields.Function(lambda r: [
        {"title": title, "rows": [{"label": k, "value": v} for k, v in rows]}
        for title, rows in display.sections(r)])
    # 履职评价 item by item, as the office configures it, never a bare score.
    evaluation = fields.Function(lambda r: [
        {"label": k, "value": v} for k, v in evaluation_rows(evaluate(r, current_settings()))],
        metadata={"description": "履职评价：逐项得分，最后一行为合计和等次"})


@bp.get("/deputy/record")
@deputy_required
@endpoint(query=RecordQuery, out=RecordOut)
def deputy_record(data):
    """我的履职：本人某一年度的留言答复、接待日值班、代表活动和建议"""
    today = local_today()
    [record] = deputy_records(data["year"] or today.year, [current_staff().deputy_id],
                              today=today)
    return record
