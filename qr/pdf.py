"""Wrap raster pages into a PDF with reportlab."""

from __future__ import annotations

import io
from typing import Iterable

from PIL import Image
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas


def images_to_pdf(pages: Iterable[Image.Image], paper_mm: tuple[float, float], dpi: int) -> bytes:
    width, height = paper_mm[0] * mm, paper_mm[1] * mm
    buf = io.BytesIO()
    pdf = Canvas(buf, pagesize=(width, height), pageCompression=0)
    for image in pages:
        pdf.drawImage(ImageReader(image), 0, 0, width=width, height=height)
        pdf.showPage()
    pdf.save()
    return buf.getvalue()
