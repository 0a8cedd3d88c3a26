"""连心桥 backend: the Flask application factory."""
import importlib
import os
from pathlib import Path

from flask import Flask, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from backend.core.extensions import csrf, db, login_manager, migrate
from config import check_secrets, config_for

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = ROOT / "migrations"

# Every feature's tables, registered before Alembic or the tests look at the metadata.
MODEL_MODULES = (
    "backend.core.audit_model", "backend.org.models", "backend.org.code_model",
    "backend.core.push_nonces",
    "backend.workdays.models", "backend.accounts.models", "backend.accounts.resident_model",
    "backend.notifications.models", "backend.messages.models", "backend.messages.moderation_model",
    "backend.messages.triage_model",
    "backend.suggestions.models", "backend.reception.models", "backend.jobs.models",
    "backend.activities.models",
    "backend.projects.models", "backend.records.evaluation_model",
    "backend.records.responsiveness_model", "backend.records.report_model",
    "backend.privacy.period_model",
)


def _register_models() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)


def create_app(config_name: str | None = None, **overrides) -> Flask:
    app = Flask(__name__, instance_path=os.environ.get("LIANXIN_INSTANCE", str(ROOT / "instance")))
    app.config.from_object(config_for(config_name))
    app.config.update(overrides)
    # JSON answers carry Chinese as UTF-8, not \uXXXX escapes: a third of the bytes for
    # residents' text, and a test that looks for a name in a body finds it.
    app.json.ensure_ascii = False
    check_secrets(app.config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = (
            f"sqlite:///{Path(app.instance_path) / 'lianxin.sqlite'}")
    _fix_postgres_scheme(app)
    _postgres_session_settings(app)
    _trust_proxies(app)
    if not app.config.get("PUBLIC_BASE_URL"):
        app.config["PUBLIC_BASE_URL"] = default_public_base_url()

    db.init_app(app)
    from backend.core.db import include_in_autogenerate, render_migration_item
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True,
                     compare_type=True, render_item=render_migration_item,
                     include_object=include_in_autogenerate)
    from backend.core.observability import register_observability
    register_observability(app)  # first: even a refused request gets its id
    from backend.core.headers import register_security_headers
    register_security_headers(app)
    from backend.core.input_edges import register_input_edges
    register_input_edges(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    from backend.core import ratelimit
    ratelimit.init_app(app)

    from backend.core.storage import storage_from_config
    app.extensions["lianxin_storage"] = storage_from_config(app.config, app.instance_path)

    from backend.core.wechat import WeChatAdapter
    app.extensions["lianxin_wechat"] = WeChatAdapter.from_config(app.config)

    _register_models()
    from backend.portal import bp as portal_bp
    from backend.staff import bp as staff_bp
    from backend.web import register_web
    from miniprogram_api import bp as mp_bp

    from backend.core.parsing import RowIdConverter
    app.url_map.converters["int"] = RowIdConverter  # before any route is added

    app.register_blueprint(portal_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(mp_bp)
    csrf.exempt(mp_bp)  # token-authenticated JSON, no cookies
    register_web(app)
    from backend.wechat_push.views import register_wechat_push
    register_wechat_push(app)

    from backend.cli.commands import register_cli
    register_cli(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies, the client's address (request.remote_addr, which
    every per-address limit counts) and scheme come from the headers those proxies set; only
    that many entries from the right of X-Forwarded-For are believed."""
    count = int(app.config.get("TRUSTED_PROXIES") or 0)
    if count > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)


def default_public_base_url() -> str:
    """Where phones reach this server when PUBLIC_BASE_URL is not set: the port `flask run`
    was given (scripts/start exports FLASK_RUN_PORT) on PUBLIC_HOST, the LAN address that
    `scripts/start --lan` finds, else this machine only."""
    host = os.environ.get("PUBLIC_HOST") or "127.0.0.1"
    port = os.environ.get("FLASK_RUN_PORT") or "5000"
    return f"http://{host}:{port}"


def _postgres_session_settings(app: Flask) -> None:
    """PostgreSQL's JIT compiles any query its planner costs high, which the yearly figures over
    a million messages are: it spent 100–150 ms compiling to save nothing on queries that take
    about a second (bench/records_bench.py), and a page is not a long batch job."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        return
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    connect_args = dict(options.get("connect_args") or {})
    given = connect_args.get("options", "")
    if "jit" not in given:  # a deployment that sets jit itself keeps its choice
        connect_args["options"] = f"{given} -c jit=off".strip()
    options["connect_args"] = connect_args
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _fix_postgres_scheme(app: Flask) -> None:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgres://"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://" + uri[len("postgres://"):]


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection, connection_record):
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        # Python's sqlite3 opens transactions on its own and not before a SAVEPOINT, so a
        # savepoint's RELEASE would commit; we open them ourselves (see _sqlite_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")  # off unless asked, per connection
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


def _writing_request() -> bool:
    """A request that changes something takes SQLite's write lock when its transaction begins
    and waits its turn for it (busy_timeout). Begun lazily, a transaction that has read and
    then writes fails at once with "database is locked" if another writer got in between:
    two residents racing for the last seat got a 500 instead of "已约满". Page views stay
    deferred, so reading never waits for a writer."""
    return has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS")


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _writing_request() else "BEGIN")
