"""Near-duplicate messages: edited copies, reordered sentences, a changed phone number, the same
resident writing again.

Candidates come from MinHash LSH over 3-character shingles of the compacted text (punctuation,
spaces and long numbers removed), so a lookup touches a few buckets, not every earlier message;
each candidate is then verified on its exact shingle sets. Texts are added one at a time; the
index holds only keys and shingle hashes, so it can be rebuilt from the database at start-up or
saved with `dump()` / `load()` (a plain npz, no pickle).
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backend.triage.minhash import LSHIndex, MinHasher
from backend.triage.text import shingle_hashes

NUM_PERM, BANDS = 126, 42  # 3 rows a band: pairs at Jaccard 0.5 become candidates 99.6 % of the time, at 0.2 29 %
THRESHOLD = 0.5  # verified score at or above which a pair is a duplicate (calibrated in the bench)
MIN_SHINGLES = 8  # shorter texts ("你好") say too little to call anything their duplicate


@dataclass(frozen=True)
class Match:
    key: object
    score: float  # max(Jaccard, 0.9 × containment of the shorter text) of the shingle sets


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard of two sorted shingle arrays, or — when one text is mostly inside the other (a
    resident re-sending a shortened copy) — most of their containment."""
    if not len(a) or not len(b):
        return 0.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    jaccard = inter / (len(a) + len(b) - inter)
    return max(jaccard, 0.9 * inter / min(len(a), len(b)))


class DuplicateIndex:
    def __init__(self, threshold: float = THRESHOLD, num_perm: int = NUM_PERM, bands: int = BANDS):
        self.threshold = threshold
        self.hasher = MinHasher(num_perm)
        self.lsh = LSHIndex(num_perm, bands)
        self._shingles: dict[object, np.ndarray] = {}
        self._bands: dict[object, list] = {}

    def __len__(self) -> int:
        return len(self._shingles)

    def __contains__(self, key) -> bool:
        return key in self._shingles

    @staticmethod
    def shingles(text: str) -> np.ndarray:
        return np.array(sorted(shingle_hashes(text)), dtype=np.uint32)

    def add(self, key, text: str) -> None:
        """Index one text under `key` (a message id); re-adding a key replaces its text."""
        self.remove(key)
        self._add(key, self.shingles(text))

    def _add(self, key, sh: np.ndarray) -> None:
        bands = self.lsh.band_keys(self.hasher.signature(sh))
        self._shingles[key], self._bands[key] = sh, bands
        if len(sh) >= MIN_SHINGLES:
            self.lsh.add(key, bands)

    def remove(self, key) -> None:
        """Forget a key (a message merged, closed or deleted)."""
        if key in self._shingles:
            self.lsh.remove(key, self._bands.pop(key))
            del self._shingles[key]

    def query(self, text: str, limit: int = 10, exclude=None) -> list[Match]:
        """Indexed texts that say the same as `text`, best first."""
        sh = self.shingles(text)
        if len(sh) < MIN_SHINGLES:
            return []
        matches = []
        for key in self.lsh.candidates(self.lsh.band_keys(self.hasher.signature(sh))):
            if key == exclude:
                continue
            score = similarity(sh, self._shingles[key])
            if score >= self.threshold:
                matches.append(Match(key, round(score, 3)))
        matches.sort(key=lambda m: (-m.score, str(m.key)))
        return matches[:limit]

    def add_and_query(self, key, text: str, limit: int = 10) -> list[Match]:
        """On arrival: the earlier duplicates of a new message, then index it."""
        found = self.query(text, limit)
        self.add(key, text)
        return found

    # -- persistence: keys are ints or strings --------------------------------------------------
    def dump(self, path: Path | str) -> None:
        keys = list(self._shingles)
        lengths = np.array([len(self._shingles[k]) for k in keys], dtype=np.int64)
        flat = np.concatenate([self._shingles[k] for k in keys]) if keys else np.zeros(0, np.uint32)
        np.savez_compressed(path, keys=np.array([str(k) for k in keys]),
                            int_keys=np.array([isinstance(k, int) for k in keys]), lengths=lengths,
                            shingles=flat, threshold=self.threshold)

    @classmethod
    def load(cls, path: Path | str) -> "DuplicateIndex":
        with np.load(path, allow_pickle=False) as f:
            index = cls(float(f["threshold"]))
            ends = np.cumsum(f["lengths"])
            for key, is_int, end, length in zip(f["keys"], f["int_keys"], ends, f["lengths"]):
                index._add(int(key) if is_int else str(key), f["shingles"][end - length:end])
        return index
