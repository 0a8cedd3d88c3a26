"""Printable "给Ta留言" posters: gather what a deputy's poster shows and render it with qr/.

May issue a code (a deputy without one) or cache a mini-program code: the caller commits."""
import re

from backend.core.adapters import get_storage
from backend.core.errors import InvalidState, ValidationFailed
from backend.core.extensions import db
from backend.org.models import Deputy, deputy_stations
from backend.org.code_model import DeputyCode
from backend.reception.models import ReceptionRule
from backend.org.codes import ensure_code, issue_code, poster_code_image
from qr.posters import (
    PRINT_DPI, PosterInfo, render_poster_pdf, render_poster_png, render_station_pdf,
    render_station_zip,
)

SIZES = ("A5", "A4")
MIMETYPES = {"png": "image/png", "pdf": "application/pdf", "zip": "application/zip"}
DEPUTY_FORMATS = {"png": render_poster_png, "pdf": render_poster_pdf}
STATION_FORMATS = {"pdf": render_station_pdf, "zip": render_station_zip}

DEFAULT_RECEPTION_DAY = 15  # the statutory day, for a station that has no rule of its own yet
# The footer is one line of about 40 characters at its smallest print size: a longer address
# would shrink the reception-day notice or be cut off, so it stays off the poster.
FOOTER_ADDRESS_MAX = 20
_UNSAFE_IN_FILENAME = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')


def paper_size(value: str | None) -> str:
    size = (value or "A5").strip().upper()
    if size not in SIZES:
        raise ValidationFailed("纸张大小只能选 A5 或 A4", code="bad_paper_size")
    return size


def posters_filename(name: str, size: str, fmt: str) -> str:
    """``城关街道代表联络站-代表海报-A5.pdf``; safe as a file name on every system."""
    return f"{_UNSAFE_IN_FILENAME.sub('', name).strip() or '代表'}-代表海报-{size}.{fmt}"


def poster_footer(station) -> str:
    address = (station.address or "").strip() if station is not None else ""
    rule = db.session.get(ReceptionRule, station.id) if station is not None else None
    note = f"每月{rule.day_of_month if rule else DEFAULT_RECEPTION_DAY}日 代表接待选民日"
    if address and len(address) <= FOOTER_ADDRESS_MAX:
        return f"{note} · {address}"
    return note


def poster_info(deputy, station, code: DeputyCode, footer: str | None = None) -> PosterInfo:
    storage = get_storage()
    # A photo lost from storage still gets a poster, with the surname in place of the face.
    photo = storage.read(deputy.photo_path) if storage.exists(deputy.photo_path) else None
    return PosterInfo(
        deputy_name=deputy.name, level_label=deputy.level_label,
        station_name=station.name if station is not None else "",
        occupation=deputy.occupation or "", photo=photo, code_png=poster_code_image(code),
        footer=poster_footer(station) if footer is None else footer)


def deputy_poster(deputy, station=None, size: str = "A5", fmt: str = "png"
                  ) -> tuple[bytes, str, str]:
    """One deputy's poster naming `station` (default: the deputy's first station)."""
    render = _pick(DEPUTY_FORMATS, fmt)
    size = paper_size(size)
    if not deputy.is_active:
        # Its code leads to a page that says the deputy is not shown: nothing to print.
        raise InvalidState("该代表已停用，不能生成海报", code="deputy_inactive")
    info = poster_info(deputy, station or deputy.primary_station, ensure_code(deputy))
    return render(info, size, dpi=PRINT_DPI), MIMETYPES[fmt], posters_filename(deputy.name, size, fmt)


def station_posters(station, size: str = "A5", fmt: str = "pdf", progress=None) -> bytes:
    """Every active deputy of the station, by name: one PDF page or one PNG in a ZIP each.
    `progress(done, total)` is called after each poster."""
    render = _pick(STATION_FORMATS, fmt)
    size = paper_size(size)
    if not station.is_active:
        raise InvalidState("该联络站已停用，不能生成海报", code="station_inactive")
    rows = _roster_with_codes(station)
    if not rows:
        raise InvalidState("该联络站还没有在用的代表，无法生成海报", code="no_deputies")
    footer = poster_footer(station)
    infos = [poster_info(deputy, station, code or issue_code(deputy), footer)
             for deputy, code in rows]
    return render(infos, size, progress, dpi=PRINT_DPI)


def _roster_with_codes(station) -> list[tuple[Deputy, DeputyCode | None]]:
    """The station's active deputies with their live code, in one query."""
    rows = db.session.execute(
        db.select(Deputy, DeputyCode)
        .join(deputy_stations, deputy_stations.c.deputy_id == Deputy.id)
        .outerjoin(DeputyCode, (DeputyCode.deputy_id == Deputy.id)
                   & DeputyCode.revoked_at.is_(None))
        .where(deputy_stations.c.station_id == station.id, Deputy.is_active.is_(True))
        .order_by(Deputy.name, Deputy.id))
    return [(deputy, code) for deputy, code in rows]


def _pick(renderers: dict, fmt: str):
    try:
        return renderers[fmt]
    except KeyError:
        names = "、".join(renderers).upper()
        raise ValidationFailed(f"文件格式只能选 {names}", code="bad_poster_format") from None
