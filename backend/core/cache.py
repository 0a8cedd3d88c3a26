"""Small per-process caches for data read on every request and changed rarely (the word list,
the holiday table). Each process sees another's change within the TTL; the process that made the
change sees it at once, because the operations that write clear the cache."""
import threading
import time
import weakref
from typing import Callable, Hashable

_caches: "weakref.WeakSet[TTLCache]" = weakref.WeakSet()


class TTLCache:
    def __init__(self, ttl_seconds: float):
        self.ttl = ttl_seconds
        self._data: dict[Hashable, tuple[float, object]] = {}
        self._lock = threading.Lock()
        _caches.add(self)

    def get(self, key: Hashable, loader: Callable[[], object]):
        now = time.monotonic()
        hit = self._data.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = loader()
        with self._lock:
            self._data[key] = (now + self.ttl, value)
        return value

    def peek(self, key: Hashable, default=None):
        """The live value for `key`, or `default`; never loads."""
        hit = self._data.get(key)
        return hit[1] if hit is not None and hit[0] > time.monotonic() else default

    def put(self, key: Hashable, value) -> None:
        with self._lock:
            self._data[key] = (time.monotonic() + self.ttl, value)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


def clear_all() -> None:
    """For whoever empties the database behind the application's back (the tests)."""
    for cache in list(_caches):
        cache.clear()
