"""The staff home page, and what every staff template may ask about permissions."""
from flask import render_template, request, url_for
from flask_login import current_user, login_required

from backend.org import policy as access
from backend.staff import bp


@bp.context_processor
def _permissions():
    # Templates show a button only when the same check the handler runs would pass.
    return {name: getattr(access, name) for name in (
        "can_manage_station", "can_manage_deputy", "can_deactivate_deputy",
        "can_deactivate_station", "can_create_station", "can_create_deputy", "can_manage_org")}


@bp.app_template_global()
def page_url(page: int) -> str:
    """This page's URL with the same filters and another page number."""
    args = {**(request.view_args or {}), **request.args.to_dict(), "page": page}
    return url_for(request.endpoint, **args)


@bp.after_request
def _no_store(response):
    # Staff pages carry phone numbers and one-time passwords: keep them out of shared caches.
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.get("/")
@login_required
def home():
    return render_template("staff/home.html", user=current_user)
