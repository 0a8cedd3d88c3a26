"""Test fixtures: one real database per run (SQLite by default, PostgreSQL when
TEST_DATABASE_URL says so), built by the migrations, emptied after every test."""
import os
import re
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from flask.testing import FlaskClient

from backend import create_app
from backend.core.extensions import db as _db

ROOT = Path(__file__).resolve().parent.parent
pytest_plugins = ["tests.object_store"]  # the S3 server fixtures
ARTIFACTS = ROOT / "test-artifacts"


def _database_url(tmp_root: Path) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_root / 'test.sqlite'}"


def _reset_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
    except sa.exc.OperationalError as err:
        pytest.exit(f"PostgreSQL at {url} is unreachable: {err.orig}", returncode=3)
    finally:
        engine.dispose()


class RequestIsolatingClient(FlaskClient):
    """Each request gets its own app context, as in production: otherwise requests would share
    the test's `g` (a cached logged-in user) and its database session."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        _end_read_transaction()
        return response


def _end_read_transaction() -> None:
    """SQLite reads see the snapshot their transaction began with; end the test's read-only
    transaction after each request so the test sees what the request committed, as it would on
    PostgreSQL (read committed). A test holding unflushed changes keeps its transaction."""
    session = _db.session()
    if session.in_transaction() and not (session.new or session.dirty or session.deleted):
        session.commit()


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hash():
    """Thousands of accounts are made in the suite; scrypt (~0.15 s a hash) would dominate it."""
    from werkzeug.security import generate_password_hash

    import backend.accounts.models as accounts_model
    original = accounts_model.generate_password_hash
    accounts_model.generate_password_hash = (
        lambda password, *a, **kw: generate_password_hash(password, "pbkdf2:sha256:1000"))
    yield
    accounts_model.generate_password_hash = original


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    tmp_root = tmp_path_factory.mktemp("lianxin")
    url = _database_url(tmp_root)
    if url.startswith("postgresql"):
        _reset_postgres(url)
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url, UPLOAD_DIR=str(tmp_root / "uploads"),
                     LIANXIN_TEST_TMP=str(tmp_root))
    app.test_client_class = RequestIsolatingClient
    with app.app_context():
        from flask_migrate import upgrade
        upgrade()
    yield app
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture(scope="session")
def is_postgres(app) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")


@pytest.fixture
def postgres_only(is_postgres):
    if not is_postgres:
        pytest.skip("needs PostgreSQL: runs in the PostgreSQL pass (TEST_DATABASE_URL)")


@pytest.fixture(autouse=True)
def _app_context(request, app):
    if "no_app_context" in request.keywords:
        yield
        return
    with app.app_context():
        from backend.core import ratelimit
        ratelimit.reset()  # counters are per test, not per run
        yield
        _db.session.rollback()
        _db.session.remove()
        _empty_tables()


def _empty_tables() -> None:
    from backend.core.cache import clear_all
    clear_all()  # per-process caches must not outlive the rows they were read from
    tables = [t for t in _db.metadata.sorted_tables]
    # DELETE, not TRUNCATE: on tables this small it is far cheaper (TRUNCATE rewrites files).
    with _db.engine.begin() as conn:
        for table in reversed(tables):
            conn.execute(table.delete())


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


# ---- factories: each returns a callable that makes one object with sensible defaults ----

@pytest.fixture
def make_station(db):
    counter = iter(range(1, 10_000))

    def make(**kw):
        from backend.org.models import Station
        n = next(counter)
        station = Station(**{"name": f"测试联络站{n}", "kind": "station", "address": f"测试路{n}号",
                             **kw})
        db.session.add(station)
        db.session.flush()
        return station
    return make


@pytest.fixture
def make_deputy(db, make_station):
    counter = iter(range(1, 10_000))

    def make(stations=None, with_code=True, **kw):
        from backend.org.models import Deputy
        from backend.org.codes import issue_code
        n = next(counter)
        deputy = Deputy(**{"name": f"代表{n}", "level": "county", "occupation": "教师", **kw})
        deputy.stations = list(stations) if stations is not None else [make_station()]
        db.session.add(deputy)
        db.session.flush()
        if with_code:
            issue_code(deputy)
        return deputy
    return make


@pytest.fixture
def district(db, make_station):
    """The one small district every feature's world builds on (tests/<feature>/conftest.py adds
    its people, departments and cases): station A 城关街道代表联络站 (phone 0510-12345678) and
    station B 桂花坪街道代表联络站. `departments(n)` gives the district's first n departments,
    区住房和城乡建设局, 区交通运输局 and 区水务局, made when first asked for."""
    from types import SimpleNamespace

    from backend.org.models import Department
    made = []

    def departments(n: int) -> list:
        names = ("区住房和城乡建设局", "区交通运输局", "区水务局")[len(made):n]
        new = [Department(name=name) for name in names]
        db.session.add_all(new)
        db.session.flush()
        made.extend(new)
        return made[:n]
    return SimpleNamespace(station_a=make_station(name="城关街道代表联络站", phone="0510-12345678"),
                           station_b=make_station(name="桂花坪街道代表联络站"),
                           departments=departments)


@pytest.fixture
def make_resident(db):
    def make(**kw):
        from backend.accounts.resident_model import Resident
        resident = Resident(**kw)
        db.session.add(resident)
        db.session.flush()
        return resident
    return make


@pytest.fixture
def make_staff(db):
    counter = iter(range(1, 10_000))

    def make(role="admin", password="correct-horse-9", **kw):
        from backend.accounts.operations import create_staff
        n = next(counter)
        return create_staff(**{"username": f"{role}{n}", "display_name": f"{role}用户{n}",
                               "role": role, "password": password, **kw})
    return make


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, url: str) -> str:
    page = client.get(url)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {url} ({page.status_code})"
    return match.group(1)


KEY_RE = re.compile(r'name="idempotency_key" value="([0-9a-f]{32})"')


def form_keys(client, url: str) -> tuple[str, str]:
    """The CSRF token and the idempotency key of the (first keyed) form, as a fresh render of
    the page has them: a new key each call."""
    page = client.get(url).get_data(as_text=True)
    token, key = CSRF_RE.search(page), KEY_RE.search(page)
    assert token and key, f"no CSRF token or idempotency key on {url}"
    return token.group(1), key.group(1)


def post_form(client, url: str, data: dict, *, form_url: str | None = None, keyed=False, **kw):
    """Post like a browser: take the CSRF token (and, `keyed`, the form's idempotency key)
    from the page that shows the form."""
    if keyed:
        token, key = form_keys(client, form_url or url)
        data = {"idempotency_key": key, **data}
    else:
        token = csrf_token(client, form_url or url)
    return client.post(url, data={**data, "csrf_token": token}, **kw)


@pytest.fixture
def login(client, db):
    def do(user, password="correct-horse-9"):
        db.session.commit()
        resp = post_form(client, "/staff/login", {"username": user.username, "password": password})
        assert resp.status_code == 302, resp.get_data(as_text=True)
        return client
    return do


# ---- races: real threads, each with its own app context, session and transaction ----

def at_once(app, *calls) -> list:
    """Run each call in its own thread, released together by a barrier, and commit what it did;
    returns what each returned or the exception it raised, in order."""
    barrier, outcomes = threading.Barrier(len(calls)), [None] * len(calls)

    def run(i):
        with app.app_context():
            try:
                barrier.wait()
                outcomes[i] = calls[i]()
                _db.session.commit()
            except Exception as exc:  # noqa: BLE001 - returned to the test
                _db.session.rollback()
                outcomes[i] = exc
            finally:
                _db.session.remove()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


# ---- a live server for the browser tests ----

@pytest.fixture(scope="session")
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_BASE_URL"] = base
    yield base
    server.shutdown()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    path = ARTIFACTS / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


# ---- WeChat, faked at the HTTP level ----

FAKE_WECHAT = "https://wx.fake.test/"


@pytest.fixture
def wechat(app):
    """Turns WeChat on for this test, pointed at a fake API answered by `responses`; the
    stable-token call is pre-registered. Any request nobody registered fails the test."""
    import responses

    from backend.core.wechat import WeChatAdapter

    saved = app.extensions["lianxin_wechat"]
    app.extensions["lianxin_wechat"] = WeChatAdapter.from_config({
        "WECHAT_APPID": "wx0123456789abcdef", "WECHAT_SECRET": "s", "WECHAT_API_BASE": FAKE_WECHAT})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, FAKE_WECHAT + "cgi-bin/stable_token",
                 json={"access_token": "TOKEN", "expires_in": 7200})
        yield mock
    app.extensions["lianxin_wechat"] = saved
