"""季度公布 of the evaluation: the office sees the year's quarters and publishes an ended one;
liaisons see which are published. The rules live in backend.records.publication."""
from flask import redirect, render_template, url_for
from flask_login import current_user

from backend.core.timeutil import format_local, local_today
from backend.records import policy
from backend.records.publication import QUARTERS, publish_quarter, published, quarter_period
from backend.staff import bp
from backend.staff.guard import roles_required
from backend.staff.pages import run_and_flash
from backend.staff.suggestion_figures import _year as requested_year


@bp.get("/records/quarters")
@roles_required("admin", "liaison")
def evaluation_quarters():
    today = local_today()
    year = requested_year(today)
    done = published(year)
    rows = [(q, quarter_period(year, q), done.get(q), quarter_period(year, q).end <= today)
            for q in QUARTERS]
    return render_template("staff/record_quarters.html", year=year,
                           years=list(range(today.year, today.year - 5, -1)), rows=rows,
                           format_local=format_local,
                           can_publish=policy.can_publish_evaluation(current_user))


@bp.post("/records/quarters/<int:year>/<int:quarter>/publish")
@roles_required("admin")
def publish_evaluation_quarter(year: int, quarter: int):
    run_and_flash(lambda: publish_quarter(year, quarter, actor=current_user),
                  f"已公布{year}年第{quarter}季度的履职评价：代表可以看到本人的评价，代表公开页显示评价结果")
    return redirect(url_for(".evaluation_quarters", year=year))
