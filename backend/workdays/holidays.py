"""Holiday overrides: add one, remove one, or import a year's notice pasted as lines."""
import re
from dataclasses import dataclass
from datetime import date, timedelta

from backend.workdays import calendar as workdays
from backend.core.errors import ValidationFailed
from backend.core.extensions import db
from backend.workdays.models import HOLIDAY_KIND_LABELS, HolidayOverride
from backend.core.audit import record, snapshot

FIELDS = ("date", "kind", "name", "note")
NAME_MAX, NOTE_MAX = 40, 200
MAX_RANGE_DAYS = 31  # the longest statutory break is 9 days; longer means a typo
KIND_WORDS = {"休": "holiday", "放假": "holiday", "班": "workday", "上班": "workday"}
_DATE = r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"
# "2027-02-06 休 春节", "2027-02-06~2027-02-12 休 春节 备注", "2027-02-14 班 春节调休"
_LINE = re.compile(rf"^(?P<start>{_DATE})(?:\s*[~～至]\s*(?P<end>{_DATE}))?"
                   r"(?:\s+(?P<kind>\S+))?(?:\s+(?P<name>\S+))?(?:\s+(?P<note>.+))?$")
LINE_EXAMPLE = "2027-01-01 休 元旦"


@dataclass(frozen=True)
class Entry:
    day: date
    kind: str
    name: str
    note: str = ""
    line_no: int | None = None  # where it came from in a pasted notice


def add_override(day: date, kind: str, name: str, note: str = "", *, actor) -> HolidayOverride:
    entry = Entry(day, kind, (name or "").strip(), (note or "").strip())
    problem = _problem(entry) or next((msg for _, msg in _conflicts([entry])), None)
    if problem:
        raise ValidationFailed(problem, code="holiday_invalid")
    return _create([entry], "holiday.add", actor)[0]


def import_notice(text: str, *, actor) -> list[HolidayOverride]:
    """All lines or none: any bad line leaves the table as it was."""
    entries, problems = parse_notice(text)
    problems += [(e.line_no, msg) for e, msg in _conflicts(entries)]
    if not entries and not problems:
        lines = [f"没有找到可导入的日期，每行一个，如「{LINE_EXAMPLE}」"]
    else:
        lines = [f"第{n}行：{msg}" for n, msg in sorted(problems, key=lambda p: p[0])]
    if lines:
        raise ValidationFailed("通知内容有误，未导入任何日期，请修改后重新提交",
                               code="holiday_notice_invalid", errors={"lines": lines})
    return _create(entries, "holiday.import", actor)


def remove_override(override: HolidayOverride, *, actor) -> None:
    record("holiday.remove", override, actor=actor, before=snapshot(override, FIELDS))
    db.session.delete(override)
    db.session.flush()
    workdays.invalidate()


def parse_notice(text: str) -> tuple[list[Entry], list[tuple[int, str]]]:
    """Lines like "2027-01-01 休 元旦" (or a range "2027-02-06~2027-02-12"); blank lines and
    lines starting with # are skipped. Returns the entries and (line number, problem) pairs."""
    entries, problems, seen = [], [], {}
    for line_no, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.replace("\u3000", " ").strip()
        if not line or line.startswith("#"):
            continue
        try:
            for entry in _parse_line(line, line_no):
                if entry.day in seen:
                    raise ValueError(f"{entry.day.isoformat()} 与第{seen[entry.day]}行重复")
                seen[entry.day] = line_no
                entries.append(entry)
        except ValueError as err:
            problems.append((line_no, str(err)))
    return entries, problems


def _parse_line(line: str, line_no: int) -> list[Entry]:
    match = _LINE.match(line)
    if match is None:
        raise ValueError(f"格式应为「{LINE_EXAMPLE}」或「2027-02-14 班 春节调休」")
    start = _parse_date(match["start"])
    end = _parse_date(match["end"]) if match["end"] else start
    if end < start:
        raise ValueError("结束日期早于开始日期")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise ValueError(f"日期范围过长，一次最多{MAX_RANGE_DAYS}天")
    if match["kind"] not in KIND_WORDS:
        raise ValueError("日期后面应写“休”（放假）或“班”（调休上班）")
    kind, name, note = KIND_WORDS[match["kind"]], match["name"] or "", (match["note"] or "").strip()
    entries = [Entry(start + timedelta(days=i), kind, name, note, line_no)
               for i in range((end - start).days + 1)]
    problem = _problem(entries[0])
    if problem:
        raise ValueError(problem)
    return entries


def _parse_date(text: str) -> date:
    year, month, day = (int(part) for part in re.split(r"[-/.]", text))
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"日期「{text}」不存在") from None


def _problem(entry: Entry) -> str | None:
    """What is wrong with one entry on its own (not counting the rows already stored)."""
    if entry.day is None:
        return "请填写日期"
    if entry.kind not in HOLIDAY_KIND_LABELS:
        return "类型只能是“放假”或“调休上班”"
    if not entry.name:
        return "请填写名称，如“春节”"
    if len(entry.name) > NAME_MAX:
        return f"名称不能超过{NAME_MAX}个字"
    if len(entry.note) > NOTE_MAX:
        return f"备注不能超过{NOTE_MAX}个字"
    return None


def _conflicts(entries: list[Entry]) -> list[tuple[Entry, str]]:
    """Entries whose date already has a row; one query for the lot."""
    if not entries:
        return []
    existing = {row.date: row for row in db.session.scalars(
        db.select(HolidayOverride).where(HolidayOverride.date.in_({e.day for e in entries})))}
    return [(e, f"{e.day.isoformat()} 已有设置（{existing[e.day].name}，"
                f"{existing[e.day].kind_label}），如需修改请先删除")
            for e in entries if e.day in existing]


def _create(entries: list[Entry], action: str, actor) -> list[HolidayOverride]:
    rows = [HolidayOverride(date=e.day, kind=e.kind, name=e.name, note=e.note,
                            created_by_id=getattr(actor, "id", None)) for e in entries]
    db.session.add_all(rows)
    db.session.flush()
    for row in rows:
        record(action, row, actor=actor, after=snapshot(row, FIELDS))
    workdays.invalidate()
    return rows
