"""/healthz answers while the process lives, whatever the database does; /readyz answers 503
until the database (and Redis, when configured) answer and the schema is at the migrations'
head; every response carries a request id, and LOG_FORMAT=json writes JSON lines with it."""
import io
import json
import logging

import pytest
from flask_migrate import stamp

from backend import create_app
from backend.core.observability import JsonFormatter, RequestIdFilter, configure_logging

CLOSED_PORT_DB = "postgresql://postgres@127.0.0.1:1/nothing"
CLOSED_PORT_REDIS = "redis://127.0.0.1:1/8"
REDIS_DB8 = "redis://127.0.0.1:6379/8"  # db 8 is this branch's


def _app(tmp_path, **config):
    config.setdefault("SQLALCHEMY_DATABASE_URI", f"sqlite:///{tmp_path / 'ready.sqlite'}")
    return create_app("testing", UPLOAD_DIR=str(tmp_path / "uploads"), **config)


def test_healthz_needs_no_database_and_readyz_says_it_is_down(tmp_path):
    app = _app(tmp_path, SQLALCHEMY_DATABASE_URI=CLOSED_PORT_DB)
    client = app.test_client()
    health = client.get("/healthz")
    assert health.status_code == 200 and health.get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 503
    body = ready.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["migrations"]["ok"] is False
    assert "redis" not in body["checks"]  # not configured: nothing to wait for


def test_readyz_on_the_test_database_at_head(client):
    resp = client.get("/readyz")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["checks"]["migrations"] == {"ok": True, "detail": "ok"}


def test_readyz_refuses_until_the_schema_is_at_head(tmp_path):
    app = _app(tmp_path)
    client = app.test_client()
    empty = client.get("/readyz")
    assert empty.status_code == 503
    assert empty.get_json()["checks"]["database"]["ok"] is True
    assert empty.get_json()["checks"]["migrations"]["ok"] is False
    with app.app_context():
        from alembic.script import ScriptDirectory
        script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
        head = script.get_current_head()
        previous = script.get_revision(head).down_revision
        stamp(revision=previous)
    behind = client.get("/readyz")
    assert behind.status_code == 503
    assert previous in behind.get_json()["checks"]["migrations"]["detail"]
    with app.app_context():
        stamp(revision="head")
    assert client.get("/readyz").status_code == 200


@pytest.mark.parametrize("redis_url, status", [(CLOSED_PORT_REDIS, 503), (REDIS_DB8, 200)])
def test_readyz_checks_redis_when_configured(app, redis_url, status):
    ready_app = create_app("testing", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                           UPLOAD_DIR=app.config["UPLOAD_DIR"], REDIS_URL=redis_url)
    resp = ready_app.test_client().get("/readyz")
    assert resp.status_code == status, resp.get_json()
    assert resp.get_json()["checks"]["redis"]["ok"] is (status == 200)


def test_request_id_is_echoed_or_made(client):
    sent = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.42"})
    assert sent.headers["X-Request-ID"] == "lb-7f3a.42"
    made = client.get("/healthz")
    assert len(made.headers["X-Request-ID"]) == 32
    assert made.headers["X-Request-ID"] != client.get("/healthz").headers["X-Request-ID"]
    # An id that could forge a log line or a header is replaced, not echoed.
    for bad in ("a b", "x" * 129, "id\u00e9", "'; drop"):
        resp = client.get("/healthz", headers={"X-Request-ID": bad})
        assert resp.headers["X-Request-ID"] != bad and len(resp.headers["X-Request-ID"]) == 32
    # Error answers carry it too, the refused-before-any-handler ones included.
    assert client.get("/no/such/page", headers={"X-Request-ID": "r-404"}).headers[
        "X-Request-ID"] == "r-404"
    too_long = client.get("/?q=" + "x" * 3000, headers={"X-Request-ID": "r-414"})
    assert too_long.status_code == 414 and too_long.headers["X-Request-ID"] == "r-414"


def test_json_log_lines_carry_the_request_id(client):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    access = logging.getLogger("lianxin.access")
    access.addHandler(handler)
    old_level = access.level
    access.setLevel(logging.INFO)
    try:
        client.get("/healthz", headers={"X-Request-ID": "trace-1"})
        client.get("/no/such/page", headers={"X-Request-ID": "trace-2"})
    finally:
        access.removeHandler(handler)
        access.setLevel(old_level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(x["request_id"], x["path"], x["status"]) for x in lines] == [
        ("trace-1", "/healthz", 200), ("trace-2", "/no/such/page", 404)]
    assert all(x["level"] == "INFO" and x["logger"] == "lianxin.access"
               and x["time"].endswith("+00:00") and x["duration_ms"] >= 0 for x in lines)


def test_log_format_json_installs_one_json_handler():
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        configure_logging("")
        assert root.handlers == before
        configure_logging("json")
        configure_logging("json")  # a second app in the process adds no second handler
        added = [h for h in root.handlers if h not in before]
        assert len(added) == 1 and isinstance(added[0].formatter, JsonFormatter)
        record = logging.LogRecord("lianxin.test", logging.ERROR, __file__, 1, "出错 %s", ("了",),
                                   None)
        added[0].filter(record)
        line = json.loads(added[0].format(record))
        assert line["message"] == "出错 了" and line["request_id"] is None
    finally:
        for handler in [h for h in root.handlers if h not in before]:
            root.removeHandler(handler)
