"""Staff downloads of the printable "给Ta留言" posters: one deputy's, or a whole station's."""
import re

from flask import Response, request
from flask_login import current_user

from backend.org.policy import can_manage_deputy, can_manage_station, ensure, managed_station_ids
from backend.core.downloads import attachment
from backend.core.extensions import db
from backend.org.models import Deputy, Station
from backend.reception import posters
from backend.core.parsing import row_id
from backend.staff import bp
from backend.staff.guard import roles_required
from backend.staff.pages import get_or_404


@bp.get("/deputies/<int:deputy_id>/poster.<any(png,pdf):fmt>")
@roles_required("admin", "liaison")
def deputy_poster(deputy_id, fmt):
    dep = get_or_404(Deputy, deputy_id)
    ensure(can_manage_deputy(current_user, dep))
    data, mimetype, filename = posters.deputy_poster(
        dep, _poster_station(dep), request.args.get("size"), fmt)
    db.session.commit()  # a code may have been issued, or a mini-program code cached
    return _download(data, mimetype, filename)


@bp.get("/stations/<int:station_id>/posters.<any(pdf,zip):fmt>")
@roles_required("admin", "liaison")
def station_posters(station_id, fmt):
    station = get_or_404(Station, station_id)
    ensure(can_manage_station(current_user, station))
    size = posters.paper_size(request.args.get("size"))
    data = posters.station_posters(station, size, fmt)
    db.session.commit()  # codes may have been issued, or mini-program codes cached
    return _download(data, posters.MIMETYPES[fmt], posters.posters_filename(station.name, size, fmt))


def _poster_station(dep):
    """The station named on the poster: ?station=<id>, else the first of the deputy's stations
    this user looks after (a liaison prints for their own station); None means the first."""
    wanted = request.args.get("station", type=row_id)
    scope = managed_station_ids(current_user)
    return next((s for s in dep.stations
                 if (s.id == wanted if wanted else scope is None or s.id in scope)), None)


def _download(data: bytes, mimetype: str, filename: str) -> Response:
    """An attachment with its Chinese name (RFC 5987) and an ASCII name for old clients."""
    ascii_tail = re.sub(r"[^A-Za-z0-9.]+", "-", filename.encode("ascii", "ignore").decode())
    fallback = "posters-" + re.sub(r"-{2,}", "-", ascii_tail).strip("-")
    return attachment(data, mimetype, filename, fallback)
