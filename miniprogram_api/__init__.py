"""The mini-program's JSON API, versioned under /api/mp/v1: one module per resource, one
error shape (errors.py), an OpenAPI document built from the same schemas (openapi.py)."""
from flask import Blueprint

bp = Blueprint("miniprogram_api", __name__, url_prefix="/api/mp/v1")

from miniprogram_api import (  # noqa: E402,F401
    auth, deputies, deputy, deputy_suggestions, errors, liaison, messages, openapi, photos,
    projects, subscriptions,
)
from miniprogram_api import (  # noqa: E402,F401
    deputy_activities, deputy_record, followups, liaison_activities, me,
)
