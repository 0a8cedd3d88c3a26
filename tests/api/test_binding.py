"""Binding a deputy's or liaison's WeChat: a one-time code from the staff page, entered in the
mini-program; wrong, expired and used codes are refused; the modes keep to their audiences."""
import re
from datetime import timedelta

import pytest

from backend.core.errors import Forbidden, InvalidState, ValidationFailed
from backend.core.audit_model import AuditEvent
from backend.org.models import Department
from backend.accounts.models import StaffUser
from backend.accounts import wechat_binding as binding
from backend.core.timeutil import utcnow
from tests.conftest import csrf_token

CODE_RE = re.compile(r'data-testid="bind-code">(\d{6})<')


@pytest.fixture
def deputy_account(make_staff, make_deputy):
    return make_staff("deputy", deputy=make_deputy())


def _issue_in_portal(client, login, user) -> str:
    login(user)
    page = client.get("/staff/wechat-bind")
    assert page.status_code == 200 and 'data-bound="0"' in page.get_data(as_text=True)
    token = csrf_token(client, "/staff/wechat-bind")
    resp = client.post("/staff/wechat-bind/code", data={"csrf_token": token})
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-store"
    return CODE_RE.search(resp.get_data(as_text=True)).group(1)


def _audit(db, action):
    return db.session.scalars(db.select(AuditEvent).filter_by(action=action)).all()


def test_code_from_the_portal_binds_through_the_api(client, api, db, login, deputy_account,
                                                    make_resident, token_for):
    code = _issue_in_portal(client, login, deputy_account)
    db.session.expire_all()
    assert deputy_account.bind_code_hash and code not in deputy_account.bind_code_hash
    resident = make_resident()

    resp = api.post("/auth/bind", token_for(resident), json={"code": code})
    assert resp.status_code == 200, resp.json
    assert resp.json["mode"] == "deputy" and resp.json["staff"]["id"] == deputy_account.id
    user = db.session.get(StaffUser, deputy_account.id)
    assert user.wechat_openid == resident.openid
    assert user.bind_code_hash is None and user.bind_code_expires_at is None
    assert api.get("/deputy/inbox", resp.json["token"]).status_code == 200
    assert [a.after for a in _audit(db, "staff.wechat_bind")] == [
        {"wechat_openid": resident.openid}]
    assert len(_audit(db, "staff.wechat_bind_code")) == 1

    page = client.get("/staff/wechat-bind").get_data(as_text=True)
    assert 'data-bound="1"' in page and "解除绑定" in page

    used = api.post("/auth/bind", token_for(make_resident()), json={"code": code})
    assert used.status_code == 422 and used.json["code"] == "bind_code_invalid"


def test_unbinding_in_the_portal_ends_deputy_mode_at_once(client, api, db, login,
                                                         deputy_account, make_resident,
                                                         token_for):
    code = _issue_in_portal(client, login, deputy_account)
    deputy_token = api.post("/auth/bind", token_for(make_resident()),
                            json={"code": code}).json["token"]
    resp = client.post("/staff/wechat-bind/unbind",
                       data={"csrf_token": csrf_token(client, "/staff/wechat-bind")})
    assert resp.status_code == 302
    assert db.session.get(StaffUser, deputy_account.id).wechat_openid is None
    refused = api.get("/deputy/inbox", deputy_token)
    assert refused.status_code == 403 and refused.json["code"] == "deputy_only"
    assert api.get("/messages", deputy_token).status_code == 200  # still a resident
    assert len(_audit(db, "staff.wechat_unbind")) == 1


def test_wrong_and_expired_codes_are_refused(api, db, deputy_account, make_resident, token_for):
    code = binding.issue_bind_code(deputy_account)
    token = token_for(make_resident())
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    resp = api.post("/auth/bind", token, json={"code": wrong})
    assert resp.status_code == 422 and resp.json["code"] == "bind_code_invalid"
    assert resp.json["message"] == "绑定码不正确或已使用，请核对工作台上的绑定码"
    resp = api.post("/auth/bind", token, json={"code": "12ab"})
    assert resp.json["errors"] == {"code": ["请输入6位数字绑定码"]}

    deputy_account.bind_code_expires_at = utcnow() - timedelta(seconds=1)
    resp = api.post("/auth/bind", token, json={"code": code})
    assert resp.status_code == 422 and resp.json["code"] == "bind_code_expired"
    assert resp.json["message"] == "绑定码已过期，请在工作台重新生成"
    assert db.session.get(StaffUser, deputy_account.id).wechat_openid is None


def test_regenerating_replaces_the_code(db, deputy_account, make_resident):
    first = binding.issue_bind_code(deputy_account)
    second = binding.issue_bind_code(deputy_account)
    if first != second:
        with pytest.raises(ValidationFailed):
            binding.bind_wechat(first, make_resident().openid)
    assert binding.bind_wechat(second, make_resident().openid) is deputy_account


def test_bind_codes_expire_after_ten_minutes(db, deputy_account, make_resident):
    start = utcnow()
    code = binding.issue_bind_code(deputy_account, now=start)
    assert deputy_account.bind_code_expires_at == start + timedelta(minutes=10)
    with pytest.raises(ValidationFailed) as err:
        binding.bind_wechat(code, make_resident().openid, now=start + timedelta(minutes=10))
    assert err.value.code == "bind_code_expired"
    assert binding.bind_wechat(code, "oLATE", now=start + timedelta(minutes=9)) is deputy_account


def test_one_wechat_binds_one_staff_account(db, make_staff, make_deputy, deputy_account):
    liaison = make_staff("liaison")
    binding.bind_wechat(binding.issue_bind_code(deputy_account), "oSHARED")
    with pytest.raises(InvalidState) as err:
        binding.bind_wechat(binding.issue_bind_code(liaison), "oSHARED")
    assert err.value.code == "wechat_bound_elsewhere"
    assert liaison.wechat_openid is None


def test_only_deputies_and_liaisons_bind(client, db, login, make_staff):
    admin = make_staff("admin")
    with pytest.raises(Forbidden):
        binding.issue_bind_code(admin)
    login(admin)
    assert client.get("/staff/wechat-bind").status_code == 403


def test_unbinding_someone_else_needs_an_admin(db, make_staff, deputy_account):
    binding.bind_wechat(binding.issue_bind_code(deputy_account), "oMINE")
    with pytest.raises(Forbidden):
        binding.unbind_wechat(deputy_account, actor=make_staff("liaison"))
    binding.unbind_wechat(deputy_account, actor=make_staff("admin"))
    assert deputy_account.wechat_openid is None
    with pytest.raises(InvalidState):
        binding.unbind_wechat(deputy_account, actor=deputy_account)


def test_a_deactivated_account_leaves_liaison_mode(api, db, world):
    assert api.get("/liaison/queue", world.tokens["liaison"]).status_code == 200
    world.liaison.is_active = False
    assert api.get("/liaison/queue", world.tokens["liaison"]).status_code == 403


def test_binding_is_rate_limited(api, make_resident, token_for, app, monkeypatch):
    monkeypatch.setitem(app.config, "BIND_RATE", "2 per minute")
    token = token_for(make_resident())
    codes = [api.post("/auth/bind", token, json={"code": "000000"}).status_code
             for _ in range(3)]
    assert codes == [422, 422, 429]


# ---- the modes keep to their audiences ----

def test_deputy_mode_refuses_residents_and_liaisons(api, world):
    path = f"/deputy/messages/{world.message.id}"
    for role in ("owner", "liaison"):
        resp = api.get(path, world.tokens[role])
        assert resp.status_code == 403 and resp.json["code"] == "deputy_only", role
        assert resp.json["message"] == "此功能仅供已绑定微信的代表使用"
    assert api.get(path, world.tokens["deputy"]).status_code == 200


def test_liaison_mode_refuses_deputies(api, world):
    resp = api.get(f"/liaison/messages/{world.message.id}", world.tokens["deputy"])
    assert resp.status_code == 403 and resp.json["code"] == "liaison_only"


def test_a_liaison_of_another_station_cannot_reach_the_message(api, world):
    path = f"/liaison/messages/{world.message.id}"
    resp = api.get(path, world.tokens["other_liaison"])
    assert resp.status_code == 403 and resp.json["code"] == "message_forbidden"
    resp = api.post(path + "/acknowledge", world.tokens["other_liaison"])
    assert resp.status_code == 403
    assert world.message.status == "new"
    listed = api.get("/liaison/queue", world.tokens["other_liaison"]).json
    assert listed["items"] == [] and listed["counts"]["todo"] == 0
    refused = api.get(f"/liaison/queue?station_id={world.station.id}",
                      world.tokens["other_liaison"])
    assert refused.status_code == 403 and refused.json["code"] == "station_forbidden"


@pytest.mark.parametrize("role, expected", [
    ("anonymous", 302), ("admin", 403), ("department", 403), ("liaison", 200), ("deputy", 200)])
def test_who_reaches_the_binding_page(client, db, login, make_staff, make_deputy, role,
                                      expected):
    if role != "anonymous":
        links = {"deputy": lambda: {"deputy": make_deputy()},
                 "department": lambda: {"department": _department(db)}}
        login(make_staff(role, **links.get(role, dict)()))
    resp = client.get("/staff/wechat-bind")
    assert resp.status_code == expected
    if role == "anonymous":
        assert "/staff/login" in resp.headers["Location"]


def _department(db):
    department = Department(name="区住建局")
    db.session.add(department)
    db.session.flush()
    return department


def test_unbinding_an_unbound_account_is_refused(client, login, deputy_account):
    login(deputy_account)
    resp = client.post("/staff/wechat-bind/unbind",
                       data={"csrf_token": csrf_token(client, "/staff/wechat-bind")})
    assert resp.status_code == 409 and "该账号尚未绑定微信" in resp.get_data(as_text=True)
