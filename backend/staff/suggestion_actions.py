"""The one way a POST action on a suggestion runs, for deputies, the admin office and
departments alike: 404 for an unknown suggestion, 403 unless the user's role is one of `roles`,
they may view it and `allowed(user, suggestion)`; then the view calls one operation and returns
the Chinese text to flash. One commit on success. A refusal the operation itself raises
(Forbidden, NotFound) stays a 403/404 page; any other domain error (wrong state, bad input) is
rolled back, flashed, and changes nothing. Either way the user lands back on the suggestion."""
from functools import wraps

from flask import abort, redirect, url_for
from flask_login import current_user, login_required

from backend.core.errors import Forbidden
from backend.core.extensions import db
from backend.suggestions import core
from backend.staff import bp
from backend.staff.pages import run_and_flash


def suggestion_action(rule: str, allowed, *, roles: tuple[str, ...] = ()):
    def decorator(view):
        @bp.post(rule, endpoint=view.__name__)
        @login_required
        @wraps(view)
        def wrapped(suggestion_id, **kwargs):
            if roles and current_user.role not in roles:
                raise Forbidden()
            suggestion = core.get_for(current_user, suggestion_id)
            if not allowed(current_user, suggestion):
                raise Forbidden("您无权对这件建议进行此操作", code="suggestion_forbidden")
            run_and_flash(lambda: view(suggestion, **kwargs))
            return redirect(url_for("staff.suggestion", suggestion_id=suggestion_id))
        return wrapped
    return decorator


def part_of(suggestion, model, part_id: int):
    """The row of `model` (an extension, assignment, follow-up) with that id, if it belongs to
    this suggestion; 404 otherwise, so an id under another suggestion's URL finds nothing."""
    part = db.session.get(model, part_id)
    if part is None or part.suggestion_id != suggestion.id:
        abort(404)
    return part
