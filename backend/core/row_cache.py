"""Rows that nearly every request looks up by key and that change rarely: the deputy behind a
scanned code (with their stations), the resident behind a mini-program token. Kept per process
as detached objects and handed to each request's session with `merge(load=False)`, SQLAlchemy's
way to put a cached object into a session without a round trip.

A flush in this process that touches a watched table clears the cache at once (so a revoked
code, a deactivated deputy or a closed station counts from the next request on); other
processes see the change within the TTL, as with the word list (backend/core/cache.py).
"""
from typing import Callable, Hashable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.core.cache import TTLCache
from backend.core.extensions import db

_watched: list[tuple[tuple[type, ...], TTLCache]] = []
_MISSING = object()


class RowCache:
    def __init__(self, ttl_seconds: float, *, watch: tuple[type, ...]):
        self._cache = TTLCache(ttl_seconds)
        _watched.append((watch, self._cache))

    def get(self, key: Hashable, load: Callable[[], object | None]):
        """The object for `key`, in the current session: `load()` runs (in the current
        session) only on a miss; None is not cached, so a row that appears is found at once."""
        cached = self._cache.peek(key, _MISSING)
        if cached is _MISSING:
            obj = load()
            if obj is None:
                return None
            self._cache.put(key, _detached_copy(obj))
            return obj
        return db.session.merge(cached, load=False)


def _detached_copy(obj):
    """A copy of `obj` (and of what it has loaded) that belongs to no session, for the cache:
    the request goes on with `obj` itself."""
    copy_session = Session()
    copy = copy_session.merge(obj, load=False)
    copy_session.expunge_all()
    copy_session.close()
    return copy


@sa.event.listens_for(Session, "after_flush")
def _forget_changed(session, flush_context):
    changed = {type(obj) for obj in (*session.new, *session.dirty, *session.deleted)}
    if not changed:
        return
    for classes, cache in _watched:
        if any(issubclass(cls, classes) for cls in changed):
            cache.clear()
