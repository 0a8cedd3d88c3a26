"""Benchmark: the submission endpoint's requests per second under concurrent load, side by side
with a bare Flask endpoint and a naive one-row ORM insert, on the same server set-up (gunicorn,
PostgreSQL), in the same run.

The full submission is POST /api/mp/v1/messages as the mini-program sends it: token check,
schema validation, rate limits, the content check against a 200-word list, the message, its
event, the deputy's outbox row and the idempotency key, one commit. Each request carries a fresh
idempotency key and one of 500 residents' tokens (--residents to change how many).

Needs wrk (Debian package `wrk`) and PostgreSQL. Run by hand:

    .venv/bin/python bench/submit_bench.py [--seconds 10] [--rounds 3] [--workers 4]
        [--connections 16] [--residents 500]
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
URL = os.environ.get("BENCH_SUBMIT_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bench_submit")
PORT = 5917
ENV = {
    "DATABASE_URL": URL, "SECRET_KEY": "bench-secret", "LIANXIN_ENV": "production",
    "FIELD_ENCRYPTION_KEY": "x7Yq0V3m1pS8bX5oQk2nR9tW4uZ6cA0eD3fG7hJ1kL8=", "PHONE_INDEX_KEY": "bench-index",
    "SESSION_COOKIE_SECURE": "0",
    # The limits are part of the work measured, set high enough not to refuse the load.
    "SUBMIT_RATE_PER_IP": "10000000 per hour", "SUBMIT_RATE_PER_RESIDENT": "1000000 per hour",
}
BODY = "小区门口的路灯坏了一个多月，晚上老人孩子出行很不安全，希望代表帮忙反映尽快修好。"

LUA = r"""
local counter = 0
local thread_id = 0
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  thread_id = tonumber(wrk.thread:get("tid")) or 0
end
tokens = { %(tokens)s }
request = function()
  counter = counter + 1
  local key = string.format("bench-%%d-%%d-%%d", thread_id, counter, math.random(1000000000))
  local token = tokens[(counter %% #tokens) + 1]
  local body = string.format('{"deputy_token": "%(deputy_token)s", "station_id": %(station_id)d, "body": "%(body)s", "idempotency_key": "%%s", "may_publish": false}', key)
  local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }
  return wrk.format("POST", nil, headers, body)
end
"""


def prepare(n_residents: int = 500):
    admin = sa.create_engine(URL.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    name = URL.rsplit("/", 1)[1]
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    os.environ.update(ENV)
    from flask_migrate import upgrade

    from backend import create_app
    from backend.core.extensions import db
    from backend.messages.moderation_model import ContentRule
    from backend.org.models import Deputy, Station
    from backend.accounts.resident_model import Resident
    from backend.org.codes import issue_code
    from miniprogram_api.auth import session_for
    app = create_app()
    with app.app_context():
        upgrade()
        station = Station(name="基准联络站", kind="station")
        deputy = Deputy(name="基准代表", level="county", stations=[station])
        db.session.add_all([station, deputy])
        db.session.add_all(ContentRule(word=f"违规词{i:03d}", label="其他") for i in range(200))
        residents = [Resident(openid=f"bench-openid-{i}") for i in range(n_residents)]
        db.session.add_all(residents)
        db.session.flush()
        code = issue_code(deputy)
        tokens = [session_for(r)["token"] for r in residents]
        db.session.commit()
        return station.id, code.token, tokens


ENDPOINTS = (("裸 Flask 端点（无数据库）", "/bench/bare"),
             ("朴素 ORM 单行插入", "/bench/naive"),
             ("完整留言提交", "/api/mp/v1/messages"))


def run_wrk(path, script, seconds, connections):
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency",
                          "-s", script, f"http://127.0.0.1:{PORT}{path}"],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+\w+)", out).group(1)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p99, int(non2xx.group(1)) if non2xx else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--residents", type=int, default=500)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("需要 wrk：apt-get install wrk")
    station_id, deputy_token, tokens = prepare(args.residents)
    load_before = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="lianxin-bench-"))
    script = tmp / "submit.lua"
    script.write_text(LUA % {"tokens": ", ".join(f'"{t}"' for t in tokens),
                             "deputy_token": deputy_token, "station_id": station_id, "body": BODY})
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-w", str(args.workers), "-b",
         f"127.0.0.1:{PORT}", "--log-level", "warning", "bench.bench_app:app"],
        cwd=ROOT, env={**os.environ, **ENV, "LIANXIN_INSTANCE": str(tmp / "instance")})
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/api/mp/v1/openapi.json", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        for _, path in ENDPOINTS:
            run_wrk(path, str(script), 3, args.connections)  # warm up
        # Rounds, each endpoint in turn: the tables grow and the machine's load drifts during
        # a run, so no endpoint always goes last; the mean of the rounds is what to compare.
        rounds = [[(label, *run_wrk(path, str(script), args.seconds, args.connections))
                   for label, path in ENDPOINTS] for _ in range(args.rounds)]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    print(f"\n提交端点吞吐（gunicorn {args.workers} 个 worker，PostgreSQL，wrk 2 线程 "
          f"{args.connections} 连接，每轮各 {args.seconds} 秒，共 {args.rounds} 轮）")
    # The machine may be shared: the load says how far to trust the figures.
    print("系统负载（1/5/15 分钟）：开始 {:.2f}/{:.2f}/{:.2f}，结束 {:.2f}/{:.2f}/{:.2f}".format(
        *load_before, *os.getloadavg()))
    heads = "".join(f"{f'第{n}轮':>9}" for n in range(1, args.rounds + 1))
    print(f"{'端点（请求/秒）':<22}{heads}{'平均':>9}{'末轮p99':>10}{'非2xx':>7}")
    for i, (label, _) in enumerate(ENDPOINTS):
        runs = [r[i] for r in rounds]
        rates = "".join(f"{rps:>10.0f}" for _, rps, _, _ in runs)
        mean = sum(rps for _, rps, _, _ in runs) / len(runs)
        print(f"{label:<22}{rates}{mean:>10.0f}{runs[-1][2]:>10}{sum(r[3] for r in runs):>7}")


if __name__ == "__main__":
    main()
