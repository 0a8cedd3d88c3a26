"""A staff form that makes a row from free text is recorded once, however often a double click
or a browser resubmit posts it: the form renders a hidden key, new on every render
(`{{ once_key() }}` in its template); the view hands `posted_key()` to the operation's *_once
variant and flashes `said(...)`, which on a replay tells the user nothing new was recorded. The
key's rules and refusals are backend/core/idempotency.py's."""
import uuid

from flask import request
from markupsafe import Markup

from backend.staff import bp

FIELD = "idempotency_key"


@bp.app_template_global()
def once_key() -> Markup:
    """The form's hidden key; a fresh render is a new submission, a resubmit sends it again."""
    return Markup(f'<input type="hidden" name="{FIELD}" value="{uuid.uuid4().hex}">')


def posted_key() -> str:
    return request.form.get(FIELD, "")


def said(done: tuple, made: str, again: str) -> str:
    """The flash for a *_once operation's (row, made now)."""
    return made if done[1] else again
