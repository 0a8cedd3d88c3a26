"""The year's suggestion figures (建议办理统计) and their Excel export; admin only."""
from flask import render_template, request, url_for

from backend.core.errors import DomainError
from backend.suggestions.figures import (
    DASH, DEFINITIONS, MIN_YEAR, available_years, deputy_cells, department_cells, export_xlsx,
    overdue_by_department, year_figures,
)
from backend.staff import bp
from backend.staff.guard import roles_required
from backend.staff.importing import xlsx_response
from backend.core.timeutil import local_today


class BadYear(DomainError):
    code = "bad_year"
    status = 400


def _year(today) -> int:
    """?year=, the current year when absent; a 400 in Chinese when it is not a sensible year
    (a silent fallback would let an office export the wrong year's sheet unnoticed)."""
    raw = request.args.get("year", "").strip()
    if not raw:
        return today.year
    latest = today.year + 1
    year = int(raw) if raw.isascii() and raw.isdigit() and len(raw) == 4 else 0
    if not MIN_YEAR <= year <= latest:
        raise BadYear(f"年份“{raw[:10]}”不正确，请选择{MIN_YEAR}年至{latest}年之间的年份")
    return year


def _cell(value) -> str:
    """A figure as the page shows it: rates as 83.3%, a missing rate as —."""
    if isinstance(value, float):
        return f"{value * 100:.1f}%"
    return str(value)


def _rate(rate: float | None) -> str:
    return DASH if rate is None else _cell(float(rate))


def _detail_url(suggestion_id: int) -> str:
    return url_for("staff.suggestion", suggestion_id=suggestion_id)


@bp.get("/suggestions/figures")
@roles_required("admin")
def suggestion_figures():
    today = local_today()
    year = _year(today)
    years = available_years(today)
    if year not in years:
        years = sorted({*years, year}, reverse=True)
    return render_template(
        "staff/suggestion_figures.html", title="建议办理统计", year=year, years=years,
        today=today, figures=year_figures(year, today=today),
        overdue=overdue_by_department(today), definitions=DEFINITIONS,
        deputy_cells=deputy_cells, department_cells=department_cells, cell=_cell, rate=_rate,
        detail_url=_detail_url)


@bp.get("/suggestions/figures.xlsx")
@roles_required("admin")
def suggestion_figures_export():
    today = local_today()
    year = _year(today)
    return xlsx_response(export_xlsx(year, today=today), f"代表建议办理统计-{year}.xlsx",
                         f"suggestion-figures-{year}.xlsx")
