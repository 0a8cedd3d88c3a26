"""Benchmark: the liaison queue at a million messages on PostgreSQL.

Loads a district (10 stations, 200 deputies, 1,000,000 messages over two years, most of them
closed, as a real archive is) into a database of its own, then times the queue's first page and
page 500 with the common filters, walking the keyset cursors as a liaison paging would.

    .venv/bin/python bench/queue_bench.py                       # load (once) and measure
    .venv/bin/python bench/queue_bench.py --reload              # rebuild the data
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench  (the default)

Run by hand, not in CI. Prints p50/p99 in milliseconds per scenario.
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench"
STATIONS, DEPUTIES_PER_STATION = 10, 20


def ensure_database(url: str) -> None:
    admin = sa.create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    name = url.rsplit("/", 1)[1]
    with admin.connect() as conn:
        if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def production_app(url: str):
    """The app as production builds it (the keys it refuses to start without), on `url`."""
    from backend import create_app
    return create_app("production", SQLALCHEMY_DATABASE_URI=url, SECRET_KEY="bench",
                      FIELD_ENCRYPTION_KEY="x7Yq0V3m1pS8bX5oQk2nR9tW4uZ6cA0eD3fG7hJ1kL8=",
                      PHONE_INDEX_KEY="bench-index")


def loaded_messages(app, where: str = "") -> int:
    """How many messages (matching the SQL condition `where`) the bench database holds already;
    0 before the schema exists. The benches load only when it is fewer than asked."""
    with app.app_context():
        from backend.core.extensions import db
        if not db.session.execute(sa.text("SELECT to_regclass('messages') IS NOT NULL")).scalar():
            return 0
        return db.session.execute(sa.text(
            f"SELECT count(*) FROM messages {'WHERE ' + where if where else ''}")).scalar()


def fresh_district(stations: int, deputies_per_station: int):
    """Rebuilds the schema (inside an app context) and adds `stations` stations, each with its
    own `deputies_per_station` deputies; returns the session's connection for the bulk loads."""
    from flask_migrate import downgrade, upgrade

    from backend.core.extensions import db
    downgrade(revision="base")
    upgrade()
    conn = db.session.connection()
    conn.execute(sa.text(
        "INSERT INTO stations (name, kind, address, heads, opening_hours, phone, is_active,"
        " created_at, ack_workdays, answer_workdays)"
        " SELECT '第' || g || '联络站', 'station', '', '[]', '', '', true, now(), 2, 15"
        " FROM generate_series(1, :n) g"), {"n": stations})
    conn.execute(sa.text(
        "INSERT INTO deputies (name, level, constituency, occupation, expertise, intro,"
        " is_active, created_at, updated_at)"
        " SELECT '代表' || g, 'county', '', '', '', '', true, now(), now()"
        " FROM generate_series(1, :n) g"), {"n": stations * deputies_per_station})
    conn.execute(sa.text(
        "INSERT INTO deputy_stations (deputy_id, station_id)"
        " SELECT id, (id - 1) / :per + 1 FROM deputies"), {"per": deputies_per_station})
    return conn


def load(app, n_messages: int) -> None:
    from backend.core.extensions import db
    from backend.accounts.operations import create_staff
    with app.app_context():
        t0 = time.perf_counter()
        conn = fresh_district(STATIONS, DEPUTIES_PER_STATION)
        # Status mix of a two-year archive: mostly closed, ~15 % still in hand.
        conn.execute(sa.text("""
            INSERT INTO messages (channel, station_id, deputy_id, assigned_deputy_id, status,
                category, body, place, phone_last4, phone_prefix, may_publish, hold_reason,
                reject_reason, forward_to, forward_ref, created_at, ack_due_at, answer_due_at,
                acknowledged_at, updated_at)
            SELECT 'web', s, d, d, st,
                (ARRAY['城乡建设','交通运输','环境保护','教育文体','卫生计生','劳动和社会保障'])[1 + g % 6],
                '小区门口道路破损严重，雨天积水，希望尽快维修。编号' || g, '', '', '', false,
                CASE WHEN st = 'held' THEN '含有需人工审核的词语' ELSE '' END,
                CASE WHEN st = 'rejected' THEN '与代表履职无关' ELSE '' END,
                CASE WHEN st = 'forwarded' THEN '12345热线' ELSE '' END, '',
                c, c + interval '3 days', c + interval '21 days',
                CASE WHEN st IN ('new', 'held') THEN NULL ELSE c + interval '1 day' END, c
            FROM (
                SELECT g, 1 + g % :stations AS s,
                       1 + (g % :stations) * :per + (g / :stations) % :per AS d,
                       now() - (g::float / :n) * interval '730 days' AS c,
                       CASE WHEN g % 100 < 85 THEN 'closed'
                            WHEN g % 100 < 90 THEN 'new'
                            WHEN g % 100 < 94 THEN 'acknowledged'
                            WHEN g % 100 < 96 THEN 'answered'
                            WHEN g % 100 < 97 THEN 'held'
                            WHEN g % 100 < 98 THEN 'awaiting_info'
                            WHEN g % 100 < 99 THEN 'rejected'
                            ELSE 'forwarded' END AS st
                FROM generate_series(1, :n) g
            ) x"""), {"n": n_messages, "stations": STATIONS, "per": DEPUTIES_PER_STATION})
        db.session.flush()
        stations = db.session.execute(sa.text("SELECT id FROM stations ORDER BY id")).scalars().all()
        from backend.org.models import Station
        create_staff(username="bench-liaison", display_name="基准联络员", role="liaison",
                     password="bench-pass-1", stations=[db.session.get(Station, stations[0])])
        db.session.commit()
        conn = db.session.connection()
        conn.execute(sa.text("ANALYZE"))
        db.session.commit()
        print(f"loaded {n_messages:,} messages in {time.perf_counter() - t0:.1f} s")


def measure(app, repeats: int) -> list[tuple[str, float, float, float, float]]:
    from backend.core.extensions import db
    from backend.accounts.models import StaffUser
    from backend.messages.queue import QueueFilters, liaison_queue
    scenarios = {
        "待办（默认）": QueueFilters(),
        "全部状态": QueueFilters(status="all"),
        "仅看超期": QueueFilters(overdue=True),
        "分类=城乡建设（全部状态）": QueueFilters(status="all", category="城乡建设"),
        "代表筛选（全部状态）": QueueFilters(status="all", deputy_id=1),
    }
    results = []
    with app.app_context():
        liaison = db.session.scalar(db.select(StaffUser).filter_by(username="bench-liaison"))
        for name, filters in scenarios.items():
            cursor, page_no = None, 1
            while page_no < 500:
                page = liaison_queue(liaison, filters, cursor=cursor)
                if page.next_cursor is None:
                    break
                cursor, page_no = page.next_cursor, page_no + 1
            first = _time(lambda: liaison_queue(liaison, filters), repeats)
            deep = _time(lambda: liaison_queue(liaison, filters, cursor=cursor), repeats)
            results.append((f"{name}（第{page_no}页）", *_pcts(first), *_pcts(deep)))
            db.session.rollback()
        # Baseline: the same deep page reached the usual way, with OFFSET.
        first = _time(lambda: _offset_query(liaison, QueueFilters(status="all"), 0), repeats)
        deep = _time(lambda: _offset_query(liaison, QueueFilters(status="all"), 499 * 20), repeats)
        results.append(("基线：OFFSET 分页，全部状态（第500页）", *_pcts(first), *_pcts(deep)))
    return results


def _offset_query(liaison, filters, offset):
    from backend.core.extensions import db
    from backend.messages.models import Message
    from backend.messages.queue import _apply_filters, _in_stations
    from backend.core.timeutil import utcnow
    stmt = _apply_filters(_in_stations(db.select(Message), liaison, []), filters, utcnow())
    return list(db.session.scalars(
        stmt.order_by(Message.answer_due_at, Message.id).offset(offset).limit(20)))


def _time(fn, repeats):
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def _pcts(samples):
    samples = sorted(samples)
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--reload", action="store_true")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    ensure_database(url)
    app = production_app(url)
    have = loaded_messages(app)
    if args.reload or not have or have < args.messages:
        load(app, args.messages)
    rows = measure(app, args.repeats)
    print(f"\n队列查询（{args.messages:,} 条留言，{STATIONS} 个联络站，每项 {args.repeats} 次）")
    print(f"{'场景':<28}{'首页 p50':>10}{'首页 p99':>10}{'深页 p50':>10}{'深页 p99':>10}  (ms)")
    for name, f50, f99, d50, d99 in rows:
        print(f"{name:<28}{f50:>10.2f}{f99:>10.2f}{d50:>10.2f}{d99:>10.2f}")


if __name__ == "__main__":
    main()
