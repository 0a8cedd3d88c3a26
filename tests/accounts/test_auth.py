"""Staff sign-in: hashed passwords, lock-out after repeated failures, sessions that expire,
CSRF on every form."""
import time
from datetime import timedelta

from backend.core.audit_model import AuditEvent
from backend.accounts.models import StaffUser
from backend.core.timeutil import utcnow
from tests.conftest import post_form


def _login(client, username, password):
    return post_form(client, "/staff/login", {"username": username, "password": password})


def test_password_is_hashed_and_login_works(client, db, make_staff):
    user = make_staff("admin", username="boss", password="s3cret-pass")
    db.session.commit()
    assert "s3cret-pass" not in user.password_hash
    resp = _login(client, "boss", "s3cret-pass")
    assert resp.status_code == 302
    assert client.get("/staff/").status_code == 200


def test_wrong_password_is_refused_in_chinese(client, db, make_staff):
    make_staff("admin", username="boss", password="s3cret-pass")
    db.session.commit()
    resp = _login(client, "boss", "wrong")
    assert resp.status_code == 401
    assert "用户名或密码不正确" in resp.get_data(as_text=True)
    assert client.get("/staff/").status_code == 302  # still not signed in


def test_lockout_after_five_failures_even_for_the_right_password(client, db, make_staff):
    make_staff("liaison", username="zhang", password="right-one")
    db.session.commit()
    for _ in range(5):
        assert _login(client, "zhang", "guess").status_code == 401
    resp = _login(client, "zhang", "right-one")
    assert resp.status_code == 423
    assert "账号已锁定" in resp.get_data(as_text=True)
    assert db.session.scalar(db.select(AuditEvent).filter_by(action="staff.locked")) is not None


def test_lock_expires(client, db, make_staff):
    user = make_staff("liaison", username="li", password="right-one")
    user.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert _login(client, "li", "right-one").status_code == 302


def test_inactive_account_cannot_log_in(client, db, make_staff):
    user = make_staff("admin", username="gone", password="right-one")
    user.is_active = False
    db.session.commit()
    assert _login(client, "gone", "right-one").status_code == 401


def test_deactivation_ends_an_open_session(client, db, make_staff):
    user = make_staff("admin", username="soon-gone", password="right-one")
    db.session.commit()
    assert _login(client, "soon-gone", "right-one").status_code == 302
    db.session.get(StaffUser, user.id).is_active = False
    db.session.commit()
    assert client.get("/staff/").status_code == 302


def test_login_form_without_csrf_token_is_refused(client, db, make_staff):
    make_staff("admin", username="boss", password="s3cret-pass")
    db.session.commit()
    resp = client.post("/staff/login", data={"username": "boss", "password": "s3cret-pass"})
    assert resp.status_code == 302  # sent back with "页面已过期，请刷新后重新提交"
    assert client.get("/staff/").status_code == 302  # the forged post did not sign anyone in
    assert "页面已过期" in client.get("/staff/login").get_data(as_text=True)


def test_session_expires(app, client, db, make_staff):
    make_staff("admin", username="boss", password="s3cret-pass")
    db.session.commit()
    old = app.permanent_session_lifetime
    app.permanent_session_lifetime = timedelta(seconds=1)
    try:
        assert _login(client, "boss", "s3cret-pass").status_code == 302
        assert client.get("/staff/").status_code == 200
        time.sleep(2.1)
        assert client.get("/staff/").status_code == 302
    finally:
        app.permanent_session_lifetime = old


def test_next_parameter_never_leaves_the_site(client, db, make_staff):
    make_staff("admin", username="boss", password="s3cret-pass")
    db.session.commit()
    resp = post_form(client, "/staff/login?next=//evil.example/x",
                     {"username": "boss", "password": "s3cret-pass"}, form_url="/staff/login")
    assert resp.status_code == 302
    assert "evil.example" not in resp.headers["Location"]
