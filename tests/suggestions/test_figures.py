"""建议办理统计: the year's figures, the overdue list, the Excel export and the admin pages.
Test data is written straight into the tables (make_suggestion plus direct rows), so these
tests do not depend on the operations."""
from datetime import date, datetime, timedelta, timezone
from io import BytesIO
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from backend.suggestions.models import DepartmentReply, SuggestionCosigner, SuggestionRating
from backend.suggestions.figures import (
    Counts, available_years, export_xlsx, overdue_by_department, year_figures,
)
from backend.core.timeutil import LOCAL_TZ, local_today

TODAY = date(2027, 3, 1)


def bj(*args) -> datetime:
    """A Beijing wall-clock time as an aware UTC datetime, the way it is stored."""
    return datetime(*args, tzinfo=LOCAL_TZ).astimezone(timezone.utc)


@pytest.fixture
def world(suggestion_world):
    return suggestion_world


@pytest.fixture
def make(db, make_suggestion):
    """make(status, submitted=bj(...), **fields) → a suggestion made in that state, then with
    the given columns overwritten (submitted_at, deadline_on, deputy_id, ...)."""
    def do(status="submitted", *, submitted=None, first_reply_at=None, resolution="A",
           merged_into_id=None, **fields):
        extra = {"merged_into_id": merged_into_id} if merged_into_id else {}
        s = make_suggestion(status=status, resolution=resolution, **extra)
        s.submitted_at = submitted or bj(2026, 5, 10, 9, 0)
        if s.assigned_at is not None:
            s.assigned_at = s.submitted_at + timedelta(days=10)
        if first_reply_at is not None:
            s.replies[0].created_at = first_reply_at
            s.answered_at = first_reply_at
        for name, value in fields.items():
            setattr(s, name, value)
        db.session.commit()
        return s
    return do


def add_reply(db, s, world, round_, resolution, at):
    db.session.add(DepartmentReply(
        suggestion_id=s.id, department_id=world.lead.id, round=round_, resolution=resolution,
        body="第二次答复。", reason="资金暂未落实" if resolution == "C" else "",
        promised_by=date(2027, 6, 30) if resolution == "B" else None, created_at=at))
    db.session.commit()


def rate(db, s, round_, value):
    db.session.add(SuggestionRating(suggestion_id=s.id, round=round_, deputy_id=s.deputy_id,
                                    value=value))
    db.session.commit()


# ---- the year's boundaries (local dates) ----

def test_year_is_counted_in_beijing_time(db, make):
    late_2026 = make("submitted", submitted=bj(2026, 12, 31, 23, 30))
    early_2027 = make("submitted", submitted=bj(2027, 1, 1, 0, 30))
    stored = db.session.execute(sa.text("SELECT submitted_at FROM suggestions WHERE id = :id"),
                                {"id": late_2026.id}).scalar_one()
    assert str(stored).startswith("2026-12-31 15:30")  # naive UTC on both databases

    assert year_figures(2026, today=TODAY).total.made == 1
    assert year_figures(2027, today=TODAY).total.made == 1
    [row_2026] = year_figures(2026, today=TODAY).by_deputy
    assert row_2026.counts.made == 1
    assert late_2026.number.startswith("JY2026-") and early_2027.number.startswith("JY2027-")
    assert available_years(TODAY)[:2] == [2027, 2026]


def test_drafts_are_not_counted(db, make):
    make("draft", submitted=None)
    make("submitted")
    total = year_figures(2026, today=TODAY).total
    assert total.made == 1 and total.assigned == 0


def test_current_year_is_always_available(db):
    assert available_years(date(2031, 1, 1)) == [2031]


# ---- answered on time ----

def test_first_answer_on_the_deadline_day_is_on_time_and_the_next_day_late(db, make, world):
    deadline = date(2026, 8, 31)
    on_time = make("answered", deadline_on=deadline,
                   first_reply_at=bj(2026, 8, 31, 23, 59))      # 15:59 UTC, same local day
    make("answered", deadline_on=deadline,
                first_reply_at=bj(2026, 9, 1, 0, 1))            # 16:01 UTC on Aug 31
    make("in_progress", deadline_on=date(2026, 12, 1))  # unanswered, overdue
    make("in_progress", deadline_on=date(2027, 5, 1))   # unanswered, not due yet
    # A second, late answer does not change the on-time verdict: the first answer counts.
    add_reply(db, on_time, world, 2, "C", bj(2026, 12, 20, 10, 0))

    f = year_figures(2026, today=TODAY)
    t = f.total
    assert (t.made, t.assigned, t.on_time, t.late, t.overdue_unanswered) == (4, 4, 1, 1, 1)
    assert t.overdue == 2
    # The one not yet due is not in the denominator: 1 on time of 3 due.
    assert t.due == 3 and t.on_time_rate == pytest.approx(1 / 3)
    # The class is the latest answer's: on_time's first A was superseded by C.
    assert (t.a, t.b, t.c) == (1, 0, 1)
    [lead] = [r for r in f.by_department if r.department_id == world.lead.id]
    assert (lead.counts.assigned, lead.counts.on_time, lead.counts.overdue) == (4, 1, 2)


def test_answer_exactly_at_local_midnight_after_the_deadline_is_late(db, make):
    make("answered", deadline_on=date(2026, 8, 31), first_reply_at=bj(2026, 9, 1, 0, 0))
    t = year_figures(2026, today=TODAY).total
    assert (t.on_time, t.late) == (0, 1)


# ---- rates ----

def test_rates_with_zero_denominators_are_none(db, make):
    assert year_figures(2026, today=TODAY).total == Counts()
    empty = Counts()
    assert (empty.on_time_rate, empty.closure_rate, empty.satisfaction_rate) == (None, None, None)
    make("submitted")  # made, not assigned, not rated
    t = year_figures(2026, today=TODAY).total
    assert t.made == 1 and t.closure_rate is None and t.satisfaction_rate is None


def test_closure_and_satisfaction_rates_use_the_latest_rating(db, make, world):
    closed_sat = make("closed", resolution="A")
    rate(db, closed_sat, 1, "satisfied")
    closed_basic = make("closed", resolution="B")
    rate(db, closed_basic, 1, "dissatisfied")         # round 1 unhappy...
    add_reply(db, closed_basic, world, 2, "B", bj(2026, 10, 1, 9, 0))
    rate(db, closed_basic, 2, "basically_satisfied")  # ...round 2 counts
    answered_unhappy = make("answered", resolution="C")
    rate(db, answered_unhappy, 1, "dissatisfied")
    make("in_progress")                                # assigned, not answered, not rated

    t = year_figures(2026, today=TODAY).total
    assert (t.assigned, t.closed) == (4, 2)
    assert t.closure_rate == pytest.approx(0.5)
    assert (t.satisfied, t.basically_satisfied, t.dissatisfied, t.rated) == (1, 1, 1, 3)
    assert t.satisfaction_rate == pytest.approx(2 / 3)
    assert (t.a, t.b, t.c) == (1, 1, 1)


# ---- merged ones ----

def test_merged_suggestions_are_not_counted_twice(db, make, world):
    target = make("closed")
    rate(db, target, 1, "satisfied")
    merged = make("merged", merged_into_id=target.id)
    merged.deputy_id = world.colleague.id
    db.session.commit()

    f = year_figures(2026, today=TODAY)
    assert (f.total.made, f.total.merged, f.total.assigned, f.total.closed) == (1, 1, 1, 1)
    rows = {r.deputy_id: r.counts for r in f.by_deputy}
    assert (rows[world.author.id].made, rows[world.author.id].merged) == (1, 0)
    assert (rows[world.colleague.id].made, rows[world.colleague.id].merged) == (0, 1)
    assert sum(r.counts.made for r in f.by_department) == 1


# ---- rows add up ----

@pytest.fixture
def mixed_year(db, make, world):
    """Suggestions by three deputies, led by two departments, in every kind of state."""
    a1 = make("closed", resolution="A", deadline_on=date(2026, 9, 30),
              first_reply_at=bj(2026, 9, 1, 10, 0))
    rate(db, a1, 1, "satisfied")
    a2 = make("answered", resolution="B", deadline_on=date(2026, 9, 30),
              first_reply_at=bj(2026, 10, 8, 10, 0))
    rate(db, a2, 1, "basically_satisfied")
    make("in_progress", deadline_on=date(2026, 11, 30))            # overdue, unanswered
    make("submitted")
    c1 = make("reanswering", resolution="C", deadline_on=date(2027, 4, 1),
              first_reply_at=bj(2026, 11, 1, 10, 0), deputy_id=world.colleague.id)
    rate(db, c1, 1, "dissatisfied")
    o1 = make("closed", resolution="A", deputy_id=world.outsider.id,
              first_reply_at=bj(2026, 7, 1, 10, 0), deadline_on=date(2026, 8, 1))
    # o1 is led by 水务局 rather than 住建局, with no assisting department.
    for a in o1.assignments:
        if a.role == "lead":
            a.department_id = world.other.id
        else:
            db.session.delete(a)
    make("merged", merged_into_id=a1.id, deputy_id=world.colleague.id)
    make("submitted", submitted=bj(2025, 6, 1, 9, 0))                # another year
    # 刘芳 and 陈明 co-sign 王建国's first one; 刘芳 also co-signs his second.
    db.session.add_all([SuggestionCosigner(suggestion_id=a1.id, deputy_id=world.colleague.id),
                        SuggestionCosigner(suggestion_id=a1.id, deputy_id=world.outsider.id),
                        SuggestionCosigner(suggestion_id=a2.id, deputy_id=world.colleague.id)])
    db.session.commit()
    return world


def test_deputy_and_department_rows_add_up_to_the_total(db, mixed_year):
    w = mixed_year
    f = year_figures(2026, today=TODAY)
    t = f.total
    assert (t.made, t.merged, t.assigned, t.on_time, t.late, t.overdue_unanswered) == \
        (6, 1, 5, 3, 1, 1)
    assert (t.a, t.b, t.c, t.closed) == (2, 1, 1, 2)

    assert sum((r.counts for r in f.by_deputy), Counts()) == t
    # Every assigned one has one live lead department, so the lead rows add up too (the
    # suggestions never assigned carry no department).
    dt = f.department_total
    for name in ("assigned", "on_time", "late", "overdue_unanswered", "a", "b", "c", "closed",
                 "satisfied", "basically_satisfied", "dissatisfied"):
        assert getattr(dt, name) == getattr(t, name), name
    assert dt.made == t.assigned

    deputies = {r.deputy_id: r for r in f.by_deputy}
    assert (deputies[w.author.id].counts.made, deputies[w.author.id].cosigned) == (4, 0)
    assert (deputies[w.colleague.id].counts.made, deputies[w.colleague.id].cosigned) == (1, 2)
    assert (deputies[w.outsider.id].counts.made, deputies[w.outsider.id].cosigned) == (1, 1)
    assert f.by_deputy[0].deputy_id == w.author.id  # most suggestions first

    departments = {r.department_id: r for r in f.by_department}
    assert (departments[w.lead.id].counts.assigned, departments[w.lead.id].assisting) == (4, 0)
    assert (departments[w.assist.id].counts.assigned, departments[w.assist.id].assisting) == (0, 4)
    water = departments[w.other.id].counts
    assert (water.assigned, water.closed, water.closure_rate) == (1, 1, 1.0)


def test_a_replaced_lead_department_no_longer_counts(db, make, world):
    from backend.suggestions.models import SuggestionAssignment
    s = make("in_progress")
    db.session.add(SuggestionAssignment(suggestion_id=s.id, department_id=world.other.id,
                                        role="lead", status="replaced",
                                        assigned_at=s.assigned_at))
    db.session.commit()
    f = year_figures(2026, today=TODAY)
    assert [(r.department_id, r.counts.assigned) for r in f.by_department
            if r.counts.assigned] == [(world.lead.id, 1)]
    assert world.other.id not in {r.department_id for r in f.by_department}


def test_figures_take_a_fixed_number_of_queries(db, app, make, world, make_deputy):
    def queries() -> int:
        seen = []
        listener = lambda *a, **k: seen.append(1)  # noqa: E731
        sa.event.listen(db.engine, "before_cursor_execute", listener)
        try:
            db.session.expire_all()
            year_figures(2026, today=TODAY)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    make("closed")
    one = queries()
    for _ in range(4):
        make("answered", deputy_id=make_deputy().id)
    db.session.commit()
    assert queries() == one


# ---- overdue list ----

def test_overdue_list_per_department_most_overdue_first(db, make, world):
    today = date(2027, 3, 1)
    a = make("in_progress", deadline_on=date(2027, 2, 1), supervision="key")      # 28 days
    b = make("assigned", deadline_on=date(2026, 12, 1))                           # 90 days
    c = make("reanswering", deadline_on=date(2027, 2, 27),
             submitted=bj(2025, 11, 1, 9, 0))                                     # 2 days
    make("in_progress", deadline_on=today)                 # due today: not overdue yet
    make("answered", deadline_on=date(2026, 12, 1))         # answered: not on the list
    make("closed", deadline_on=date(2026, 12, 1))
    d = make("in_progress", deadline_on=date(2027, 1, 1), deputy_id=world.outsider.id)
    for asg in d.assignments:
        if asg.role == "lead":
            asg.department_id = world.other.id
    db.session.commit()

    groups = overdue_by_department(today)
    assert [g.department for g in groups] == sorted([world.lead.name, world.other.name])
    by_name = {g.department: g for g in groups}
    lead_items = by_name[world.lead.name].items
    assert [i.suggestion_id for i in lead_items] == [b.id, a.id, c.id]
    assert [i.days_overdue for i in lead_items] == [90, 28, 2]
    assert lead_items[1].supervision == "重点督办"
    assert lead_items[0].deputy == "王建国" and lead_items[0].number == b.number
    [other] = by_name[world.other.name].items
    assert (other.suggestion_id, other.deputy, other.days_overdue) == (d.id, "陈明", 59)


# ---- Excel ----

def _workbook(data: bytes):
    return load_workbook(BytesIO(data))


def _summary(ws) -> dict:
    """汇总: the figures from row 4 down to the blank row before 口径说明."""
    out = {}
    for row in ws.iter_rows(min_row=4):
        if row[0].value is None:
            break
        out[row[0].value] = row[1]
    return out


def test_export_has_the_sheets_headers_and_values(db, mixed_year):
    wb = _workbook(export_xlsx(2026, today=TODAY))
    assert wb.sheetnames == ["汇总", "代表", "承办单位", "超期清单"]

    summary = wb["汇总"]
    assert summary["A1"].value == "2026年度代表建议办理情况统计表"
    assert summary["A1"].font.b and summary["A1"].font.name == "宋体"
    values = _summary(summary)
    assert values["提出件数"].value == 6 and values["并案"].value == 1
    assert values["交办件数"].value == 5
    assert values["办结率"].value == pytest.approx(2 / 5)
    assert "%" in values["办结率"].number_format
    assert values["满意率"].value == pytest.approx(2 / 3)
    labels = [row[0].value for row in summary.iter_rows(min_row=4)]
    assert "口径说明" in labels and "满意率" in labels[labels.index("口径说明"):]

    deputies = wb["代表"]
    headers = [c.value for c in deputies[1]]
    assert headers == ["序号", "代表姓名", "代表小组", "领衔件数", "附议件数", "交办件数",
                       "按期答复", "A类", "B类", "C类", "办结件数", "办结率", "满意", "基本满意",
                       "不满意", "满意率"]
    assert deputies.freeze_panes == "A2"
    assert all(c.font.b and c.fill.fgColor.rgb.endswith("DDEBF7") for c in deputies[1])
    assert deputies.column_dimensions["B"].width >= 10
    rows = {r[1]: r for r in deputies.iter_rows(min_row=2, values_only=True)}
    author = rows["王建国"]
    assert author[0] == 1 and author[3:11] == (4, 0, 3, 1, 1, 1, 0, 1)
    assert author[11] == pytest.approx(1 / 3)                         # 办结率 1 / 3 assigned
    assert rows["刘芳"][4] == 2
    assert author[15] == pytest.approx(1.0)                           # 满意率 (1 + 1) / 2
    total = next(r for r in deputies.iter_rows(values_only=True) if r[0] == "合计")
    assert total[3:11] == (6, 3, 5, 3, 2, 1, 1, 2)
    assert total[11] == pytest.approx(2 / 5)
    percent_cell = deputies.cell(row=2, column=12)
    assert isinstance(percent_cell.value, float) and "%" in percent_cell.number_format
    colleague_row = next(r for r in deputies.iter_rows(min_row=2) if r[1].value == "刘芳")
    assert colleague_row[11].value == 0        # 0 closed of 1 assigned: 0%, not "—"
    assert "%" in colleague_row[11].number_format


def test_export_rates_show_dash_only_without_denominator(db, make, world):
    make("submitted")                                       # made, never assigned
    wb = _workbook(export_xlsx(2026, today=TODAY))
    row = [c.value for c in wb["代表"][2]]
    assert row[1] == "王建国" and row[5] == 0
    assert row[11] == "—" and row[15] == "—"
    summary = wb["汇总"]
    values = _summary(summary)
    assert values["提出件数"].value == 1 and values["交办件数"].value == 0
    assert values["办结率"].value == "—" and values["按期答复率"].value == "—"


def test_export_department_and_overdue_sheets(db, mixed_year):
    w = mixed_year
    wb = _workbook(export_xlsx(2026, today=TODAY))
    ws = wb["承办单位"]
    assert [c.value for c in ws[1]] == ["序号", "单位名称", "主办件数", "协办件数", "按期答复", "超期",
                                        "A类", "B类", "C类", "办结率", "满意率"]
    rows = {r[1]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    lead = rows[w.lead.name]
    assert lead[2:9] == (4, 0, 2, 2, 1, 1, 1)
    assert lead[9] == pytest.approx(1 / 4) and lead[10] == pytest.approx(2 / 3)
    assert ws.cell(row=2, column=10).number_format.endswith("%")
    assert rows[w.assist.name][2:4] == (0, 4)
    assert rows[w.assist.name][9] == "—"
    total = next(r for r in ws.iter_rows(values_only=True) if r[0] == "合计")
    assert total[2:4] == (5, 4)

    overdue = wb["超期清单"]
    assert [c.value for c in overdue[1]] == ["序号", "承办单位", "建议编号", "建议标题", "领衔代表",
                                             "交办日期", "答复期限", "超期天数", "督办"]
    [item] = list(overdue.iter_rows(min_row=2, values_only=True))
    assert item[1] == w.lead.name and item[4] == "王建国" and item[7] == 91
    assert item[6] == "2026年11月30日"


# ---- pages ----

def test_admin_sees_the_page(db, login, mixed_year):
    client = login(mixed_year.users["admin"])
    resp = client.get("/staff/suggestions/figures?year=2026")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "<strong>2026年度</strong>" in html
    assert 'data-figure="made"' in html
    # 办结率; 按期答复率 as of today (one is due on 2026-11-30: today decides whether it counts)
    from backend.core.timeutil import local_today
    on_time = year_figures(2026, today=local_today()).total.on_time_rate
    assert "40.0%" in html and f"{on_time:.1%}" in html
    assert "王建国" in html and mixed_year.lead.name in html
    assert "口径说明" in html and "lx-table-wrap" in html
    assert "/staff/suggestions/figures.xlsx?year=2026" in html
    assert '<option value="2025">' in html                            # the year picker
    # Residents never appear: not their messages, not who they are.
    for message in mixed_year.messages:
        assert message.body not in html


def test_page_shows_dashes_for_an_empty_year(db, login, world):
    client = login(world.users["admin"])
    html = client.get("/staff/suggestions/figures").get_data(as_text=True)
    assert f"<strong>{local_today().year}年度</strong>" in html
    assert "—" in html and "还没有提出的建议" in html and "没有超期未答复的建议" in html
    # A past year with nothing in it is still a fine question, and the picker offers it.
    html = client.get("/staff/suggestions/figures?year=2010").get_data(as_text=True)
    assert "<strong>2010年度</strong>" in html and '<option value="2010" selected>' in html


def test_export_download(db, login, mixed_year):
    client = login(mixed_year.users["admin"])
    resp = client.get("/staff/suggestions/figures.xlsx?year=2026")
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    disposition = resp.headers["Content-Disposition"]
    assert "filename*=UTF-8''" + quote("代表建议办理统计-2026.xlsx") in disposition
    assert 'filename="suggestion-figures-2026.xlsx"' in disposition
    assert _workbook(resp.data)["汇总"]["A1"].value == "2026年度代表建议办理情况统计表"


@pytest.mark.parametrize("year", ["abc", "1800", "3000", "-1", "2026.5"])
def test_bad_year_is_a_400_in_chinese(db, login, world, year):
    client = login(world.users["admin"])
    for url in ("/staff/suggestions/figures", "/staff/suggestions/figures.xlsx"):
        resp = client.get(url, query_string={"year": year})
        assert resp.status_code == 400
        assert "年份" in resp.get_data(as_text=True)


@pytest.mark.parametrize("role", ["liaison_own", "author", "colleague", "dept_lead",
                                  "dept_other"])
def test_other_roles_are_refused(db, login, world, role):
    client = login(world.users[role])
    assert client.get("/staff/suggestions/figures").status_code == 403
    assert client.get("/staff/suggestions/figures.xlsx?year=2026").status_code == 403


def test_strangers_are_sent_to_sign_in(db, client, world):
    for url in ("/staff/suggestions/figures", "/staff/suggestions/figures.xlsx"):
        resp = client.get(url)
        assert resp.status_code == 302 and "/staff/login" in resp.headers["Location"]
