"""Category suggestion: a linear model over TF-IDF blocks, run with numpy only.

The model is two plain files (no pickle): `category.json` (labels, per-block vocabulary and
settings) and `category.npz` (idf per block, weights, bias). `training.py` writes them; this
module reads them once per process. Any failure to load or score gives None and a log line:
a message is never held up by its suggestion.
"""
import json
import logging
import math
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from backend.triage import text as tx

log = logging.getLogger("lianxin.triage")

MODEL_DIR = Path(__file__).resolve().parent / "model"
FORMAT_VERSION = 1
ANALYZERS = {"words": tx.words, "chars": lambda s: tx.char_ngrams(s, 1, 3)}
# (block name, field, analyzer): the subject is its own block so it can weigh more than the body.
BLOCKS = (
    ("body_words", "body", "words"),
    ("body_chars", "body", "chars"),
    ("subject_words", "subject", "words"),
    ("subject_chars", "subject", "chars"),
)


@dataclass(frozen=True)
class Suggestion:
    label: str
    confidence: float
    top3: list[tuple[str, float]] = field(default_factory=list)  # empty when the first is clearly ahead
    uncertain: bool = False


# A bound on the work per message (the p99 budget is 5 ms); only a handful of real messages are
# longer, and their opening says what they are about.
BODY_CHARS = 3000


def tokenize(subject: str | None, body: str | None, blocks=None) -> dict[str, list[str]]:
    """Tokens of each block in `blocks` (names; default: all), each analyzer run once per field."""
    fields = {"subject": subject or "", "body": (body or "")[:BODY_CHARS]}
    cache: dict[tuple[str, str], list[str]] = {}
    out = {}
    for name, fld, analyzer in BLOCKS:
        if blocks is not None and name not in blocks:
            continue
        key = (fld, analyzer)
        if key not in cache:
            cache[key] = ANALYZERS[analyzer](fields[fld])
        out[name] = cache[key]
    return out


class CategoryModel:
    """Weights W (features × classes), bias b, and for each block its vocabulary, idf and weight."""

    def __init__(self, labels, blocks, W, b, temperature=1.0, uncertain_below=0.5, top3_margin=0.3):
        self.labels = list(labels)
        self.blocks = []  # (name, {token: global index}, idf, weight)
        offset = 0
        for name, vocab, idf, weight in blocks:
            index = {tok: offset + i for i, tok in enumerate(vocab)}
            self.blocks.append((name, index, np.asarray(idf, dtype=np.float32), float(weight), offset))
            offset += len(vocab)
        self.block_names = {name for name, *_ in self.blocks}
        self.W = np.asarray(W, dtype=np.float32)
        self.b = np.asarray(b, dtype=np.float32)
        if self.W.shape != (offset, len(self.labels)) or self.b.shape != (len(self.labels),):
            raise ValueError(f"weights {self.W.shape} do not match {offset} features × {len(self.labels)} classes")
        self.temperature = float(temperature)
        self.uncertain_below = float(uncertain_below)
        self.top3_margin = float(top3_margin)

    # -- scoring ---------------------------------------------------------------------------------
    def decision(self, subject: str | None, body: str | None) -> np.ndarray:
        return self.decision_tokens(tokenize(subject, body, self.block_names))

    def decision_tokens(self, tokens: dict[str, list[str]]) -> np.ndarray:
        idx_parts, val_parts = [], []
        for name, index, idf, weight, offset in self.blocks:
            counts = Counter(t for t in tokens[name] if t in index)
            if not counts:
                continue
            idx = np.fromiter((index[t] for t in counts), dtype=np.int64, count=len(counts))
            # sublinear tf × idf, l2-normalised per block: what TfidfVectorizer(sublinear_tf=True) does
            val = np.fromiter((1.0 + math.log(c) for c in counts.values()), dtype=np.float32, count=len(counts))
            val *= idf[idx - offset]
            val *= weight / np.linalg.norm(val)
            idx_parts.append(idx)
            val_parts.append(val)
        if not idx_parts:
            return self.b.copy()
        idx = np.concatenate(idx_parts)
        return np.concatenate(val_parts) @ self.W[idx] + self.b

    def probabilities(self, decision: np.ndarray) -> np.ndarray:
        z = decision / self.temperature
        z = np.exp(z - z.max())
        return z / z.sum()

    def suggest(self, subject: str | None, body: str | None) -> Suggestion:
        tokens = tokenize(subject, body, self.block_names)
        known = any(t in index for name, index, *_ in self.blocks for t in tokens[name])
        return self.suggestion_from(self.decision_tokens(tokens), known)

    def suggestion_from(self, decision: np.ndarray, known: bool = True) -> Suggestion:
        """`known=False`: no token of the message is in the vocabulary, so the scores are the
        classes' priors, not evidence: always uncertain."""
        p = self.probabilities(decision)
        order = np.argsort(-p)
        first, second = float(p[order[0]]), float(p[order[1]]) if len(p) > 1 else 0.0
        uncertain = first < self.uncertain_below or not known
        top3 = []
        if uncertain or first - second < self.top3_margin:
            top3 = [(self.labels[i], round(float(p[i]), 3)) for i in order[:3]]
        return Suggestion(self.labels[order[0]], round(first, 3), top3, uncertain)

    # -- files -----------------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": FORMAT_VERSION,
            "labels": self.labels,
            "temperature": self.temperature,
            "uncertain_below": self.uncertain_below,
            "top3_margin": self.top3_margin,
            "blocks": [
                {"name": name, "weight": weight, "vocabulary": sorted(index, key=index.get)}
                for name, index, _idf, weight, _off in self.blocks
            ],
        }
        arrays = {f"idf_{name}": idf for name, _i, idf, _w, _o in self.blocks}
        # float16 weights halve the file; the scores move by < 1e-3 (checked in the tests)
        np.savez_compressed(directory / "category.npz", W=self.W.astype(np.float16), b=self.b, **arrays)
        (directory / "category.json").write_text(json.dumps(meta, ensure_ascii=False, separators=(",", ":")),
                                                 encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> "CategoryModel":
        directory = Path(directory)
        meta = json.loads((directory / "category.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"unknown model format {meta.get('format')!r}")
        with np.load(directory / "category.npz", allow_pickle=False) as arrays:
            blocks = [(b["name"], b["vocabulary"], arrays[f"idf_{b['name']}"], b["weight"]) for b in meta["blocks"]]
            W, b = arrays["W"], arrays["b"]
            return cls(meta["labels"], blocks, W, b, meta["temperature"], meta["uncertain_below"],
                       meta["top3_margin"])


_lock = threading.Lock()
_loaded: dict[Path, CategoryModel | None] = {}


def get_model(directory: Path | str | None = None) -> CategoryModel | None:
    """The model in `directory` (default: the shipped one), loaded once per process; None (and one
    log line) when it is missing or unreadable."""
    directory = Path(directory or MODEL_DIR).resolve()
    with _lock:
        if directory not in _loaded:
            try:
                model = _loaded[directory] = CategoryModel.load(directory)
                if any(name.endswith("_words") for name in model.block_names):
                    tx.words("预热")  # jieba builds its prefix dictionary on first use (~1 s): do it now
            except Exception as err:  # noqa: BLE001 - any broken model means "no suggestion"
                log.warning("triage: category model in %s not loaded: %s", directory, err)
                _loaded[directory] = None
        return _loaded[directory]


def forget_models() -> None:
    """Drop loaded models (after `flask triage train` wrote new files, and in tests)."""
    with _lock:
        _loaded.clear()


def suggest(subject: str | None, body: str | None, model_dir: Path | str | None = None) -> Suggestion | None:
    """The suggested first-level category of a message, or None when no model can be used."""
    model = get_model(model_dir)
    if model is None:
        return None
    try:
        return model.suggest(subject, body)
    except Exception:  # noqa: BLE001 - scoring must never block the message
        log.exception("triage: category suggestion failed")
        return None
