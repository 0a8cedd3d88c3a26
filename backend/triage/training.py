"""Training the category model (needs scikit-learn; the predictor in category.py does not)."""
import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backend.triage.category import BLOCKS, CategoryModel, tokenize


@dataclass(frozen=True)
class Row:
    subject: str
    body: str
    label: str


# Per-block settings measured by bench/triage_eval.py: character n-grams alone beat them with
# jieba words added (0.888 against 0.882) and cost a third of the time; the subject weighs less
# than the body (it is short, and 60 % of the labelled rows carry it inside the body anyway).
# A block of weight 0 is left out of the model. body_chars min_df 3 scores as 2 (other fold seeds)
# with a smaller model.
DEFAULTS = {
    "block_weights": {"body_words": 0.0, "body_chars": 1.0, "subject_words": 0.0, "subject_chars": 0.5,
                      "head_chars": 0.0},
    "min_df": {"body_words": 1, "body_chars": 3, "subject_words": 1, "subject_chars": 1, "head_chars": 1},
    "C": 1.0,
    "uncertain_below": 0.5,
    "top3_margin": 0.3,
}


class RowsError(ValueError):
    """A CSV that cannot be used; the message is meant for the person running the command."""


def read_rows(path: Path | str, require_label: bool = True) -> list[Row]:
    """Rows of a CSV with the columns of messages_labelled.csv (subject, body, label; others ignored)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = {"body", "label"} - set(reader.fieldnames or ())
            if missing:
                raise RowsError(f"文件缺少列：{'、'.join(sorted(missing))}（需要 subject、body、label 三列）")
            rows = [Row((r.get("subject") or "").strip(), (r.get("body") or "").strip(), (r.get("label") or "").strip())
                    for r in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise RowsError(f"无法读取文件 {path}：{err}") from err
    rows = [r for r in rows if (r.subject or r.body) and (r.label or not require_label)]
    if not rows:
        raise RowsError(f"文件 {path} 中没有可用的留言（需要有正文和类别）")
    return rows


def read_taxonomy(path: Path | str, labels) -> list[Row]:
    """The category tree (columns level1, level2, level3) as tiny training rows: "level2 level3"
    labelled level1, for the first-level labels the model learns (catch-all "其他" rows left out).
    They name each category's topics in the office's own words (5-fold CV: 0.896 against 0.892
    without them, see docs/triage.md)."""
    labels = set(labels)
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = {"level1", "level2", "level3"} - set(reader.fieldnames or ())
            if missing:
                raise RowsError(f"分类目录缺少列：{'、'.join(sorted(missing))}（需要 level1、level2、level3 三列）")
            tree = [(r["level1"].strip(), (r["level2"] or "").strip(), (r["level3"] or "").strip()) for r in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise RowsError(f"无法读取分类目录 {path}：{err}") from err
    return [Row("", f"{level2} {level3}", level1) for level1, level2, level3 in tree
            if level1 in labels and level3 and level3 != "其他"]


def with_corrections(rows, corrections) -> list[Row]:
    """The labelled rows with liaisons' corrections applied: a corrected message (same subject and
    body) takes its corrected label instead of appearing twice with two labels."""
    merged = {(r.subject, r.body): r for r in rows}
    merged.update({(r.subject, r.body): r for r in corrections})
    return list(merged.values())


def tokenize_rows(rows, blocks=None) -> list[dict[str, list[str]]]:
    return [tokenize(r.subject, r.body, blocks) for r in rows]


def _vectorizers(tokens, params):
    from sklearn.feature_extraction.text import TfidfVectorizer
    out = []
    for name, _field, _analyzer in BLOCKS:
        if not params["block_weights"].get(name):
            continue
        vec = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, min_df=params["min_df"].get(name, 1))
        vec.fit([t[name] for t in tokens])
        out.append((name, vec))
    return out


def _identity(tokens):
    return tokens


def _matrix(vectorizers, tokens, params):
    from scipy.sparse import hstack
    return hstack([vec.transform([t[name] for t in tokens]) * params["block_weights"][name]
                   for name, vec in vectorizers]).tocsr()


def _classifier(params):
    from sklearn.svm import LinearSVC
    return LinearSVC(C=params["C"], class_weight="balanced")


def _linear(X, labels, params):
    """(W, b) of the configured linear model; "svc+lr" sums the two models' decision values, each
    scaled to unit spread on the training rows, so the ensemble is still one linear layer."""
    if params.get("model", "svc") == "svc":
        clf = _classifier(params).fit(X, labels)
        return clf.coef_.T, clf.intercept_
    from sklearn.linear_model import LogisticRegression
    lr = LogisticRegression(C=params.get("lr_C", 20.0), class_weight="balanced", max_iter=3000).fit(X, labels)
    if params["model"] == "lr":
        return lr.coef_.T, lr.intercept_
    svc = _classifier(params).fit(X, labels)
    W, b = 0, 0
    for clf in (svc, lr):
        scale = np.std(clf.decision_function(X))
        W, b = W + clf.coef_.T / scale, b + clf.intercept_ / scale
    return W, b


def fit_tokens(tokens, labels, params=None, calibrate=True) -> CategoryModel:
    """Fit on pre-tokenised rows (the CV benchmark tokenises once for all folds)."""
    params = {**DEFAULTS, **(params or {})}
    labels = np.asarray(labels)
    classes = sorted({str(label) for label in labels})
    if len(classes) < 2:
        raise RowsError("训练数据至少需要两个类别")
    vectorizers = _vectorizers(tokens, params)
    X = _matrix(vectorizers, tokens, params)
    W, b = _linear(X, labels, params)
    if len(classes) == 2:  # one column for two classes: spread it as ±½ so softmax reads it
        W, b = np.column_stack([-W[:, 0], W[:, 0]]) / 2, np.array([-b[0], b[0]]) / 2
    temperature = _fit_temperature(X, labels, classes, params) if calibrate else 0.1
    blocks = [(name, vec.get_feature_names_out().tolist(), vec.idf_, params["block_weights"][name])
              for name, vec in vectorizers]
    return CategoryModel(classes, blocks, W, b, temperature, params["uncertain_below"], params["top3_margin"])


def _fit_temperature(X, labels, classes, params) -> float:
    """Softmax temperature over decision values that minimises the log-loss of out-of-fold
    predictions, so a confidence of 0.8 is right about 80 % of the time."""
    from sklearn.model_selection import StratifiedKFold
    n_splits = min(3, min(np.unique(labels, return_counts=True)[1]))
    if n_splits < 2:
        return 0.1
    y = np.searchsorted(classes, labels)
    D = np.zeros((len(labels), len(classes)))
    for tr, te in StratifiedKFold(n_splits, shuffle=True, random_state=0).split(X, labels):
        W, b = _linear(X[tr], labels[tr], params)
        if len(classes) == 2:
            W, b = np.column_stack([-W[:, 0], W[:, 0]]) / 2, np.array([-b[0], b[0]]) / 2
        D[te] = np.asarray(X[te] @ W) + b
    best, best_loss = 0.1, np.inf
    for t in np.geomspace(0.02, 2.0, 60):
        z = D / t
        z -= z.max(1, keepdims=True)
        loss = -np.mean(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(1)))
        if loss < best_loss:
            best, best_loss = float(t), loss
    return best


def train(rows, out_dir: Path | str, params=None) -> CategoryModel:
    """Train on rows (subject, body, label) and write category.json + category.npz to out_dir."""
    rows = list(rows)
    weights = {**DEFAULTS, **(params or {})}["block_weights"]
    model = fit_tokens(tokenize_rows(rows, {name for name, w in weights.items() if w}), [r.label for r in rows], params)
    model.save(Path(out_dir))
    return model


def evaluate(model: CategoryModel, rows) -> dict:
    """Per-class F1 and macro-F1 of `model` on labelled rows."""
    from sklearn.metrics import f1_score
    truth = [r.label for r in rows]
    pred = [model.suggest(r.subject, r.body).label for r in rows]
    labels = sorted(set(truth) | set(pred))
    per_class = f1_score(truth, pred, labels=labels, average=None, zero_division=0)
    return {"per_class": dict(zip(labels, map(float, per_class))),
            "support": {l: truth.count(l) for l in labels},
            "macro_f1": float(f1_score(truth, pred, labels=sorted(set(truth)), average="macro", zero_division=0)),
            "n": len(rows)}
