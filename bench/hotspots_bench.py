"""Hot issues: cluster 100,000 messages on arrival and time it (target: under 60 s).

The messages are edited copies of messages_with_votes.csv (some bases much more popular than
others, as real hot issues are), from a pool of residents, spread over a year and fed in time
order to one HotspotIndex. Besides the time, it reports how well copies of one base message stay
together (recall) and how pure the clusters are.

    .venv/bin/python bench/hotspots_bench.py [--n 100000] [--window-days 30]
"""
import argparse
import random
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--window-days", type=float, default=30)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    messages = generate(args.n, rng)
    t1, c1 = time.perf_counter(), time.process_time()
    index = HotspotIndex(window_days=args.window_days)
    cluster_of = {}
    for key, _base, subject, body, at, resident, likes in messages:
        cluster_of[key] = index.add(key, subject, body, at, resident, likes).id
    t2, c2 = time.perf_counter(), time.process_time()

    by_base = defaultdict(list)
    for key, base, *_ in messages:
        by_base[base].append(cluster_of[key])
    together = sum(Counter(c).most_common(1)[0][1] for c in by_base.values())
    by_cluster = defaultdict(list)
    for key, base, *_ in messages:
        by_cluster[cluster_of[key]].append(base)
    pure = sum(Counter(b).most_common(1)[0][1] for b in by_cluster.values())
    now = max(m[4] for m in messages)
    print(f"generated {len(messages)} messages from {len(by_base)} base messages in {t1 - t0:.1f} s")
    print(f"clusters: {len(index.clusters)}; copies in their base's main cluster {together / len(messages):.3f}; "
          f"cluster purity {pure / len(messages):.3f}")
    print("hottest now:")
    for cluster, heat in index.ranked(now, limit=5):
        print(f"  heat {heat:7.2f}  residents {len(cluster.residents):4d}  messages {len(cluster.keys):4d}  "
              f"likes {cluster.likes:5d}  {cluster.title[:30]}")
    # CPU time too: on a shared machine the wall clock also measures the neighbours
    print(f"clustered {len(messages)} messages in {t2 - t1:.1f} s wall, {c2 - c1:.1f} s CPU "
          f"({1e6 * (t2 - t1) / len(messages):.0f} µs each, wall)")


if __name__ == "__main__":
    main()
