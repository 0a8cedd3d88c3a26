"""Staff sessions end when they should: a cookie captured before logout, before an admin
resets the password, or before the user changes it, no longer signs anyone in. Users change
their own password (old, new, confirm); their current session goes on, the others end."""
import pytest

from backend.core.audit_model import AuditEvent
from backend.accounts.models import StaffUser
from tests.conftest import post_form

PASSWORD = "correct-horse-9"


def _cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _replay(app, cookie_value: str):
    """A fresh client (another browser) that only has the captured cookie."""
    thief = app.test_client()
    thief.set_cookie("session", cookie_value)
    return thief


def _signed_in(client) -> bool:
    resp = client.get("/staff/")
    return resp.status_code == 200


@pytest.fixture
def user(db, make_staff):
    user = make_staff("liaison", username="zhou")
    db.session.commit()
    return user


def test_a_cookie_captured_before_logout_is_refused_after_it(app, client, login, user):
    login(user)
    captured = _cookie(client)
    assert _signed_in(_replay(app, captured))
    post_form(client, "/staff/logout", {}, form_url="/staff/")
    assert not _signed_in(client)
    assert not _signed_in(_replay(app, captured))


def test_logout_in_one_browser_ends_the_others(app, client, login, user):
    login(user)
    phone = app.test_client()
    post_form(phone, "/staff/login", {"username": "zhou", "password": PASSWORD})
    assert _signed_in(phone)
    post_form(client, "/staff/logout", {}, form_url="/staff/")
    assert not _signed_in(phone)


def test_a_cookie_captured_before_an_admin_reset_is_refused_after_it(
        app, client, db, login, user, make_staff):
    victim = app.test_client()
    post_form(victim, "/staff/login", {"username": "zhou", "password": PASSWORD})
    captured = _cookie(victim)
    assert _signed_in(_replay(app, captured))
    admin = make_staff("admin")
    login(admin)
    resp = post_form(client, f"/staff/accounts/{user.id}/reset-password", {},
                     form_url=f"/staff/accounts/{user.id}/edit")
    assert resp.status_code == 200
    assert not _signed_in(_replay(app, captured))
    assert not _signed_in(victim)
    assert _signed_in(client)  # the admin's own session is untouched


def test_changing_my_password_keeps_this_session_and_ends_the_others(app, client, db, login,
                                                                     user):
    login(user)
    other = app.test_client()
    post_form(other, "/staff/login", {"username": "zhou", "password": PASSWORD})
    captured = _cookie(other)
    assert _signed_in(other)

    resp = post_form(client, "/staff/password",
                     {"old_password": PASSWORD, "new_password": "a-new-long-one-7",
                      "confirm": "a-new-long-one-7"}, follow_redirects=True)
    assert resp.status_code == 200
    assert "密码已修改" in resp.get_data(as_text=True)
    assert _signed_in(client)  # the session that changed it goes on
    assert not _signed_in(other)
    assert not _signed_in(_replay(app, captured))

    fresh = app.test_client()
    assert post_form(fresh, "/staff/login",
                     {"username": "zhou", "password": PASSWORD}).status_code == 401
    assert post_form(fresh, "/staff/login",
                     {"username": "zhou", "password": "a-new-long-one-7"}).status_code == 302
    assert db.session.scalar(db.select(AuditEvent).filter_by(action="staff.change_password"))


@pytest.mark.parametrize("form,field,message", [
    ({"old_password": "wrong-one-123", "new_password": "a-new-long-one-7",
      "confirm": "a-new-long-one-7"}, "old_password", "原密码不正确"),
    ({"old_password": PASSWORD, "new_password": "short", "confirm": "short"},
     "new_password", "新密码至少 10 个字符"),
    ({"old_password": PASSWORD, "new_password": "a-new-long-one-7",
      "confirm": "a-new-long-one-8"}, "confirm", "两次输入的新密码不一致"),
    ({"old_password": PASSWORD, "new_password": PASSWORD, "confirm": PASSWORD},
     "new_password", "新密码不能与原密码相同"),
])
def test_a_bad_password_change_is_refused_in_chinese_and_changes_nothing(
        app, client, db, login, user, form, field, message):
    login(user)
    other = app.test_client()
    post_form(other, "/staff/login", {"username": "zhou", "password": PASSWORD})
    before = db.session.get(StaffUser, user.id).password_hash
    resp = post_form(client, "/staff/password", form)
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(StaffUser, user.id).password_hash == before
    assert _signed_in(other)  # nothing ended


def test_every_role_reaches_the_password_page_from_home(client, login, make_staff, db):
    for role, extra in (("admin", {}), ("department", None)):
        if extra is None:
            from backend.org.models import Department
            department = Department(name="区住建局")
            db.session.add(department)
            db.session.flush()
            extra = {"department": department}
        account = make_staff(role, **extra)
        login(account)
        assert "/staff/password" in client.get("/staff/").get_data(as_text=True)
        assert client.get("/staff/password").status_code == 200
        post_form(client, "/staff/logout", {}, form_url="/staff/")


def _session_payloads(app, resp) -> list[str]:
    """Every session cookie the response sets, decoded (signed, not encrypted: anyone holding
    the cookie reads it)."""
    serializer = app.session_interface.get_signing_serializer(app)
    values = [h.split(";", 1)[0].split("=", 1)[1] for h in resp.headers.getlist("Set-Cookie")
              if h.startswith("session=")]
    return [repr(serializer.loads(v)) for v in values if v]


def test_a_new_or_reset_password_is_shown_once_and_never_put_in_the_cookie(
        app, client, db, login, make_staff, user):
    login(make_staff("admin"))
    page = f"/staff/accounts/{user.id}/edit"
    resp = post_form(client, f"/staff/accounts/{user.id}/reset-password", {}, form_url=page)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "只显示这一次" in body
    assert resp.headers["Cache-Control"] == "no-store"
    password = body.split('data-testid="one-time-password">')[1].split("<")[0]
    assert len(password) >= 10
    assert all(password not in payload for payload in _session_payloads(app, resp))
    assert password not in client.get(page).get_data(as_text=True)  # once
    with client.session_transaction() as session:
        assert password not in repr(dict(session))

    resp = post_form(client, "/staff/accounts/new",
                     {"username": "wu.min", "display_name": "吴敏", "role": "admin",
                      "deputy_id": "0", "department_id": "0"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "已创建账号 wu.min" in body
    password = body.split('data-testid="one-time-password">')[1].split("<")[0]
    assert all(password not in payload for payload in _session_payloads(app, resp))
    created = db.session.scalar(db.select(StaffUser).filter_by(username="wu.min"))
    # The page shown is the new account's edit page, and its form posts there, not to /new.
    assert f'action="/staff/accounts/{created.id}/edit"' in body
    fresh = app.test_client()
    assert post_form(fresh, "/staff/login",
                     {"username": "wu.min", "password": password}).status_code == 302
