"""QR codes as PNG or SVG bytes."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_Q

# Q (25 % recovery) rather than M: printed codes on a station wall get
# scuffed, faded and partially covered by drawing pins.
ERROR_CORRECTION = ERROR_CORRECT_Q


def _build(data: str, **kwargs) -> qrcode.QRCode:
    if not data:
        raise ValueError("QR data must not be empty")
    code = qrcode.QRCode(error_correction=ERROR_CORRECTION, **kwargs)
    code.add_data(data)
    code.make(fit=True)
    return code


def qr_png(data: str, *, box_size: int = 10, border: int = 4) -> bytes:
    """Black-on-white 1-bit PNG; ``border`` is the quiet zone in modules."""
    image = _build(data, box_size=box_size, border=border).make_image()
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def qr_svg(data: str) -> bytes:
    """Standalone SVG (single path) with width, height and viewBox."""
    code = _build(data, image_factory=qrcode.image.svg.SvgPathImage)
    return code.make_image().to_string(encoding="unicode").encode("utf-8")
