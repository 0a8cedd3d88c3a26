"""Security headers on every response. Scripts come only from our own static files (no inline
script, no inline event handler: templates mark behaviour with data-* attributes that
static/js/common.js reads), so an injected <script> or onerror= does not run; no one may frame
our pages; the browser never guesses a type; our URLs (a lookup code in /track) never leave in a
Referer. Inline style attributes stay allowed: they cannot run code."""
from flask import Flask

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",  # blob: the write page's previews of chosen photos
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _add_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def register_security_headers(app: Flask) -> None:
    app.after_request(_add_headers)
