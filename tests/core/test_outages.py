"""Outages: the database unreachable answers 503 with Retry-After and a stable code (JSON under
the API, a Chinese page elsewhere) and the app recovers on its own when it comes back; any other
crash is a Chinese 500 page (the API keeps its JSON shape); Redis unreachable refuses nobody.
The shared PostgreSQL and Redis are never stopped: the app is pointed at a connection we can
cut (a small TCP relay) or at a closed port."""
import logging
import socket
import threading

import pytest
import sqlalchemy as sa

from backend import create_app
from backend.core.ratelimit import limiter
from tests.conftest import RequestIsolatingClient, csrf_token

API = "/api/mp/v1"
CLOSED_PORT_REDIS = "redis://127.0.0.1:1/5"


class Relay:
    """Forwards a local port to PostgreSQL until cut: then every connection through it drops
    and new ones are refused, as when the database host goes away."""

    def __init__(self, target_port: int):
        self.target = ("127.0.0.1", target_port)
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.listener = None
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        _close(self.listener)
        with self.lock:
            sockets, self.sockets = self.sockets, []
        for sock in sockets:
            _close(sock)

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
                upstream = socket.create_connection(self.target)
            except OSError:
                return
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(a, b):
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            _close(a)
            _close(b)


def _close(sock):
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in accept() or recv()
    except OSError:
        pass
    sock.close()


@pytest.fixture
def other_app(app):
    """Build another app on other settings; the limiter (one per process) is given back to the
    test app afterwards."""
    built = []

    def build(**overrides):
        other = create_app("testing", UPLOAD_DIR=app.config["UPLOAD_DIR"], **overrides)
        other.test_client_class = RequestIsolatingClient
        built.append(other)
        return other
    yield build
    for other in built:
        with other.app_context():
            from backend.core.extensions import db
            db.engine.dispose()
    limiter.init_app(app)


@pytest.fixture
def relayed(app, db, postgres_only, other_app):
    """(app, relay): an app whose database connections go through a relay we can cut."""
    url = sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    relay = Relay(url.port or 5432)
    relay.up()
    through = url.set(host="127.0.0.1", port=relay.port)
    yield other_app(SQLALCHEMY_DATABASE_URI=through.render_as_string(hide_password=False)), relay
    relay.cut()


def _assert_chinese_503_page(resp):
    page = resp.get_data(as_text=True)
    assert resp.status_code == 503 and int(resp.headers["Retry-After"]) > 0
    assert "系统暂时无法访问" in page and 'data-code="database_unavailable"' in page
    assert "Internal Server Error" not in page and "Service Unavailable" not in page


def test_database_down_answers_503_and_recovers_without_a_restart(relayed, make_station, db):
    station = make_station(name="城关街道代表联络站")
    db.session.commit()
    outage_app, relay = relayed
    client = outage_app.test_client()
    assert client.get("/").status_code == 200  # pooled connections exist before the outage
    assert client.get(f"{API}/deputies/no-such-token").status_code == 404
    login_token = csrf_token(client, "/staff/login")

    relay.cut()
    resp = client.get(f"{API}/deputies/no-such-token")
    assert resp.status_code == 503 and int(resp.headers["Retry-After"]) > 0
    assert resp.json["code"] == "database_unavailable"
    assert resp.json["retry_after"] == int(resp.headers["Retry-After"])
    assert "请稍后再试" in resp.json["message"] and set(resp.json) >= {"code", "message", "errors"}
    _assert_chinese_503_page(client.get("/"))
    _assert_chinese_503_page(client.get(f"/stations/{station.id}"))
    _assert_chinese_503_page(client.post("/staff/login", data={
        "username": "nobody", "password": "wrong-horse-1", "csrf_token": login_token}))

    relay.up()  # the database is back: the same app, not restarted, serves again
    assert client.get("/").status_code == 200
    assert client.get(f"/stations/{station.id}").status_code == 200
    assert client.get(f"{API}/deputies/no-such-token").status_code == 404


def test_a_crash_is_a_chinese_500_page_and_json_under_the_api(app, client, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("boom")
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # as in production
    monkeypatch.setitem(app.view_functions, "portal.index", crash)
    monkeypatch.setitem(app.view_functions, "staff.login", crash)
    api_endpoint = next(rule.endpoint for rule in app.url_map.iter_rules()
                        if rule.rule == f"{API}/deputies/<token>")
    monkeypatch.setitem(app.view_functions, api_endpoint, crash)

    for path in ("/", "/staff/login"):
        resp = client.get(path)
        page = resp.get_data(as_text=True)
        assert resp.status_code == 500
        assert "服务器开小差了" in page and 'data-code="server_error"' in page
        assert "Internal Server Error" not in page
    resp = client.get(f"{API}/deputies/some-token")
    assert resp.status_code == 500
    assert resp.json == {"code": "server_error", "message": "服务器开小差了，请稍后再试",
                         "errors": {}}


def test_redis_down_lets_rate_limited_posts_through(app, db, other_app, make_deputy, caplog):
    from backend.org.codes import active_code
    from tests.portal.helpers import send
    deputy = make_deputy()
    db.session.commit()
    down = other_app(SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                     RATELIMIT_STORAGE_URI=CLOSED_PORT_REDIS, REDIS_URL=CLOSED_PORT_REDIS)
    client = down.test_client()
    with caplog.at_level(logging.WARNING):
        # A message through the portal (our submission budget) …
        resp = send(client, f"/d/{active_code(deputy).token}/write",
                    body="小区门口的路灯坏了一个多月，晚上很不安全。")
        assert resp.status_code == 302, resp.get_data(as_text=True)
        # … and a lookup (Flask-Limiter's decorator) both go through.
        token = csrf_token(client, "/track")
        looked = client.post("/track", data={"tracking_no": "X", "code": "Y", "csrf_token": token})
        assert looked.status_code < 500, looked.get_data(as_text=True)
    assert "限流存储不可用" in caplog.text
    assert "falling back to in-memory storage" in caplog.text
