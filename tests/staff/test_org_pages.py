"""The organisation pages: what liaisons may and may not change, deactivation, QR codes, staff
accounts, photos, duplicates. Who may open which page at all is in test_access_matrix.py."""
import io
from urllib.parse import unquote

import pytest
from PIL import Image

from backend.core.adapters import get_storage
from backend.core.timeutil import LOCAL_TZ as LOCAL
from backend.core.errors import Forbidden, ValidationFailed
from backend.core.extensions import db
from backend.core.audit_model import AuditEvent
from backend.org.models import Deputy, Station, Term
from backend.org.code_model import DeputyCode
from backend.accounts.models import StaffUser
from backend.org import operations as org
from backend.org.codes import active_code, code_url
from tests.conftest import post_form


def _deputy_form(deputy, **overrides):
    data = {"name": deputy.name, "level": deputy.level, "term_id": "0", "group_id": "0",
            "occupation": deputy.occupation, "station_ids": [s.id for s in deputy.stations]}
    return {**data, **overrides}


def _memberships(deputy_id):
    db.session.expire_all()
    return sorted(s.name for s in db.session.get(Deputy, deputy_id).stations)


def _audit(action):
    return list(db.session.scalars(db.select(AuditEvent).filter_by(action=action)
                                   .order_by(AuditEvent.id)))


def _flash_text(client):
    with client.session_transaction() as session:
        return " ".join(str(m) for _, m in session.get("_flashes", []))


# ---- a liaison's reach ----

def test_liaison_cannot_open_or_change_another_stations_deputy(client, login, org_world):
    w = org_world
    login(w.users["liaison_own"])
    url = f"/staff/deputies/{w.deputy_b.id}/edit"
    assert client.get(url).status_code == 403
    resp = post_form(client, url, _deputy_form(w.deputy_b, name="改了名", phone="13900000000",
                                               station_ids=[w.station_a.id]),
                     form_url="/staff/")
    assert resp.status_code == 403
    assert "您没有权限" in resp.get_data(as_text=True)
    db.session.expire_all()
    deputy = db.session.get(Deputy, w.deputy_b.id)
    assert (deputy.name, deputy.phone) == ("刘芳", None)
    assert _memberships(w.deputy_b.id) == ["桂花坪街道代表联络站"]
    assert _audit("deputy.update") == []


def test_liaison_cannot_attach_their_deputy_to_a_station_they_do_not_manage(
        client, login, org_world):
    w = org_world
    login(w.users["liaison_own"])
    resp = post_form(client, f"/staff/deputies/{w.deputy_a.id}/edit",
                     _deputy_form(w.deputy_a, name="王建国（改）",
                                  station_ids=[w.station_a.id, w.station_b.id]))
    assert resp.status_code == 403
    assert "只能把代表加入您负责的联络站" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Deputy, w.deputy_a.id).name == "王建国"
    assert _memberships(w.deputy_a.id) == ["城关街道代表联络站"]
    assert _audit("deputy.update") == []


def test_liaison_editing_their_deputy_keeps_other_stations_memberships(
        client, login, org_world, make_station):
    w = org_world
    third = make_station(name="洋湖社区代表联系点")
    w.deputy_a.stations = [w.station_a, w.station_b, third]
    db.session.commit()
    login(w.users["liaison_own"])
    # The form offers only the liaison's own station ...
    page = client.get(f"/staff/deputies/{w.deputy_a.id}/edit").get_data(as_text=True)
    assert "城关街道代表联络站" in page and "桂花坪街道代表联络站" not in page
    # ... and what it submits leaves the other two stations alone.
    resp = post_form(client, f"/staff/deputies/{w.deputy_a.id}/edit",
                     _deputy_form(w.deputy_a, occupation="主任医师", station_ids=[w.station_a.id]))
    assert resp.status_code == 302
    assert _memberships(w.deputy_a.id) == sorted(
        ["城关街道代表联络站", "桂花坪街道代表联络站", "洋湖社区代表联系点"])
    # Taking the deputy out of their own station removes only that membership.
    post_form(client, f"/staff/deputies/{w.deputy_a.id}/edit",
              {k: v for k, v in _deputy_form(w.deputy_a).items() if k != "station_ids"})
    assert _memberships(w.deputy_a.id) == sorted(["桂花坪街道代表联络站", "洋湖社区代表联系点"])
    (update, *_) = _audit("deputy.update")
    assert update.actor_id == w.users["liaison_own"].id
    assert update.before["occupation"] == "教师" and update.after["occupation"] == "主任医师"


def test_the_operation_itself_enforces_the_station_rule(org_world):
    """Handlers check too, but a job or a future API calling the operation must not slip past."""
    w = org_world
    liaison = w.users["liaison_own"]
    with pytest.raises(Forbidden):
        org.update_deputy(w.deputy_b, {"name": "x"}, actor=liaison)
    with pytest.raises(Forbidden):
        org.update_deputy(w.deputy_a, {"station_ids": [w.station_a.id, w.station_b.id]},
                          actor=liaison)
    with pytest.raises(Forbidden):
        org.create_deputy({"name": "新人", "level": "county", "station_ids": [w.station_b.id]},
                          actor=liaison)
    with pytest.raises(ValidationFailed):  # a liaison may not leave a deputy in no station
        org.update_deputy(w.deputy_a, {"station_ids": []}, actor=liaison)
    with pytest.raises(Forbidden):
        org.update_station(w.station_b, {"name": "x"}, actor=liaison)
    with pytest.raises(Forbidden):
        org.set_active(w.station_a, False, actor=liaison)


def test_liaison_cannot_deactivate_a_deputy_shared_with_another_station(client, login, org_world):
    w = org_world
    w.deputy_a.stations = [w.station_a, w.station_b]
    db.session.commit()
    login(w.users["liaison_own"])
    resp = post_form(client, f"/staff/deputies/{w.deputy_a.id}/deactivate", {},
                     form_url="/staff/")
    assert resp.status_code == 403
    assert "停用请联系代工委" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Deputy, w.deputy_a.id).is_active


def test_liaison_creates_a_deputy_in_their_station_with_a_code(client, login, org_world):
    w = org_world
    login(w.users["liaison_own"])
    resp = post_form(client, "/staff/deputies/new",
                     {"name": "陈志强", "level": "township", "term_id": str(w.term.id),
                      "group_id": "0", "phone": "13800001111", "station_ids": [w.station_a.id]})
    assert resp.status_code == 302
    deputy = db.session.scalar(db.select(Deputy).filter_by(name="陈志强"))
    assert [s.id for s in deputy.stations] == [w.station_a.id]
    assert deputy.term_id == w.term.id and deputy.group_id is None
    assert active_code(deputy) is not None
    assert _audit("deputy.create")[0].after["stations"] == [w.station_a.id]


# ---- deactivation hides from the public ----

def test_deactivating_a_deputy_hides_their_page_and_station_entry(client, login, org_world):
    w = org_world
    token = active_code(w.deputy_a).token
    db.session.commit()
    assert "王建国" in client.get(f"/stations/{w.station_a.id}").get_data(as_text=True)
    login(w.users["admin"])
    resp = post_form(client, f"/staff/deputies/{w.deputy_a.id}/deactivate", {},
                     form_url=f"/staff/deputies/{w.deputy_a.id}")
    assert resp.status_code == 302
    assert client.get(f"/d/{token}").status_code == 404
    assert client.get(f"/d/{token}/qr.png").status_code == 404
    assert "王建国" not in client.get(f"/stations/{w.station_a.id}").get_data(as_text=True)
    # Still there for staff, greyed, with a filter.
    listing = client.get("/staff/deputies?status=inactive").get_data(as_text=True)
    assert "王建国" in listing and "lx-cell--off" in listing
    assert "王建国" not in client.get("/staff/deputies?status=active").get_data(as_text=True)
    (event,) = _audit("deputy.deactivate")
    assert (event.actor_id, event.before, event.after) == (
        w.users["admin"].id, {"is_active": True}, {"is_active": False})


def test_deactivating_a_station_hides_it_from_residents(client, login, org_world):
    w = org_world
    login(w.users["admin"])
    post_form(client, f"/staff/stations/{w.station_a.id}/deactivate", {}, form_url="/staff/")
    assert client.get(f"/stations/{w.station_a.id}").status_code == 404
    assert "城关街道代表联络站" not in client.get("/").get_data(as_text=True)
    assert db.session.get(Station, w.station_a.id) is not None  # never deleted


# ---- QR codes ----

def test_revoke_with_reason_then_reissue(client, login, org_world):
    w = org_world
    old = active_code(w.deputy_a).token
    db.session.commit()
    admin = w.users["admin"]
    login(admin)
    page = f"/staff/deputies/{w.deputy_a.id}"
    body = client.get(page).get_data(as_text=True)
    assert f"/d/{old}/qr.png" in body and f'href="{code_url(active_code(w.deputy_a))}"' in body

    # A reason is required: nothing happens without one.
    resp = post_form(client, f"{page}/code/revoke", {"reason": "  "}, form_url=page)
    assert resp.status_code == 422 and "请填写停用原因" in resp.get_data(as_text=True)
    assert client.get(f"/d/{old}").status_code == 200

    resp = post_form(client, f"{page}/code/revoke", {"reason": "海报被人恶意覆盖"}, form_url=page)
    assert resp.status_code == 302
    revoked = client.get(f"/d/{old}")
    assert revoked.status_code == 410
    assert 'data-code="code_revoked"' in revoked.get_data(as_text=True)
    assert "海报被人恶意覆盖" in client.get(page).get_data(as_text=True)

    resp = post_form(client, f"{page}/code/reissue", {}, form_url=page)
    assert resp.status_code == 302
    db.session.expire_all()
    new = active_code(w.deputy_a).token
    assert new != old
    assert f"/d/{new}" in client.get(f"/d/{old}").get_data(as_text=True)
    assert client.get(f"/d/{new}").status_code == 200

    (revoke,) = _audit("code.revoke")
    assert revoke.actor_id == admin.id and revoke.actor_label == admin.display_name
    assert revoke.before == {"active": True}
    assert revoke.after == {"active": False, "reason": "海报被人恶意覆盖"}
    issued = _audit("code.issue")[-1]
    assert issued.actor_id == admin.id and issued.after == {"deputy_id": w.deputy_a.id}
    assert db.session.get(DeputyCode, revoke.object_id).token == old


def test_qr_downloads_carry_the_deputys_name(client, login, org_world):
    w = org_world
    login(w.users["liaison_own"])
    png = client.get(f"/staff/deputies/{w.deputy_a.id}/qr.png")
    assert png.mimetype == "image/png" and png.data.startswith(b"\x89PNG")
    assert "王建国-二维码.png" in unquote(png.headers["Content-Disposition"])
    svg = client.get(f"/staff/deputies/{w.deputy_a.id}/qr.svg")
    assert svg.mimetype == "image/svg+xml"
    assert "王建国-二维码.svg" in unquote(svg.headers["Content-Disposition"])


# ---- staff accounts ----

def test_new_account_password_is_shown_once_and_works(client, login, org_world):
    w = org_world
    login(w.users["admin"])
    resp = post_form(client, "/staff/accounts/new",
                     {"username": "peng.li", "display_name": "桂花坪站联络员 彭丽",
                      "role": "liaison", "deputy_id": "0", "department_id": "0",
                      "station_ids": [w.station_b.id]}, follow_redirects=True)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "只显示这一次" in body
    password = body.split('data-testid="one-time-password">')[1].split("<")[0]
    assert len(password) >= 10
    assert password not in client.get(resp.request.path).get_data(as_text=True)
    user = db.session.scalar(db.select(StaffUser).filter_by(username="peng.li"))
    assert password not in user.password_hash and [s.id for s in user.stations] == [w.station_b.id]

    client.post("/staff/logout", data={"csrf_token": _token(client)})
    resp = post_form(client, "/staff/login", {"username": "peng.li", "password": password})
    assert resp.status_code == 302
    assert "我的联络站" in client.get("/staff/").get_data(as_text=True)


def test_account_needs_its_link_for_the_role(client, login, org_world):
    login(org_world.users["admin"])
    resp = post_form(client, "/staff/accounts/new",
                     {"username": "dep2", "display_name": "某代表", "role": "deputy",
                      "deputy_id": "0", "department_id": "0"})
    assert resp.status_code == 422 and "请选择关联的代表" in resp.get_data(as_text=True)
    resp = post_form(client, "/staff/accounts/new",
                     {"username": org_world.target.username, "display_name": "重名",
                      "role": "admin", "deputy_id": "0", "department_id": "0"})
    assert resp.status_code == 422 and "该用户名已被使用" in resp.get_data(as_text=True)


def test_deactivated_account_cannot_log_in_and_reset_password_works(
        client, app, login, org_world):
    w = org_world
    login(w.users["admin"])
    page = f"/staff/accounts/{w.target.id}/edit"
    resp = post_form(client, f"/staff/accounts/{w.target.id}/reset-password", {}, form_url=page,
                     follow_redirects=True)
    password = resp.get_data(as_text=True).split('data-testid="one-time-password">')[1] \
        .split("<")[0]
    post_form(client, f"/staff/accounts/{w.target.id}/deactivate", {}, form_url=page)

    other = app.test_client()
    resp = post_form(other, "/staff/login", {"username": "target", "password": password})
    assert resp.status_code == 401 and "用户名或密码不正确" in resp.get_data(as_text=True)

    post_form(client, f"/staff/accounts/{w.target.id}/activate", {}, form_url=page)
    resp = post_form(other, "/staff/login", {"username": "target", "password": password})
    assert resp.status_code == 302
    actions = [e.action for e in _audit("staff.deactivate") + _audit("staff.activate")]
    assert actions == ["staff.deactivate", "staff.activate"]


def test_deactivating_an_account_ends_its_open_session(client, app, login, org_world):
    w = org_world
    liaison_client = app.test_client()
    post_form(liaison_client, "/staff/login",
              {"username": w.users["liaison_own"].username, "password": "correct-horse-9"})
    assert liaison_client.get("/staff/stations").status_code == 200
    login(w.users["admin"])
    post_form(client, f"/staff/accounts/{w.users['liaison_own'].id}/deactivate", {},
              form_url="/staff/")
    assert liaison_client.get("/staff/stations").status_code == 302  # back to the login page


def test_admin_cannot_demote_or_deactivate_themselves(client, login, org_world):
    admin = org_world.users["admin"]
    login(admin)
    page = f"/staff/accounts/{admin.id}/edit"
    resp = post_form(client, page, {"display_name": "管理员", "role": "liaison", "deputy_id": "0",
                                    "department_id": "0", "station_ids": [org_world.station_a.id]})
    assert resp.status_code == 403 and "不能取消自己的管理员权限" in resp.get_data(as_text=True)
    resp = post_form(client, f"/staff/accounts/{admin.id}/deactivate", {}, form_url=page)
    assert resp.status_code == 403 and "不能停用自己的账号" in resp.get_data(as_text=True)
    db.session.expire_all()
    me = db.session.get(StaffUser, admin.id)
    assert (me.role, me.is_active) == ("admin", True)
    assert "停用账号" not in client.get(page).get_data(as_text=True)


# ---- photos ----

def _png_with_gps() -> bytes:
    img = Image.new("RGB", (64, 64), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (31.0, 12.0, 30.0), 3: "E", 4: (121.0, 28.0, 10.0)}
    out = io.BytesIO()
    img.save(out, "PNG", exif=exif)
    return out.getvalue()


def test_photo_upload_strips_exif_and_gps(client, login, org_world):
    w = org_world
    data = _png_with_gps()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)  # the test file has GPS
    login(w.users["liaison_own"])
    url = f"/staff/deputies/{w.deputy_a.id}/edit"
    resp = post_form(client, url, {**_deputy_form(w.deputy_a),
                                   "photo": (io.BytesIO(data), "IMG_0001.png")},
                     content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    db.session.expire_all()
    key = db.session.get(Deputy, w.deputy_a.id).photo_path
    assert key.startswith("photos/") and key.endswith(".png")
    stored = Image.open(io.BytesIO(get_storage().read(key)))
    assert len(stored.getexif()) == 0
    assert f"/media/{key}" in client.get(f"/staff/deputies/{w.deputy_a.id}").get_data(as_text=True)
    assert client.get(f"/media/{key}").status_code == 200


def test_text_file_named_jpg_is_refused_in_chinese(client, login, org_world):
    w = org_world
    login(w.users["admin"])
    url = f"/staff/deputies/{w.deputy_a.id}/edit"
    resp = post_form(client, url, {**_deputy_form(w.deputy_a, name="不应保存"),
                                   "photo": (io.BytesIO(b"just some text\n"), "photo.jpg")},
                     content_type="multipart/form-data")
    assert resp.status_code == 422
    assert "文件不是有效的图片" in resp.get_data(as_text=True)
    db.session.expire_all()
    deputy = db.session.get(Deputy, w.deputy_a.id)
    assert (deputy.name, deputy.photo_path) == ("王建国", None)


# ---- duplicates, validation, the generic pages ----

def test_duplicates_get_a_chinese_error_not_a_500(client, login, org_world, monkeypatch):
    w = org_world
    w.deputy_b.phone = "13900001111"
    db.session.commit()
    login(w.users["admin"])
    resp = post_form(client, "/staff/stations/new", {"name": w.station_b.name, "kind": "station",
                                                     "ack_workdays": "2", "answer_workdays": "15"})
    assert resp.status_code == 422 and "已有同名的联络站" in resp.get_data(as_text=True)
    resp = post_form(client, f"/staff/deputies/{w.deputy_a.id}/edit",
                     _deputy_form(w.deputy_a, phone="13900001111"))
    assert resp.status_code == 422 and "该手机号已登记给其他代表" in resp.get_data(as_text=True)
    resp = post_form(client, "/staff/terms/new", {"name": "区第五届"})
    assert resp.status_code == 422 and "已有同名的届次" in resp.get_data(as_text=True)
    # When two requests race past the check, the database constraint answers the same way.
    monkeypatch.setattr(org, "_check_unique", lambda *a, **kw: None)
    resp = post_form(client, "/staff/departments/new", {"name": w.department.name})
    assert resp.status_code == 422 and "重复" in resp.get_data(as_text=True)
    assert _audit("department.create") == []


def test_station_form_keeps_two_heads_and_checks_coordinates(client, login, org_world):
    w = org_world
    login(w.users["liaison_own"])
    url = f"/staff/stations/{w.station_a.id}/edit"
    base = {"name": w.station_a.name, "kind": "home", "address": "人民路88号",
            "opening_hours": "周一至周五 9:00-17:00", "ack_workdays": "2", "answer_workdays": "15"}
    resp = post_form(client, url, {**base, "latitude": "北纬28度"})
    assert resp.status_code == 422 and "请输入数字" in resp.get_data(as_text=True)
    resp = post_form(client, url, {**base, "latitude": "28.19", "longitude": "112.97",
                                   "heads-0-name": "林红", "heads-0-title": "站长",
                                   "heads-0-phone": "0731-88880001",
                                   "heads-1-name": "何军", "heads-1-title": "联络员"})
    assert resp.status_code == 302
    db.session.expire_all()
    station = db.session.get(Station, w.station_a.id)
    assert station.heads == [{"name": "林红", "title": "站长", "phone": "0731-88880001"},
                             {"name": "何军", "title": "联络员", "phone": ""}]
    assert (station.kind, station.latitude) == ("home", 28.19)
    form = client.get(url).get_data(as_text=True)
    assert 'value="林红"' in form and 'value="何军"' in form
    (event,) = _audit("station.update")
    assert event.before["heads"] == [] and event.after["kind"] == "home"
    assert "停用联络站" not in form  # a liaison edits, never deactivates


def test_terms_keep_one_current_and_departments_grey_out(client, login, org_world):
    w = org_world
    login(w.users["admin"])
    post_form(client, f"/staff/terms/{w.term.id}/edit", {"name": "区第五届", "is_current": "y"})
    resp = post_form(client, "/staff/terms/new",
                     {"name": "区第六届", "starts_on": "2027-01-01", "ends_on": "2026-01-01"})
    assert resp.status_code == 422 and "结束日期不能早于开始日期" in resp.get_data(as_text=True)
    post_form(client, "/staff/terms/new",
              {"name": "区第六届", "starts_on": "2027-01-01", "is_current": "y"})
    db.session.expire_all()
    current = db.session.scalars(db.select(Term.name).filter_by(is_current=True)).all()
    assert current == ["区第六届"]
    assert client.post(f"/staff/terms/{w.term.id}/deactivate").status_code in (400, 404)

    post_form(client, f"/staff/departments/{w.department.id}/deactivate", {}, form_url="/staff/")
    listing = client.get("/staff/departments").get_data(as_text=True)
    assert "lx-cell--off" in listing and "区住房和城乡建设局" in listing
    assert "区住房和城乡建设局" not in client.get("/staff/departments?status=active").get_data(
        as_text=True)


def test_lists_search_paginate_and_stay_within_the_liaisons_stations(
        client, login, org_world, make_deputy):
    w = org_world
    for n in range(24):
        make_deputy(name=f"城关代表{n:02d}", stations=[w.station_a], with_code=False)
    db.session.commit()
    login(w.users["liaison_own"])
    first = client.get("/staff/deputies").get_data(as_text=True)
    assert "第 1/2 页" in first and "共 25 条" in first and "刘芳" not in first
    second = client.get("/staff/deputies?page=2").get_data(as_text=True)
    assert second.count('<a class="lx-cell') == 5
    found = client.get("/staff/deputies?q=代表07").get_data(as_text=True)
    assert "城关代表07" in found and "城关代表08" not in found
    assert "刘芳" not in client.get(f"/staff/deputies?station={w.station_b.id}").get_data(
        as_text=True)
    stations = client.get("/staff/stations").get_data(as_text=True)
    assert "城关街道代表联络站" in stations and "桂花坪街道代表联络站" not in stations


@pytest.mark.parametrize("role,expected,absent", [
    ("admin", ["代表", "联络站", "届次", "代表小组", "承办单位", "工作人员账号", "节假日设置",
               "敏感词库", "导入导出代表", "接待选民日"], ["本站代表", "绑定微信"]),
    ("liaison_own", ["我的联络站", "本站代表", "值班表", "接待日", "约见申请", "绑定微信"],
     ["工作人员账号", "届次", "敏感词库"]),
    ("deputy", ["我的留言", "我的值班", "约见申请", "绑定微信"], ["本站代表", "工作人员账号"]),
    ("department", ["交办建议"], ["本站代表", "工作人员账号", "我的值班"]),
])
def test_home_menu_by_role(client, login, org_world, role, expected, absent):
    login(org_world.users[role])
    menu = client.get("/staff/").get_data(as_text=True).split('data-testid="staff-menu"')[1]
    for word in expected:
        assert word in menu
    for word in absent:
        assert word not in menu


def _token(client):
    from tests.conftest import csrf_token
    return csrf_token(client, "/staff/")


@pytest.mark.parametrize("role", ["admin", "liaison_own", "deputy", "department"])
def test_every_menu_link_opens(client, login, org_world, role):
    import re
    login(org_world.users[role])
    menu = client.get("/staff/").get_data(as_text=True).split('data-testid="staff-menu"')[1]
    links = re.findall(r'<a class="lx-cell" href="([^"]+)"', menu)
    assert links or role == "department"
    for href in links:
        assert client.get(href).status_code == 200, href


def test_a_dissolved_group_is_kept_greyed(client, login, org_world, db):
    from backend.core.audit_model import AuditEvent
    from backend.org.models import DeputyGroup
    login(org_world.users["admin"])
    group = db.session.scalar(db.select(DeputyGroup))
    resp = post_form(client, f"/staff/groups/{group.id}/deactivate", {},
                     form_url=f"/staff/groups/{group.id}/edit")
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(DeputyGroup, group.id).is_active is False
    assert db.session.scalar(db.select(AuditEvent).filter_by(action="group.deactivate"))
    assert "已停用" in client.get("/staff/groups").get_data(as_text=True)


def test_a_liaison_sets_the_station_clocks_and_new_messages_follow_them(client, login, org_world):
    import uuid

    from backend.accounts.resident_model import Resident
    from backend.messages.operations import submit_message
    w = org_world
    login(w.users["liaison_own"])
    url = f"/staff/stations/{w.station_a.id}/edit"
    base = {"name": w.station_a.name, "kind": "station"}
    resp = post_form(client, url, {**base, "ack_workdays": "0", "answer_workdays": "15"})
    assert resp.status_code == 422 and "受理期限应为 1 到 30 个工作日" in resp.get_data(as_text=True)
    resp = post_form(client, url, {**base, "ack_workdays": "1", "answer_workdays": "10"})
    assert resp.status_code == 302
    db.session.expire_all()
    station = db.session.get(Station, w.station_a.id)
    assert (station.ack_workdays, station.answer_workdays) == (1, 10)
    resident = Resident()
    db.session.add(resident)
    db.session.flush()
    from datetime import datetime, timezone
    monday = datetime(2026, 11, 23, 2, tzinfo=timezone.utc)
    message = submit_message(resident=resident, station=station, body="测试留言的办理期限设置。",
                             idempotency_key=uuid.uuid4().hex, now=monday).message
    assert str(message.ack_due_at.astimezone(LOCAL).date()) == "2026-11-24"
    assert str(message.answer_due_at.astimezone(LOCAL).date()) == "2026-12-07"
