"""A submission refused before its view ran (too many in a short time: 429; too large: 413)
must not cost the resident what they typed. Each resident form registers how to show itself
again; the error handlers call that with the refusal, so the form comes back filled in with the
reason above it. A 413 body cannot be read at all: its page offers 返回修改, back to the
browser's own copy of the form."""
import math
import time
from collections.abc import Callable

from flask import render_template, request

from backend.core.errors import RateLimited
from backend.core.extensions import db

_FORM_PAGES: dict[str, Callable] = {}


def form_page(endpoint: str):
    """Register `render(err, **view_args)` as the page that shows `endpoint`'s form again."""
    def register(render: Callable) -> Callable:
        _FORM_PAGES[endpoint] = render
        return render
    return register


def rate_limited_page():
    """The 429 answer for a portal page: its form again with the typed text, when it has one."""
    render = _FORM_PAGES.get(request.endpoint) if request.method == "POST" else None
    if render is not None:
        db.session.rollback()
        err = RateLimited(_wait_message() + "。您填写的内容还在，到时再点提交即可")
        return render(err, **(request.view_args or {})), 429
    return render_template("error.html", title="请稍后再试", message=_wait_message(),
                           code=RateLimited.code), 429


def too_large_page():
    return render_template(
        "error.html", title="照片太大", code="upload_too_large", back_url=_back_url(),
        message="这次选的照片加起来太大了，请少选几张或换小一点的照片后重新提交。"
                "点「返回修改」回到刚才的页面，写好的文字还在。"), 413


def _back_url() -> str | None:
    # A registered form answers GET on the same address: that is the form, empty at worst.
    if request.method == "POST" and request.endpoint in _FORM_PAGES:
        return request.path
    return None


def _wait_message() -> str:
    """How long until the breached limit lets the resident send again, in whole minutes."""
    from backend.core.ratelimit import limiter
    breached = limiter.current_limit
    wait = breached.reset_at - time.time() if breached is not None else 0
    if wait <= 0:
        return RateLimited.message
    minutes = max(1, round(wait / 60))  # the limiter rounds its windows up by a second
    when = f"{minutes}分钟后" if minutes < 60 else f"{math.ceil(minutes / 60)}小时后"
    return f"提交太频繁了，请{when}再提交"
