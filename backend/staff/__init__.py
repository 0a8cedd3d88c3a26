"""Staff pages: sign-in, and the admin and liaison pages for the organisation."""
from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")

from backend.staff import (  # noqa: E402,F401
    accounts, appointments, auth, calendar, deputies, importing, inbox, messages, moderation,
    activities, org, posters, projects, reception_days, reception_records, rosters, suggestion_admin,
    suggestion_department, suggestion_figures, suggestions, views, wechat_binding,
)
from backend.staff import activities, record_evaluation, records, reports  # noqa: E402,F401
from backend.staff import record_quarters  # noqa: E402,F401
from backend.staff import hot_issues, routing  # noqa: E402,F401
from backend.staff import privacy  # noqa: E402,F401
from backend.staff import once  # noqa: E402,F401
