"""The year's suggestion figures (建议办理统计), per deputy and per department, and their Excel
export in the layout a district office reports.

Definitions (口径), for a year Y counted in local (Asia/Shanghai) dates:
- 提出件数 (made): suggestions submitted (submitted_at) in Y, drafts excluded. A suggestion merged
  into another (status merged) is not counted on its own: the one it was merged into counts.
  The merged ones are shown as their own figure, 并案.
- 交办件数 (assigned): made ones with assigned_at set.
- 按期答复 (answered on time): assigned ones whose first answer (DepartmentReply round 1) was made
  on or before the deadline (deadline_on, a local date; the current deadline, so an approved
  extension counts). 超期答复: the first answer came after the deadline. 超期未答复: no answer yet
  and the deadline has passed (before `today`). 超期 = 超期答复 + 超期未答复.
  应答复件数 (due) = answered ones + 超期未答复: what should have been answered by now.
  按期答复率 = 按期答复 / 应答复件数 (a suggestion assigned last week, not yet due, does not
  pull the rate down).
- A类 / B类 / C类: the class of the latest answer (the highest round).
- 办结件数: made ones in status closed. 办结率 = 办结件数 / 交办件数.
- 满意 / 基本满意 / 不满意: the deputy's rating of the latest rated round (SuggestionRating with the
  highest round). 满意率 = (满意 + 基本满意) / 已测评件数; 基本满意 is within 满意率.
- A rate whose denominator is 0 is None and shows as "—": never a division by zero.
- Per deputy: the lead deputy (领衔代表) carries every figure; 附议件数 counts the made ones the
  deputy co-signed. The deputy rows add up to the district total (合计).
- Per department: as lead (主办, the live lead assignment) the department carries the figures of
  the suggestion; 协办件数 counts the made ones where it assists. The lead rows add up to the
  district's assigned ones.
- Overdue list (超期清单): suggestions still being handled (assigned / in_progress /
  reanswering) whose deadline is before today, whatever year they were made, per lead department,
  most overdue first. Residents are never named.

The figures are a handful of grouped queries (one per grouping, plus co-signers and assisting
departments), whatever the number of deputies. Local dates are computed in SQL with a fixed
+8 hours: Asia/Shanghai has had no daylight saving time since 1991.

Kept whole (past 400 lines): the definitions below are shared by the page and the
Excel export; one module keeps the two from counting differently.
"""
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timezone
from io import BytesIO

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.sql.expression import FunctionElement

from backend.core.extensions import db
from backend.org.models import Department, Deputy
from backend.suggestions.models import (
    DepartmentReply, Suggestion, SuggestionAssignment, SuggestionCosigner, SuggestionRating,
)
from backend.suggestions.models import HANDLING_STATUSES, SUPERVISION_LABELS
from backend.core.timeutil import LOCAL_TZ, local_today

UTC_OFFSET_HOURS = 8  # Asia/Shanghai, no DST since 1991
MIN_YEAR = 2000

# The short definitions the page and the 汇总 sheet show.
DEFINITIONS = (
    ("提出件数", "本年度（北京时间）提出的建议，不含草稿；被并案的建议不单独计数，计入并入的建议"),
    ("并案", "本年度提出后被并入其他建议的件数"),
    ("交办件数", "已交办承办单位的建议件数"),
    ("按期答复", "首次答复日期不晚于答复期限（含经批准延期后的期限）"),
    ("超期", "首次答复晚于期限（超期答复），或期限已过仍未答复（超期未答复）"),
    ("按期答复率", "按期答复件数 ÷ 应答复件数（已答复的，加上已过期限仍未答复的；未到期限的不计）"),
    ("A类 / B类 / C类", "按最近一次答复的分类统计"),
    ("办结率", "办结件数 ÷ 交办件数；交办件数为0时显示“—”"),
    ("满意率", "（满意 + 基本满意）÷ 已测评件数，以代表对最近一轮答复的测评为准；基本满意计入满意率"),
    ("承办单位", "主办单位承担该件建议的各项统计；协办件数单列"),
)


# ---- local dates in SQL ----

class _local_date(FunctionElement):
    """The Asia/Shanghai date of a naive-UTC timestamp column."""
    type = sa.Date()
    name = "local_date"
    inherit_cache = True


@compiles(_local_date)
def _local_date_default(element, compiler, **kw):  # PostgreSQL
    return (f"CAST(({compiler.process(element.clauses, **kw)}) "
            f"+ INTERVAL '{UTC_OFFSET_HOURS} hours' AS DATE)")


@compiles(_local_date, "sqlite")
def _local_date_sqlite(element, compiler, **kw):
    # SQLite keeps dates as 'YYYY-MM-DD' text, so this compares with deadline_on as is.
    return f"date({compiler.process(element.clauses, **kw)}, '+{UTC_OFFSET_HOURS} hours')"


# Public for the other figures (records of duty, station dashboards) that count the same way.
local_date = _local_date


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The UTC instants where local year `year` starts and the next one starts."""
    start = datetime(year, 1, 1, tzinfo=LOCAL_TZ).astimezone(timezone.utc)
    end = datetime(year + 1, 1, 1, tzinfo=LOCAL_TZ).astimezone(timezone.utc)
    return start, end


# ---- the figures ----

def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class Counts:
    made: int = 0
    merged: int = 0
    assigned: int = 0
    on_time: int = 0
    late: int = 0                 # first answer after the deadline
    overdue_unanswered: int = 0   # no answer and the deadline has passed
    a: int = 0
    b: int = 0
    c: int = 0
    closed: int = 0
    satisfied: int = 0
    basically_satisfied: int = 0
    dissatisfied: int = 0

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(**{f.name: getattr(self, f.name) + getattr(other, f.name)
                         for f in fields(self)})

    @property
    def overdue(self) -> int:
        return self.late + self.overdue_unanswered

    @property
    def rated(self) -> int:
        return self.satisfied + self.basically_satisfied + self.dissatisfied

    @property
    def due(self) -> int:
        """应答复件数: answered, or unanswered past the deadline."""
        return self.on_time + self.late + self.overdue_unanswered

    @property
    def on_time_rate(self) -> float | None:
        return _rate(self.on_time, self.due)

    @property
    def closure_rate(self) -> float | None:
        return _rate(self.closed, self.assigned)

    @property
    def satisfaction_rate(self) -> float | None:
        return _rate(self.satisfied + self.basically_satisfied, self.rated)


@dataclass
class DeputyRow:
    deputy_id: int
    name: str
    group: str
    cosigned: int
    counts: Counts


@dataclass
class DepartmentRow:
    department_id: int
    name: str
    assisting: int
    counts: Counts  # as lead department (主办)


@dataclass
class YearFigures:
    year: int
    today: date
    total: Counts
    by_deputy: list[DeputyRow] = field(default_factory=list)
    by_department: list[DepartmentRow] = field(default_factory=list)

    @property
    def cosigned(self) -> int:
        return sum(r.cosigned for r in self.by_deputy)

    @property
    def department_total(self) -> Counts:
        return sum((r.counts for r in self.by_department), Counts())

    @property
    def assisting(self) -> int:
        return sum(r.assisting for r in self.by_department)


def _year_filter(year: int):
    start, end = year_bounds(year)
    return sa.and_(Suggestion.status != "draft", Suggestion.submitted_at >= start,
                   Suggestion.submitted_at < end)


def _facts(year: int):
    """One row per suggestion of the year (merged ones included) with what the figures need."""
    first = aliased(DepartmentReply)
    latest = aliased(DepartmentReply)
    rating = aliased(SuggestionRating)
    lead = aliased(SuggestionAssignment)
    reply_round = (sa.select(DepartmentReply.suggestion_id,
                             sa.func.max(DepartmentReply.round).label("round"))
                   .group_by(DepartmentReply.suggestion_id).subquery())
    rating_round = (sa.select(SuggestionRating.suggestion_id,
                              sa.func.max(SuggestionRating.round).label("round"))
                    .group_by(SuggestionRating.suggestion_id).subquery())
    return (
        sa.select(Suggestion.id, Suggestion.deputy_id, Suggestion.status, Suggestion.assigned_at,
                  Suggestion.deadline_on, first.created_at.label("first_at"),
                  latest.resolution.label("resolution"), rating.value.label("rating"),
                  lead.department_id.label("lead_id"))
        .select_from(Suggestion)
        .outerjoin(first, sa.and_(first.suggestion_id == Suggestion.id, first.round == 1))
        .outerjoin(reply_round, reply_round.c.suggestion_id == Suggestion.id)
        .outerjoin(latest, sa.and_(latest.suggestion_id == Suggestion.id,
                                   latest.round == reply_round.c.round))
        .outerjoin(rating_round, rating_round.c.suggestion_id == Suggestion.id)
        .outerjoin(rating, sa.and_(rating.suggestion_id == Suggestion.id,
                                   rating.round == rating_round.c.round))
        .outerjoin(lead, sa.and_(lead.suggestion_id == Suggestion.id, lead.role == "lead",
                                 lead.status != "replaced"))
        .where(_year_filter(year))
        .subquery("facts"))


def _measures(f, today: date) -> list:
    """Aggregate columns, named like Counts' fields, over the facts subquery."""
    def count(*conditions):
        return sa.func.count(sa.case((sa.and_(*conditions), 1)))

    live = f.c.status != "merged"
    assigned = sa.and_(live, f.c.assigned_at.is_not(None))
    answered = sa.and_(assigned, f.c.first_at.is_not(None))
    answered_on = _local_date(f.c.first_at)
    return [
        count(live).label("made"),
        count(f.c.status == "merged").label("merged"),
        count(assigned).label("assigned"),
        count(answered, sa.or_(f.c.deadline_on.is_(None),
                               answered_on <= f.c.deadline_on)).label("on_time"),
        count(answered, answered_on > f.c.deadline_on).label("late"),
        count(assigned, f.c.first_at.is_(None), f.c.deadline_on < today)
        .label("overdue_unanswered"),
        count(live, f.c.resolution == "A").label("a"),
        count(live, f.c.resolution == "B").label("b"),
        count(live, f.c.resolution == "C").label("c"),
        count(live, f.c.status == "closed").label("closed"),
        count(live, f.c.rating == "satisfied").label("satisfied"),
        count(live, f.c.rating == "basically_satisfied").label("basically_satisfied"),
        count(live, f.c.rating == "dissatisfied").label("dissatisfied"),
    ]


def _counts(row) -> Counts:
    return Counts(**{f.name: int(getattr(row, f.name) or 0) for f in fields(Counts)})


def year_figures(year: int, *, today: date) -> YearFigures:
    f = _facts(year)
    measures = _measures(f, today)
    total = _counts(db.session.execute(sa.select(*measures)).one())
    per_deputy = {r.deputy_id: _counts(r) for r in db.session.execute(
        sa.select(f.c.deputy_id, *measures).group_by(f.c.deputy_id))}
    per_lead = {r.lead_id: _counts(r) for r in db.session.execute(
        sa.select(f.c.lead_id, *measures).where(f.c.lead_id.is_not(None))
        .group_by(f.c.lead_id))}

    counted = sa.and_(_year_filter(year), Suggestion.status != "merged")
    cosigned = dict(db.session.execute(
        sa.select(SuggestionCosigner.deputy_id, sa.func.count())
        .join(Suggestion, Suggestion.id == SuggestionCosigner.suggestion_id)
        .where(counted).group_by(SuggestionCosigner.deputy_id)).all())
    assisting = dict(db.session.execute(
        sa.select(SuggestionAssignment.department_id,
                  sa.func.count(sa.distinct(SuggestionAssignment.suggestion_id)))
        .join(Suggestion, Suggestion.id == SuggestionAssignment.suggestion_id)
        .where(counted, SuggestionAssignment.role == "assisting",
               SuggestionAssignment.status != "replaced")
        .group_by(SuggestionAssignment.department_id)).all())

    deputy_ids = set(per_deputy) | set(cosigned)
    deputies = db.session.execute(
        sa.select(Deputy).options(joinedload(Deputy.group))
        .where(Deputy.id.in_(deputy_ids))).scalars().all() if deputy_ids else []
    by_deputy = [DeputyRow(d.id, d.name, d.group.name if d.group else "", cosigned.get(d.id, 0),
                           per_deputy.get(d.id, Counts())) for d in deputies]
    by_deputy.sort(key=lambda r: (-r.counts.made, -r.cosigned, r.name, r.deputy_id))

    department_ids = set(per_lead) | set(assisting)
    departments = db.session.execute(
        sa.select(Department).where(Department.id.in_(department_ids))
    ).scalars().all() if department_ids else []
    by_department = [DepartmentRow(d.id, d.name, assisting.get(d.id, 0),
                                   per_lead.get(d.id, Counts())) for d in departments]
    by_department.sort(key=lambda r: (-r.counts.assigned, -r.assisting, r.name, r.department_id))
    return YearFigures(year=year, today=today, total=total, by_deputy=by_deputy,
                       by_department=by_department)


# ---- overdue ----

@dataclass
class OverdueItem:
    suggestion_id: int
    number: str
    title: str
    deputy: str
    department: str
    assigned_on: date | None
    deadline_on: date
    days_overdue: int
    supervision: str  # 重点督办 / 重要督办 / ""


@dataclass
class OverdueGroup:
    department: str
    items: list[OverdueItem]


NO_LEAD = "（未确定主办单位）"


def overdue_by_department(today: date) -> list[OverdueGroup]:
    """Suggestions still being handled past their deadline, per lead department (by name), the
    most overdue first. One query; residents are never part of it."""
    lead = aliased(SuggestionAssignment)
    rows = db.session.execute(
        sa.select(Suggestion, Department.name, Deputy.name)
        .join(Deputy, Deputy.id == Suggestion.deputy_id)
        .outerjoin(lead, sa.and_(lead.suggestion_id == Suggestion.id, lead.role == "lead",
                                 lead.status != "replaced"))
        .outerjoin(Department, Department.id == lead.department_id)
        .where(Suggestion.status.in_(HANDLING_STATUSES), Suggestion.deadline_on < today)
    ).all()
    groups: dict[str, list[OverdueItem]] = {}
    for s, department, deputy in rows:
        department = department or NO_LEAD
        groups.setdefault(department, []).append(OverdueItem(
            suggestion_id=s.id, number=s.number, title=s.title, deputy=deputy,
            department=department,
            assigned_on=s.assigned_at.astimezone(LOCAL_TZ).date() if s.assigned_at else None,
            deadline_on=s.deadline_on, days_overdue=(today - s.deadline_on).days,
            supervision=SUPERVISION_LABELS.get(s.supervision or "", "")))
    out = []
    for department in sorted(groups, key=lambda name: (name == NO_LEAD, name)):
        items = sorted(groups[department], key=lambda i: (-i.days_overdue, i.suggestion_id))
        out.append(OverdueGroup(department, items))
    return out


def available_years(today: date | None = None) -> list[int]:
    """Years (local) that have submitted suggestions, and the current one; newest first."""
    today = today or local_today()
    local_year = sa.extract("year", _local_date(Suggestion.submitted_at))
    years = {int(y) for (y,) in db.session.execute(
        sa.select(local_year).where(Suggestion.status != "draft",
                                    Suggestion.submitted_at.is_not(None)).distinct())}
    years.add(today.year)
    return sorted(years, reverse=True)


# ---- Excel ----

FONT_NAME = "宋体"
TITLE_FONT = Font(name=FONT_NAME, bold=True, size=16)
HEADER_FONT = Font(name=FONT_NAME, bold=True, size=11)
BODY_FONT = Font(name=FONT_NAME, size=11)
TOTAL_FONT = Font(name=FONT_NAME, bold=True, size=11)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
THIN = Side(style="thin", color="999999")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
PERCENT_FORMAT = "0.0%"
DASH = "—"


class Pct(float):
    """Marks a rate so the writer gives it a percent format."""


def _pct(rate: float | None):
    return DASH if rate is None else Pct(rate)


DEPUTY_HEADERS = ("序号", "代表姓名", "代表小组", "领衔件数", "附议件数", "交办件数", "按期答复",
                  "A类", "B类", "C类", "办结件数", "办结率", "满意", "基本满意", "不满意", "满意率")
DEPARTMENT_HEADERS = ("序号", "单位名称", "主办件数", "协办件数", "按期答复", "超期", "A类", "B类",
                      "C类", "办结率", "满意率")
OVERDUE_HEADERS = ("序号", "承办单位", "建议编号", "建议标题", "领衔代表", "交办日期", "答复期限",
                   "超期天数", "督办")


def deputy_cells(c: Counts) -> list:
    """The figures after name and group, in DEPUTY_HEADERS order (the page uses them too)."""
    return [c.assigned, c.on_time, c.a, c.b, c.c, c.closed, _pct(c.closure_rate),
            c.satisfied, c.basically_satisfied, c.dissatisfied, _pct(c.satisfaction_rate)]


def department_cells(c: Counts) -> list:
    return [c.on_time, c.overdue, c.a, c.b, c.c, _pct(c.closure_rate), _pct(c.satisfaction_rate)]


def summary_rows(total: Counts) -> list[tuple[str, object]]:
    return [
        ("提出件数", total.made), ("并案", total.merged), ("交办件数", total.assigned),
        ("按期答复", total.on_time), ("超期答复", total.late),
        ("超期未答复", total.overdue_unanswered), ("按期答复率", _pct(total.on_time_rate)),
        ("A类", total.a), ("B类", total.b), ("C类", total.c), ("办结件数", total.closed),
        ("办结率", _pct(total.closure_rate)), ("满意", total.satisfied),
        ("基本满意", total.basically_satisfied), ("不满意", total.dissatisfied),
        ("满意率", _pct(total.satisfaction_rate)),
    ]


def export_xlsx(year: int, *, today: date) -> bytes:
    figures = year_figures(year, today=today)
    wb = Workbook()
    _summary_sheet(wb.active, figures)

    ws = wb.create_sheet("代表")
    rows = [[i, r.name, r.group, r.counts.made, r.cosigned, *deputy_cells(r.counts)]
            for i, r in enumerate(figures.by_deputy, start=1)]
    total = ["合计", "", "", figures.total.made, figures.cosigned, *deputy_cells(figures.total)]
    _table(ws, DEPUTY_HEADERS, rows, total)

    ws = wb.create_sheet("承办单位")
    dt = figures.department_total
    rows = [[i, r.name, r.counts.assigned, r.assisting, *department_cells(r.counts)]
            for i, r in enumerate(figures.by_department, start=1)]
    _table(ws, DEPARTMENT_HEADERS, rows,
           ["合计", "", dt.assigned, figures.assisting, *department_cells(dt)])

    ws = wb.create_sheet("超期清单")
    rows, n = [], 0
    for group in overdue_by_department(today):
        for item in group.items:
            n += 1
            rows.append([n, item.department, item.number, item.title, item.deputy,
                         _date_text(item.assigned_on), _date_text(item.deadline_on),
                         item.days_overdue, item.supervision])
    _table(ws, OVERDUE_HEADERS, rows, None)
    if not rows:
        _write_row(ws, 2, [f"截至{_date_text(today)}，没有超期未答复的建议"], BODY_FONT)

    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def _date_text(d: date | None) -> str:
    return f"{d.year}年{d.month}月{d.day}日" if d else ""


def _summary_sheet(ws, figures: YearFigures) -> None:
    ws.title = "汇总"
    ws.append([f"{figures.year}年度代表建议办理情况统计表"])
    ws.merge_cells("A1:C1")
    ws["A1"].font = TITLE_FONT
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 30
    ws.append([f"统计截至{_date_text(figures.today)}（全区合计）"])
    ws.merge_cells("A2:C2")
    ws["A2"].font = BODY_FONT
    ws["A2"].alignment = Alignment(horizontal="center")
    _write_row(ws, 3, ["项目", "数值"], HEADER_FONT, header=True)
    row = 4
    for label, value in summary_rows(figures.total):
        _write_row(ws, row, [label, value], BODY_FONT)
        row += 1
    row += 1
    _write_row(ws, row, ["口径说明"], HEADER_FONT, header=True)
    for label, text in DEFINITIONS:
        row += 1
        _write_row(ws, row, [label, text], BODY_FONT)
        ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=3)
        ws.cell(row=row, column=2).alignment = Alignment(wrap_text=True, vertical="center")
    ws.column_dimensions["A"].width = 16
    ws.column_dimensions["B"].width = 14
    ws.column_dimensions["C"].width = 60
    ws.freeze_panes = "A4"


def _table(ws, headers, rows, total) -> None:
    _write_row(ws, 1, headers, HEADER_FONT, header=True)
    ws.row_dimensions[1].height = 22
    for number, values in enumerate(rows, start=2):
        _write_row(ws, number, values, BODY_FONT)
    if total is not None:
        _write_row(ws, len(rows) + 2, total, TOTAL_FONT, fill=TOTAL_FILL)
    ws.freeze_panes = "A2"
    for index, header in enumerate(headers, start=1):
        texts = [header, *(str(r[index - 1]) for r in rows)]
        width = max(_display_width(t) for t in texts) + 3
        ws.column_dimensions[get_column_letter(index)].width = min(max(width, 6), 60)


def _write_row(ws, row: int, values, font, *, header=False, fill=None) -> None:
    for column, value in enumerate(values, start=1):
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell = ws.cell(row=row, column=column, value=float(value) if isinstance(value, Pct)
                       else value)
        cell.font = font
        cell.border = BORDER
        if isinstance(value, Pct):
            cell.number_format = PERCENT_FORMAT
        if isinstance(value, str):
            cell.data_type = "s"  # a title starting with "=" stays text, never a formula
        if header:
            cell.fill = HEADER_FILL
            cell.alignment = Alignment(horizontal="center", vertical="center")
        elif fill is not None:
            cell.fill = fill
        if not header and not isinstance(value, str):
            cell.alignment = Alignment(horizontal="right")
        elif value == DASH:
            cell.alignment = Alignment(horizontal="right")


# The table writers, public for the other Excel exports in the same house style.
write_table, write_row = _table, _write_row


def _display_width(text: str) -> int:
    """Excel column units: a CJK character takes about two."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
