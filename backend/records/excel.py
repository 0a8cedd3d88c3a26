"""The all-deputies Excel of a year's records of duty, in the suggestion figures' house style."""
from io import BytesIO

from openpyxl import Workbook

from backend.records.display import DASH, EXCEL_HEADERS, excel_row
from backend.records.dossier import deputy_records
from backend.suggestions.figures import Pct, write_table


def export_records_xlsx(year: int, *, today=None, deputy_ids=None) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = f"{year}年度代表履职"
    rows = []
    for n, r in enumerate(deputy_records(year, deputy_ids, today=today), start=1):
        row = excel_row(n, r)
        rate_at = EXCEL_HEADERS.index("参与率")
        row[rate_at] = DASH if row[rate_at] is None else Pct(row[rate_at])
        rows.append(row)
    write_table(ws, EXCEL_HEADERS, rows, None)
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
