"""A minimal PDF writer: one full-page raster image per page, optionally under an invisible
text layer (what the page says, for search, copy and text extraction; like an OCR'd scan).

PNG's IDAT data is a zlib stream with per-row predictors, which PDF reads
natively (FlateDecode with /Predictor 15), so pages go in without being
decoded or compressed again. reportlab's image path re-compresses the raw
pixels and ASCII85-encodes them in pure Python: ~0.25 s per 300-dpi A5 page,
ten times the cost of drawing the poster.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from typing import Iterable

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOURS = {0: (1, "/DeviceGray"), 2: (3, "/DeviceRGB")}  # PNG colour type -> PDF


@dataclass(frozen=True)
class _Raster:
    width: int
    height: int
    colours: int
    colour_space: str
    data: bytes  # concatenated IDAT payload


def _parse_png(png: bytes) -> _Raster:
    if not png.startswith(_PNG_SIGNATURE):
        raise ValueError("not a PNG image")
    pos, header, idat = len(_PNG_SIGNATURE), None, []
    while pos + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        body = png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    if header is None or not idat:
        raise ValueError("truncated PNG")
    width, height, depth, colour_type, _compression, _filter, interlace = header
    if depth != 8 or colour_type not in _COLOURS or interlace:
        raise ValueError("only 8-bit, non-interlaced greyscale or RGB PNGs can be embedded")
    colours, space = _COLOURS[colour_type]
    return _Raster(width, height, colours, space, b"".join(idat))


def _points(mm: float) -> str:
    return f"{mm * 72 / 25.4:.3f}"


class _Writer:
    def __init__(self) -> None:
        self.out = io.BytesIO()
        self.out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")  # binary marker for transfer tools
        self.offsets: dict[int, int] = {}

    def obj(self, number: int, body: bytes, stream: bytes | None = None) -> None:
        self.offsets[number] = self.out.tell()
        self.out.write(b"%d 0 obj\n" % number)
        self.out.write(body)
        if stream is not None:
            self.out.write(b"\nstream\n" + stream + b"\nendstream")
        self.out.write(b"\nendobj\n")

    def finish(self, root: int) -> bytes:
        size = max(self.offsets) + 1
        xref = self.out.tell()
        self.out.write(b"xref\n0 %d\n0000000000 65535 f \n" % size)
        for number in range(1, size):
            self.out.write(b"%010d 00000 n \n" % self.offsets[number])
        self.out.write(b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, root, xref))
        return self.out.getvalue()


@dataclass(frozen=True)
class TextRun:
    """A line of invisible text: its left edge and baseline from the page's top-left, in mm."""
    x_mm: float
    baseline_mm: float
    size_mm: float
    text: str


# The text layer's font: never drawn (render mode 3), so nothing is embedded; Identity-H codes
# are the UTF-16 code units and the ToUnicode map gives them back unchanged.
_FONT, _CID_FONT, _DESCRIPTOR, _TO_UNICODE = 3, 4, 5, 6
_FIRST_PAGE_OBJECT = 7  # after the catalog, the page tree and the four above


def _to_unicode_cmap() -> bytes:
    ranges = [f"<{hi:02X}00> <{hi:02X}FF> <{hi:02X}00>" for hi in range(256)]
    blocks = "".join(f"{len(chunk)} beginbfrange\n" + "\n".join(chunk) + "\nendbfrange\n"
                     for chunk in (ranges[i:i + 100] for i in range(0, 256, 100)))
    return ("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n" + blocks +
            "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend").encode()


def _write_text_font(writer: _Writer) -> None:
    writer.obj(_FONT, (f"<< /Type /Font /Subtype /Type0 /BaseFont /GlyphLessFont /Encoding "
                       f"/Identity-H /DescendantFonts [{_CID_FONT} 0 R] /ToUnicode {_TO_UNICODE}"
                       f" 0 R >>").encode())
    writer.obj(_CID_FONT, (f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /GlyphLessFont "
                           f"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement"
                           f" 0 >> /FontDescriptor {_DESCRIPTOR} 0 R /DW 1000 >>").encode())
    writer.obj(_DESCRIPTOR, b"<< /Type /FontDescriptor /FontName /GlyphLessFont /Flags 5 "
                            b"/FontBBox [0 -120 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120"
                            b" /CapHeight 700 /StemV 80 >>")
    cmap = zlib.compress(_to_unicode_cmap())
    writer.obj(_TO_UNICODE, b"<< /Length %d /Filter /FlateDecode >>" % len(cmap), cmap)


def _text_layer(runs: Iterable[TextRun], page_height_mm: float) -> str:
    ops = ["BT 3 Tr"]
    for run in runs:
        code = run.text.encode("utf-16-be").hex().upper()
        ops.append(f"/F1 {_points(run.size_mm)} Tf 1 0 0 1 {_points(run.x_mm)} "
                   f"{_points(page_height_mm - run.baseline_mm)} Tm <{code}> Tj")
    ops.append("ET")
    return " ".join(ops)


def pngs_to_pdf(pages: Iterable[bytes], paper_mm: tuple[float, float],
                texts: Iterable[Iterable[TextRun]] | None = None) -> bytes:
    """Each PNG stretched over a whole page of ``paper_mm`` (width, height); with ``texts``
    (one list of runs per page) each page also carries its words as invisible text."""
    width, height = _points(paper_mm[0]), _points(paper_mm[1])
    writer = _Writer()
    catalog, tree = 1, 2
    kids = []
    layers = iter(texts) if texts is not None else None
    first = 3
    if layers is not None:
        _write_text_font(writer)
        first = _FIRST_PAGE_OBJECT
    for index, png in enumerate(pages):
        raster = _parse_png(png)
        page, content, image = first + 3 * index, first + 1 + 3 * index, first + 2 + 3 * index
        kids.append(page)
        writer.obj(
            image,
            (
                f"<< /Type /XObject /Subtype /Image /Width {raster.width} /Height {raster.height}"
                f" /ColorSpace {raster.colour_space} /BitsPerComponent 8 /Filter /FlateDecode"
                f" /DecodeParms << /Predictor 15 /Colors {raster.colours} /BitsPerComponent 8"
                f" /Columns {raster.width} >> /Length {len(raster.data)} >>"
            ).encode(),
            raster.data,
        )
        ops, fonts = f"q {width} 0 0 {height} 0 0 cm /Im0 Do Q", ""
        if layers is not None:
            ops += " " + _text_layer(next(layers, ()), paper_mm[1])
            fonts = f" /Font << /F1 {_FONT} 0 R >>"
        drawing = zlib.compress(ops.encode())
        writer.obj(content, b"<< /Length %d /Filter /FlateDecode >>" % len(drawing), drawing)
        writer.obj(
            page,
            (
                f"<< /Type /Page /Parent {tree} 0 R /MediaBox [0 0 {width} {height}]"
                f" /Resources << /XObject << /Im0 {image} 0 R >>{fonts} >> /Contents {content} 0 R >>"
            ).encode(),
        )
    if not kids:
        raise ValueError("a PDF needs at least one page")
    writer.obj(tree, f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>".encode())
    writer.obj(catalog, f"<< /Type /Catalog /Pages {tree} 0 R >>".encode())
    return writer.finish(catalog)
