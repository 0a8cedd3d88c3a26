"""Benchmark: personal data at scale on PostgreSQL — finding a resident's messages by phone
through the blind index against the decrypt-every-row loop it replaces, and one retention pass.

Loads one station with N messages (default 300,000) over three years, 85 % closed, four in five
with one of 5,000 phone numbers, into a database of its own; then
  1. times the liaison queue searched by phone (index equality), p50/p99 over --repeats;
  2. times the loop the index replaces: decrypt every phone of the station and compare;
  3. with --retention, times the staff page's preview (counts only), then `retain` (anonymises the ~third older than 24 months; it changes
     the data, so the next run reloads).

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_privacy \\
        .venv/bin/python bench/privacy_bench.py [--messages 300000] [--retention]

Run by hand, not in CI.
"""
import argparse
import os
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.queue_bench import ensure_database, loaded_messages, production_app  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_privacy"
PHONES = 5000


def phone(k: int) -> str:
    return f"138{k:08d}"


def load(app, n: int) -> None:
    from flask_migrate import downgrade, upgrade

    from backend.accounts.operations import create_staff
    from backend.core.extensions import db
    from backend.core.protect import phone_fields
    from backend.org.models import Station
    with app.app_context():
        downgrade(revision="base")
        upgrade()
        t0 = time.perf_counter()
        conn = db.session.connection()
        conn.execute(sa.text(
            "INSERT INTO stations (name, kind, address, heads, opening_hours, phone, is_active,"
            " created_at, ack_workdays, answer_workdays)"
            " VALUES ('基准联络站', 'station', '', '[]', '', '', true, now(), 2, 15)"))
        conn.execute(sa.text(
            "INSERT INTO deputies (name, level, constituency, occupation, expertise, intro,"
            " is_active, created_at, updated_at)"
            " VALUES ('基准代表', 'county', '', '', '', '', true, now(), now())"))
        conn.execute(sa.text("CREATE TEMP TABLE bench_phones (k int, enc text, idx text,"
                             " prefix text, last4 text)"))
        conn.execute(sa.text("INSERT INTO bench_phones VALUES (:k, :enc, :idx, :prefix, :last4)"),
                     [{"k": k, "enc": f["phone_encrypted"], "idx": f["phone_index"],
                       "prefix": f["phone_prefix"], "last4": f["phone_last4"]}
                      for k in range(PHONES) for f in [phone_fields(phone(k))]])
        conn.execute(sa.text("""
            INSERT INTO messages (channel, station_id, deputy_id, assigned_deputy_id, status,
                category, body, place, phone_encrypted, phone_index, phone_last4, phone_prefix,
                may_publish, hold_reason, reject_reason, forward_to, forward_ref, created_at,
                ack_due_at, answer_due_at, acknowledged_at, updated_at)
            SELECT 'web', 1, 1, 1, st, '城乡建设', '小区门口道路破损严重，雨天积水。编号' || g, '',
                p.enc, p.idx, COALESCE(p.last4, ''), COALESCE(p.prefix, ''), false, '', '', '', '',
                c, c + interval '3 days', c + interval '21 days',
                CASE WHEN st = 'new' THEN NULL ELSE c + interval '1 day' END, c
            FROM (SELECT g, now() - (g::float / :n) * interval '1095 days' AS c,
                         CASE WHEN g % 100 < 85 THEN 'closed' WHEN g % 100 < 95 THEN 'new'
                              ELSE 'acknowledged' END AS st
                  FROM generate_series(1, :n) g) x
            LEFT JOIN bench_phones p ON g % 5 != 0 AND p.k = g % :phones"""),
            {"n": n, "phones": PHONES})
        db.session.flush()
        create_staff(username="bench-liaison", display_name="基准联络员", role="liaison",
                     password="bench-pass-1", stations=[db.session.get(Station, 1)])
        db.session.commit()
        db.session.connection().execute(sa.text("ANALYZE"))
        db.session.commit()
        print(f"loaded {n:,} messages in {time.perf_counter() - t0:.1f} s")


def measure(app, repeats: int) -> None:
    from backend.accounts.models import StaffUser
    from backend.core.extensions import db
    from backend.core.protect import decrypt_phone, normalise_phone
    from backend.messages.models import Message
    from backend.messages.queue import QueueFilters, liaison_queue
    with app.app_context():
        liaison = db.session.scalar(sa.select(StaffUser).filter_by(username="bench-liaison"))
        samples, hits = [], 0
        for i in range(repeats):
            typed = "+86 " + phone((i * 37) % PHONES)
            t0 = time.perf_counter()
            hits = len(liaison_queue(liaison, QueueFilters(status="all", q=typed)).items)
            samples.append((time.perf_counter() - t0) * 1000)
            db.session.rollback()
        samples.sort()
        print(f"按手机号查找（盲索引，{repeats} 次）：p50 {statistics.median(samples):.2f} ms，"
              f"p99 {samples[int(len(samples) * 0.99) - 1]:.2f} ms（首页 {hits} 条）")

        wanted = normalise_phone("+86 " + phone(42))
        t0 = time.perf_counter()
        rows = db.session.execute(sa.select(Message.id, Message.phone_encrypted).where(
            Message.station_id == 1, Message.phone_encrypted.is_not(None))).all()
        found = [i for i, token in rows if decrypt_phone(token) == wanted]
        print(f"对照：逐行解密比对 {len(rows):,} 个手机号：{(time.perf_counter() - t0) * 1000:.0f} ms"
              f"（找到 {len(found)} 条）")


def retention(app) -> None:
    from backend.core.extensions import db
    from backend.core.timeutil import LOCAL_TZ
    from backend.privacy.retention import count_due, cutoff, retain
    with app.app_context():
        now = datetime.now(timezone.utc)
        t0 = time.perf_counter()
        due = count_due(cutoff(now.astimezone(LOCAL_TZ).date()))
        db.session.rollback()
        print(f"预览（/staff/privacy，只计数）：{due}，{(time.perf_counter() - t0) * 1000:.0f} ms")
        t0 = time.perf_counter()
        outcome = retain(now.astimezone(LOCAL_TZ).date(), now)
        db.session.commit()
        seconds = time.perf_counter() - t0
        print(f"保存期限匿名化：{outcome.describe()}，{seconds:.1f} 秒"
              f"（{outcome.messages / seconds:,.0f} 条/秒）")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--messages", type=int, default=300_000)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--retention", action="store_true")
    parser.add_argument("--reload", action="store_true")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    ensure_database(url)
    app = production_app(url)
    have = loaded_messages(app, "anonymised_at IS NULL")
    if args.reload or not have or have < args.messages:
        load(app, args.messages)
    measure(app, args.repeats)
    if args.retention:
        retention(app)


if __name__ == "__main__":
    main()
