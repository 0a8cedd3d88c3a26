"""节假日设置 pages: admins add, delete and bulk-import holiday overrides; nobody else gets in."""
from datetime import date

import pytest

from backend.workdays import calendar as workdays
from backend.core.audit_model import AuditEvent
from backend.workdays.models import HolidayOverride
from tests.conftest import csrf_token, post_form

PAGE = "/staff/holidays"


@pytest.fixture
def admin_client(login, make_staff):
    return login(make_staff("admin"))


def _rows(db):
    db.session.rollback()  # see what the requests committed, with a fresh calendar cache
    return db.session.scalars(db.select(HolidayOverride).order_by(HolidayOverride.date)).all()


@pytest.mark.parametrize("method, url", [
    ("get", PAGE), ("post", PAGE), ("get", f"{PAGE}/import"), ("post", f"{PAGE}/import"),
    ("post", f"{PAGE}/1/delete"),
])
@pytest.mark.parametrize("role", [None, "liaison", "deputy", "department"])
def test_only_admins_get_in(client, login, make_staff, make_deputy, db, role, method, url):
    from backend.org.models import Department
    if role == "deputy":
        login(make_staff("deputy", deputy=make_deputy()))
    elif role == "department":
        department = Department(name="区住建局", contact_name="", contact_phone="")
        db.session.add(department)
        db.session.flush()
        login(make_staff("department", department=department))
    elif role:
        login(make_staff(role))
    # CSRF is checked before the role, so a form post carries a valid token.
    token_page = "/staff/" if role else "/staff/login"
    data = {"csrf_token": csrf_token(client, token_page)} if method == "post" else None
    resp = getattr(client, method)(url, data=data)
    if role is None:
        assert resp.status_code == 302 and "/staff/login" in resp.location
    else:
        assert resp.status_code == 403
    assert _rows(db) == []


def test_list_shows_coverage_and_the_missing_year_banner(admin_client, monkeypatch):
    monkeypatch.setattr("backend.staff.calendar.local_today", lambda: date(2026, 11, 23))
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert 'data-coverage="official"' in page and 'data-coverage="weekends_only"' in page
    assert "2027年的法定节假日尚未录入，工作日按周一至周五计算" in page
    assert "春节" in page and "国家公布" in page  # the effective 2026 schedule


def test_add_and_delete_one_day(admin_client, db):
    resp = post_form(admin_client, PAGE, {"date": "2027-01-01", "kind": "holiday",
                                          "name": "元旦", "note": "国办发明电"})
    assert resp.status_code == 302 and resp.location.endswith("year=2027")
    (row,) = _rows(db)
    assert (row.date, row.kind, row.name, row.note) == (date(2027, 1, 1), "holiday", "元旦",
                                                        "国办发明电")
    assert workdays.coverage(2027) == "admin"
    page = admin_client.get(resp.location).get_data(as_text=True)
    assert "已添加 2027-01-01 元旦（放假）" in page and "2027年1月1日（周五）" in page

    resp = post_form(admin_client, f"{PAGE}/{row.id}/delete", {}, form_url=f"{PAGE}?year=2027")
    assert resp.status_code == 302
    assert _rows(db) == [] and workdays.coverage(2027) == "weekends_only"
    actions = db.session.scalars(db.select(AuditEvent.action).order_by(AuditEvent.id)
                                 .where(AuditEvent.object_type == "holiday_overrides")).all()
    assert actions == ["holiday.add", "holiday.remove"]


def test_add_refuses_a_date_already_set(admin_client, db):
    data = {"date": "2027-01-01", "kind": "holiday", "name": "元旦"}
    post_form(admin_client, PAGE, data)
    resp = post_form(admin_client, PAGE, {**data, "name": "重复"})
    assert resp.status_code == 422
    assert "2027-01-01 已有设置（元旦，放假），如需修改请先删除" in resp.get_data(as_text=True)
    assert len(_rows(db)) == 1


@pytest.mark.parametrize("data, message", [
    ({"date": "", "kind": "holiday", "name": "元旦"}, "请填写正确的日期"),
    ({"date": "2027-02-30", "kind": "holiday", "name": "元旦"}, "请填写正确的日期"),
    ({"date": "2027-01-01", "kind": "holiday", "name": ""}, "请填写名称"),
    ({"date": "2027-01-01", "kind": "vacation", "name": "元旦"}, "类型只能是"),
])
def test_add_explains_bad_input_in_chinese(admin_client, db, data, message):
    resp = post_form(admin_client, PAGE, data)
    assert resp.status_code == 422 and message in resp.get_data(as_text=True)
    assert _rows(db) == []


NOTICE_2027 = """\
# 2027年节假日安排
2027-01-01 休 元旦
2027-02-06~2027-02-12 休 春节
2027-02-14 班 春节调休 周日上班
"""


def test_bulk_import_writes_every_line(admin_client, db):
    resp = post_form(admin_client, f"{PAGE}/import", {"text": NOTICE_2027})
    assert resp.status_code == 302 and resp.location.endswith("year=2027")
    rows = _rows(db)
    assert len(rows) == 9
    assert rows[-1].kind == "workday" and rows[-1].note == "周日上班"
    assert workdays.is_workday(date(2027, 2, 14))
    assert workdays.holiday_name(date(2027, 2, 8)) == "春节"
    assert "已导入 9 个日期" in admin_client.get(resp.location).get_data(as_text=True)


def test_bulk_import_with_a_bad_line_writes_nothing(admin_client, db):
    post_form(admin_client, PAGE, {"date": "2027-10-01", "kind": "holiday", "name": "国庆节"})
    text = NOTICE_2027 + ("2027-02-30 休 春节\n"
                          "2027-02-20 放 春节\n"
                          "2027-01-01 休 元旦\n"
                          "2027-10-01 休 国庆节\n"
                          "2027-05-01 休\n"
                          "五一 休 劳动节\n")
    resp = post_form(admin_client, f"{PAGE}/import", {"text": text})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "未导入任何日期" in page
    for expected in ["第5行：日期「2027-02-30」不存在",
                     "第6行：日期后面应写“休”（放假）或“班”（调休上班）",
                     "第7行：2027-01-01 与第2行重复",
                     "第9行：请填写名称",
                     "第8行：2027-10-01 已有设置（国庆节，放假），如需修改请先删除",
                     "第10行：格式应为「2027-01-01 休 元旦」"]:
        assert expected in page
    assert "2027-02-14 班 春节调休" in page  # the text is kept for correcting
    assert [r.date for r in _rows(db)] == [date(2027, 10, 1)]


def test_bulk_import_refuses_dates_already_set(admin_client, db):
    post_form(admin_client, PAGE, {"date": "2027-02-08", "kind": "holiday", "name": "春节"})
    resp = post_form(admin_client, f"{PAGE}/import", {"text": NOTICE_2027})
    assert resp.status_code == 422
    assert "第3行：2027-02-08 已有设置（春节，放假），如需修改请先删除" in resp.get_data(as_text=True)
    assert len(_rows(db)) == 1


def test_bulk_import_of_nothing_is_explained(admin_client, db):
    resp = post_form(admin_client, f"{PAGE}/import", {"text": "# 只有注释\n\n"})
    assert resp.status_code == 422 and "没有找到可导入的日期" in resp.get_data(as_text=True)
