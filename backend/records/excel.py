"""The all-deputies Excel of a year's (or a term's) records of duty, in the suggestion figures'
house style (same fonts, borders, fills and widths).

Written in openpyxl's write-only mode, each cell taking a copy of one of five prepared style
arrays: 500 deputies × 27 columns took over a second through the ordinary worksheet, most of it
hashing fonts and borders on every style assignment (openpyxl looks each one up in the
workbook's style tables); prepared once per workbook, that cost goes."""
from copy import copy
from io import BytesIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter

from backend.records.display import DASH, EXCEL_HEADERS, excel_row
from backend.records.dossier import Period, period_records
from backend.suggestions.figures import (
    BODY_FONT, BORDER, HEADER_FILL, HEADER_FONT, PERCENT_FORMAT, _display_width,
)

RATE_COLUMNS = frozenset(i for i, h in enumerate(EXCEL_HEADERS) if h.endswith("率"))
CENTRE = Alignment(horizontal="center", vertical="center")
RIGHT = Alignment(horizontal="right")


def export_records_xlsx(year: int, *, today=None, deputy_ids=None) -> bytes:
    return export_period_xlsx(Period.of_year(year), today=today, deputy_ids=deputy_ids)


def export_period_xlsx(period: Period, *, today=None, deputy_ids=None) -> bytes:
    rows = [excel_row(n, r) for n, r in enumerate(
        period_records(period, deputy_ids, today=today), start=1)]
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(f"{period.label}代表履职"[:31])
    ws.freeze_panes = "A2"
    for index, header in enumerate(EXCEL_HEADERS):  # widths go before the first row
        width = max([_display_width(header), *(_display_width(str(r[index])) for r in rows)]) + 3
        ws.column_dimensions[get_column_letter(index + 1)].width = min(max(width, 6), 60)
    ws.row_dimensions[1].height = 22
    styles = _styles(ws)
    ws.append([_cell(ws, styles, h, header=True) for h in EXCEL_HEADERS])
    for row in rows:
        ws.append([_cell(ws, styles, v, rate=i in RATE_COLUMNS) for i, v in enumerate(row)])
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def _styles(ws) -> dict:
    """The house style's cell kinds, each looked up in the workbook once."""
    kinds = {"header": (HEADER_FONT, HEADER_FILL, CENTRE, None),
             "text": (BODY_FONT, None, None, None), "number": (BODY_FONT, None, RIGHT, None),
             "rate": (BODY_FONT, None, RIGHT, PERCENT_FORMAT)}
    styles = {}
    for kind, (font, fill, alignment, number_format) in kinds.items():
        cell = WriteOnlyCell(ws)
        cell.font, cell.border = font, BORDER
        if fill is not None:
            cell.fill = fill
        if alignment is not None:
            cell.alignment = alignment
        if number_format is not None:
            cell.number_format = number_format
        styles[kind] = cell._style
    return styles


def _cell(ws, styles: dict, value, *, header=False, rate=False) -> WriteOnlyCell:
    if value is None:
        value = DASH
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell = WriteOnlyCell(ws, value=value)
    if header:
        kind = "header"
    elif isinstance(value, str):
        kind = "number" if value == DASH else "text"  # a dash stands in a number's place
    else:
        kind = "rate" if rate else "number"
    cell._style = copy(styles[kind])
    if isinstance(value, str):
        cell.data_type = "s"  # a name starting with "=" stays text, never a formula
    return cell
