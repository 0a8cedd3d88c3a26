"""Category suggestion: a linear model over TF-IDF blocks, run with numpy only.

The model is two plain files (no pickle): `category.json` (labels, per-block vocabulary and
settings) and `category.npz` (idf per block, weights, bias). `training.py` writes them; this
module reads them once per process. Any failure to load or score gives None and a log line:
a message is never held up by its suggestion.
"""
import json
import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path

import numpy as np

from backend.triage import text as tx

log = logging.getLogger("lianxin.triage")

MODEL_DIR = Path(__file__).resolve().parent / "model"
FORMAT_VERSION = 2  # 2: blocks name their field and analyzer (1: not)
ANALYZERS = {"words": tx.words, "chars": lambda s: tx.char_ngrams(s, 1, 3)}
# (block name, field, analyzer): the subject is its own block so it can weigh more than the body;
# "text" is the subject and the body together (their tokens counted as one bag).
BLOCKS = (
    ("body_words", "body", "words"),
    ("body_chars", "body", "chars"),
    ("subject_words", "subject", "words"),
    ("subject_chars", "subject", "chars"),
    ("head_chars", "head", "chars"),
)
BLOCK_SPECS = {name: (fld, analyzer) for name, fld, analyzer in BLOCKS}


@dataclass(frozen=True)
class Suggestion:
    label: str
    confidence: float
    top3: list[tuple[str, float]] = field(default_factory=list)  # empty when the first is clearly ahead
    uncertain: bool = False


# A bound on the work per message (the p99 budget is 5 ms: tokens and lookups grow with the
# length); 5 % of real messages are longer, and their opening says what they are about.
BODY_CHARS = 1500
# "head": the opening of subject + body, what a subject would say (the product's messages have none)
HEAD_CHARS = 40


def _field_tokens(subject: str, body: str, fld: str, analyzer: str, cache: dict) -> list[str]:
    key = (fld, analyzer)
    if key not in cache:
        text = {"subject": subject, "body": body}.get(fld)
        if text is None:  # "head"
            text = f"{subject} {body}".strip()[:HEAD_CHARS]
        cache[key] = ANALYZERS[analyzer](text)
    return cache[key]


def tokenize(subject: str | None, body: str | None, blocks=None) -> dict[str, list[str]]:
    """Tokens of each block in `blocks` (names; default: all), each analyzer run once per field."""
    subject, body = subject or "", (body or "")[:BODY_CHARS]
    cache: dict[tuple[str, str], list[str]] = {}
    return {name: _field_tokens(subject, body, fld, analyzer, cache)
            for name, fld, analyzer in BLOCKS if blocks is None or name in blocks}


class CategoryModel:
    """Weights W (features × classes), bias b, and for each block its vocabulary, idf and weight.
    Nothing of any single training message is kept: a nearest-neighbour vote over the training
    messages was tried and left out, as it would ship every message's n-grams (docs/triage.md)."""

    def __init__(self, labels, blocks, W, b, temperature=1.0, uncertain_below=0.5, top3_margin=0.3):
        """`blocks`: (name, vocabulary, idf, weight), the name one of BLOCKS."""
        self.labels = list(labels)
        self.blocks = []  # (name, {token: index in the block}, idf, weight, offset, field, analyzer)
        offset = 0
        for name, vocab, idf, weight in blocks:
            if name not in BLOCK_SPECS:
                raise ValueError(f"unknown block {name!r}")
            index = {tok: i for i, tok in enumerate(vocab)}
            idf = np.asarray(idf, dtype=np.float32)
            if idf.shape != (len(index),):
                raise ValueError(f"block {name}: {len(index)} tokens but {idf.shape} idf values")
            self.blocks.append((name, index, idf, float(weight), offset, *BLOCK_SPECS[name]))
            offset += len(vocab)
        self.block_names = {name for name, *_ in self.blocks}
        self.W = np.asarray(W, dtype=np.float32)
        self.b = np.asarray(b, dtype=np.float32)
        if self.W.shape != (offset, len(self.labels)) or self.b.shape != (len(self.labels),):
            raise ValueError(f"weights {self.W.shape} do not match {offset} features × {len(self.labels)} classes")
        self.temperature = float(temperature)
        self.uncertain_below = float(uncertain_below)
        self.top3_margin = float(top3_margin)

    @property
    def n_features(self) -> int:
        return self.W.shape[0]

    # -- scoring ---------------------------------------------------------------------------------
    def decision(self, subject: str | None, body: str | None) -> np.ndarray:
        return self._score(subject, body)[0]

    def _score(self, subject, body) -> tuple[np.ndarray, bool]:
        """Decision values and whether any token of the message is in the vocabulary. Each field is
        tokenised and counted once, whatever the number of blocks reading it."""
        subject, body = subject or "", (body or "")[:BODY_CHARS]
        tokens: dict = {}
        counted: dict = {}
        for _name, _index, _idf, _w, _off, fld, analyzer in self.blocks:
            if (fld, analyzer) not in counted:
                counted[fld, analyzer] = Counter(_field_tokens(subject, body, fld, analyzer, tokens))
        idx, val = self._vector([counted[blk[5], blk[6]] for blk in self.blocks])
        return self._decide(idx, val), len(idx) > 0

    def decision_tokens(self, tokens: dict[str, list[str]]) -> np.ndarray:
        """Decision values of pre-tokenised text ({block name: tokens}, as tokenize() gives)."""
        return self._decide(*self._vector([Counter(tokens[blk[0]]) for blk in self.blocks]))

    def _vector(self, counts_per_block) -> tuple[np.ndarray, np.ndarray]:
        """The message's sparse feature vector (global indexes, values): sublinear tf × idf,
        l2-normalised per block, × the block's weight (what the training's TfidfVectorizer does)."""
        idx_parts, val_parts = [], []
        for (_name, index, idf, weight, offset, *_), counts in zip(self.blocks, counts_per_block):
            if not counts:
                continue
            pos = np.fromiter(map(index.get, counts, repeat(-1)), dtype=np.int64, count=len(counts))
            hit = pos >= 0
            if not hit.any():
                continue
            idx = pos[hit]
            val = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))[hit]
            val = (1.0 + np.log(val)) * idf[idx]
            val *= weight / np.linalg.norm(val)
            idx_parts.append(idx + offset)
            val_parts.append(val)
        if not idx_parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        return np.concatenate(idx_parts), np.concatenate(val_parts)

    def _decide(self, idx: np.ndarray, val: np.ndarray) -> np.ndarray:
        return self.b + val @ self.W[idx]

    def probabilities(self, decision: np.ndarray) -> np.ndarray:
        z = decision / self.temperature
        z = np.exp(z - z.max())
        return z / z.sum()

    def suggest(self, subject: str | None, body: str | None) -> Suggestion:
        return self.suggestion_from(*self._score(subject, body))

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
                {"name": name, "field": fld, "analyzer": analyzer, "weight": weight,
                 "vocabulary": sorted(index, key=index.get)}
                for name, index, _idf, weight, _off, fld, analyzer in self.blocks
            ],
        }
        arrays = {f"idf_{name}": idf for name, _i, idf, *_ in self.blocks}
        # float16 weights halve the file; the scores move by < 1e-3 (checked in the tests)
        np.savez_compressed(directory / "category.npz", W=self.W.astype(np.float16), b=self.b, **arrays)
        (directory / "category.json").write_text(json.dumps(meta, ensure_ascii=False, separators=(",", ":")),
                                                 encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> "CategoryModel":
        directory = Path(directory)
        meta = json.loads((directory / "category.json").read_text(encoding="utf-8"))
        if meta.get("format") not in (1, FORMAT_VERSION):
            raise ValueError(f"unknown model format {meta.get('format')!r}")
        for b in meta["blocks"]:  # format 2 states each block's field and analyzer: they must be ours
            if "field" in b and (b["field"], b["analyzer"]) != BLOCK_SPECS.get(b["name"]):
                raise ValueError(f"block {b['name']!r} reads {b['field']}/{b['analyzer']}, not known here")
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
