"""MinHash signatures and a banded LSH index over them, in numpy (no pickle, no extra package)."""
from collections import defaultdict

import numpy as np



class MinHasher:
    """`num_perm` multiply-shift hash functions ((a·x + b) mod 2^64, top 32 bits, a odd) over
    32-bit shingle hashes; a fixed seed makes signatures comparable across processes and restarts."""

    def __init__(self, num_perm: int = 64, seed: int = 1):
        rng = np.random.Generator(np.random.PCG64(seed))
        self.a = rng.integers(0, 1 << 64, size=num_perm, dtype=np.uint64) | np.uint64(1)
        self.b = rng.integers(0, 1 << 64, size=num_perm, dtype=np.uint64)
        self.num_perm = num_perm

    def signature(self, hashes) -> np.ndarray:
        if not len(hashes):
            return np.full(self.num_perm, np.iinfo(np.uint32).max, dtype=np.uint32)
        x = np.fromiter(hashes, dtype=np.uint64, count=len(hashes))
        with np.errstate(over="ignore"):  # wrapping mod 2^64 is the hash
            return ((np.outer(x, self.a) + self.b) >> np.uint64(32)).min(axis=0).astype(np.uint32)


class LSHIndex:
    """Banded LSH: keys whose signatures agree on every row of at least one band are candidates."""

    def __init__(self, num_perm: int, bands: int):
        if num_perm % bands:
            raise ValueError("num_perm must be a multiple of bands")
        self.bands, self.rows = bands, num_perm // bands
        self.tables = [defaultdict(set) for _ in range(bands)]

    def band_keys(self, sig: np.ndarray) -> list:
        """One hashable key per band; compute once and pass to add/remove/candidates."""
        if self.rows == 2:  # two uint32 rows are one uint64: plain ints, no bytes objects
            return np.ascontiguousarray(sig, dtype=np.uint32).view(np.uint64).tolist()
        return [sig[i * self.rows:(i + 1) * self.rows].tobytes() for i in range(self.bands)]

    def add(self, key, bands: list) -> None:
        for table, band in zip(self.tables, bands):
            table[band].add(key)

    def remove(self, key, bands: list) -> None:
        for table, band in zip(self.tables, bands):
            bucket = table.get(band)
            if bucket is not None:
                bucket.discard(key)
                if not bucket:
                    del table[band]

    def candidates(self, bands: list) -> set:
        found = set()
        for table, band in zip(self.tables, bands):
            found |= table.get(band, set())
        return found
