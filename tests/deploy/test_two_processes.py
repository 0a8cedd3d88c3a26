"""Several web machines share nothing but PostgreSQL, Redis and the object store (issue #12,
docs/deployment.md): two real gunicorn processes on two ports, each with its own instance
folder, one database, one bucket and one SECRET_KEY. A resident writes with a photo through
A; a liaison signs in with a form from B, posted to A, and finds the message and its photo
through B; a roster previewed on A is confirmed on B; failed sign-ins are counted across both
through Redis."""
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from backend.messages.models import Message, MessagePhoto
from backend.org.codes import active_code
from backend.org.models import Deputy
from tests.api.conftest import image_bytes
from tests.conftest import CSRF_RE
from tests.object_store import REGION, s3_client
from tests.staff.test_deputy_import import Roster, person, xlsx

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("DEPLOY_TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
START_SECONDS = 60
TIMEOUT = 30  # every request
PASSWORD = "correct-horse-9"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_url() -> str | None:
    import redis
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        client.flushdb()  # this worktree's own Redis database: counts from earlier runs go
    except redis.RedisError:
        return None
    finally:
        client.close()
    return REDIS_URL


class Server:
    def __init__(self, name: str, env: dict, tmp: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"{name}.log"
        instance = tmp / f"instance-{name}"
        self.instance = instance
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [str(Path(sys.executable).with_name("gunicorn")), "-w", "2", "--threads", "2",
                 "-b", f"127.0.0.1:{self.port}", "--timeout", "60", "backend:create_app()"],
                cwd=ROOT, env={**env, "LIANXIN_INSTANCE": str(instance)},
                stdout=out, stderr=subprocess.STDOUT)

    def wait_ready(self, deadline: float) -> None:
        while True:
            try:
                if requests.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"gunicorn on {self.port} never became ready:\n{self.tail()}")
            time.sleep(0.3)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture(scope="module")
def servers(request, app, tmp_path_factory):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("postgresql"):
        pytest.skip("two processes share one PostgreSQL database: runs in the PostgreSQL pass "
                    "(TEST_DATABASE_URL); SQLite is one machine's file")
    s3_endpoint, s3_bucket = (request.getfixturevalue(name) for name in ("s3_endpoint", "s3_bucket"))
    tmp = tmp_path_factory.mktemp("deploy")
    redis_url = _redis_url()
    env = {
        **{k: v for k, v in os.environ.items() if k.startswith(("PATH", "LANG", "LC_", "HOME"))},
        "LIANXIN_ENV": "production", "SESSION_COOKIE_SECURE": "0",  # plain HTTP on loopback
        "DATABASE_URL": url, "SECRET_KEY": secrets.token_urlsafe(32),
        "FIELD_ENCRYPTION_KEY": app.config["FIELD_ENCRYPTION_KEY"],
        "PHONE_INDEX_KEY": app.config["PHONE_INDEX_KEY"],
        "STORAGE_BACKEND": "s3", "S3_ENDPOINT_URL": s3_endpoint, "S3_BUCKET": s3_bucket,
        "S3_REGION": REGION, "S3_PREFIX": "deploy",
        "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"],
        "LOGIN_RATE_PER_IP": "3 per 10 minutes",
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    a, b = Server("a", env, tmp), Server("b", env, tmp)
    deadline = time.monotonic() + START_SECONDS
    try:
        a.wait_ready(deadline)
        b.wait_ready(deadline)
        yield a, b, redis_url
    finally:
        a.stop()
        b.stop()


def _csrf(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=TIMEOUT)
    match = CSRF_RE.search(page.text)
    assert page.status_code == 200 and match, f"no form at {url}: {page.status_code}"
    return match.group(1)


def _sign_in(session: requests.Session, form_from: "Server", post_to: "Server",
             username: str) -> None:
    token = _csrf(session, f"{form_from.url}/staff/login")
    signed_in = session.post(f"{post_to.url}/staff/login", timeout=TIMEOUT, allow_redirects=False,
                             data={"csrf_token": token, "username": username,
                                   "password": PASSWORD})
    assert signed_in.status_code == 302, post_to.tail()


def test_a_message_written_on_a_is_handled_with_its_photo_on_b(servers, db, make_deputy,
                                                               make_staff, s3_endpoint, s3_bucket):
    a, b, _ = servers
    deputy = make_deputy()
    token = active_code(deputy).token
    liaison = make_staff("liaison", stations=deputy.stations)
    db.session.commit()

    resident = requests.Session()
    form = _csrf(resident, f"{a.url}/d/{token}/write")
    body = "小区门口的路灯坏了一个星期，晚上老人出门很不方便，请帮忙看看。"
    sent = resident.post(f"{a.url}/d/{token}/write", timeout=TIMEOUT, allow_redirects=False, data={
        "csrf_token": form, "idempotency_key": secrets.token_hex(16), "body": body,
        "place": "幸福路 12 号"}, files={"photos": ("lamp.jpg", image_bytes(size=(640, 480)),
                                                    "image/jpeg")})
    assert sent.status_code == 302, a.tail()
    message_id = int(re.search(r"/m/(\d+)/receipt", sent.headers["Location"]).group(1))
    assert resident.get(f"{b.url}/m/{message_id}/receipt", timeout=TIMEOUT).status_code == 200

    db.session.expire_all()
    message = db.session.get(Message, message_id)
    photo = db.session.scalar(db.select(MessagePhoto).filter_by(message_id=message_id))
    assert message.body == body and photo is not None
    stored = s3_client(s3_endpoint).get_object(Bucket=s3_bucket, Key=f"deploy/{photo.storage_key}")
    stored = stored["Body"].read()
    assert not any(p.is_file() for srv in (a, b) for p in srv.instance.rglob("*.jpg"))

    staff = requests.Session()
    _sign_in(staff, b, a, liaison.username)  # the form from B, posted to A
    queue = staff.get(f"{b.url}/staff/messages", timeout=TIMEOUT)
    assert queue.status_code == 200 and f"/staff/messages/{message_id}" in queue.text
    page = staff.get(f"{b.url}/staff/messages/{message_id}", timeout=TIMEOUT)
    photo_url = f"/staff/messages/{message_id}/photos/{photo.id}"
    assert page.status_code == 200 and body in page.text and photo_url in page.text
    served = staff.get(b.url + photo_url, timeout=TIMEOUT)
    assert served.status_code == 200 and served.content == stored
    assert "no-store" in served.headers["Cache-Control"]

    stranger = requests.Session()  # not signed in: the photo stays behind the check
    refused = stranger.get(b.url + photo_url, timeout=TIMEOUT, allow_redirects=False)
    assert refused.status_code in (302, 401, 403, 404) and refused.content != stored
    public = stranger.get(f"{a.url}/media/{photo.storage_key}", timeout=TIMEOUT)
    assert public.status_code == 404


def test_a_roster_previewed_on_a_is_confirmed_on_b(servers, db, make_station, make_staff):
    a, b, _ = servers
    roster = Roster(db, make_station, make_staff)
    db.session.commit()
    staff = requests.Session()
    _sign_in(staff, a, b, roster.admin.username)
    preview = staff.post(f"{a.url}/staff/deputies/import/preview", timeout=TIMEOUT,
                         data={"csrf_token": _csrf(staff, f"{a.url}/staff/deputies/import")},
                         files={"file": ("代表名册.xlsx", xlsx(person()), "application/octet-stream")})
    assert preview.status_code == 200 and 'data-testid="import-confirm"' in preview.text, a.tail()
    done = staff.post(f"{b.url}/staff/deputies/import/confirm", timeout=TIMEOUT,
                      data={"csrf_token": CSRF_RE.search(preview.text).group(1)})
    assert "导入完成：新增 1 人" in done.text, b.tail()
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(Deputy)) == 1


def test_failed_sign_ins_are_counted_across_both_processes(servers):
    a, b, redis_url = servers
    if not redis_url:
        pytest.skip(f"Redis at {REDIS_URL} is unreachable: each process would count alone")
    session = requests.Session()
    answers = []
    for n, (form_from, post_to) in enumerate([(a, b), (b, a), (a, b), (b, a)]):
        token = _csrf(session, f"{form_from.url}/staff/login")
        answers.append(session.post(f"{post_to.url}/staff/login", timeout=TIMEOUT, data={
            "csrf_token": token, "username": f"nobody{n}", "password": "wrong-password"}
        ).status_code)
    # Limit 3 per address: two failures on each process would pass if each counted alone.
    assert 429 not in answers[:3], answers
    assert answers[3] == 429, answers
