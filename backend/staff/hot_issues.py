"""热点问题: the liaison's and the office's page of clusters of recent messages, hottest first;
a liaison turns one into suggestion drafts (the suggestion form, prefilled with its messages).

A suggestion gathers one deputy's messages only (backend/suggestions/drafting.py: a message
written to another deputy cannot be its source), so a cluster whose residents wrote to several
deputies offers one draft per deputy, each with all of that deputy's messages of the cluster.
"""
from flask import render_template, request
from flask_login import current_user

from backend.core.parsing import row_id
from backend.messages.hot_issues import hot_issues
from backend.staff import bp
from backend.staff.guard import roles_required
from backend.suggestions.drafting import draft_deputy_for, message_usable

WINDOWS = {7: "近7天", 30: "近30天", 90: "近90天"}


def by_deputy(user, messages) -> list[tuple]:
    """[(deputy, [messages])] a suggestion by each deputy could be formed from, in the cluster's order."""
    groups: dict = {}
    for message in messages:
        deputy = draft_deputy_for(user, message)
        if deputy is not None and message_usable(user, message, deputy):
            groups.setdefault(deputy, []).append(message)
    return list(groups.items())


@bp.get("/hot-issues")
@roles_required("admin", "liaison")
def hot_issues_page():
    days = request.args.get("days", type=row_id)
    days = days if days in WINDOWS else 30
    station = request.args.get("station", type=row_id)
    issues = hot_issues(current_user, days=days, station_ids=[station] if station else [])
    drafts = ({issue.cluster_id: by_deputy(current_user, issue.messages) for issue in issues}
              if current_user.role == "liaison" else {})
    return render_template("staff/hot_issues.html", issues=issues, days=days, windows=WINDOWS, drafts=drafts)
