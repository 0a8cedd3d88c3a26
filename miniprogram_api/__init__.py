"""The mini-program's JSON API, versioned under /api/mp/v1."""
from flask import Blueprint

bp = Blueprint("miniprogram_api", __name__, url_prefix="/api/mp/v1")

from miniprogram_api import deputies  # noqa: E402,F401
