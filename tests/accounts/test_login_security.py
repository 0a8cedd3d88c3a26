"""Signing in tells a guesser nothing: an unknown username is answered like a known one with a
wrong password (same page, same status, one password hash computed either way, the same
lock-out after five failures), and one address gets a bounded number of failures whatever
usernames it tries. Behind a reverse proxy, the address is the client's, not the proxy's, when
TRUSTED_PROXIES says how many proxies to believe."""
import re

import pytest

import backend.accounts.models as accounts_model
from backend import create_app
from tests.conftest import post_form

CSRF = re.compile(r'name="csrf_token"[^>]*value="[^"]+"')


def _login(client, username, password, **kw):
    return post_form(client, "/staff/login", {"username": username, "password": password}, **kw)


def _page(resp, username="") -> str:
    """The answer with what differs between any two requests taken out: the CSRF token, and
    the username the form shows back."""
    page = CSRF.sub("", resp.get_data(as_text=True))
    return page.replace(f'value="{username}"', 'value=""') if username else page


def _client(app, **environ):
    client = app.test_client()
    client.environ_base.update(environ)
    return client


@pytest.fixture
def hashes(monkeypatch):
    """Counts password-hash checks: the slow part whose absence gave unknown names away."""
    calls = []
    original = accounts_model.check_password_hash

    def counting(pwhash, password):
        calls.append(pwhash)
        return original(pwhash, password)
    monkeypatch.setattr(accounts_model, "check_password_hash", counting)
    return calls


@pytest.fixture
def real(db, make_staff):
    user = make_staff("liaison", username="zhou.real")
    db.session.commit()
    return user


def test_unknown_and_known_usernames_get_the_same_answer_and_the_same_work(
        app, real, hashes):
    known = _login(app.test_client(), "zhou.real", "wrong-guess-1")
    assert len(hashes) == 1
    unknown = _login(app.test_client(), "nobody.here", "wrong-guess-1")
    assert len(hashes) == 2  # a hash was computed for the unknown name too
    assert known.status_code == unknown.status_code == 401
    assert _page(known, "zhou.real") == _page(unknown, "nobody.here")
    assert "用户名或密码不正确" in _page(unknown)


def test_an_inactive_account_answers_like_an_unknown_one(app, db, real, hashes):
    real.is_active = False
    db.session.commit()
    inactive = _login(app.test_client(), "zhou.real", "correct-horse-9")
    unknown = _login(app.test_client(), "nobody.here", "correct-horse-9")
    assert len(hashes) == 2
    assert inactive.status_code == unknown.status_code == 401
    assert _page(inactive, "zhou.real") == _page(unknown, "nobody.here")


def test_an_unknown_username_locks_like_a_known_one(app, real, hashes):
    client = app.test_client()
    answers = {}
    for name in ("zhou.real", "nobody.here"):
        for _ in range(5):
            assert _login(client, name, "wrong-guess-1").status_code == 401
        answers[name] = _login(client, name, "correct-horse-9")
    assert len(hashes) == 12  # a locked account still costs one hash, known or not
    known, unknown = answers["zhou.real"], answers["nobody.here"]
    assert known.status_code == unknown.status_code == 423
    assert "账号已锁定" in _page(unknown)
    assert _page(known, "zhou.real") == _page(unknown, "nobody.here")


def test_a_locked_known_account_still_computes_the_hash(app, real, hashes):
    client = app.test_client()
    for _ in range(5):
        _login(client, "zhou.real", "wrong-guess-1")
    hashes.clear()
    assert _login(client, "zhou.real", "correct-horse-9").status_code == 423
    assert len(hashes) == 1


def test_one_address_gets_a_bounded_number_of_failures_across_usernames(app, real,
                                                                         monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_PER_IP", "4 per 10 minutes")
    client = app.test_client()
    for n in range(4):  # four different names: the per-account lock never triggers
        assert _login(client, f"guess{n}", "wrong-guess-1").status_code == 401
    refused = _login(client, "zhou.real", "correct-horse-9")
    assert refused.status_code == 429
    assert "请稍后再试" in refused.get_data(as_text=True)
    # Another address is not held back, and successes never count.
    for _ in range(6):
        other = _client(app, REMOTE_ADDR="10.9.8.7")
        assert _login(other, "zhou.real", "correct-horse-9").status_code == 302


@pytest.fixture
def proxied_app(app):
    """The same application and database, deployed behind one trusted proxy."""
    proxied = create_app("testing", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                         UPLOAD_DIR=app.config["UPLOAD_DIR"], TRUSTED_PROXIES=1,
                         LOGIN_RATE_PER_IP="2 per 10 minutes")
    proxied.test_client_class = app.test_client_class
    yield proxied
    from backend.core.extensions import db
    with proxied.app_context():
        db.engine.dispose()


def _failures_until_refused(client_for, attempts=4) -> list[int]:
    return [_login(client_for(), "nobody.here", "wrong-guess-1").status_code
            for _ in range(attempts)]


def test_behind_one_trusted_proxy_x_forwarded_for_is_the_address(proxied_app, real):
    def via_proxy(client_ip):
        return lambda: _client(proxied_app, REMOTE_ADDR="127.0.0.1",
                               HTTP_X_FORWARDED_FOR=client_ip)
    with proxied_app.app_context():
        assert _failures_until_refused(via_proxy("203.0.113.5"), 3) == [401, 401, 429]
        # A second client behind the same proxy has its own budget.
        assert _failures_until_refused(via_proxy("203.0.113.6"), 1) == [401]
        # A forged header added in front of the proxy's own entry is not believed.
        spoofed = via_proxy("198.51.100.1, 203.0.113.5")
        assert _failures_until_refused(spoofed, 1) == [429]


def test_without_trusted_proxies_x_forwarded_for_is_ignored(app, real, monkeypatch):
    assert app.config["TRUSTED_PROXIES"] == 0
    monkeypatch.setitem(app.config, "LOGIN_RATE_PER_IP", "2 per 10 minutes")
    counter = iter(range(100))

    def spoofing():  # a new made-up address every time: must not buy new tries
        return _client(app, HTTP_X_FORWARDED_FOR=f"203.0.113.{next(counter)}")
    assert _failures_until_refused(spoofing, 3) == [401, 401, 429]
