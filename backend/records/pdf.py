"""The printable A4 PDF of one deputy's year: the same labelled rows as the staff page
(backend.records.display) and the evaluation's breakdown, drawn with Pillow in the CJK font of
the posters, one raster per page (qr.pdf), each under an invisible text layer so the words can
be searched, copied and read back."""
import io
import zlib
from dataclasses import dataclass

from PIL import Image, ImageDraw

from backend.records import display
from backend.records.dossier import DeputyRecord
from backend.records.evaluation import Evaluation, rows as evaluation_rows
from qr.fonts import get_font
from qr.pdf import TextRun, pngs_to_pdf
from qr.text import fit_text

A4_MM = (210, 297)
DPI = 150
MARGIN_MM, LABEL_MM = 18, 46
INK, GREY, BAND = (20, 20, 20), (110, 110, 110), (232, 240, 236)


def _px(mm: float) -> int:
    return round(mm * DPI / 25.4)


@dataclass(frozen=True)
class _Line:
    """One line of the layout: its parts (x in mm, text, size in mm, bold, colour)."""
    height_mm: float
    parts: tuple[tuple[float, str, float, bool, tuple], ...] = ()
    band: bool = False  # a section's shaded heading


def _wrap(text: str, width_mm: float, size_mm: float) -> list[str]:
    fitted = fit_text(text, _px(width_mm), _px(size_mm) * 40, max_size=_px(size_mm),
                      min_size=_px(size_mm), max_lines=40, leading=1.0)
    return list(fitted.lines)


def _layout(record: DeputyRecord, evaluation: Evaluation, more) -> list[list[_Line]]:
    """Blocks of lines: a section is one block, kept on one page when it fits on one."""
    width = A4_MM[0] - 2 * MARGIN_MM
    lines = [_Line(12, ((MARGIN_MM, f"{record.name} · {record.period.label}履职档案", 7, True, INK),))]
    blocks = [lines]
    for text in (f"所在联络站：{record.stations or '暂无'}",
                 f"统计口径：按北京时间 {record.period.dates_text}，数字来自系统中的"
                 "留言、接待日、活动和建议记录，不经人工填报。"):
        lines += [_Line(5.5, ((MARGIN_MM, part, 3.4, False, GREY),))
                  for part in _wrap(text, width, 3.4)]
    sections = [*display.sections(record), *more,
                ("履职评价（逐项计分）", evaluation_rows(evaluation))]
    for title, rows in sections:
        lines = [_Line(3, ()), _Line(7.5, ((MARGIN_MM + 2, title, 4.4, True, INK),), band=True)]
        blocks.append(lines)
        for label, value in rows:
            parts = _wrap(value, width - LABEL_MM, 3.8)
            for i, part in enumerate(parts):
                lead = ((MARGIN_MM + 2, label, 3.8, False, GREY),) if i == 0 else ()
                lines.append(_Line(5.4, (*lead, (MARGIN_MM + LABEL_MM, part, 3.8, False, INK))))
    lines = [_Line(3, ())]
    blocks.append(lines)
    for text in ("说明：答复用时只统计应由代表本人答复的留言，并与留言数量一起显示；满意率以群众对"
                 "最近一次答复的评价为准；参与率 = 参加 ÷ 应参加。履职评价按查看时的评价设置计算。",):
        lines += [_Line(5.2, ((MARGIN_MM, part, 3.2, False, GREY),))
                  for part in _wrap(text, width, 3.2)]
    return blocks


def _pages(blocks: list[list[_Line]]) -> list[list[_Line]]:
    room = A4_MM[1] - 2 * MARGIN_MM - 8  # the footer's share
    pages, page, used = [], [], 0.0
    for block in blocks:
        height = sum(line.height_mm for line in block)
        if used + height > room and page and height <= room:
            pages.append(page)  # the whole section on the next page
            page, used = [], 0.0
        for line in block:  # a section longer than a page breaks between lines
            if used + line.height_mm > room and page:
                pages.append(page)
                page, used = [], 0.0
            page.append(line)
            used += line.height_mm
    return [*pages, page]


def _draw(page: list[_Line], footer: str) -> tuple[bytes, list[TextRun]]:
    image = Image.new("RGB", (_px(A4_MM[0]), _px(A4_MM[1])), "white")
    draw = ImageDraw.Draw(image)
    runs: list[TextRun] = []

    def text(x, baseline, value, size, bold, colour):
        draw.text((_px(x), _px(baseline)), value, font=get_font(_px(size), "bold" if bold else
                                                                "regular"),
                  fill=colour, anchor="ls")
        runs.append(TextRun(x, baseline, size, value))

    top = MARGIN_MM
    for line in page:
        if line.band:
            draw.rectangle((_px(MARGIN_MM), _px(top), _px(A4_MM[0] - MARGIN_MM),
                            _px(top + line.height_mm - 1)), fill=BAND)
        for x, value, size, bold, colour in line.parts:
            text(x, top + line.height_mm * 0.72, value, size, bold, colour)
        top += line.height_mm
    bottom = A4_MM[1] - MARGIN_MM
    draw.line((_px(MARGIN_MM), _px(bottom - 6), _px(A4_MM[0] - MARGIN_MM), _px(bottom - 6)),
              fill=GREY, width=1)
    text(MARGIN_MM, bottom, footer, 3, False, GREY)
    buf = io.BytesIO()
    image.save(buf, format="PNG", dpi=(DPI, DPI), compress_type=zlib.Z_RLE)
    return buf.getvalue(), runs


def record_pdf(record: DeputyRecord, evaluation: Evaluation, *, generated: str,
               more: list[tuple[str, list[tuple[str, str]]]] = ()) -> bytes:
    """The A4 PDF; `generated` is the Beijing time it was made, as shown in the footer; `more`
    are further sections (title, labelled rows) after the record's own."""
    pages = _pages(_layout(record, evaluation, more))
    drawn = [_draw(page, f"{record.name} {record.period.label}履职档案 · 生成于 {generated}（北京时间）"
                         f" · 第 {i} 页，共 {len(pages)} 页")
             for i, page in enumerate(pages, start=1)]
    return pngs_to_pdf([png for png, _ in drawn], A4_MM, [runs for _, runs in drawn])
