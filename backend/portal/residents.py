"""Who the resident is on the web portal: a random key in a long-lived cookie.

The key is handed out when the write form is shown, so a first double tap (two requests before
any row exists) still names one resident, and the per-resident rate limit counts this browser
rather than the whole station's Wi-Fi. The Resident row itself is made on first submission.
"""
import re
import secrets

import sqlalchemy as sa
from flask import current_app, g, request

from backend.core.extensions import db
from backend.accounts.resident_model import Resident
from backend.portal import bp
from backend.core.ratelimit import RESIDENT_COOKIE

COOKIE_MAX_AGE = 400 * 86400  # the longest lifetime browsers still honour
_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)


def _cookie_key() -> str | None:
    key = request.cookies.get(RESIDENT_COOKIE, "")
    return key if _KEY_RE.match(key) else None


def web_key() -> str:
    """This browser's key: the one in its cookie, or a new one the response will set."""
    if "web_key" not in g:
        g.web_key = _cookie_key() or secrets.token_urlsafe(32)
    return g.web_key


def _by_key(key: str) -> Resident | None:
    return db.session.scalar(db.select(Resident).filter_by(web_key=key))


def current_web_resident() -> Resident | None:
    """The resident this browser wrote as, if it ever did; never writes."""
    if "web_resident" not in g:
        key = _cookie_key()
        g.web_resident = _by_key(key) if key else None
        if g.web_resident is not None:
            g.web_key = key  # keep a returning resident's cookie alive
    return g.web_resident


def get_or_create_web_resident() -> Resident:
    """The browser's resident, made on its first write. Losing a race rolls back only the
    savepoint of the insert, not what the request did before."""
    key = web_key()
    resident = _by_key(key)
    if resident is not None:
        return resident
    resident = Resident(web_key=key)
    try:
        with db.session.begin_nested():
            db.session.add(resident)
            db.session.flush()
    except sa.exc.IntegrityError:
        # A parallel request from the same browser (a double tap) created it first.
        resident = _by_key(key)
        if resident is None:
            raise
    return resident


@bp.after_request
def _remember_web_key(response):
    key = g.get("web_key")
    if key and response.status_code < 500:
        response.set_cookie(RESIDENT_COOKIE, key, max_age=COOKIE_MAX_AGE, httponly=True,
                            samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response
