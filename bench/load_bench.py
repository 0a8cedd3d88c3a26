"""Load test: a district's reception-day peak against real server processes on PostgreSQL.

The peak hour (issue #12): 2,000 residents write in (most from the mini-program, some on the
web portal, a third with a photo), residents look up their messages, and 200 liaisons page
the queue and open messages. The hour is compressed by --speedup (12: the hour in 5 minutes),
so every rate is that many times the real one. Arrivals are open-loop: each request starts at
its scheduled moment whether or not earlier ones have finished, and the report says how late
the driver started them (if that lag grows, the figures understate the latency).

Served as in production (docs/deployment.md): gunicorn `backend:create_app()` with
LIANXIN_ENV=production, the scheduler process beside it (it stores the triage suggestions and
delivers the outbox), Redis for the limits when reachable, local disk or an S3 endpoint for
photos (--s3-endpoint, e.g. a moto_server you started). The district: 10 stations, 200
deputies with codes, an archive of --archive messages (bench/queue_bench.py loads it), 200
liaisons (20 a station), 2,000 residents. The client runs on the same machine: its CPU is
taken from the server's; the machine's load is printed.

    .venv/bin/python bench/load_bench.py [--speedup 12] [--workers 4]
        [--database-url postgresql://postgres@127.0.0.1:5432/bench_load]

Run by hand, not in CI. Drops and re-creates the database it is given.
"""
import argparse
import html
import io
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HOUR = 3600.0
TIMEOUT = 60
PASSWORD = "bench-pass-1"
FIELD_KEY = "x7Yq0V3m1pS8bX5oQk2nR9tW4uZ6cA0eD3fG7hJ1kL8="
LIAISONS_PER_STATION = 20
BODIES = (
    "小区门口的路灯坏了一个多月，晚上老人孩子出行很不安全，希望代表帮忙反映尽快修好。",
    "我们楼下的垃圾站每天早上五点就开始清运，噪音很大，能不能调整一下时间。",
    "学校门口上下学时段车辆乱停，孩子过马路很危险，建议增加交通协管员。",
    "老旧小区加装电梯的补贴政策怎么申请？社区说不清楚，希望代表帮忙问问。",
    "菜市场旁边的下水道经常堵塞，一下雨就积水，商户和居民都很苦恼。",
)
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
MESSAGE_LINK_RE = re.compile(r'href="/staff/messages/(\d+)"')
NEXT_RE = re.compile(r'href="(/staff/messages\?[^"]*cursor=[^"]+)"')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--speedup", type=float, default=12.0,
                        help="how many times faster than the real hour (12: the hour in 5 minutes)")
    parser.add_argument("--minutes", type=float, default=None,
                        help="stop after this many minutes of the (compressed) hour: the real "
                             "rates for a window of the hour when the machine cannot take more")
    parser.add_argument("--residents", type=int, default=2000, help="residents writing in the hour")
    parser.add_argument("--web-share", type=float, default=0.3,
                        help="share of residents writing on the web portal (the rest: mini-program)")
    parser.add_argument("--photo-share", type=float, default=0.3, help="share sending one photo")
    parser.add_argument("--lookups", type=int, default=1000,
                        help="residents looking up their message in the hour")
    parser.add_argument("--liaisons", type=int, default=200)
    parser.add_argument("--liaison-every", type=float, default=60.0,
                        help="seconds (real time) between one liaison's queue views")
    parser.add_argument("--archive", type=int, default=20000,
                        help="older messages already in the district's database")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--client-threads", type=int, default=64)
    parser.add_argument("--port", type=int, default=5931)
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_LOAD_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bench_load"))
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5",
                        help="flushed before the run; unreachable: each worker counts alone")
    parser.add_argument("--s3-endpoint", default=None,
                        help="an S3 server's URL: photos go to a new bucket there")
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args(argv)
    if (args.minutes is not None and args.minutes <= 0) or args.speedup <= 0 or not 0 <= args.web_share <= 1 or not 0 <= args.photo_share <= 1:
        parser.error("--speedup must be positive, the shares between 0 and 1")
    if args.liaisons > 10 * LIAISONS_PER_STATION:
        parser.error(f"at most {10 * LIAISONS_PER_STATION} liaisons (10 stations)")
    return args


# ---- the district ----

def server_env(args, tmp: Path) -> dict:
    env = {
        "LIANXIN_ENV": "production", "SESSION_COOKIE_SECURE": "0", "DATABASE_URL": args.database_url,
        "SECRET_KEY": "bench-load-" + uuid.uuid4().hex, "FIELD_ENCRYPTION_KEY": FIELD_KEY,
        "PHONE_INDEX_KEY": "bench-load-index",
        "LIANXIN_INSTANCE": str(tmp / "instance"),
        # Every simulated resident comes from 127.0.0.1: the per-address limit would refuse
        # the whole district as one station's Wi-Fi; per-resident limits stay as configured.
        "SUBMIT_RATE_PER_IP": "1000000 per hour",
        # The compressed hour: the scheduler stores suggestions as often, relatively.
        "TRIAGE_SUGGEST_SECONDS": str(max(5, int(60 / args.speedup))),
        "SCHEDULER_OUTBOX_SECONDS": str(max(5, int(30 / args.speedup))),
    }
    if redis_reachable(args.redis_url):
        env["REDIS_URL"] = args.redis_url
    if args.s3_endpoint:
        import boto3
        env.setdefault("AWS_ACCESS_KEY_ID", os.environ.get("AWS_ACCESS_KEY_ID", "bench"))
        env.setdefault("AWS_SECRET_ACCESS_KEY", os.environ.get("AWS_SECRET_ACCESS_KEY", "bench"))
        bucket = f"lianxin-bench-{uuid.uuid4().hex[:8]}"
        boto3.client("s3", endpoint_url=args.s3_endpoint, region_name="us-east-1",
                     aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                     aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"]).create_bucket(Bucket=bucket)
        env.update(STORAGE_BACKEND="s3", S3_ENDPOINT_URL=args.s3_endpoint, S3_BUCKET=bucket,
                   S3_REGION="us-east-1")
    return env


def redis_reachable(url: str) -> bool:
    import redis
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    try:
        client.flushdb()
        return True
    except redis.RedisError:
        return False
    finally:
        client.close()


def prepare(args, env: dict) -> dict:
    """A fresh database with the district; returns what the simulated people need."""
    import sqlalchemy as sa
    admin = sa.create_engine(args.database_url.rsplit("/", 1)[0] + "/postgres",
                             isolation_level="AUTOCOMMIT")
    name = args.database_url.rsplit("/", 1)[1]
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    os.environ.update(env)  # before the config module reads it
    from werkzeug.security import generate_password_hash

    import backend.accounts.models as accounts_model
    from backend import create_app
    from backend.accounts.operations import create_staff
    from backend.accounts.resident_model import Resident
    from backend.core.extensions import db
    from backend.messages.triage import fill_suggestions
    from backend.org.codes import issue_code
    from backend.org.models import Deputy, Station
    from bench.queue_bench import load as load_archive
    from miniprogram_api.auth import session_for

    app = create_app()
    load_archive(app, args.archive)
    # Setting up 200 accounts is not what is measured: a cheap hash (the tests do the same).
    accounts_model.generate_password_hash = (
        lambda password, *a, **kw: generate_password_hash(password, "pbkdf2:sha256:1000"))
    with app.app_context():
        stations = db.session.scalars(sa.select(Station).order_by(Station.id)).all()
        targets = []
        for deputy in db.session.scalars(sa.select(Deputy).order_by(Deputy.id)):
            targets.append((issue_code(deputy).token, deputy.stations[0].id))
        liaisons = [create_staff(username=f"liaison{n:03d}", display_name=f"联络员{n}",
                                 role="liaison", password=PASSWORD,
                                 stations=[stations[n // LIAISONS_PER_STATION]]).username
                    for n in range(args.liaisons)]
        residents = [Resident(openid=f"bench-load-{n}") for n in range(args.residents)]
        db.session.add_all(residents)
        db.session.flush()
        tokens = [session_for(r)["token"] for r in residents]
        db.session.commit()
        for _ in range(4):  # the scheduler has kept up with the archive's latest messages
            fill_suggestions()
            db.session.commit()
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
    return {"targets": targets, "liaisons": liaisons, "tokens": tokens}


def photo_bytes() -> bytes:
    """A phone photo after WeChat's compression: 1280×960 JPEG with detail in it."""
    from PIL import Image, ImageDraw
    rng = random.Random(7)
    img = Image.new("RGB", (1280, 960), (120, 140, 160))
    draw = ImageDraw.Draw(img)
    for _ in range(400):
        x, y = rng.randrange(1280), rng.randrange(960)
        draw.rectangle([x, y, x + rng.randrange(10, 120), y + rng.randrange(10, 120)],
                       fill=tuple(rng.randrange(256) for _ in range(3)))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80)
    return out.getvalue()


# ---- servers ----

def start_servers(args, env: dict, tmp: Path) -> list[subprocess.Popen]:
    bin_dir = Path(sys.executable).parent
    full_env = {**os.environ, **env}
    web = subprocess.Popen(
        [str(bin_dir / "gunicorn"), "-w", str(args.workers), "-b", f"127.0.0.1:{args.port}",
         "--log-level", "warning", "--timeout", "120", "backend:create_app()"],
        cwd=ROOT, env=full_env, stdout=(tmp / "web.log").open("wb"), stderr=subprocess.STDOUT)
    scheduler = subprocess.Popen(
        [str(bin_dir / "flask"), "--app", "backend", "scheduler", "run"],
        cwd=ROOT, env=full_env, stdout=(tmp / "scheduler.log").open("wb"), stderr=subprocess.STDOUT)
    import requests
    base = f"http://127.0.0.1:{args.port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/readyz", timeout=2).status_code == 200:
                return [web, scheduler]
        except requests.RequestException:
            pass
        time.sleep(0.5)
    stop_servers([web, scheduler])
    sys.exit(f"服务器没有在 90 秒内就绪，见 {tmp / 'web.log'}")


def stop_servers(procs) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


# ---- the simulated people ----

class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency = defaultdict(list)  # endpoint → ms
        self.errors = defaultdict(lambda: defaultdict(int))  # endpoint → status → count
        self.lag = []  # ms between an arrival's scheduled and actual start

    def call(self, label: str, ok, method, url: str, **kw):
        started = time.perf_counter()
        try:
            resp = method(url, timeout=TIMEOUT, allow_redirects=False, **kw)
            status = resp.status_code
        except Exception as err:  # noqa: BLE001 - counted as this endpoint's error
            resp, status = None, type(err).__name__
        elapsed = (time.perf_counter() - started) * 1000
        with self.lock:
            self.latency[label].append(elapsed)
            if status not in ok:
                self.errors[label][status] += 1
        return resp if status in ok else None


class District:
    """The people of the run and what they have sent so far."""

    def __init__(self, args, world: dict, rec: Recorder):
        import requests
        self.requests = requests
        self.base = f"http://127.0.0.1:{args.port}"
        self.args, self.world, self.rec = args, world, rec
        self.photo = photo_bytes()
        self.sent = []  # (kind, message id, token or cookies)
        self.sent_lock = threading.Lock()
        self.liaison_cookies = {}
        self.liaison_next = {}

    def sign_in_liaisons(self) -> None:
        def sign_in(username):
            s = self.requests.Session()
            token = CSRF_RE.search(s.get(self.base + "/staff/login", timeout=TIMEOUT).text).group(1)
            resp = s.post(self.base + "/staff/login", timeout=TIMEOUT, allow_redirects=False,
                          data={"csrf_token": token, "username": username, "password": PASSWORD})
            assert resp.status_code == 302, f"{username} 登录失败：{resp.status_code}"
            self.liaison_cookies[username] = s.cookies.get_dict()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(sign_in, self.world["liaisons"]))

    def resident(self, n: int, rng: random.Random) -> None:
        token, station_id = rng.choice(self.world["targets"])
        body = rng.choice(BODIES) + f"（{n}）"
        with_photo = rng.random() < self.args.photo_share
        if rng.random() < self.args.web_share:
            self._write_on_web(token, body, with_photo)
        else:
            self._write_in_mini_program(self.world["tokens"][n], token, station_id, body, with_photo)

    def _write_in_mini_program(self, bearer, deputy_token, station_id, body, with_photo):
        s, auth = self.requests.Session(), {"Authorization": f"Bearer {bearer}"}
        photo_ids = []
        if with_photo:
            resp = self.rec.call("POST /api/mp/v1/photos", {201}, s.post,
                                 self.base + "/api/mp/v1/photos", headers=auth,
                                 files={"photo": ("p.jpg", self.photo, "image/jpeg")})
            if resp is None:
                return
            photo_ids = [resp.json()["id"]]
        resp = self.rec.call("POST /api/mp/v1/messages", {201}, s.post,
                             self.base + "/api/mp/v1/messages", headers=auth, json={
                                 "deputy_token": deputy_token, "station_id": station_id,
                                 "body": body, "photo_ids": photo_ids, "may_publish": False,
                                 "idempotency_key": uuid.uuid4().hex})
        if resp is not None:
            with self.sent_lock:
                self.sent.append(("mp", resp.json()["id"], bearer))

    def _write_on_web(self, deputy_token, body, with_photo):
        s = self.requests.Session()
        url = f"{self.base}/d/{deputy_token}/write"
        page = self.rec.call("GET /d/<码>/write", {200}, s.get, url)
        if page is None:
            return
        files = {"photos": ("p.jpg", self.photo, "image/jpeg")} if with_photo else None
        resp = self.rec.call("POST /d/<码>/write", {302}, s.post, url, files=files, data={
            "csrf_token": CSRF_RE.search(page.text).group(1), "body": body,
            "idempotency_key": uuid.uuid4().hex})
        found = resp is not None and re.search(r"/m/(\d+)/receipt", resp.headers["Location"])
        if found:
            with self.sent_lock:
                self.sent.append(("web", int(found.group(1)), s.cookies.get_dict()))

    def lookup(self, rng: random.Random) -> None:
        with self.sent_lock:
            mine = rng.choice(self.sent) if self.sent else None
        s = self.requests.Session()
        if mine is None or mine[0] == "mp":
            bearer = mine[2] if mine else rng.choice(self.world["tokens"])
            auth = {"Authorization": f"Bearer {bearer}"}
            self.rec.call("GET /api/mp/v1/messages", {200}, s.get,
                          self.base + "/api/mp/v1/messages", headers=auth)
            if mine:
                self.rec.call("GET /api/mp/v1/messages/<id>", {200}, s.get,
                              f"{self.base}/api/mp/v1/messages/{mine[1]}", headers=auth)
        else:
            self.rec.call("GET /m/<id>", {200}, s.get, f"{self.base}/m/{mine[1]}", cookies=mine[2])

    def liaison(self, username: str, rng: random.Random) -> None:
        s = self.requests.Session()
        s.cookies.update(self.liaison_cookies[username])
        following = self.liaison_next.get(username) if rng.random() < 0.3 else None
        if following:
            page = self.rec.call("GET /staff/messages?cursor=…", {200}, s.get, self.base + following)
        else:
            page = self.rec.call("GET /staff/messages", {200}, s.get, self.base + "/staff/messages")
        if page is None:
            return
        nxt = NEXT_RE.search(page.text)
        self.liaison_next[username] = html.unescape(nxt.group(1)) if nxt else None
        ids = MESSAGE_LINK_RE.findall(page.text)
        if ids and rng.random() < 0.5:
            self.rec.call("GET /staff/messages/<id>", {200}, s.get,
                          f"{self.base}/staff/messages/{rng.choice(ids)}")


def schedule(args, world: dict, rng: random.Random) -> list[tuple[float, str, object]]:
    """Every arrival of the compressed hour: (seconds from the start, kind, who)."""
    span = HOUR / args.speedup
    events = [(rng.uniform(0, span), "resident", n) for n in range(args.residents)]
    # Lookups follow the writing: none in the first minutes of the hour.
    events += [(rng.uniform(0.1 * span, span), "lookup", None) for _ in range(args.lookups)]
    every = args.liaison_every / args.speedup
    for username in world["liaisons"]:
        t = rng.uniform(0, every)
        while t < span:
            events.append((t, "liaison", username))
            t += every * rng.uniform(0.8, 1.2)
    cut = span if args.minutes is None else min(span, args.minutes * 60)
    return sorted((e for e in events if e[0] < cut), key=lambda e: e[0])


def drive(args, district: District, events) -> float:
    rngs = threading.local()

    def rng() -> random.Random:
        if not hasattr(rngs, "r"):
            rngs.r = random.Random(args.seed + threading.get_ident())
        return rngs.r

    def run(scheduled: float, kind: str, who) -> None:
        with district.rec.lock:
            district.rec.lag.append((time.perf_counter() - start - scheduled) * 1000)
        if kind == "resident":
            district.resident(who, rng())
        elif kind == "lookup":
            district.lookup(rng())
        else:
            district.liaison(who, rng())

    start = time.perf_counter()
    with ThreadPoolExecutor(args.client_threads) as pool:
        for at, kind, who in events:
            delay = start + at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(run, at, kind, who)
    return time.perf_counter() - start


def pct(values, q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else 0.0


def report(args, rec: Recorder, elapsed: float, load_before, env: dict, sent: int,
           stored: int) -> None:
    total = sum(len(v) for v in rec.latency.values())
    errors = sum(n for by in rec.errors.values() for n in by.values())
    print(f"\n接待选民日高峰（压缩 {args.speedup:g} 倍：真实一小时用 {HOUR / args.speedup / 60:.1f} 分钟）："
          f"{args.residents} 位居民留言（网页 {args.web_share:.0%}、带照片 {args.photo_share:.0%}），"
          f"{args.lookups} 次查看留言，{args.liaisons} 位联络员每 {args.liaison_every:g} 秒翻一次队列"
          + (f"；只运行其中前 {args.minutes:g} 分钟" if args.minutes else ""))
    print(f"gunicorn {args.workers} 个 worker + 调度进程，PostgreSQL，"
          f"{'Redis 限流' if 'REDIS_URL' in env else '无 Redis'}，"
          f"照片存 {'S3 ' + env['S3_ENDPOINT_URL'] if 'S3_BUCKET' in env else '本地磁盘'}，"
          f"历史留言 {args.archive} 条；客户端与服务器同一台机器（{os.cpu_count()} 核）")
    print("系统负载（1/5/15 分钟）：开始 {:.2f}/{:.2f}/{:.2f}，结束 {:.2f}/{:.2f}/{:.2f}".format(
        *load_before, *os.getloadavg()))
    print(f"用时 {elapsed:.0f} 秒，请求 {total} 个，{total / elapsed:.1f} 个/秒，错误 {errors} 个；"
          f"请求开始比计划晚：p50 {pct(rec.lag, .5):.0f} ms，p99 {pct(rec.lag, .99):.0f} ms")
    print(f"{'端点':<32}{'请求数':>8}{'个/秒':>8}{'p50 ms':>9}{'p99 ms':>9}{'最长 ms':>9}  错误")
    for label in sorted(rec.latency, key=lambda k: -len(rec.latency[k])):
        values = rec.latency[label]
        wrong = ", ".join(f"{s}×{n}" for s, n in rec.errors[label].items()) or "0"
        print(f"{label:<32}{len(values):>8}{len(values) / elapsed:>8.1f}"
              f"{statistics.median(values):>9.0f}{pct(values, .99):>9.0f}{max(values):>9.0f}  {wrong}")
    print(f"数据库中本次新增留言 {stored} 条（居民收到回执 {sent} 条）")


def main(argv=None) -> None:
    args = parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="lianxin-load-"))
    env = server_env(args, tmp)
    print("准备数据库……", flush=True)
    world = prepare(args, env)
    procs = start_servers(args, env, tmp)
    try:
        rec = Recorder()
        district = District(args, world, rec)
        district.sign_in_liaisons()
        events = schedule(args, world, random.Random(args.seed))
        window = HOUR / args.speedup if args.minutes is None else min(HOUR / args.speedup,
                                                                       args.minutes * 60)
        print(f"开始：{len(events)} 次到达，约 {window:.0f} 秒", flush=True)
        load_before = os.getloadavg()
        elapsed = drive(args, district, events)
    finally:
        stop_servers(procs)
    import sqlalchemy as sa
    engine = sa.create_engine(args.database_url)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT count(*) FROM messages")).scalar() - args.archive
    engine.dispose()
    report(args, rec, elapsed, load_before, env, len(district.sent), stored)
    print(f"服务器日志：{tmp}")


if __name__ == "__main__":
    main()
