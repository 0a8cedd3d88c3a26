"""What an operator and a load balancer see: a request id on every request and log line
(X-Request-ID, taken from the proxy when it sent a sane one, else made here), JSON log lines
when LOG_FORMAT=json, and /healthz (the process answers) and /readyz (the database and Redis
answer and the schema is at the migrations' head)."""
import json
import logging
import re
import time
import traceback
import uuid
from datetime import datetime, timezone

import sqlalchemy as sa
from flask import Blueprint, Flask, current_app, g, has_request_context, jsonify, request

from backend.core.extensions import db

REQUEST_ID_HEADER = "X-Request-ID"
# A proxy's id is echoed only when it cannot smuggle anything into a log line or a header.
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
READY_TIMEOUT_SECONDS = 0.5

access_log = logging.getLogger("lianxin.access")
bp = Blueprint("health", __name__)


def current_request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


# Attributes every LogRecord has; anything else was passed as `extra=` and goes into the line.
_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "request_id"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request_id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(log_format: str | None) -> None:
    """LOG_FORMAT=json: the root logger writes JSON lines to stderr (once per process)."""
    if (log_format or "").lower() != "json":
        return
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)


def _start_request() -> None:
    sent = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = sent if _REQUEST_ID_RE.fullmatch(sent) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish_request(response):
    request_id = g.get("request_id")
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id
        started = g.get("request_started")
        access_log.info("%s %s %s", request.method, request.path, response.status_code, extra={
            "method": request.method, "path": request.path, "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None})
    return response


# ---- readiness ----

def database_ready() -> tuple[bool, str]:
    try:
        with db.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as err:
        return False, type(err.orig if getattr(err, "orig", None) else err).__name__
    return True, "ok"


def migrations_ready() -> tuple[bool, str]:
    """The revisions the database is at against the heads of migrations/versions: a deploy
    whose `flask db upgrade` has not run yet must not take traffic."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    heads = current_app.extensions.get("lianxin_script_heads")
    if heads is None:  # the scripts do not change while the process runs
        config = current_app.extensions["migrate"].migrate.get_config()
        heads = current_app.extensions["lianxin_script_heads"] = set(
            ScriptDirectory.from_config(config).get_heads())
    try:
        with db.engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except sa.exc.SQLAlchemyError as err:
        return False, type(err).__name__
    if current != heads:
        at, head = ",".join(sorted(current)) or "nothing", ",".join(sorted(heads))
        return False, f"at {at}, head is {head}"
    return True, "ok"


def redis_ready() -> tuple[bool, str] | None:
    """None when Redis is not configured (nothing to wait for)."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    import redis
    client = redis.Redis.from_url(url, socket_connect_timeout=READY_TIMEOUT_SECONDS,
                                  socket_timeout=READY_TIMEOUT_SECONDS)
    try:
        client.ping()
    except redis.RedisError as err:
        return False, type(err).__name__
    finally:
        client.close()
    return True, "ok"


def storage_ready() -> tuple[bool, str] | None:
    """None for the local disk; the object store's bucket when one is configured."""
    ready = getattr(current_app.extensions["lianxin_storage"], "ready", None)
    return ready() if ready is not None else None


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    checks = {"database": database_ready()}
    checks["migrations"] = migrations_ready() if checks["database"][0] else (False, "database down")
    redis_check = redis_ready()
    if redis_check is not None:
        checks["redis"] = redis_check
    store_check = storage_ready()
    if store_check is not None:
        checks["storage"] = store_check
    ready = all(ok for ok, _ in checks.values())
    body = {"status": "ok" if ready else "unavailable",
            "checks": {name: {"ok": ok, "detail": detail} for name, (ok, detail) in checks.items()}}
    return jsonify(body), 200 if ready else 503


def register_observability(app: Flask) -> None:
    configure_logging(app.config.get("LOG_FORMAT"))
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.register_blueprint(bp)
