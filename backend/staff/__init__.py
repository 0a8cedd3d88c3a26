"""Staff pages: sign-in, and the admin and liaison pages for the organisation."""
from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")

from backend.staff import (  # noqa: E402,F401
    accounts, auth, calendar, deputies, importing, messages, moderation, org, posters, views,
    wechat_binding,
)
