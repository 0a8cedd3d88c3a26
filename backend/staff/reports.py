"""代表述职 pages: the office plans a deputy's report for the term; the organiser shows the
session's code and enters paper ratings; the deputy sees their own. Rules in
backend.records.reports."""
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup
from wtforms import DateField, IntegerField, SelectField
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional

from backend.core.errors import Forbidden, NotFound
from backend.core.extensions import db
from backend.core.loading import load_for
from backend.org.models import Deputy, Station
from backend.records import reports as ops
from backend.records.report_model import REPORT_RATING_LABELS, ConstituencyReport
from backend.staff import bp
from backend.staff.forms import StaffForm, _text
from backend.staff.guard import roles_required
from backend.staff.pages import form_page, run_and_flash


class ReportForm(StaffForm):
    deputy_id = SelectField("代表", coerce=int, validators=[InputRequired("请选择代表")])
    held_on = DateField("述职日期", validators=[DataRequired("请填写述职日期")])
    place = _text("地点", 120, required=True)
    constituency = _text("选区", 80, description="不填则用代表资料中的选区")
    station_id = SelectField("选区所在联络站", coerce=int, default=0, validators=[Optional()],
                             description="只通知通过这个联络站给代表写过信的群众；不选则用代表的第一个联络站")
    min_attendance = IntegerField("最少评议人数", default=10, validators=[
        Optional(), NumberRange(1, 10000, message="最少评议人数应为 1 到 10000 之间的整数")],
        description="参加评议的人数少于此数时不作结论")


def _load(report_id: int) -> ConstituencyReport:
    return load_for(current_user, ConstituencyReport, report_id, ops.can_view,
                    missing=NotFound("没有找到这次述职"),
                    refused=Forbidden("只能查看本人或本站代表的述职", code="report_forbidden"))


def _scope() -> list[int] | None:
    if current_user.role == "admin":
        return None
    if current_user.role == "deputy":
        return [current_user.deputy_id]
    return list(db.session.scalars(db.select(Deputy.id).where(
        Deputy.stations.any(Station.id.in_(current_user.station_ids or {-1})))))


@bp.get("/reports")
@roles_required("admin", "liaison", "deputy")
def reports():
    scope = _scope()
    stmt = db.select(ConstituencyReport).order_by(ConstituencyReport.held_on.desc())
    if scope is not None:
        stmt = stmt.where(ConstituencyReport.deputy_id.in_(scope or [-1]))
    rows = list(db.session.scalars(stmt))
    return render_template("staff/reports.html", rows=rows, results=ops.results(rows),
                           unplanned=ops.unplanned_deputies(scope),
                           can_plan=ops.can_plan(current_user))


@bp.route("/reports/new", methods=["GET", "POST"])
@roles_required("admin")
def report_new():
    form = ReportForm(deputy_id=request.args.get("deputy", type=int))
    form.deputy_id.choices = [(d.id, d.name) for d in db.session.scalars(
        db.select(Deputy).where(Deputy.is_active.is_(True)).order_by(Deputy.name))]
    form.station_id.choices = [(0, "代表的第一个联络站"), *((s.id, s.name) for s in db.session.scalars(
        db.select(Station).where(Station.is_active.is_(True)).order_by(Station.id)))]

    def run():
        deputy = db.session.get(Deputy, form.deputy_id.data)
        return ops.plan_report(deputy, form.to_data(), actor=current_user)
    return form_page(form, "staff/form.html", run,
                     saved=lambda r: (f"已安排{r.deputy.name}的述职",
                                      url_for(".report_detail", report_id=r.id)),
                     title="安排代表述职", back_url=url_for(".reports"), back_label="代表述职")


@bp.get("/reports/<int:report_id>")
@roles_required("admin", "liaison", "deputy")
def report_detail(report_id: int):
    report = _load(report_id)
    return render_template("staff/report_detail.html", report=report,
                           result=ops.results([report])[report.id],
                           code=Markup(ops.rating_code_svg(report)), url=ops.rating_url(report),
                           labels=REPORT_RATING_LABELS,
                           can_enter=ops.can_enter_paper(current_user, report))


@bp.post("/reports/<int:report_id>/paper")
@roles_required("admin", "liaison", "deputy")
def report_paper(report_id: int):
    report = _load(report_id)
    counts = {v: _count(request.form.get(v, "")) for v in REPORT_RATING_LABELS}
    run_and_flash(lambda: f"已录入纸质评议 {ops.enter_paper_ratings(report, counts, actor=current_user)} 张")
    return redirect(url_for(".report_detail", report_id=report.id))


def _count(value: str):
    value = value.strip() or "0"
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 6 else None
