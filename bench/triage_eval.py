"""Category suggestion: stratified 5-fold cross-validation on messages_labelled.csv, the shipped
pipeline side by side with the baseline (TF-IDF over jieba words + LinearSVC) in the same run.

    .venv/bin/python bench/triage_eval.py              # baseline and the shipped settings
    .venv/bin/python bench/triage_eval.py --variants   # also the alternatives that were tried
    .venv/bin/python bench/triage_eval.py --self-train 1.0 [--self-train 2.0]   # pseudo-labels, see below

Prints macro-F1 per fold and the mean, and how the confidence behaves (share marked uncertain,
accuracy of the rest); with --ship, then trains on all rows and writes the shipped model.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.triage import training as T  # noqa: E402
from backend.triage.category import MODEL_DIR  # noqa: E402
from backend.triage.text import words  # noqa: E402

DATA = "/work/shared/data/messages_labelled.csv"
TAXONOMY = "/work/shared/data/category_tree.csv"
UNLABELLED = ("/work/shared/data/messages_with_votes.csv", "/work/shared/data/messages_with_replies.csv")


def unlabelled_rows(labelled):
    """The other two files' messages, each once, without the near-copies of a labelled message
    (a test fold's message must not come back as a pseudo-labelled training row)."""
    from backend.triage.duplicates import DuplicateIndex
    from backend.triage.text import compact
    index = DuplicateIndex()
    for i, r in enumerate(labelled):
        index.add(i, f"{r.subject} {r.body}")
    seen, out, dropped = set(), [], 0
    for path in UNLABELLED:
        for r in T.read_rows(path, require_label=False):
            key = compact(r.subject + r.body)
            if key in seen:
                continue
            seen.add(key)
            if index.query(f"{r.subject} {r.body}", limit=1):
                dropped += 1
                continue
            out.append(r)
    print(f"unlabelled: {len(out)} messages ({dropped} near-copies of labelled ones left out)")
    return out


def self_trained(tr_tokens, tr_labels, u_tokens, margin):
    """Fit on the training fold, label the unlabelled messages whose first decision value leads
    the second by at least `margin`, refit on both (vocabulary and idf too: all inside the fold)."""
    model = T.fit_tokens(tr_tokens, tr_labels, calibrate=False)
    D = np.array([model.decision_tokens(t) for t in u_tokens])
    top = np.sort(D, 1)
    keep = np.flatnonzero(top[:, -1] - top[:, -2] >= margin)
    pseudo = np.array(model.labels)[D[keep].argmax(1)]
    return T.fit_tokens(list(tr_tokens) + [u_tokens[i] for i in keep], np.r_[tr_labels, pseudo],
                        calibrate=False), len(keep)


def baseline(tr_rows, te_rows):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC
    vec = TfidfVectorizer(analyzer=lambda r: words(f"{r.subject} {r.body}"))
    clf = LinearSVC().fit(vec.fit_transform(tr_rows), [r.label for r in tr_rows])
    return list(clf.predict(vec.transform(te_rows)))


VARIANTS = {
    "LogisticRegression": {"model": "lr"},
    "LinearSVC + LR ensemble": {"model": "svc+lr"},
    "subject weight 1.0": {"block_weights": {"body_words": 0, "body_chars": 1, "subject_words": 0, "subject_chars": 1}},
    "subject weight 0.3": {"block_weights": {"body_words": 0, "body_chars": 1, "subject_words": 0, "subject_chars": .3}},
    "C 0.3": {"C": 0.3},
    "C 3": {"C": 3.0},
    "with jieba word blocks": {"block_weights": {"body_words": 1, "body_chars": 1, "subject_words": .5,
                                                 "subject_chars": .5}},
    "jieba words only": {"block_weights": {"body_words": 1, "body_chars": 0, "subject_words": .5, "subject_chars": 0}},
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variants", action="store_true")
    ap.add_argument("--ship", action="store_true", help="then train on all rows and write the shipped model")
    ap.add_argument("--self-train", type=float, action="append", default=[], metavar="MARGIN",
                    help="also self-training on the unlabelled files with this decision margin (repeatable)")
    args = ap.parse_args()
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    rows = T.read_rows(DATA)
    y = np.array([r.label for r in rows])
    t0 = time.perf_counter()
    tokens = T.tokenize_rows(rows)
    print(f"{len(rows)} messages, tokenised in {time.perf_counter() - t0:.1f} s")
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(rows, y))

    def report(name, fold_scores):
        print(f"{name:<28}" + "".join(f"{s:8.3f}" for s in fold_scores) + f"   mean {np.mean(fold_scores):.3f}", flush=True)

    print(f"{'':<28}" + "".join(f"  fold {i + 1}" for i in range(5)))
    report("baseline TF-IDF+LinearSVC", [
        f1_score(y[te], baseline([rows[i] for i in tr], [rows[i] for i in te]), average="macro") for tr, te in folds])

    # The shipped pipeline: each training fold plus the category tree's names (never a message)
    tree = T.read_taxonomy(TAXONOMY, set(y))
    tree_tokens, tree_y = T.tokenize_rows(tree, {"body_chars", "subject_chars"}), np.array([r.label for r in tree])
    report("char n-grams, no taxonomy", [
        f1_score(y[te], [model.labels[int(np.argmax(model.decision_tokens(tokens[i])))] for i in te], average="macro")
        for tr, te in folds for model in [T.fit_tokens([tokens[i] for i in tr], y[tr], calibrate=False)]])
    scores, uncertain, certain_right, certain_n, top3_hit = [], 0, 0, 0, 0
    for tr, te in folds:
        model = T.fit_tokens([tokens[i] for i in tr] + tree_tokens, np.r_[y[tr], tree_y])
        sugg = [model.suggestion_from(model.decision_tokens(tokens[i])) for i in te]
        scores.append(f1_score(y[te], [s.label for s in sugg], average="macro"))
        for s, truth in zip(sugg, y[te]):
            uncertain += s.uncertain
            if not s.uncertain:
                certain_n += 1
                certain_right += s.label == truth
            top3_hit += s.label == truth or any(label == truth for label, _ in s.top3)
    report("shipped (+ taxonomy names)", scores)
    n = len(rows)
    print(f"  uncertain {uncertain / n:.1%}; accuracy when not uncertain {certain_right / certain_n:.3f}; "
          f"right label shown (first or top-3) {top3_hit / n:.3f}")

    if args.self_train:
        unlabelled = unlabelled_rows(rows)
        u_tokens = T.tokenize_rows(unlabelled, {"body_chars", "subject_chars"})
        for margin in args.self_train:
            scores, added = [], []
            for tr, te in folds:
                model, n = self_trained([tokens[i] for i in tr], y[tr], u_tokens, margin)
                added.append(n)
                scores.append(f1_score(y[te], [model.labels[int(np.argmax(model.decision_tokens(tokens[i])))]
                                               for i in te], average="macro"))
            report(f"self-training margin {margin}", scores)
            print(f"  pseudo-labelled per fold: {added}")

    if args.ship:
        model = T.fit_tokens(tokens + tree_tokens, np.r_[y, tree_y])
        model.save(MODEL_DIR)
        size = sum(f.stat().st_size for f in MODEL_DIR.glob("category.*"))
        print(f"shipped model written to {MODEL_DIR} ({size / 1e6:.1f} MB, temperature {model.temperature:.3f})")

    if args.variants:
        for name, params in VARIANTS.items():
            report(name, [f1_score(y[te], [model.labels[int(np.argmax(model.decision_tokens(tokens[i])))] for i in te],
                                   average="macro")
                          for tr, te in folds
                          for model in [T.fit_tokens([tokens[i] for i in tr], y[tr], params, calibrate=False)]])


if __name__ == "__main__":
    main()
