"""Deputy rosters in Excel: preview and apply an import, export the roster, hand out a template.

The layout is one sheet (the first), headers in row 1 (a title line or two above them is
tolerated), one deputy per row, row numbers reported as Excel shows them. Headers are matched
after removing spaces and folding full-width characters, in any order; unknown columns are
ignored with a warning. See COLUMNS for the headers and the aliases we accept.

Decisions a district office will run into:
- 届次 must name a term that already exists (otherwise the error lists the known terms). Terms
  carry dates and the "current" flag and change once in five years; creating one from a typo
  ("区第5届" next to "区第五届") would silently split the roster. A blank 届次 means no term.
- 代表小组 is created when an admin imports it (with a warning in the preview): groups are only
  a name and the office adds them as rosters change. For a liaison an unknown group is an error,
  as groups, like terms, belong to the admin office.
- 所属站点 lists existing station names separated by 、，,;； — stations are never created here.
- Identity, so that importing the same file twice changes nothing:
  1. a row with 联系电话 matches the deputy with that phone; if that deputy has another name the
     row is refused (the phone belongs to someone else);
  2. otherwise it matches by (姓名, 届次) — by 姓名 alone when the sheet has no 届次 column; a row
     that brings a phone only matches a deputy who has none on record yet (so a namesake with a
     different phone is a new deputy, flagged with a warning); several matches are an error.
- A column missing from the sheet leaves that field alone on update; a blank cell in a present
  column clears the field (状态 blank = 在职).
- An admin imports into every station. A liaison may only touch deputies of their own stations,
  may only add their own stations, and a deputy keeps the stations the liaison does not manage.
- Nothing is written by a preview; apply_import writes everything or nothing (it only flushes;
  the caller commits once).

Kept whole (past 400 lines): import, export and template share one column table
(COLUMNS) and its header matching; apart, they would drift.
"""
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from io import BytesIO
from typing import NamedTuple

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy.orm import joinedload, selectinload

from backend.org.policy import ensure
from backend.core.errors import ValidationFailed
from backend.core.extensions import db
from backend.org.models import LEVELS, Deputy, DeputyGroup, Station, Term
from backend.org.models import LEVEL_SHORT
from backend.core.audit import record, snapshot
from backend.org.codes import issue_code

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
HEADER_SEARCH_ROWS = 5  # a title line above the headers is common in office files
SHEET_TITLE = "代表名册"


@dataclass(frozen=True)
class Column:
    header: str
    field: str
    width: int
    aliases: tuple[str, ...] = ()
    required: bool = False
    max_length: int | None = None
    hint: str = ""


COLUMNS = (
    Column("姓名", "name", 10, ("代表姓名",), required=True, max_length=40, hint="必填"),
    Column("代表层级", "level", 12, ("层级", "级别", "代表级别"), required=True,
           hint="必填：全国、省、市、县（区）、乡（镇）"),
    Column("届次", "term", 14, ("届别",), hint="须与系统中的届次名称一致，如“区第五届”"),
    Column("选区", "constituency", 18, ("所在选区",), max_length=80),
    Column("代表小组", "group", 18, ("代表组", "所属代表小组"), max_length=60,
           hint="系统中没有的小组会自动新建"),
    Column("职业", "occupation", 22, ("工作单位及职务",), max_length=120),
    Column("专业特长", "expertise", 22, ("特长",), max_length=200),
    Column("联系电话", "phone", 16, ("电话", "手机", "手机号", "手机号码"),
           hint="11位手机号码或带区号的固定电话；同一号码只能属于一位代表"),
    Column("所属站点", "stations", 30, ("站点", "家站点", "所属家站点"),
           hint="须与系统中的站点名称一致，多个站点用“、”分隔"),
    Column("简介", "intro", 40, ("个人简介", "代表简介")),
    Column("状态", "status", 8, ("在职状态",), hint="在职 或 停用，不填视为在职"),
)
HEADERS = tuple(c.header for c in COLUMNS)

# Spelled-out levels, compared after _key() and after the suffixes below are dropped.
LEVEL_WORDS = {
    "全国": "national",
    "省": "provincial", "自治区": "provincial", "直辖市": "provincial",
    "市": "municipal", "设区的市": "municipal", "地级市": "municipal", "自治州": "municipal",
    "县": "county", "区": "county", "县(区)": "county", "区(县)": "county", "县区": "county",
    "区县": "county", "县级市": "county", "自治县": "county",
    "乡": "township", "镇": "township", "乡(镇)": "township", "乡镇": "township",
    "民族乡": "township",
}
LEVEL_SUFFIXES = ("人民代表大会代表", "人大代表", "代表", "人大")
STATUS_WORDS = {"在职": True, "正常": True, "在任": True, "启用": True,
                "停用": False, "离任": False, "已离任": False, "不在职": False, "已停用": False}
STATUS_TEXT = {True: "在职", False: "停用"}
STATION_SEPARATORS = re.compile(r"[、，,;；\n]+")
MOBILE = re.compile(r"1[3-9]\d{9}")
# 010 and 02x are the only three-digit area codes; every other one has four digits.
LANDLINE = re.compile(r"(0(?:10|2\d|[3-9]\d\d))([2-9]\d{6,7})")

AUDITED = ("name", "level", "term_id", "group_id", "constituency", "occupation", "expertise",
           "phone", "intro", "is_active")
TEXT_FIELDS = ("name", "constituency", "occupation", "expertise", "intro")
SIMPLE_FIELDS = (*TEXT_FIELDS, "level", "phone")  # copied from the sheet as they are


class Issue(NamedTuple):
    """One problem (or warning) found in the file; row None means the file as a whole."""
    row: int | None
    column: str
    message: str


@dataclass
class PreviewRow:
    row_number: int
    values: dict                       # field -> parsed value, only for columns the sheet has
    action: str | None = None          # 'create' | 'update' | 'unchanged'; None when in error
    changes: list[str] = field(default_factory=list)  # headers of the fields an update changes
    deputy_id: int | None = None
    target: dict = field(default_factory=dict, repr=False)   # model attribute -> new value
    deputy: Deputy | None = field(default=None, repr=False)
    unparsed: dict = field(default_factory=dict, repr=False)  # field -> text of a bad cell

    def text(self, fld: str) -> str:
        """A value as the sheet writes it, for showing the row back to the person importing."""
        value = self.values.get(fld)
        if value is None:
            return self.unparsed.get(fld, "")
        if fld == "level":
            return LEVEL_SHORT[value]
        if fld == "status":
            return STATUS_TEXT[value]
        if fld == "stations":
            return "、".join(value)
        return str(value)


@dataclass
class ImportPreview:
    rows: list[PreviewRow] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    def error_rows(self) -> set[int]:
        return {e.row for e in self.errors if e.row}


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int


class _CellError(Exception):
    pass


@dataclass(frozen=True)
class _NewGroup:
    """A group the import will create; resolved to a DeputyGroup when applying."""
    name: str


# ---- public API ----

def preview_import(data: bytes, *, actor) -> ImportPreview:
    """Parse and check the file against the database; writes nothing."""
    managed = _managed_station_ids(actor)
    preview = ImportPreview()
    sheet = _read_sheet(data, preview)
    if sheet is not None:
        _Checker(preview, sheet.columns, _Catalogue.load(), managed).check(sheet.rows)
    return preview


def apply_import(data: bytes, *, actor) -> ImportResult:
    """Re-check the file and write every row, or raise ValidationFailed and write nothing."""
    preview = preview_import(data, actor=actor)
    if not preview.ok:
        raise ValidationFailed(
            f"导入文件有 {len(preview.errors)} 处错误，未导入任何数据，请修改后重新上传",
            code="import_invalid", errors=_errors_by_row(preview.errors))
    groups: dict[str, DeputyGroup] = {}
    created = []
    for row in preview.rows:
        if row.action == "unchanged":
            continue
        target = {k: _resolve_group(v, groups, actor) for k, v in row.target.items()}
        if row.action == "create":
            created.append(Deputy(**target))
            db.session.add(created[-1])
        else:
            before = _audit_snapshot(row.deputy)
            for attr, value in target.items():
                setattr(row.deputy, attr, value)
            record("deputy.update", row.deputy, actor=actor, before=before,
                   after=_audit_snapshot(row.deputy))
    db.session.flush()
    for deputy in created:
        record("deputy.create", deputy, actor=actor, after=_audit_snapshot(deputy))
        issue_code(deputy, actor=actor)
    db.session.flush()
    return ImportResult(created=len(created), updated=preview.count("update"),
                        unchanged=preview.count("unchanged"))


def exportable_deputies(actor) -> list[Deputy]:
    """What the actor may export: every deputy for an admin, a liaison's stations' deputies."""
    managed = _managed_station_ids(actor)
    query = (db.select(Deputy)
             .options(selectinload(Deputy.stations), joinedload(Deputy.term),
                      joinedload(Deputy.group))
             .order_by(Deputy.id))
    if managed is not None:
        query = query.where(Deputy.stations.any(Station.id.in_(managed)))
    return list(db.session.scalars(query))


def export_deputies(deputies) -> bytes:
    """The roster in the import layout, so exporting and importing it back changes nothing."""
    wb = Workbook()
    ws = wb.active
    _write_headers(ws)
    for d in deputies:
        ws.append([ILLEGAL_CHARACTERS_RE.sub("", v) for v in _export_row(d)])
        for cell in ws[ws.max_row]:
            cell.data_type = "s"  # text that starts with "=" must stay text, never a formula
    _format_body(ws)
    return _save(wb)


def template_workbook() -> bytes:
    """An empty roster with dropdowns, and a second sheet explaining each column."""
    wb = Workbook()
    _write_headers(wb.active)
    _format_body(wb.active)
    guide = wb.create_sheet("填写说明")
    guide.append(["列名", "是否必填", "填写说明", "示例"])
    example = ("张明", "县（区）", "区第五届", "第3选区", "第二代表小组", "社区党委书记",
               "基层治理", "13912345678", "洛社镇代表之家、新雅社区代表联络站",
               "长期从事社区工作。", "在职")
    for column, sample in zip(COLUMNS, example):
        guide.append([column.header, "必填" if column.required else "选填", column.hint, sample])
    guide.append([])
    guide.append(["说明", "", "只导入第一个工作表；第1行为列名，每位代表一行。"
                  "先预览再确认导入，有错误时不会导入任何数据。"])
    for cell in guide[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCD", (12, 10, 56, 36)):
        guide.column_dimensions[letter].width = width
    guide.freeze_panes = "A2"
    return _save(wb)


# ---- reading the file ----

NOT_EXCEL = "文件不是有效的 Excel（.xlsx）文件，请使用本系统提供的模板填写后上传"


@dataclass
class _Sheet:
    columns: dict          # field -> (cell index, header as written in the file)
    rows: list             # (row number, cells) for every non-blank row below the headers


def _read_sheet(data: bytes, preview: ImportPreview) -> _Sheet | None:
    """The sheet's headers and rows, or None with the reason added to preview.errors."""
    def fail(message, row=None, column=""):
        preview.errors.append(Issue(row, column, message))

    if len(data) > MAX_BYTES:
        return fail(f"文件过大（超过 {MAX_BYTES // 1024 // 1024}MB），请拆分后分批导入")
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":  # OLE2: old .xls or an encrypted file
        return fail("不支持旧版 .xls 文件或加密的文件，请在 Excel 中“另存为”.xlsx 格式后上传")
    if not zipfile.is_zipfile(BytesIO(data)):
        return fail(NOT_EXCEL)
    try:
        rows = _non_blank_rows(data)
    except Exception:  # openpyxl raises many kinds on a damaged file; all mean the same here
        return fail(NOT_EXCEL)
    if not rows:
        return fail("工作表是空的，请按模板填写代表信息后上传")

    # The header row is the first one naming 姓名; a title line above it is common.
    header_row, header_cells = next(
        ((n, cells) for n, cells in rows[:HEADER_SEARCH_ROWS]
         if any(getattr(_header_column(v), "field", None) == "name" for v in cells)), rows[0])
    columns = {}
    for index, value in enumerate(header_cells):
        text = _clean(value)
        column = _header_column(value)
        if not text:
            continue
        if column is None:
            preview.warnings.append(Issue(header_row, text, "不是可识别的列，已忽略"))
        elif column.field in columns:
            fail(f"与第 {get_column_letter(columns[column.field][0] + 1)} 列重复", header_row, text)
        else:
            columns[column.field] = (index, text)
    for column in COLUMNS:
        if column.required and column.field not in columns:
            fail("缺少必填列，请按模板填写列名", header_row, column.header)
    body = [(n, cells) for n, cells in rows if n > header_row]
    if preview.ok and not body:
        fail("表格中没有代表数据，请从列名的下一行开始填写")
    if preview.ok and len(body) > MAX_ROWS:
        fail(f"一次最多导入 {MAX_ROWS} 行，请拆分后分批导入")
    return _Sheet(columns, body) if preview.ok else None


def _non_blank_rows(data: bytes) -> list[tuple[int, tuple]]:
    wb = load_workbook(BytesIO(data), read_only=True, data_only=True)
    try:
        rows = []
        for number, cells in enumerate(wb.worksheets[0].iter_rows(values_only=True), start=1):
            if any(_clean(v) for v in cells):
                rows.append((number, cells))
                if len(rows) > MAX_ROWS + HEADER_SEARCH_ROWS:
                    break  # enough to say the file is too long
        return rows
    finally:
        wb.close()


def _header_column(value) -> Column | None:
    return _HEADER_LOOKUP.get(_key(_clean(value)).rstrip("*"))


# ---- checking rows ----

class _Catalogue:
    """Everything the checks compare against, loaded in a handful of queries."""

    @classmethod
    def load(cls) -> "_Catalogue":
        self = cls()
        self.terms = {_key(t.name): t
                      for t in db.session.scalars(db.select(Term).order_by(Term.id))}
        self.groups = {_key(g.name): g for g in db.session.scalars(db.select(DeputyGroup))}
        self.stations = {_key(s.name): s for s in db.session.scalars(db.select(Station))}
        deputies = db.session.scalars(
            db.select(Deputy).options(selectinload(Deputy.stations))).all()
        self.by_phone = {}
        self.by_name: dict[str, list[Deputy]] = {}
        for d in deputies:
            if d.phone:
                self.by_phone[_normal_phone_or_raw(d.phone)] = d
            self.by_name.setdefault(_name_key(d.name), []).append(d)
        return self


class _Checker:
    def __init__(self, preview: ImportPreview, columns: dict, catalogue: _Catalogue,
                 managed: set[int] | None):
        self.preview = preview
        self.columns = columns          # field -> (cell index, header as written)
        self.cat = catalogue
        self.managed = managed          # None: every station
        self.phone_rows: dict[str, int] = {}
        self.deputy_rows: dict[int, int] = {}
        self.new_keys: dict[tuple, list[tuple[int, str | None]]] = {}
        self.new_groups: set[str] = set()

    def check(self, rows) -> None:
        for number, cells in rows:
            self.check_row(number, cells)

    def error(self, row, fld, message) -> None:
        self.preview.errors.append(Issue(row, self.header(fld), message))

    def warn(self, row, fld, message) -> None:
        self.preview.warnings.append(Issue(row, self.header(fld), message))

    def header(self, fld) -> str:
        if not fld:
            return ""
        return self.columns[fld][1] if fld in self.columns else _field_column(fld).header

    def check_row(self, number: int, cells) -> None:
        errors_before = len(self.preview.errors)
        row = PreviewRow(number, {})
        values = row.values
        for fld, (index, _) in self.columns.items():
            text = _clean(cells[index]) if index < len(cells) else ""
            try:
                values[fld] = _PARSERS[fld](text)
            except _CellError as err:
                self.error(number, fld, str(err))
                row.unparsed[fld] = text
        self.preview.rows.append(row)
        if values.get("name") == "":
            self.error(number, "name", "姓名不能为空")
        target = self.resolve_references(number, values)
        # Duplicates are worth reporting even on a row with other errors; they need name and term.
        if target.get("name") and not (values.get("term") and target.get("term") is None):
            self.identify(row, target)
        if len(self.preview.errors) == errors_before:
            self.decide(row, target)

    def resolve_references(self, number: int, values: dict) -> dict:
        """Turn names into objects: the model attributes this row would set."""
        target = {f: values[f] for f in SIMPLE_FIELDS if f in values}
        if "status" in values:
            target["is_active"] = values["status"]
        if "term" in values:
            target["term"] = self.term(number, values["term"])
        if "group" in values:
            target["group"] = self.group(number, values["group"])
        if "stations" in values:
            target["stations"] = self.stations(number, values["stations"])
        return target

    def term(self, number, name):
        if not name:
            return None
        term = self.cat.terms.get(_key(name))
        if term is None:
            known = "、".join(t.name for t in self.cat.terms.values())
            self.error(number, "term", f"届次“{name}”不存在。" + (
                f"系统中的届次有：{known}" if known else "系统中还没有设置届次，请联系代工委管理员"))
        return term

    def group(self, number, name):
        if not name:
            return None
        group = self.cat.groups.get(_key(name))
        if group is not None:
            return group
        if self.managed is not None:  # groups belong to the admin office, like terms
            self.error(number, "group", f"代表小组“{name}”不存在，请联系代工委管理员添加")
            return None
        if _key(name) not in self.new_groups:
            self.new_groups.add(_key(name))
            self.warn(number, "group", f"代表小组“{name}”不存在，导入时将新建")
        return _NewGroup(name)

    def stations(self, number, names) -> list[Station]:
        found = []
        for name in names:
            station = self.cat.stations.get(_key(name))
            if station is None:
                self.error(number, "stations", f"站点“{name}”不存在，请核对名称（须与系统中的站点名称一致）")
            elif station not in found:
                found.append(station)
        return found

    def identify(self, row: PreviewRow, target: dict) -> None:
        """Find the existing deputy this row describes (see the module docstring)."""
        number, name, phone = row.row_number, target["name"], target.get("phone")
        if phone:
            if phone in self.phone_rows:
                return self.error(number, "phone", f"与第{self.phone_rows[phone]}行的联系电话重复")
            self.phone_rows[phone] = number
            owner = self.cat.by_phone.get(phone)
            if owner is not None and _name_key(owner.name) != name:
                return self.error(number, "phone", f"该号码已是系统中代表“{owner.name}”的联系电话")
            row.deputy = owner
        if row.deputy is None:
            term_id = getattr(target.get("term"), "id", None)
            candidates = [d for d in self.cat.by_name.get(name, [])
                          if "term" not in target or d.term_id == term_id]
            if phone:
                namesakes = [d for d in candidates if d.phone]
                candidates = [d for d in candidates if not d.phone]
                if namesakes and not candidates:
                    self.warn(number, "phone", f"系统中已有同名代表“{name}”但电话不同，将作为另一位代表"
                              "新增；如是同一人更换了电话，请先在系统中修改其电话")
            if len(candidates) > 1:
                return self.error(number, "name", f"系统中有 {len(candidates)} 位同名代表“{name}”，"
                                  "请填写联系电话以区分")
            row.deputy = candidates[0] if candidates else None
        if row.deputy is not None:
            first = self.deputy_rows.setdefault(row.deputy.id, number)
            if first != number:
                return self.error(number, "name", f"与第{first}行是同一位代表，请合并为一行")
            row.deputy_id = row.deputy.id
        else:
            self.check_new_duplicate(number, name, target)

    def check_new_duplicate(self, number, name, target) -> None:
        key = (name, getattr(target.get("term"), "id", None))
        earlier = self.new_keys.setdefault(key, [])
        for other_number, other_phone in earlier:
            if not other_phone or not target.get("phone"):
                return self.error(number, "name", f"与第{other_number}行姓名、届次相同；"
                                  "如是两位同名代表，请分别填写联系电话")
        earlier.append((number, target.get("phone")))

    def decide(self, row: PreviewRow, target: dict) -> None:
        """Check the actor may write this row, then label it create / update / unchanged."""
        number, deputy = row.row_number, row.deputy
        if self.managed is not None:
            if deputy is not None and not any(s.id in self.managed for s in deputy.stations):
                return self.error(number, "name", f"代表“{deputy.name}”不属于您负责的站点，不能修改")
            if deputy is None and not target.get("stations"):
                return self.error(number, "stations", "请填写您负责的站点")
            if "stations" in target:
                stations = self.keep_foreign_stations(number, deputy, target["stations"])
                if stations is None:
                    return
                target["stations"] = stations
        row.target = target
        if deputy is None:
            row.action = "create"
            return
        row.changes = [self.header(f) for f in _changed_fields(deputy, target)]
        row.action = "update" if row.changes else "unchanged"

    def keep_foreign_stations(self, number, deputy, stations):
        """A liaison adds only their stations and never removes a deputy from someone else's."""
        current = list(deputy.stations) if deputy is not None else []
        for s in stations:
            if s.id not in self.managed and s not in current:
                self.error(number, "stations", f"您不负责站点“{s.name}”，不能将代表导入该站点")
                return None
        kept = [s for s in current if s.id not in self.managed and s not in stations]
        for s in kept:
            self.warn(number, "stations", f"代表还属于您不负责的站点“{s.name}”，将保留")
        return stations + kept


def _changed_fields(deputy: Deputy, target: dict) -> list[str]:
    changed = []
    for attr, new in target.items():
        old = getattr(deputy, attr)
        if attr == "stations":
            same = {s.id for s in old} == {s.id for s in new}
        elif attr in TEXT_FIELDS:
            same = (old or "").strip() == new
        else:
            same = old == new  # a _NewGroup never equals a stored group
        if not same:
            changed.append("status" if attr == "is_active" else attr)
    return changed


def _field_column(fld: str) -> Column:
    return next(c for c in COLUMNS if c.field == fld)


# ---- cell parsers: text in, value out, or _CellError with the reason ----

def _parse_text(fld):
    limit = _field_column(fld).max_length

    def parse(text: str) -> str:
        if limit and len(text) > limit:
            raise _CellError(f"不能超过{limit}个字（现有{len(text)}个字）")
        return text
    return parse


def _name_key(name: str) -> str:
    # Offices pad two-character names with spaces ("王　芳") to line up columns.
    return re.sub(r"\s+", "", name)


def _parse_name(text: str) -> str:
    return _parse_text("name")(_name_key(text))


def _parse_level(text: str) -> str:
    if not text:
        raise _CellError("代表层级不能为空，请填写：全国、省、市、县（区）、乡（镇）")
    word = _key(text)
    for suffix in LEVEL_SUFFIXES:
        if word.endswith(suffix) and len(word) > len(suffix):
            word = word[:-len(suffix)]
            break
    if word.endswith("级") and len(word) > 1:
        word = word[:-1]
    if word in LEVEL_WORDS:
        return LEVEL_WORDS[word]
    if word.startswith("街道"):
        raise _CellError("街道不设人民代表大会，请填写代表当选的层级（街道选区的代表通常为“县（区）”）")
    raise _CellError(f"代表层级“{text}”无法识别，请填写：全国、省、市、县（区）、乡（镇）")


def normalise_phone(text: str) -> str | None:
    """11-digit mobile, or a landline as 区号-号码; None when blank; _CellError when malformed."""
    digits = re.sub(r"[\s\-—–()]", "", unicodedata.normalize("NFKC", text))
    if not digits:
        return None
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if MOBILE.fullmatch(digits):
        return digits
    landline = LANDLINE.fullmatch(digits)
    if landline:
        return f"{landline[1]}-{landline[2]}"
    raise _CellError(f"联系电话“{text}”格式不正确，请填写11位手机号码或带区号的固定电话")


def _normal_phone_or_raw(phone: str) -> str:
    try:
        return normalise_phone(phone) or phone
    except _CellError:
        return phone


def _parse_stations(text: str) -> list[str]:
    return [name.strip() for name in STATION_SEPARATORS.split(text) if name.strip()]


def _parse_status(text: str) -> bool:
    if not text:
        return True
    word = _key(text)
    if word not in STATUS_WORDS:
        raise _CellError(f"状态“{text}”无法识别，请填写“在职”或“停用”")
    return STATUS_WORDS[word]


_PARSERS = {
    "name": _parse_name,
    "level": _parse_level,
    "term": lambda text: text,
    "constituency": _parse_text("constituency"),
    "group": _parse_text("group"),
    "occupation": _parse_text("occupation"),
    "expertise": _parse_text("expertise"),
    "phone": normalise_phone,
    "stations": _parse_stations,
    "intro": lambda text: text,
    "status": _parse_status,
}


def _clean(value) -> str:
    """A cell as text: numbers typed into Excel come back as int or float."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _key(text: str) -> str:
    """For matching names typed by people: full-width folded to half-width, no spaces."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


_HEADER_LOOKUP = {_key(name): c for c in COLUMNS for name in (c.header, *c.aliases)}


# ---- writing ----

def _resolve_group(value, groups: dict, actor):
    if not isinstance(value, _NewGroup):
        return value
    key = _key(value.name)
    if key not in groups:
        group = DeputyGroup(name=value.name)
        db.session.add(group)
        db.session.flush()
        record("group.create", group, actor=actor, after={"name": group.name})
        groups[key] = group
    return groups[key]


def _audit_snapshot(deputy: Deputy) -> dict:
    return {**snapshot(deputy, AUDITED), "stations": sorted(s.id for s in deputy.stations)}


def _errors_by_row(issues) -> dict:
    out: dict[str, list[str]] = {}
    for issue in issues:
        key = f"第{issue.row}行" if issue.row else "文件"
        out.setdefault(key, []).append(f"{issue.column}：{issue.message}" if issue.column
                                       else issue.message)
    return out


def _managed_station_ids(actor) -> set[int] | None:
    """None for an admin (every station), the liaison's own stations otherwise."""
    role = getattr(actor, "role", None)
    ensure(role in ("admin", "liaison"), "只有代工委管理员和联络员可以导入或导出代表名册")
    return None if role == "admin" else set(actor.station_ids)


# ---- workbook formatting ----

HEADER_FONT = Font(bold=True, color="FFFFFF")
REQUIRED_FONT = Font(bold=True, color="FFFF00")
HEADER_FILL = PatternFill("solid", fgColor="B71C1C")


def _export_row(d: Deputy) -> list:
    return [d.name, LEVEL_SHORT[d.level], d.term.name if d.term else "", d.constituency or "",
            d.group.name if d.group else "", d.occupation or "", d.expertise or "", d.phone or "",
            "、".join(s.name for s in d.stations), d.intro or "", STATUS_TEXT[bool(d.is_active)]]


def _write_headers(ws) -> None:
    ws.title = SHEET_TITLE
    ws.append(list(HEADERS))
    for index, column in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=1, column=index)
        cell.font = REQUIRED_FONT if column.required else HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center")
        if column.hint:
            cell.comment = Comment(column.hint, "连心桥")
        ws.column_dimensions[get_column_letter(index)].width = column.width
    ws.row_dimensions[1].height = 22
    ws.freeze_panes = "A2"


def _format_body(ws) -> None:
    """Dropdowns for level and status, and phones kept as text so Excel never shows 1.39E+10."""
    letters = {c.field: get_column_letter(i) for i, c in enumerate(COLUMNS, start=1)}
    last_row = ws.max_row + 1000  # room for the rows an office adds by hand
    for fld, choices in (("level", [LEVEL_SHORT[lv] for lv in LEVELS]),
                         ("status", list(STATUS_TEXT.values()))):
        # No error box: the import also accepts other spellings (区人大代表, 离任, ...).
        rule = DataValidation(type="list", formula1='"' + ",".join(choices) + '"',
                              allow_blank=True, showErrorMessage=False)
        rule.add(f"{letters[fld]}2:{letters[fld]}{last_row}")
        ws.add_data_validation(rule)
    ws.column_dimensions[letters["phone"]].number_format = "@"  # for cells typed later
    phone = COLUMNS.index(_field_column("phone")) + 1
    for (cell,) in ws.iter_rows(min_row=2, min_col=phone, max_col=phone):
        cell.number_format = "@"


def _save(wb: Workbook) -> bytes:
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
