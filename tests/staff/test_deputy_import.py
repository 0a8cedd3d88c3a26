"""Importing the deputy roster from Excel and exporting it back: the operation and the pages."""
import functools
import re
import time
import zipfile
from io import BytesIO
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from backend.core.errors import Forbidden, ValidationFailed
from backend.core.audit_model import AuditEvent
from backend.org.models import Deputy, DeputyGroup, Term
from backend.org.code_model import DeputyCode
from backend.org.roster_excel import (
    HEADERS, apply_import, export_deputies, preview_import, template_workbook,
)
from tests.conftest import post_form

HOME = "洛社镇代表之家"
OTHER = "新雅社区代表联络站"


def xlsx(*rows, headers=HEADERS, before=()) -> bytes:
    """A workbook: optional lines above the headers, the headers, then rows given as dicts
    (header -> value) or lists."""
    wb = Workbook()
    ws = wb.active
    for line in before:
        ws.append(line)
    if headers:
        ws.append(list(headers))
    for row in rows:
        ws.append([row.get(h) for h in headers] if isinstance(row, dict) else list(row))
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def person(name="王芳", **kw) -> dict:
    return {"姓名": name, "代表层级": "县（区）", "届次": "区第五届", "联系电话": "13912345678",
            "所属站点": HOME, "职业": "教师", **kw}


def counts(db) -> dict:
    return {model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (Deputy, AuditEvent, DeputyCode, DeputyGroup)}


class Roster:
    """A term, two stations and an admin; the liaison of the first station on demand (hashing
    a password is slow)."""

    def __init__(self, db, make_station, make_staff):
        self.term = Term(name="区第五届", is_current=True)
        db.session.add(self.term)
        self.home, self.other = make_station(name=HOME, kind="home"), make_station(name=OTHER)
        self.admin = make_staff("admin")
        self._make_staff = make_staff

    @functools.cached_property
    def liaison(self):
        return self._make_staff("liaison", stations=[self.home])


@pytest.fixture
def roster(db, make_station, make_staff):
    return Roster(db, make_station, make_staff)


def errors_of(preview) -> list[tuple]:
    return [tuple(e) for e in preview.errors]


# ---- the preview ----

def test_preview_reads_rows_and_writes_nothing(db, roster):
    before = counts(db)
    preview = preview_import(xlsx(person(), person("李强", 联系电话="0510-8323 4567",
                                                    代表小组="新设小组")), actor=roster.admin)
    assert preview.ok, preview.errors
    assert [(r.row_number, r.action) for r in preview.rows] == [(2, "create"), (3, "create")]
    assert preview.rows[1].values["phone"] == "0510-83234567"
    assert preview.rows[1].values["level"] == "county"
    assert any("新设小组" in w.message for w in preview.warnings)
    db.session.flush()
    assert counts(db) == before
    assert not db.session.new and not db.session.dirty


@pytest.mark.parametrize("written, level", [
    ("全国", "national"), ("全国人大代表", "national"), ("省", "provincial"), ("省级", "provincial"),
    ("省人大代表", "provincial"), ("市", "municipal"), ("市人大代表", "municipal"),
    ("县", "county"), ("区", "county"), ("县（区）", "county"), ("县(区)", "county"),
    ("区人大代表", "county"), (" 区 级 ", "county"), ("乡", "township"), ("镇", "township"),
    ("乡（镇）", "township"), ("乡镇人大代表", "township"),
])
def test_levels_written_in_chinese(roster, written, level):
    preview = preview_import(xlsx(person(代表层级=written)), actor=roster.admin)
    assert preview.ok, preview.errors
    assert preview.rows[0].values["level"] == level


@pytest.mark.parametrize("written, hint", [("街道", "街道不设人民代表大会"), ("村", "无法识别"),
                                           ("", "不能为空")])
def test_wrong_level_is_an_error_on_its_row(roster, written, hint):
    preview = preview_import(xlsx(person(), person("李强", 代表层级=written, 联系电话=None)),
                             actor=roster.admin)
    assert [(row, column) for row, column, _ in preview.errors] == [(3, "代表层级")]
    assert hint in preview.errors[0].message


def test_duplicate_phone_within_the_file(roster):
    preview = preview_import(xlsx(person(联系电话="139-1234-5678"), person("李强", 联系电话=None),
                                  person("赵敏", 联系电话=13912345678)), actor=roster.admin)
    assert errors_of(preview) == [(4, "联系电话", "与第2行的联系电话重复")]


def test_phone_of_another_deputy_in_the_database(roster, make_deputy):
    make_deputy(name="赵六", phone="13900000001", stations=[roster.home])
    preview = preview_import(xlsx(person(), person("钱七", 联系电话="13900000001")),
                             actor=roster.admin)
    assert [(row, column) for row, column, _ in preview.errors] == [(3, "联系电话")]
    assert "赵六" in preview.errors[0].message


@pytest.mark.parametrize("phone", ["12345", "139123456789", "28123456", "电话待定"])
def test_bad_phone(roster, phone):
    preview = preview_import(xlsx(person(联系电话=phone)), actor=roster.admin)
    assert [(row, column) for row, column, _ in preview.errors] == [(2, "联系电话")]


def test_missing_name(roster):
    preview = preview_import(xlsx(person(), person(" ", 联系电话=None)), actor=roster.admin)
    assert errors_of(preview) == [(3, "姓名", "姓名不能为空")]


def test_empty_sheet(roster):
    assert errors_of(preview_import(xlsx(headers=()), actor=roster.admin)) == [
        (None, "", "工作表是空的，请按模板填写代表信息后上传")]
    only_headers = preview_import(xlsx(), actor=roster.admin)
    assert [(row, column) for row, column, _ in only_headers.errors] == [(None, "")]
    assert "没有代表数据" in only_headers.errors[0].message


def _zip_without_workbook() -> bytes:
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("readme.txt", "not a workbook")
    return out.getvalue()


@pytest.mark.parametrize("data", [
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,  # a picture renamed .xlsx
    "姓名,代表层级\n王芳,区\n".encode("gbk"),  # a CSV renamed .xlsx
    b"",
    _zip_without_workbook(),
], ids=["png", "csv", "empty", "zip"])
def test_not_an_excel_file(roster, data):
    preview = preview_import(data, actor=roster.admin)
    assert len(preview.errors) == 1
    assert preview.errors[0].message.startswith("文件不是有效的 Excel（.xlsx）文件")
    assert preview.rows == []


def test_old_xls_gets_its_own_hint(roster):
    ole2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the header of every Excel 97–2003 file
    preview = preview_import(ole2 + b"\x00" * 512, actor=roster.admin)
    assert "不支持旧版 .xls 文件" in preview.errors[0].message


def test_unknown_station(roster):
    preview = preview_import(xlsx(person(所属站点=f"{HOME}、不存在的联络站")), actor=roster.admin)
    assert [(row, column) for row, column, _ in preview.errors] == [(2, "所属站点")]
    assert "不存在的联络站" in preview.errors[0].message


def test_missing_required_header(roster):
    headers = [h for h in HEADERS if h != "代表层级"]
    preview = preview_import(xlsx(person(), headers=headers), actor=roster.admin)
    assert [(row, column) for row, column, _ in preview.errors] == [(1, "代表层级")]
    assert preview.rows == []


def test_unknown_term_lists_the_known_ones(roster):
    preview = preview_import(xlsx(person(届次="区第六届")), actor=roster.admin)
    assert [(row, column) for row, column, _ in preview.errors] == [(2, "届次")]
    assert "区第五届" in preview.errors[0].message


def test_same_person_twice_in_the_file(roster):
    preview = preview_import(xlsx(person(联系电话=None), person("李强", 联系电话=None),
                                  person(联系电话=None)), actor=roster.admin)
    assert [(row, column) for row, column, _ in preview.errors] == [(4, "姓名")]
    assert "第2行" in preview.errors[0].message


def test_namesakes_with_different_phones_are_two_deputies(roster):
    preview = preview_import(xlsx(person(), person(联系电话="13800000002")), actor=roster.admin)
    assert preview.ok, preview.errors
    assert preview.count("create") == 2


def test_headers_are_matched_loosely(roster):
    headers = ["姓　名", "代表 层级", "联系电话", "所属站点", "备注"]
    data = xlsx(["王　芳", "区人大代表", "13912345678", HOME, "老代表"], headers=headers,
                before=[["惠山区人大代表名册（2026年）"]])
    preview = preview_import(data, actor=roster.admin)
    assert preview.ok, preview.errors
    row = preview.rows[0]
    assert (row.row_number, row.values["name"], row.values["level"]) == (3, "王芳", "county")
    assert [(w.row, w.column) for w in preview.warnings] == [(2, "备注")]


def test_errors_on_several_rows_are_all_reported(roster):
    preview = preview_import(xlsx(person(代表层级="村"), person("", 联系电话=None),
                                  person("李强", 联系电话="123", 所属站点="无此站")),
                             actor=roster.admin)
    assert [(row, column) for row, column, _ in preview.errors] == [
        (2, "代表层级"), (3, "姓名"), (4, "联系电话"), (4, "所属站点")]


# ---- applying ----

def test_apply_creates_deputies_with_codes_and_audit(db, roster):
    audit_before = counts(db)["AuditEvent"]  # the fixture's staff accounts
    result = apply_import(xlsx(person(代表小组="第一代表小组"), person("李强", 联系电话=None)),
                          actor=roster.admin)
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    wang = db.session.scalar(sa.select(Deputy).filter_by(name="王芳"))
    assert (wang.level, wang.term, wang.phone, wang.group.name) == (
        "county", roster.term, "13912345678", "第一代表小组")
    assert [s.name for s in wang.stations] == [HOME]
    # One create per deputy, one per new QR code, one for the new group.
    assert counts(db) == {"Deputy": 2, "AuditEvent": audit_before + 5, "DeputyCode": 2,
                          "DeputyGroup": 1}
    event = db.session.scalar(sa.select(AuditEvent).filter_by(action="deputy.create",
                                                               object_id=wang.id))
    assert event.actor_id == roster.admin.id and event.after["stations"] == [roster.home.id]


def test_one_bad_row_writes_nothing(db, roster):
    before = counts(db)
    data = xlsx(person(), person("李强", 联系电话=None, 代表层级="村"))
    with pytest.raises(ValidationFailed) as caught:
        apply_import(data, actor=roster.admin)
    assert caught.value.errors == {"第3行": ["代表层级：代表层级“村”无法识别，请填写：全国、省、市、县（区）、乡（镇）"]}
    db.session.flush()
    assert counts(db) == before


def test_importing_the_same_file_twice_changes_nothing(db, roster):
    data = xlsx(person(代表小组="第一代表小组"), person("李强", 联系电话=None, 所属站点=f"{HOME}、{OTHER}"))
    apply_import(data, actor=roster.admin)
    db.session.commit()
    after_first = counts(db)
    preview = preview_import(data, actor=roster.admin)
    assert [r.action for r in preview.rows] == ["unchanged", "unchanged"]
    result = apply_import(data, actor=roster.admin)
    db.session.commit()
    assert (result.created, result.updated, result.unchanged) == (0, 0, 2)
    assert counts(db) == after_first


def test_update_changes_only_what_differs_and_is_audited(db, roster, make_deputy):
    deputy = make_deputy(name="王芳", phone="13912345678", term=roster.term, stations=[roster.home],
                         occupation="教师", constituency="第3选区")
    preview = preview_import(xlsx(person(职业="医生", 选区="第3选区")), actor=roster.admin)
    assert (preview.rows[0].action, preview.rows[0].changes) == ("update", ["职业"])
    assert apply_import(xlsx(person(职业="医生", 选区="第3选区")), actor=roster.admin).updated == 1
    event = db.session.scalar(sa.select(AuditEvent).filter_by(action="deputy.update"))
    assert (event.object_id, event.before["occupation"], event.after["occupation"]) == (
        deputy.id, "教师", "医生")


def test_a_column_missing_from_the_sheet_is_left_alone(db, roster, make_deputy):
    deputy = make_deputy(name="王芳", phone="13912345678", occupation="教师", intro="简介",
                         stations=[roster.home, roster.other])
    data = xlsx(["王芳", "区", "13912345678"], headers=["姓名", "代表层级", "联系电话"])
    preview = preview_import(data, actor=roster.admin)
    assert preview.rows[0].action == "unchanged"
    apply_import(data, actor=roster.admin)
    assert (deputy.occupation, deputy.intro, len(deputy.stations)) == ("教师", "简介", 2)


def test_a_row_matches_by_name_and_term_when_no_phone(db, roster, make_deputy):
    deputy = make_deputy(name="王芳", term=roster.term, stations=[roster.home], occupation="教师")
    preview = preview_import(xlsx(person(联系电话=None)), actor=roster.admin)
    assert (preview.rows[0].action, preview.rows[0].deputy_id) == ("unchanged", deputy.id)
    adds_phone = preview_import(xlsx(person()), actor=roster.admin)
    assert (adds_phone.rows[0].action, adds_phone.rows[0].changes) == ("update", ["联系电话"])


def test_export_then_import_round_trips_unchanged(db, roster, make_deputy):
    group = DeputyGroup(name="第二代表小组")
    db.session.add(group)
    make_deputy(name="王芳", level="national", term=roster.term, group=group, phone="13912345678",
                constituency="第3选区", expertise="法律", intro="第一行\n第二行",
                stations=[roster.home, roster.other])
    make_deputy(name="李强", level="township", phone="0510-83234567", is_active=False,
                stations=[roster.other])
    make_deputy(name="赵敏", level="provincial", term=roster.term, stations=[],
                occupation="=HYPERLINK(\"http://example.com\")")  # text, never a formula
    deputies = db.session.scalars(sa.select(Deputy).order_by(Deputy.id)).all()
    data = export_deputies(deputies)

    sheet = load_workbook(BytesIO(data)).active
    assert [c.value for c in sheet[1]] == list(HEADERS)
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.b
    assert [c.value for c in sheet[2]][:3] == ["王芳", "全国", "区第五届"]
    assert set(sheet["I2"].value.split("、")) == {HOME, OTHER}
    assert sheet["K3"].value == "停用"

    preview = preview_import(data, actor=roster.admin)
    assert preview.ok, preview.errors
    assert [r.action for r in preview.rows] == ["unchanged"] * 3


def test_template_has_the_headers_and_no_data(roster):
    wb = load_workbook(BytesIO(template_workbook()))
    assert [c.value for c in wb.worksheets[0][1]] == list(HEADERS)
    assert wb.worksheets[0].data_validations.dataValidation
    assert "填写说明" in wb.sheetnames
    preview = preview_import(template_workbook(), actor=roster.admin)
    assert "没有代表数据" in preview.errors[0].message


def test_preview_runs_a_fixed_number_of_queries(db, roster, make_deputy):
    for n in range(30):
        make_deputy(name=f"代表{n}", phone=f"139000000{n:02d}", term=roster.term,
                    stations=[roster.home], with_code=False)
    rows = [person(f"代表{n}", 联系电话=f"139000000{n:02d}") for n in range(30)]
    rows += [person(f"新代表{n}", 联系电话=f"1380000{n:04d}") for n in range(300)]
    data = xlsx(*rows)
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)
    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        preview = preview_import(data, actor=roster.admin)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert preview.ok, preview.errors
    assert preview.count("unchanged") == 30 and preview.count("create") == 300
    assert len(statements) < 10


# ---- liaisons ----

def test_liaison_cannot_import_into_another_station(db, roster):
    preview = preview_import(xlsx(person(所属站点=OTHER), person("李强", 联系电话=None)),
                             actor=roster.liaison)
    assert [(row, column) for row, column, _ in preview.errors] == [(2, "所属站点")]
    assert OTHER in preview.errors[0].message
    with pytest.raises(ValidationFailed):
        apply_import(xlsx(person(所属站点=OTHER)), actor=roster.liaison)
    assert counts(db)["Deputy"] == 0


def test_liaison_imports_into_their_own_station(db, roster):
    assert apply_import(xlsx(person()), actor=roster.liaison).created == 1


def test_liaison_cannot_create_a_group(roster):
    preview = preview_import(xlsx(person(代表小组="新设小组")), actor=roster.liaison)
    assert [(row, column) for row, column, _ in preview.errors] == [(2, "代表小组")]


def test_liaison_needs_a_station_for_new_deputies(roster):
    preview = preview_import(xlsx(person(所属站点=None)), actor=roster.liaison)
    assert [(row, column) for row, column, _ in preview.errors] == [(2, "所属站点")]


def test_liaison_cannot_change_a_deputy_of_another_station(roster, make_deputy):
    make_deputy(name="王芳", phone="13912345678", stations=[roster.other])
    preview = preview_import(xlsx(person()), actor=roster.liaison)
    assert [(row, column) for row, column, _ in preview.errors] == [(2, "姓名")]


def test_liaison_keeps_a_shared_deputy_in_the_other_station(db, roster, make_deputy):
    deputy = make_deputy(name="王芳", phone="13912345678", term=roster.term, occupation="教师",
                         stations=[roster.home, roster.other])
    preview = preview_import(xlsx(person()), actor=roster.liaison)
    assert preview.rows[0].action == "unchanged"
    assert any(OTHER in w.message for w in preview.warnings)
    apply_import(xlsx(person(职业="医生")), actor=roster.liaison)
    assert {s.name for s in deputy.stations} == {HOME, OTHER}


def test_other_roles_cannot_preview(roster, make_staff, make_deputy):
    deputy_user = make_staff("deputy", deputy=make_deputy())
    with pytest.raises(Forbidden):
        preview_import(xlsx(person()), actor=deputy_user)


# ---- the pages ----

IMPORT = "/staff/deputies/import"
PREVIEW = "/staff/deputies/import/preview"
CONFIRM = "/staff/deputies/import/confirm"
EXPORT = "/staff/deputies/export.xlsx"
TEMPLATE = "/staff/deputies/import/template.xlsx"


def upload(client, data: bytes, filename="代表名册.xlsx"):
    return post_form(client, PREVIEW, {"file": (BytesIO(data), filename)}, form_url=IMPORT)


def test_upload_preview_confirm(client, db, roster, login):
    login(roster.admin)
    page = upload(client, xlsx(person(), person("李强", 联系电话=None)))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "新增 2 人" in html and 'data-testid="import-confirm"' in html
    # Only the CSRF token travels with the confirm form; the file stays on the server.
    form = html[html.index('data-testid="import-confirm"'):]
    assert re.findall(r'<input[^>]*name="([^"]+)"', form) == ["csrf_token"]
    assert counts(db)["Deputy"] == 0

    done = post_form(client, CONFIRM, {}, form_url=IMPORT, follow_redirects=True)
    assert "导入完成：新增 2 人，更新 0 人，未变化 0 人" in done.get_data(as_text=True)
    db.session.remove()
    assert counts(db)["Deputy"] == 2

    again = post_form(client, CONFIRM, {}, form_url=IMPORT, follow_redirects=True)
    assert "已过期" in again.get_data(as_text=True)  # the file was used up
    db.session.remove()
    assert counts(db)["Deputy"] == 2


def test_preview_page_lists_every_error_with_its_row(client, db, roster, login):
    login(roster.admin)
    page = upload(client, xlsx(person(代表层级="村"), person("", 联系电话=None),
                               person("李强", 联系电话="13912345678")))
    html = page.get_data(as_text=True)
    assert "发现 3 处问题" in html
    for row, reason in ((2, "无法识别"), (3, "姓名不能为空"), (4, "与第2行的联系电话重复")):
        assert re.search(rf"第{row}行</td>.*?{reason}", html, re.S), (row, reason)
    assert 'data-testid="import-confirm"' not in html
    assert post_form(client, CONFIRM, {}, form_url=IMPORT).status_code == 302
    assert counts(db)["Deputy"] == 0


def test_preview_page_explains_a_file_that_is_not_excel(client, roster, login):
    login(roster.admin)
    page = upload(client, b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, filename="照片.xlsx")
    assert "文件不是有效的 Excel（.xlsx）文件" in page.get_data(as_text=True)


def test_upload_without_a_file(client, roster, login):
    login(roster.admin)
    resp = post_form(client, PREVIEW, {}, form_url=IMPORT)
    assert resp.status_code == 400 and "请选择要上传的 Excel 文件" in resp.get_data(as_text=True)


def test_an_expired_upload_cannot_be_confirmed(client, app, db, roster, login):
    login(roster.admin)
    upload(client, xlsx(person()))
    with client.session_transaction() as session:
        session["deputy_import"] = {**session["deputy_import"], "at": time.time() - 2 * 3600}
    resp = post_form(client, CONFIRM, {}, form_url=IMPORT, follow_redirects=True)
    assert "已过期" in resp.get_data(as_text=True)
    assert counts(db)["Deputy"] == 0


def test_the_pending_file_lives_in_the_shared_storage_until_confirmed(client, db, roster, login,
                                                                       each_storage):
    # In the object store, a confirm that reaches another web machine finds the file.
    login(roster.admin)
    upload(client, xlsx(person()))
    with client.session_transaction() as session:
        key = session["deputy_import"]["key"]
    assert each_storage.exists(key)
    post_form(client, CONFIRM, {}, form_url=IMPORT)
    assert counts(db)["Deputy"] == 1 and not each_storage.exists(key)


def test_export_for_a_liaison_has_only_their_deputies(client, roster, login, make_deputy):
    make_deputy(name="王芳", stations=[roster.home])
    make_deputy(name="李强", stations=[roster.other])
    login(roster.liaison)
    resp = client.get(EXPORT)
    assert resp.status_code == 200
    assert resp.mimetype.endswith("spreadsheetml.sheet")
    assert f"filename*=UTF-8''{quote('人大代表名册')}" in resp.headers["Content-Disposition"]
    names = [row[0] for row in load_workbook(BytesIO(resp.data)).active.iter_rows(
        min_row=2, values_only=True)]
    assert names == ["王芳"]


def test_template_download(client, roster, login):
    login(roster.liaison)
    resp = client.get(TEMPLATE)
    assert resp.status_code == 200
    assert quote("人大代表名册导入模板.xlsx") in resp.headers["Content-Disposition"]
    assert [c.value for c in load_workbook(BytesIO(resp.data)).active[1]] == list(HEADERS)


@pytest.fixture
def user_with_role(db, roster, make_staff, make_deputy):
    from backend.org.models import Department

    def make(role):
        if role == "deputy":
            return make_staff("deputy", deputy=make_deputy())
        if role == "department":
            department = Department(name="区住建局")
            db.session.add(department)
            return make_staff("department", department=department)
        return {"admin": roster.admin, "liaison": roster.liaison}[role]
    return make


@pytest.mark.parametrize("method, url", [("get", IMPORT), ("post", PREVIEW), ("post", CONFIRM),
                                         ("get", EXPORT), ("get", TEMPLATE)])
@pytest.mark.parametrize("role", [None, "deputy", "department", "liaison", "admin"])
def test_access(client, login, user_with_role, method, url, role):
    if role:
        login(user_with_role(role))
    if method == "get":
        resp = client.get(url)
    else:  # a real CSRF token, so only the role decides
        resp = post_form(client, url, {}, form_url="/staff/" if role else "/staff/login")
    if role is None:
        assert resp.status_code == 302 and "/staff/login" in resp.location
    elif role in ("deputy", "department"):
        assert resp.status_code == 403
    else:
        assert resp.status_code != 403 and "/staff/login" not in (resp.location or "")
        if method == "get":
            assert resp.status_code == 200
