"""Category suggestion latency in process: p50/p99 per message with the shipped model (target:
p99 under 5 ms), plus the one-off load time.

    .venv/bin/python bench/triage_latency.py [--n 2000]
"""
import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from triage_edits import read  # noqa: E402

from backend.triage import category  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()
    rows = read("messages_with_replies.csv")  # messages the model was not trained on
    rng = random.Random(1)
    sample = [rng.choice(rows) for _ in range(args.n)]
    t0 = time.perf_counter()
    model = category.get_model()
    print(f"model loaded in {time.perf_counter() - t0:.2f} s; "
          f"{sum(len(idx) for _, idx, *_ in model.blocks)} features")
    times, cpu = [], []
    for row in sample:
        t, c = time.perf_counter(), time.process_time()
        category.suggest(row["subject"], row["body"])
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    ms = np.array(times) * 1000
    lengths = [len(r["subject"]) + len(r["body"]) for r in sample]
    print(f"{args.n} messages, median {int(np.median(lengths))} characters (max {max(lengths)})")
    print(f"wall ms per message: p50 {np.percentile(ms, 50):.2f}  p99 {np.percentile(ms, 99):.2f}  max {ms.max():.2f}")
    cpu_ms = np.array(cpu) * 1000  # on a shared machine the wall clock also measures the neighbours
    print(f"CPU ms per message:  p50 {np.percentile(cpu_ms, 50):.2f}  p99 {np.percentile(cpu_ms, 99):.2f}  "
          f"max {cpu_ms.max():.2f}")


if __name__ == "__main__":
    main()
