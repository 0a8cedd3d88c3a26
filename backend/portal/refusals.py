"""A submission refused (too many in a short time: 429; too large: 413; the photo store
unreachable: 503) must not cost the resident what they typed. Each resident form registers how
to show itself again; the error handlers call that with the refusal, so the form comes back
filled in with the reason above it. A 413 body cannot be read at all: its page offers 返回修改, back to the
browser's own copy of the form."""
from collections.abc import Callable

from flask import render_template, request

from backend.core.errors import RateLimited, Unavailable
from backend.core.extensions import db

_FORM_PAGES: dict[str, Callable] = {}


def form_page(endpoint: str):
    """Register `render(err, **view_args)` as the page that shows `endpoint`'s form again."""
    def register(render: Callable) -> Callable:
        _FORM_PAGES[endpoint] = render
        return render
    return register


def rate_limited_page(limited: RateLimited):
    """The 429 answer for a portal page: its form again with the typed text, when it has one."""
    headers = {"Retry-After": str(limited.retry_after)} if limited.retry_after else {}
    again = _form_again(RateLimited(limited.message + "。您填写的内容还在，到时再点提交即可",
                                    retry_after=limited.retry_after))
    if again is not None:
        return again, 429, headers
    return render_template("error.html", title="请稍后再试", message=limited.message,
                           code=limited.code), 429, headers


def storage_down_page(down: Unavailable):
    """The photo store cannot be reached: the form again with the typed text, which can be sent
    without the photos now or with them later."""
    again = _form_again(Unavailable(
        "照片暂时无法保存，留言还没有提交。您填写的文字还在，可以不带照片先提交，或稍后再试。",
        code=down.code))
    return None if again is None else (again, 503, {"Retry-After": str(down.retry_after)})


def _form_again(err):
    render = _FORM_PAGES.get(request.endpoint) if request.method == "POST" else None
    if render is None:
        return None
    db.session.rollback()
    return render(err, **(request.view_args or {}))


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


def answer_portal_errors(err):
    """For backend/web.py: a refused resident form comes back filled in; other errors take the
    usual page."""
    if request.blueprint != "portal":
        return None
    if isinstance(err, RateLimited):
        return rate_limited_page(err)
    if isinstance(err, Unavailable) and err.code == "storage_unavailable":
        return storage_down_page(err)
    return None
