"""Hot issues: cluster 100,000 messages on arrival and time it (target: under 60 s).

The messages are edited copies of messages_with_votes.csv (some bases much more popular than
others, as real hot issues are), from a pool of residents, spread over a year. Besides the time,
it reports how well copies of one base message stay together (recall) and how pure the clusters are.

    .venv/bin/python bench/hotspots_bench.py [--n 100000] [--window-days 30]   # one HotspotIndex in memory
    .venv/bin/python bench/hotspots_bench.py --db [--n 100000] [--stations 4]    # the product's path

--db is what the product does: the messages are rows of a fresh SQLite database (or
BENCH_DATABASE_URL), in time order over `--stations` stations; it times the backfill
(`hot_clusters.rebuild`, what `flask triage clusters rebuild` runs), a cold process warming its
index, the scheduler's step for new arrivals (`update_clusters`) and the page's read (`hot_issues`).
"""
import argparse
import random
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from triage_edits import EDITS, edit, read  # noqa: E402

from backend.triage.hotspots import HotspotIndex  # noqa: E402


def generate(n, rng):
    bases = [r for r in read("messages_with_votes.csv") if len(r["body"]) >= 30]
    weights = [1 / (i + 1) ** 0.8 for i in range(len(bases))]  # Zipf-like popularity
    start = datetime(2026, 1, 1)
    centre = {i: start + timedelta(days=rng.uniform(0, 365)) for i in range(len(bases))}
    out = []
    for k in range(n):
        i = rng.choices(range(len(bases)), weights)[0] if k >= len(bases) else k
        row = bases[i]
        kind = rng.choice(EDITS)
        at = centre[i] + timedelta(days=rng.uniform(-10, 10), seconds=rng.randint(0, 86400))
        out.append((k, i, edit(rng, row["subject"], "delete") if rng.random() < 0.3 else row["subject"],
                    edit(rng, row["body"], kind), at, f"u{rng.randint(0, 40000)}", rng.randint(0, 5)))
    out.sort(key=lambda m: m[4])
    return out


def quality(messages, cluster_of):
    """(share of copies in their base's main cluster, cluster purity, clusters)"""
    by_base, by_cluster = defaultdict(list), defaultdict(list)
    for key, base, *_ in messages:
        by_base[base].append(cluster_of[key])
        by_cluster[cluster_of[key]].append(base)
    together = sum(Counter(c).most_common(1)[0][1] for c in by_base.values())
    pure = sum(Counter(b).most_common(1)[0][1] for b in by_cluster.values())
    return together / len(messages), pure / len(messages), len(by_cluster)


def timed(label, fn):
    t0, c0 = time.perf_counter(), time.process_time()
    result = fn()
    # CPU time too: on a shared machine the wall clock also measures the neighbours
    print(f"{label}: {time.perf_counter() - t0:.1f} s wall, {time.process_time() - c0:.1f} s CPU", flush=True)
    return result


def in_database(messages, args):
    import os
    import tempfile

    tmp = tempfile.mkdtemp(prefix="hotspots-bench-")
    os.environ["LIANXIN_INSTANCE"] = tmp
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite"
    from flask_migrate import upgrade

    from backend import create_app
    from backend.accounts.operations import create_staff
    from backend.accounts.resident_model import Resident
    from backend.core.extensions import db
    from backend.messages import hot_clusters
    from backend.messages.hot_issues import hot_issues
    from backend.messages.models import Message
    from backend.messages.triage_model import HotClusterMessage
    from backend.org.models import Station

    utc = lambda at: at.replace(tzinfo=timezone.utc)  # noqa: E731 - the columns take aware UTC times
    app = create_app(SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        stations = [Station(name=f"基准联络站{i}", kind="station", address="") for i in range(args.stations)]
        db.session.add_all(stations)
        people = sorted({m[5] for m in messages})
        db.session.execute(db.insert(Resident), [dict(web_key=p, created_at=utc(messages[0][4])) for p in people])
        resident_id = dict(db.session.execute(db.select(Resident.web_key, Resident.id)).all())
        db.session.flush()
        # a base message's copies go to one station, as residents of one estate write to theirs
        rows = [dict(station_id=stations[base % len(stations)].id, status="new", category="", place=subject[:120],
                     body=body or subject, channel="web", phone_last4="", phone_prefix="", may_publish=False,
                     hold_reason="", reject_reason="", forward_to="", forward_ref="", created_at=utc(at),
                     ack_due_at=utc(at), answer_due_at=utc(at), updated_at=utc(at), resident_id=resident_id[resident])
                for key, base, subject, body, at, resident, _likes in messages]
        later, rows = rows[-args.arrivals:], rows[:-args.arrivals]
        for i in range(0, len(rows), 5000):
            db.session.execute(db.insert(Message), rows[i:i + 5000])
        admin = create_staff(username="bench-admin", display_name="基准", role="admin", password="bench-pass-123")
        db.session.commit()
        print(f"{len(rows)} messages in {args.stations} stations, database {url.split(':')[0]}; "
              f"then {len(later)} arrivals", flush=True)

        done = timed(f"backfill (rebuild) of {len(rows)} messages", lambda: hot_clusters.rebuild(commit=db.session.commit))
        db.session.commit()
        hot_clusters.forget()
        timed("cold process: warming the index from the last window", hot_clusters._state)
        db.session.execute(db.insert(Message), later)
        db.session.commit()
        before = hot_clusters._state().comparisons
        runs = []
        for _ in range((len(later) + hot_clusters.BATCH - 1) // hot_clusters.BATCH):
            t0 = time.perf_counter()
            n = hot_clusters.update_clusters()
            db.session.commit()
            runs.append((n, time.perf_counter() - t0))
        per = sum(t for _, t in runs) / max(1, sum(n for n, _ in runs))
        print(f"scheduler step: {len(later)} arrivals in {len(runs)} runs, {sum(t for _, t in runs):.2f} s "
              f"({per * 1000:.2f} ms a message, {(hot_clusters._state().comparisons - before) / len(later):.1f} "
              f"similarities a message)")
        t0 = time.perf_counter()
        idle = hot_clusters.update_clusters()
        db.session.commit()
        print(f"scheduler step with nothing new: {1000 * (time.perf_counter() - t0):.0f} ms ({idle} placed)")
        now = utc(max(m[4] for m in messages))
        for days in (30, 90):
            t0 = time.perf_counter()
            issues = hot_issues(admin, days=days, now=now)
            print(f"hot_issues(admin, {days} days) read: {1000 * (time.perf_counter() - t0):.0f} ms, "
                  f"top heat {issues[0].heat if issues else 0:.1f}")
        ids = db.session.execute(db.select(Message.id).order_by(Message.id)).scalars().all()
        member = dict(db.session.execute(db.select(HotClusterMessage.message_id, HotClusterMessage.cluster_id)).all())
        by_order = {m[0]: member[i] for m, i in zip(messages, ids)}
        together, pure, clusters = quality(messages, by_order)
        print(f"placed {done + len(later)}; clusters {clusters}; copies in their base's main cluster {together:.3f}; "
              f"cluster purity {pure:.3f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--window-days", type=float, default=30)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--db", action="store_true", help="the product's path: database, backfill, job, page")
    ap.add_argument("--stations", type=int, default=4)
    ap.add_argument("--arrivals", type=int, default=2000, help="--db: messages that arrive after the backfill")
    args = ap.parse_args()
    import os
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    messages = generate(args.n, rng)
    print(f"generated {len(messages)} messages in {time.perf_counter() - t0:.1f} s (load average {os.getloadavg()[0]:.1f})")
    if args.db:
        in_database(messages, args)
        print(f"load average {os.getloadavg()[0]:.1f}")
        return
    t1, c1 = time.perf_counter(), time.process_time()
    index = HotspotIndex(window_days=args.window_days)
    cluster_of = {}
    for key, _base, subject, body, at, resident, likes in messages:
        cluster_of[key] = index.add(key, subject, body, at, resident, likes).id
    t2, c2 = time.perf_counter(), time.process_time()
    together, pure, _clusters = quality(messages, cluster_of)
    now = max(m[4] for m in messages)
    print(f"clusters: {len(index.clusters)}; copies in their base's main cluster {together:.3f}; "
          f"cluster purity {pure:.3f}")
    print("hottest now:")
    for cluster, heat in index.ranked(now, limit=5):
        print(f"  heat {heat:7.2f}  residents {len(cluster.residents):4d}  messages {len(cluster.keys):4d}  "
              f"likes {cluster.likes:5d}  {cluster.title[:30]}")
    # CPU time too: on a shared machine the wall clock also measures the neighbours
    print(f"clustered {len(messages)} messages in {t2 - t1:.1f} s wall, {c2 - c1:.1f} s CPU "
          f"({1e6 * (t2 - t1) / len(messages):.0f} µs each, wall)")


if __name__ == "__main__":
    main()
