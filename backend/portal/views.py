from urllib.parse import urlparse

from flask import Response, abort, current_app, redirect, render_template, request

from backend.core import media as media_files
from backend.org import public
from backend.reception import days as reception_days
from backend.org.codes import code_image
from backend.portal import bp
from backend.core.timeutil import local_today
from backend.web import LARGE_TEXT_COOKIE


@bp.get("/")
def index():
    q = request.args.get("q", "").strip()
    return render_template(
        "portal/index.html", stations=public.public_stations(), q=q,
        found=public.search_deputies(q) if q else None,
        help_phone=public.help_phone(current_app.config.get("HELP_PHONE", "")))


@bp.get("/stations/<int:station_id>")
def station(station_id: int):
    st = public.public_station(station_id)
    return render_template("portal/station.html", station=st,
                           roster=public.station_roster(st),
                           next_day=reception_days.next_day(st, local_today()))


@bp.get("/d/<token>")
def deputy(token: str):
    code, dep = public.deputy_by_token(token)
    if not code.is_active:
        return render_template("portal/code_revoked.html", deputy=dep,
                               current=public.current_code_for(dep)), 410
    return render_template("portal/deputy.html", deputy=dep, code=code,
                           next_day=reception_days.next_day(dep.primary_station, local_today()))


@bp.get("/d/<token>/qr.<fmt>")
def qr_image(token: str, fmt: str):
    if fmt not in ("png", "svg"):
        abort(404)
    code, _ = public.deputy_by_token(token)
    if not code.is_active:
        abort(404)
    data, mimetype = code_image(code, fmt)
    return Response(data, mimetype=mimetype, headers={"Cache-Control": "public, max-age=3600"})


@bp.get("/media/<path:key>")
def media(key: str):
    # Only deputies' portraits are public; residents' photos have checked routes of their own.
    public_key = media_files.public_key(key)
    response = media_files.image_response(public_key, public=True) if public_key else None
    if response is None:
        abort(404)
    return response


@bp.get("/text-size")
def text_size():
    target = request.args.get("next") or "/"
    if urlparse(target).netloc or not target.startswith("/"):
        target = "/"  # never redirect off-site
    resp = redirect(target)
    large = request.args.get("large") == "1"
    resp.set_cookie(LARGE_TEXT_COOKIE, "1" if large else "0", max_age=365 * 86400,
                    samesite="Lax", httponly=True,
                    secure=current_app.config["SESSION_COOKIE_SECURE"])
    return resp

