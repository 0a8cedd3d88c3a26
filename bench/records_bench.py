"""Benchmark: the all-deputies record of duty (the Excel) and the district dashboard for 500
deputies and a year of messages on PostgreSQL.

Loads 25 stations × 20 deputies and N messages spread over this year (85 % answered within a
few days, a third of those rated), then times `export_records_xlsx` (every deputy's record) and
the station/district figures (`records.station_figures.year_figures`), and the two pages as an
office admin gets them (`/staff/records.xlsx`, `/staff/figures`: queries, charts, HTML).

    .venv/bin/python bench/records_bench.py --messages 1000000     # load and measure
    .venv/bin/python bench/records_bench.py --no-load              # measure the loaded data
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/wt_records  (the default)

Run by hand, not in CI: it rebuilds the schema of the database it is given.
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.queue_bench import fresh_district  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/wt_records"
STATIONS, PER_STATION = 25, 20


def load(app, n: int) -> None:
    from backend.core.extensions import db
    with app.app_context():
        t0 = time.perf_counter()
        conn = fresh_district(STATIONS, PER_STATION)
        conn.execute(sa.text("""
            INSERT INTO messages (channel, station_id, deputy_id, assigned_deputy_id, status,
                category, body, place, phone_last4, phone_prefix, may_publish, hold_reason,
                reject_reason, forward_to, forward_ref, created_at, ack_due_at, answer_due_at,
                answered_at, updated_at)
            SELECT 'web', s, d, d, CASE WHEN g % 100 < 85 THEN 'answered' ELSE 'new' END,
                '', '路灯坏了，希望尽快维修。' || g, '', '', '', false, '', '', '', '',
                c, c + interval '3 days', c + interval '21 days',
                CASE WHEN g % 100 < 85 THEN c + (1 + g % 9) * interval '1 day' END, c
            FROM (SELECT g, 1 + g % :stations AS s,
                         1 + (g % :stations) * :per + (g / :stations) % :per AS d,
                         date_trunc('year', now()) + (g::float / :n) * (now() - date_trunc('year', now())) AS c
                  FROM generate_series(1, :n) g) x"""),
            {"n": n, "stations": STATIONS, "per": PER_STATION})
        conn.execute(sa.text("""
            INSERT INTO message_ratings (message_id, round, value, comment, created_at)
            SELECT id, 1, (ARRAY['satisfied','basically_satisfied','dissatisfied'])[1 + id % 3],
                   '', answered_at + interval '1 day'
            FROM messages WHERE answered_at IS NOT NULL AND id % 3 = 0"""))
        db.session.commit()
        db.session.connection().execute(sa.text("ANALYZE"))
        db.session.commit()
        print(f"loaded {n:,} messages in {time.perf_counter() - t0:.1f} s")


def _admin_client(app):
    """A test client signed in as an office admin (created on first use)."""
    from backend.accounts.models import StaffUser
    from backend.accounts.operations import create_staff
    from backend.core.extensions import db
    with app.app_context():
        if not db.session.scalar(sa.select(StaffUser.id).filter_by(username="bench-admin")):
            create_staff(username="bench-admin", display_name="测试管理员", role="admin",
                         password="bench-password-9")
            db.session.commit()
    client = app.test_client()
    resp = client.post("/staff/login", data={"username": "bench-admin", "password": "bench-password-9"})
    assert resp.status_code == 302, resp.status_code
    return client


def _page(client, url: str) -> None:
    resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code)


def measure(app, repeats: int) -> None:
    from backend.core.extensions import db
    from backend.core.timeutil import local_today
    from backend.records.excel import export_records_xlsx
    from backend.records.station_figures import year_figures
    year = local_today().year
    client = _admin_client(app)
    with app.app_context():
        for name, run in (("全部代表履职档案 Excel（500 位代表）", lambda: export_records_xlsx(year)),
                          ("全区与各站按月统计（25 个站）", lambda: year_figures(year)),
                          ("页面 /staff/records.xlsx", lambda: _page(client, f"/staff/records.xlsx?year={year}")),
                          ("页面 /staff/figures（全区看板）", lambda: _page(client, f"/staff/figures?year={year}"))):
            run()  # warm: the working-day calendar, statement caches
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                run()
                times.append((time.perf_counter() - t0) * 1000)
                db.session.rollback()
            print(f"{name}: p50 {statistics.median(times):.0f} ms, max {max(times):.0f} ms"
                  f" ({repeats} runs)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-load", action="store_true")
    args = parser.parse_args()
    from backend import create_app
    app = create_app(None, WTF_CSRF_ENABLED=False,
                     SQLALCHEMY_DATABASE_URI=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    if not args.no_load:
        load(app, args.messages)
    measure(app, args.repeats)


if __name__ == "__main__":
    main()
