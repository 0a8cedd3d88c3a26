"""Staff pages: sign-in, and the admin and liaison pages for the organisation."""
from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")

from backend.staff import auth, calendar, importing, posters, views  # noqa: E402,F401
