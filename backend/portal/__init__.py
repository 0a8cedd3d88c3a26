"""The residents' mobile portal: deputy pages reached from QR codes, stations, text size."""
from flask import Blueprint

from backend.portal.refusals import answer_portal_errors
from backend.web import answer_errors_under

bp = Blueprint("portal", __name__)


@bp.record_once
def _answer_portal_errors(state) -> None:
    answer_errors_under(state.app, "/", answer_portal_errors)


from backend.portal import appointments, ical, messages, projects, views  # noqa: E402,F401
from backend.portal import followups, my_data, records, reports  # noqa: E402,F401
