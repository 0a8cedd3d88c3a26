"""Deputy mode: 我的履职, the deputy's own record of duty for a year or a term (届), with the
quarters' evaluation the office has published."""
from marshmallow import Schema, ValidationError, fields, validate, validates

from backend.core.errors import ValidationFailed
from backend.core.extensions import db
from backend.core.timeutil import local_today
from backend.org.models import Deputy, Term
from backend.records import display
from backend.records.dossier import Period, period_records
from backend.records.publication import quarter_evaluations
from backend.records.evaluation import current_settings, evaluate, rows as evaluation_rows
from backend.suggestions.figures import MIN_YEAR
from miniprogram_api import bp
from miniprogram_api.auth import current_staff, deputy_required
from miniprogram_api.endpoint import endpoint
from miniprogram_api.schemas import In


class RecordQuery(In):
    year = fields.Int(load_default=None, error_messages={"invalid": "年份应为四位数字，如 2026"},
                      metadata={"description": "年度（北京时间），不填为今年"})
    term_id = fields.Int(load_default=None, validate=validate.Range(1, 2**31 - 1,
                         error="没有这一届"), error_messages={"invalid": "届次编号应为整数"},
                         metadata={"description": "届次编号：填写时按这一届的起止日期统计，忽略年度"})

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


class QuarterOut(Schema):
    quarter = fields.Int()
    label = fields.Function(lambda q: q.period.label)
    score = fields.Function(lambda q: q.evaluation.score, allow_none=True)
    band = fields.Function(lambda q: q.evaluation.band_label)


class RecordOut(Schema):
    """The figures as numbers for the mini-program to lay out, and the same wording the staff
    page shows (sections) for a plain list."""
    year = fields.Int(allow_none=True, metadata={"description": "按届统计时为空"})
    period = fields.Function(lambda r: r.period.label, metadata={"description": "如“2026年度”“区第五届”"})
    term_id = fields.Function(lambda r: r.period.term_id, allow_none=True)
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
    runoff_votes_cast = fields.Int(metadata={"description": "再次表决（决选）中的电子投票次数"})
    projects_rated = fields.Int(metadata={"description": "参加满意度测评的项目数"})
    sections = fields.Function(lambda r: [
        {"title": title, "rows": [{"label": k, "value": v} for k, v in rows]}
        for title, rows in display.sections(r)])
    # 履职评价 item by item, as the office configures it, never a bare score.
    evaluation = fields.Function(lambda r: [
        {"label": k, "value": v} for k, v in evaluation_rows(evaluate(r, current_settings()))],
        metadata={"description": "履职评价：逐项得分，最后一行为合计和等次"})
    # Only quarters the office has published: the deputy sees their own once it is.
    quarters = fields.Function(lambda r: QuarterOut(many=True).dump(
        [] if r.year is None else quarter_evaluations(
            db.session.get(Deputy, r.deputy_id), r.year, viewer=current_staff())),
        metadata={"description": "本年度已公布的季度评价（1 月 1 日至季度末）"})


@bp.get("/deputy/record")
@deputy_required
@endpoint(query=RecordQuery, out=RecordOut)
def deputy_record(data):
    """我的履职：本人某一年度（或某一届）的留言答复、接待日值班、代表活动和建议"""
    today = local_today()
    if data["term_id"] is not None:
        term = db.session.get(Term, data["term_id"])
        if term is None:
            raise ValidationFailed("没有这一届", code="term_not_found",
                                   errors={"term_id": ["没有这一届"]})
        period = Period.of_term(term, today)
    else:
        period = Period.of_year(data["year"] or today.year)
    [record] = period_records(period, [current_staff().deputy_id], today=today)
    return record
