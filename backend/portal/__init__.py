"""The residents' mobile portal: deputy pages reached from QR codes, stations, text size."""
from flask import Blueprint

bp = Blueprint("portal", __name__)

from backend.portal import appointments, ical, messages, projects, views  # noqa: E402,F401
