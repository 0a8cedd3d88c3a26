"""Benchmark: Chinese full-text search of the liaison queue at a million messages.

Fills a database of its own with messages made from the real ones in /work/shared/data (random
sentences of one letter, sometimes one of another, place names and numbers varied), written
with COPY and indexed after, then times the first page of two-word queries (words taken from
real subjects) as the queue runs them: one liaison's station, and an admin over all stations.
Every query is run once untimed first (warm caches), then `--repeats` rounds are timed.

    .venv/bin/python bench/search_bench.py                      # PostgreSQL, 1,000,000 messages
    .venv/bin/python bench/search_bench.py --reload             # rebuild the data
    .venv/bin/python bench/search_bench.py --sqlite --messages 100000   # SQLite (FTS5), a file in /tmp
    BENCH_SEARCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/search_bench  (the default)

Run by hand, not in CI. Prints p50/p99 in milliseconds and how many messages each query matches.
"""
import argparse
import csv
import io
import os
import random
import re
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from queue_bench import (  # noqa: E402
    DEPUTIES_PER_STATION, STATIONS, ensure_database, production_app,
)

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/search_bench"
SQLITE_PATH = "/tmp/lianxin_search_bench.sqlite"
DATA = Path("/work/shared/data")
STATUSES = ["closed"] * 85 + ["new"] * 5 + ["acknowledged"] * 4 + ["answered"] * 3 + [
    "awaiting_info", "rejected", "forwarded"]
COLUMNS = ("channel", "station_id", "deputy_id", "assigned_deputy_id", "status", "category",
           "body", "place", "phone_last4", "phone_prefix", "may_publish", "hold_reason",
           "reject_reason", "forward_to", "forward_ref", "created_at", "ack_due_at",
           "answer_due_at", "updated_at", "search_tokens")
_SENTENCE = re.compile(r"(?<=[。！？；\n])")
_PLACE = re.compile(r"[A-Z]\d*[市区县]")


def samples() -> tuple[list[list[str]], list[str], list[str]]:
    """Real letters cut into sentences, their subjects, and their labels."""
    letters, subjects, labels = [], [], []
    for name in ("messages_labelled.csv", "messages_with_replies.csv", "messages_with_votes.csv"):
        with open(DATA / name, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                parts = [s.strip() for s in _SENTENCE.split(row["body"]) if s.strip()]
                if parts:
                    letters.append(parts)
                    subjects.append(row["subject"])
                    labels.append(row.get("label") or "其他")
    return letters, subjects, labels


def fake_body(rng: random.Random, letters: list[list[str]]) -> str:
    """A few consecutive sentences of one letter, sometimes one more from another; the
    anonymised place names (A2区) and numbers changed so copies are not identical."""
    letter = rng.choice(letters)
    start = rng.randrange(len(letter))
    parts = letter[start:start + rng.randint(2, 6)]
    if rng.random() < 0.3:
        parts.append(rng.choice(rng.choice(letters)))
    body = "".join(parts)[:600]
    body = _PLACE.sub(lambda m: f"{rng.choice('ABCDEFGHJK')}{rng.randint(1, 9)}{m.group()[-1]}", body)
    return body + f"（{rng.randint(1, 40)}号楼）" if rng.random() < 0.3 else body


def queries(rng: random.Random, subjects: list[str], n: int) -> list[str]:
    """Two content words of one real subject, as a liaison would type them."""
    from backend.triage.hints import subject_words
    out = []
    while len(out) < n:
        ws = [w for w in subject_words(_PLACE.sub("", rng.choice(subjects)), "") if not re.search(r"\d", w)]
        ws = list(dict.fromkeys(ws))
        if len(ws) >= 2:
            out.append(" ".join(ws[:2]))
    return out


def _rows(n: int, seed: int = 1):
    from backend.messages.search import index_tokens
    rng = random.Random(seed)
    letters, _, labels = samples()
    now = datetime.now(timezone.utc)
    for g in range(1, n + 1):
        station = 1 + g % STATIONS
        deputy = 1 + (g % STATIONS) * DEPUTIES_PER_STATION + (g // STATIONS) % DEPUTIES_PER_STATION
        created = now - timedelta(days=730 * (n - g) / n)
        status = rng.choice(STATUSES)
        body = fake_body(rng, letters)
        yield ("web", station, deputy, deputy, status, rng.choice(labels)[:20], body, "", "", "",
               False, "", "与代表履职无关" if status == "rejected" else "",
               "12345热线" if status == "forwarded" else "", "", created,
               created + timedelta(days=3), created + timedelta(days=21), created,
               index_tokens(body))


def load_postgres(app, n: int) -> None:
    from flask_migrate import downgrade, upgrade

    from backend.core.extensions import db
    with app.app_context():
        downgrade(revision="base")
        upgrade()
        _org(db)
        db.session.commit()
        t0 = time.perf_counter()
        raw = db.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("DROP INDEX ix_messages_search")  # built once after the COPY, far faster
            with cur.copy(f"COPY messages ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for i, row in enumerate(_rows(n)):
                    copy.write_row(row)
                    if i % 100_000 == 0 and i:
                        print(f"  {i:,} rows, {time.perf_counter() - t0:.0f} s", flush=True)
            t1 = time.perf_counter()
            cur.execute(_migration().PG_EXTENSION)
            cur.execute("SET maintenance_work_mem = '512MB'")
            cur.execute(_migration().PG_INDEX)
            cur.execute("ANALYZE")
            raw.commit()
        finally:
            raw.close()
        print(f"loaded {n:,} messages in {t1 - t0:.0f} s, GIN index and ANALYZE in "
              f"{time.perf_counter() - t1:.0f} s")
        size = db.session.execute(sa.text(
            "SELECT pg_size_pretty(pg_relation_size('ix_messages_search')),"
            " pg_size_pretty(pg_total_relation_size('messages'))")).one()
        print(f"search index {size[0]}, messages table with all its indexes {size[1]}")


def _migration():
    """The search migration's module: the index is built with its own statement."""
    import importlib.util
    path, = (Path(__file__).resolve().parent.parent / "migrations" / "versions").glob(
        "*_c4f1e2a9b7d3_*.py")
    spec = importlib.util.spec_from_file_location("search_migration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_sqlite(app, n: int) -> None:
    from flask_migrate import upgrade

    from backend.core.extensions import db
    with app.app_context():
        upgrade()
        _org(db)
        db.session.commit()
        t0 = time.perf_counter()
        stmt = sa.insert(sa.table("messages", *(sa.column(c) for c in COLUMNS)))
        batch = []
        for row in _rows(n):
            batch.append(dict(zip(COLUMNS, row)))
            if len(batch) == 10_000:
                db.session.execute(stmt, batch)
                batch = []
        if batch:
            db.session.execute(stmt, batch)
        db.session.commit()
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
        print(f"loaded {n:,} messages (FTS5 kept by triggers) in {time.perf_counter() - t0:.0f} s")


def _org(db) -> None:
    from backend.accounts.operations import create_staff
    from backend.org.models import Deputy, Station
    for s in range(1, STATIONS + 1):
        station = Station(name=f"第{s}联络站", kind="station", address="")
        db.session.add(station)
        db.session.flush()
        for d in range(DEPUTIES_PER_STATION):
            db.session.add(Deputy(name=f"代表{s}-{d}", level="county", stations=[station]))
    db.session.flush()
    first = db.session.scalar(db.select(Station).order_by(Station.id))
    create_staff(username="bench-liaison", display_name="基准联络员", role="liaison",
                 password="bench-pass-1", stations=[first])
    create_staff(username="bench-admin", display_name="基准管理员", role="admin",
                 password="bench-pass-1")


def measure(app, n_queries: int, repeats: int):
    from backend.accounts.models import StaffUser
    from backend.core.extensions import db
    from backend.messages.queue import QueueFilters, liaison_queue
    from backend.messages.search import match_clause, query_terms
    from backend.messages.models import Message
    _, subjects, _ = samples()
    qs = queries(random.Random(7), subjects, n_queries)
    results = []
    with app.app_context():
        for username in ("bench-liaison", "bench-admin"):
            user = db.session.scalar(db.select(StaffUser).filter_by(username=username))
            for q in qs:  # warm-up, untimed
                liaison_queue(user, QueueFilters(q=q, status="all"))
            times, empty = [], 0
            for _ in range(repeats):
                for q in qs:
                    t0 = time.perf_counter()
                    page = liaison_queue(user, QueueFilters(q=q, status="all"))
                    times.append((time.perf_counter() - t0) * 1000)
                    empty += not page.items
            db.session.rollback()
            times.sort()
            results.append((username, statistics.median(times), times[int(len(times) * 0.99) - 1],
                            times[-1], empty / repeats))
        counts = sorted(db.session.scalar(db.select(sa.func.count()).select_from(Message).where(
            match_clause(query_terms(q)))) for q in qs[:50])
    return qs, results, counts


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--reload", action="store_true")
    parser.add_argument("--sqlite", action="store_true", help=f"SQLite in {SQLITE_PATH}")
    args = parser.parse_args()
    if args.sqlite:
        if args.reload and os.path.exists(SQLITE_PATH):
            os.remove(SQLITE_PATH)
        url = f"sqlite:///{SQLITE_PATH}"
    else:
        url = os.environ.get("BENCH_SEARCH_DATABASE_URL", DEFAULT_URL)
        ensure_database(url)
    app = production_app(url)
    with app.app_context():
        from backend.core.extensions import db
        have = sa.inspect(db.engine).has_table("messages") and db.session.execute(
            sa.text("SELECT count(*) FROM messages")).scalar()
    if args.reload or not have or have < args.messages:
        (load_sqlite if args.sqlite else load_postgres)(app, args.messages)
    print(f"load average before measuring: {os.getloadavg()}")
    qs, rows, counts = measure(app, args.queries, args.repeats)
    print(f"load average after measuring: {os.getloadavg()}")
    print(f"\n两个词的查询，首页 20 条（{args.messages:,} 条留言，{STATIONS} 个联络站，"
          f"{len(qs)} 个查询 × {args.repeats} 轮，已预热；{'SQLite' if args.sqlite else 'PostgreSQL'}）")
    print(f"例：{'、'.join(qs[:5])}")
    print(f"{'谁':<16}{'p50':>8}{'p99':>8}{'max':>8}{'无结果':>8}  (ms)")
    for who, p50, p99, worst, empty in rows:
        print(f"{who:<16}{p50:>8.1f}{p99:>8.1f}{worst:>8.1f}{empty:>8.0f}")
    print(f"命中条数（前 50 个查询，全部联络站）：最少 {counts[0]:,}，中位数 "
          f"{counts[len(counts) // 2]:,}，最多 {counts[-1]:,}")


if __name__ == "__main__":
    main()
