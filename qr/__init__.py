"""QR codes and printable posters. No Flask, HTTP or database in here:
plain values and bytes in, bytes out."""

from .codes import qr_png, qr_svg
from .fonts import FontNotFound, find_cjk_font
from .posters import (
    PosterInfo,
    render_poster_image,
    render_poster_pdf,
    render_poster_png,
    render_station_pdf,
    render_station_zip,
)

__all__ = [
    "FontNotFound",
    "PosterInfo",
    "find_cjk_font",
    "qr_png",
    "qr_svg",
    "render_poster_image",
    "render_poster_pdf",
    "render_poster_png",
    "render_station_pdf",
    "render_station_zip",
]
