"""Near-duplicate detection: precision and recall on programmatically edited copies.

Positives: N messages from messages_with_votes.csv, each with an edited copy (deletions,
insertions, substitutions, sentence reordering, a changed phone number, or two of these).
Hard negatives: N messages from messages_labelled.csv, each paired with the most similar *other*
message of the same category (by shingle Jaccard), i.e. the earlier message most likely to be
confused with it. Every original and every negative partner goes into one DuplicateIndex; a pair
counts as "found" when querying the first text returns the second.

    .venv/bin/python bench/dupes_eval.py [--n 1000] [--seed 7]
"""
import argparse
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from triage_edits import EDITS, edit, read  # noqa: E402

from backend.triage.duplicates import DuplicateIndex, similarity  # noqa: E402


def text_of(row):
    return f"{row['subject']}\n{row['body']}".strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    votes = [r for r in read("messages_with_votes.csv") if len(r["body"]) >= 30]
    originals = rng.sample(votes, args.n)
    positives = []  # (query text, target key, edit kind)
    index = DuplicateIndex()
    for i, row in enumerate(originals):
        kind = EDITS[i % len(EDITS)]
        index.add(f"o{i}", text_of(row))
        positives.append((edit(rng, text_of(row), kind), f"o{i}", kind))

    labelled = read("messages_labelled.csv")
    by_label = defaultdict(list)
    for j, row in enumerate(labelled):
        by_label[row["label"]].append(j)
    shingles = [DuplicateIndex.shingles(text_of(r)) for r in labelled]
    negatives = []
    skipped = 0
    for j in rng.sample(range(len(labelled)), args.n):
        others = [k for k in by_label[labelled[j]["label"]] if k != j]
        scores = [similarity(shingles[j], shingles[k]) for k in others]
        best = int(np.argmax(scores))
        if scores[best] >= 0.8:  # the data's own duplicates are not negatives
            skipped += 1
            continue
        key = f"n{others[best]}"
        if key not in index:
            index.add(key, text_of(labelled[others[best]]))
        negatives.append((text_of(labelled[j]), key, scores[best]))

    t0 = time.perf_counter()
    found_by_kind = defaultdict(lambda: [0, 0])
    tp = fn = 0
    for query, target, kind in positives:
        hit = any(m.key == target for m in index.query(query, limit=50))
        tp += hit
        fn += not hit
        found_by_kind[kind][0] += hit
        found_by_kind[kind][1] += 1
    fp = sum(any(m.key == target for m in index.query(q, limit=50)) for q, target, _ in negatives)
    elapsed = time.perf_counter() - t0
    n_queries = len(positives) + len(negatives)

    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn)
    print(f"index: {len(index)} texts; {len(positives)} positive pairs, {len(negatives)} hard negative pairs "
          f"(skipped {skipped} whose nearest same-category message is itself a duplicate)")
    print(f"hard negatives' similarity: median {np.median([s for *_, s in negatives]):.3f}, "
          f"max {max(s for *_, s in negatives):.3f} (threshold {index.threshold})")
    for kind in EDITS:
        hit, total = found_by_kind[kind]
        print(f"  recall {kind:<11} {hit}/{total} = {hit / total:.3f}")
    print(f"false positives: {fp}/{len(negatives)}")
    print(f"query time: {1000 * elapsed / n_queries:.2f} ms per query")
    print(f"precision {precision:.3f}  recall {recall:.3f}")


if __name__ == "__main__":
    main()
