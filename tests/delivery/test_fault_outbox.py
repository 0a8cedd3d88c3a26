"""An outbox deliverer stopped mid-batch (SIGKILL, or SIGTERM as `systemctl restart` sends) never
makes WeChat send a row twice, and the grants left are what WeChat spent. Real deliverer
processes on PostgreSQL against a small local HTTP server standing in for WeChat."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.jobs.test_scheduler import _wait_for

ROOT = Path(__file__).resolve().parents[2]
ROWS, RESIDENTS, GRANTS_EACH = 120, 40, 4  # three rows a resident, four grants each
TEMPLATE = "TPL-FAULT"


class FakeWeChat(ThreadingHTTPServer):
    """Answers the token call and subscribe sends; records each send as WeChat would count it
    (a grant spent per message taken), and is slow enough for a kill to land mid-batch."""
    daemon_threads = True

    def __init__(self, grants: dict[str, int]):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.grants = dict(grants)
        self.pages: Counter = Counter()  # each row's page is unique: how often WeChat got it

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        server = self.server
        if self.path.startswith("/cgi-bin/stable_token"):
            answer = {"access_token": "FAKE-TOKEN", "expires_in": 7200}
        else:
            with server.lock:
                if server.grants.get(body["touser"], 0) <= 0:
                    answer = {"errcode": 43101, "errmsg": "user refuse to accept the msg"}
                else:
                    server.grants[body["touser"]] -= 1
                    server.pages[body["page"]] += 1
                    answer = {"errcode": 0, "errmsg": "ok"}
            time.sleep(0.02)  # WeChat takes a while: the deliverer is mostly mid-call
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_wechat():
    servers = []

    def start(grants):
        server = FakeWeChat(grants)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server
    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _queue_rows(db):
    from backend.notifications.models import Notification
    from backend.accounts.resident_model import Resident, SubscribeGrant
    from backend.notifications.notify import notify
    from backend.notifications.places import Place
    residents = []
    for n in range(RESIDENTS):
        resident = Resident(openid=f"o-fault-{n:03d}")
        db.session.add(resident)
        residents.append(resident)
    db.session.flush()
    db.session.add_all(SubscribeGrant(resident_id=r.id, template_id=TEMPLATE,
                                      remaining=GRANTS_EACH) for r in residents)
    due = datetime.now(timezone.utc) - timedelta(minutes=1)
    for n in range(ROWS):
        note = notify("resident", residents[n % RESIDENTS].id, "message.answered",
                      "代表已答复您的留言", body="路灯已经修好了",
                      place=Place("resident_message", n + 1))
        note.next_attempt_at = due
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == ROWS
    return {r.openid: GRANTS_EACH for r in residents}


@pytest.mark.parametrize("stop_with", [signal.SIGKILL, signal.SIGTERM], ids=["kill", "term"])
def test_a_deliverer_stopped_mid_batch_sends_no_row_twice(app, db, postgres_only, tmp_path,
                                                          fake_wechat, stop_with):
    from backend.notifications.models import Notification
    from backend.accounts.resident_model import SubscribeGrant
    grants = _queue_rows(db)
    wechat = fake_wechat(grants)
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "LIANXIN_INSTANCE": str(tmp_path), "LIANXIN_ENV": "development", "REDIS_URL": "",
           "PYTHONPATH": str(ROOT), "FIELD_ENCRYPTION_KEY": app.config["FIELD_ENCRYPTION_KEY"],
           "WECHAT_APPID": "wx0123456789abcdef", "WECHAT_SECRET": "s",
           "WECHAT_API_BASE": wechat.base,
           "WECHAT_TEMPLATES": json.dumps({"message.answered": TEMPLATE})}
    deliver = [sys.executable, "-m", "flask", "--app", "backend", "outbox", "deliver"]

    first = subprocess.Popen(deliver, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        _wait_for("the first deliverer to be under way", lambda: sum(wechat.pages.values()) >= 15,
                  timeout=40)
        first.send_signal(stop_with)
        out, err = first.communicate(timeout=20)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=10)
    if stop_with == signal.SIGTERM:
        assert first.returncode == 0, err
        assert "收到停止信号" in out
    called_by_first = sum(wechat.pages.values())
    assert called_by_first < ROWS, "the first deliverer finished before it was stopped"

    second = subprocess.run(deliver, cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert second.returncode == 0, second.stderr

    db.session.rollback()
    assert max(wechat.pages.values()) == 1, "WeChat was asked to send a row twice"
    statuses = Counter(db.session.execute(
        sa.select(Notification.status, Notification.channel)).all())
    spent = GRANTS_EACH * RESIDENTS - db.session.scalar(sa.select(
        sa.func.sum(SubscribeGrant.remaining)))
    calls = sum(wechat.pages.values())
    if stop_with == signal.SIGTERM:
        # Stopped between rows: every row went out, each once, and the counts agree.
        assert statuses == {("sent", "wechat"): ROWS}
        assert calls == spent == ROWS
    else:
        # Killed, perhaps between marking a row and calling: that one row may be lost (at most
        # once), never repeated; otherwise everything went out and the grants match WeChat's.
        assert sum(statuses.values()) == ROWS and set(statuses) == {("sent", "wechat")}
        assert calls <= spent <= calls + 1
        assert ROWS - 1 <= calls <= ROWS
