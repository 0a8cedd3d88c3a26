"""履职档案 pages: one deputy's year or term (the deputy's own, their stations' liaison, the
office), the list of deputies with the all-deputies Excel (by year or by term), and the
station/district dashboard by month.
Read-only: the figures come from backend.records."""
from dataclasses import dataclass

from flask import redirect, render_template, request, url_for
from flask_login import current_user

from backend.activities.policy import can_view as can_view_activity
from backend.activities.queries import counted_activities
from backend.core.downloads import attachment
from backend.core.errors import Forbidden, NotFound
from backend.core.extensions import db
from backend.core.loading import load_for
from backend.core.timeutil import format_local, local_today, utcnow
from backend.org.models import Deputy, Station, Term
from backend.records import display, policy
from backend.records.dossier import Period, deputy_record, deputy_records
from backend.records.evaluation import current_settings, evaluate, rows as evaluation_rows
from backend.records.excel import export_period_xlsx
from backend.records.pdf import record_pdf
from backend.records.publication import quarter_evaluations
from backend.records.reports import reports_of, reports_of_term, results as report_results
from backend.records.responsiveness import (
    CAVEAT, MIN_SAMPLE, DeputyResponsiveness, describe as describe_followups, year_responsiveness,
)
from backend.projects.figures import year_projects
from backend.records.station_figures import MONTHS, year_figures
from backend.staff import bp
from backend.staff.guard import roles_required
from backend.staff.importing import xlsx_response
from backend.staff.suggestion_figures import _year as requested_year


@bp.get("/records/me")
@roles_required("deputy")
def my_record():
    return redirect(url_for("staff.deputy_record_page", deputy_id=current_user.deputy_id,
                            **request.args))


@bp.get("/records/deputies/<int:deputy_id>")
@roles_required("admin", "liaison", "deputy")
def deputy_record_page(deputy_id: int):
    deputy, record = _deputy_year(deputy_id)
    period = record.period
    return render_template("staff/record_deputy.html", deputy=deputy, year=record.year,
                           period=period, years=_years(local_today()), terms=_terms(),
                           record=record, sections=display.sections(record),
                           evaluation=evaluation_rows(evaluate(record, current_settings())),
                           followups=_followup_line(deputy, period),
                           reports=_report_lines(deputy.id, period),
                           activities=_activity_lines(deputy.id, period),
                           quarters=[] if period.year is None else quarter_evaluations(
                               deputy, period.year, viewer=current_user))


@bp.get("/records/deputies/<int:deputy_id>.pdf")
@roles_required("admin", "liaison", "deputy")
def deputy_record_pdf(deputy_id: int):
    deputy, record = _deputy_year(deputy_id)
    more = [("向选民述职", [(f"第 {n} 次", line) for n, line in enumerate(
                 _report_lines(deputy.id, record.period), start=1)] or [("述职", "本年度没有述职" if record.year else "本届没有述职")]),
            ("群众回访", [("答复两周后", _followup_line(deputy, record.period))]),
            ("代表活动明细", [(line.when, line.text) for line in _activity_lines(deputy.id, record.period)]
             or [("活动", "本年度没有计入档案的活动" if record.year else "本届没有计入档案的活动")])]
    pdf = record_pdf(record, evaluate(record, current_settings()), more=more,
                     generated=format_local(utcnow()))
    key = record.year or f"term-{record.period.term_id}"
    response = attachment(pdf, "application/pdf", f"{deputy.name}-{record.period.label}履职档案.pdf",
                          f"deputy-record-{deputy.id}-{key}.pdf")
    response.headers["Cache-Control"] = "no-store"
    return response


def _followup_line(deputy, period: Period) -> str:
    if period.year is None:  # rates are ranked by year: a term's would mix them
        return "群众回访按年度统计，请选择年度查看"
    rows = year_responsiveness(period.year, [deputy.id])
    return describe_followups(rows[0] if rows else DeputyResponsiveness(deputy.id, deputy.name))


def _report_lines(deputy_id: int, period: Period) -> list[str]:
    held = reports_of(deputy_id, period.year) if period.year is not None else \
        reports_of_term(deputy_id, period.term_id)
    results = report_results(held)
    return [f"{r.held_on} · {r.place}：{results[r.id].describe()}" for r in held]


@dataclass(frozen=True)
class ActivityLine:
    when: str  # Beijing date, as 3月5日 (with the year in a term's record)
    text: str
    activity_id: int
    linked: bool  # the viewer may open the activity's page


def _activity_lines(deputy_id: int, period: Period) -> list[ActivityLine]:
    """The activities behind the record's 代表活动 counts, worded by records.display, each
    linked only for a viewer who may open it."""
    return [ActivityLine(*display.activity_line(activity, attendance, with_year=not period.year),
                         activity.id, can_view_activity(current_user, activity))
            for activity, attendance in counted_activities(deputy_id, *period.bounds())]


def _deputy_year(deputy_id: int):
    """The deputy the user may see, and their record for the requested year."""
    deputy = load_for(current_user, Deputy, deputy_id, policy.can_view_record,
                      missing=NotFound("没有找到这位代表"),
                      refused=Forbidden("只能查看本人或本站代表的履职档案", code="record_forbidden"))
    today = local_today()
    return deputy, deputy_record(deputy, _requested_period(today), today=today)


def _requested_period(today) -> Period:
    """?term=<id> for a term (届), otherwise ?year= (this year by default)."""
    term_id = request.args.get("term", type=int)
    if term_id is None:
        return Period.of_year(requested_year(today))
    term = db.session.get(Term, term_id)
    if term is None:
        raise NotFound("没有找到这一届")
    return Period.of_term(term, today)


def _terms() -> list[Term]:
    return list(db.session.scalars(db.select(Term).where(Term.starts_on.is_not(None))
                                   .order_by(Term.starts_on.desc())))


@bp.get("/records/responsiveness")
@roles_required("admin", "liaison")
def responsiveness_page():
    today = local_today()
    year = requested_year(today)
    return render_template("staff/records_responsiveness.html", year=year, years=_years(today),
                           rows=year_responsiveness(year, _deputy_scope()), caveat=CAVEAT,
                           min_sample=MIN_SAMPLE, pct=display.pct)


@bp.get("/records")
@roles_required("admin", "liaison")
def records():
    today = local_today()
    year = requested_year(today)
    records = deputy_records(year, _deputy_scope(), today=today)
    return render_template("staff/records_list.html", year=year, years=_years(today),
                           terms=_terms(), records=records, pct=display.pct, days=display.days,
                           can_export=policy.can_export_all(current_user))


@bp.get("/records.xlsx")
@roles_required("admin")
def records_export():
    today = local_today()
    period = _requested_period(today)
    key = period.year or f"term-{period.term_id}"
    return xlsx_response(export_period_xlsx(period, today=today),
                         f"代表履职档案-{period.label}.xlsx", f"deputy-records-{key}.xlsx")


@bp.get("/figures")
@roles_required("admin", "liaison")
def station_dashboard():
    today = local_today()
    year = requested_year(today)
    ids = None if policy.can_view_district(current_user) else sorted(current_user.station_ids)
    district, stations = year_figures(year, station_ids=ids, today=today)
    shown = [district, *stations] if ids is None else stations
    chosen = request.args.get("station", type=int)
    if chosen is not None:
        station = db.session.get(Station, chosen)
        if station is None:
            raise NotFound("没有找到这个联络站")
        if not policy.can_view_station_figures(current_user, station):
            raise Forbidden("只能查看本站的统计", code="figures_forbidden")
        shown = [f for f in shown if f.station_id == chosen]
    return render_template("staff/records_dashboard.html", year=year, years=_years(today),
                           shown=shown, stations=stations, chosen=chosen, months=MONTHS,
                           pct=display.pct, show_district=ids is None,
                           projects=year_projects(year, today=today) if ids is None else None)


def _deputy_scope() -> list[int] | None:
    """The office sees every deputy; a liaison the deputies of their stations."""
    if current_user.is_admin:
        return None
    return list(db.session.scalars(
        db.select(Deputy.id).where(Deputy.stations.any(Station.id.in_(current_user.station_ids
                                                                      or {-1})))))


def _years(today) -> list[int]:
    return list(range(today.year, today.year - 5, -1))
