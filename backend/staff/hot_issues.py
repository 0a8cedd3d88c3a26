"""热点问题: the liaison's and the office's page of clusters of recent messages, hottest first;
a liaison turns one into a suggestion draft (the suggestion form, prefilled with its messages)."""
from flask import render_template, request
from flask_login import current_user

from backend.core.parsing import row_id
from backend.messages.hot_issues import hot_issues
from backend.staff import bp
from backend.staff.guard import roles_required

WINDOWS = {7: "近7天", 30: "近30天", 90: "近90天"}


@bp.get("/hot-issues")
@roles_required("admin", "liaison")
def hot_issues_page():
    days = request.args.get("days", type=row_id)
    days = days if days in WINDOWS else 30
    station = request.args.get("station", type=row_id)
    issues = hot_issues(current_user, days=days, station_ids=[station] if station else [])
    return render_template("staff/hot_issues.html", issues=issues, days=days, windows=WINDOWS,
                           can_draft=current_user.role == "liaison")
