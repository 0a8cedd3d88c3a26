"""One error shape for the whole API: {"code": "...", "message": "中文说明", "errors": {...}}."""
from flask import jsonify

from backend.errors import DomainError
from backend.extensions import db


def error_response(err: DomainError):
    db.session.rollback()
    return jsonify(code=err.code, message=err.message, errors=err.errors), err.status
