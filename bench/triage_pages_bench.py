"""Benchmark: what the triage help costs a staff page at the bounds the code sets.

Loads N real messages (messages_with_votes.csv, subject + body) into one station of a fresh
SQLite database in a temp directory (or BENCH_DATABASE_URL), spread over the last 30 days, then
times, each several times:
- `duplicates_of` the newest message (every earlier open message of the station, up to
  DUPLICATE_WINDOW, scored exactly),
- the scheduler's `update_clusters` placing them, then `hot_issues` over the window (read from the
  stored clusters),
- `suggestions_for` a queue page of 20 messages with nothing stored (the model run in the read path),
- `fill_suggestions(500)` (the scheduler's step).

    .venv/bin/python bench/triage_pages_bench.py [--messages 2000]

Run by hand, not in CI.
"""
import argparse
import csv
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DATA = Path("/work/shared/data/messages_with_votes.csv")


def timed(fn, repeat=5):
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        runs.append(time.perf_counter() - t0)
    return result, statistics.median(runs), max(runs)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="triage-bench-")
    os.environ["LIANXIN_INSTANCE"] = tmp
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite"

    from flask_migrate import upgrade

    from backend import create_app
    from backend.core.extensions import db
    from backend.core.timeutil import utcnow
    from backend.messages import hot_clusters, triage
    from backend.messages.hot_issues import hot_issues
    from backend.messages.models import Message
    from backend.org.models import Station
    from backend.accounts.operations import create_staff

    app = create_app(SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        station = Station(name="基准联络站", kind="station", address="")
        db.session.add(station)
        db.session.flush()
        with open(DATA, encoding="utf-8-sig", newline="") as fh:
            rows = [r for r in csv.DictReader(fh)][: args.messages]
        now = utcnow()
        span = timedelta(days=29)
        values = [dict(station_id=station.id, status="new", category="", body=(r["subject"] + "。" + r["body"])[:2000],
                       place="", channel="web", phone_last4="", phone_prefix="", may_publish=False,
                       hold_reason="", reject_reason="", forward_to="", forward_ref="",
                       created_at=now - span + span * i / len(rows), ack_due_at=now, answer_due_at=now,
                       updated_at=now, resident_id=None)
                  for i, r in enumerate(rows)]
        db.session.execute(db.insert(Message), values)
        admin = create_staff(username="bench-admin", display_name="基准", role="admin", password="bench-pass-123")
        db.session.commit()
        newest = db.session.scalar(db.select(Message).order_by(Message.id.desc()).limit(1))
        page = db.session.scalars(db.select(Message).order_by(Message.id.desc()).limit(20)).all()
        print(f"{len(rows)} messages in one station, database {url.split(':')[0]}")
        triage.suggestion_for(newest)  # load the model once, as a worker does
        found, med, worst = timed(lambda: triage.duplicates_of(newest))
        print(f"duplicates_of(newest): median {med * 1000:.0f} ms, max {worst * 1000:.0f} ms ({len(found)} found)")
        t0 = time.perf_counter()
        placed = hot_clusters.update_clusters()
        db.session.commit()
        print(f"update_clusters (the job, cold process): {time.perf_counter() - t0:.2f} s for {placed} messages")
        found, med, worst = timed(lambda: hot_issues(admin, days=30), repeat=3)
        print(f"hot_issues(30 days), read from the clusters: median {med * 1000:.0f} ms, max {worst * 1000:.0f} ms "
              f"({len(found)} issues)")
        found, med, worst = timed(lambda: triage.suggestions_for(page))
        print(f"suggestions_for(20 unstored): median {med * 1000:.1f} ms, max {worst * 1000:.1f} ms")
        t0 = time.perf_counter()
        n = triage.fill_suggestions(500)
        db.session.commit()
        print(f"fill_suggestions(500): {time.perf_counter() - t0:.2f} s for {n} rows")
        print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
