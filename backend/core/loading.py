"""Loading the row a request names: not there is a 404, not theirs to see is a 403. One helper
so that every feature says both in its own words, in the same order (existence first)."""
from typing import Callable, TypeVar

from backend.core.errors import Forbidden, NotFound
from backend.core.extensions import db

T = TypeVar("T")


def load_for(user, model: type[T], row_id: int, may: Callable[[object, T], bool], *,
             missing: NotFound, refused: Forbidden) -> T:
    row = db.session.get(model, row_id)
    if row is None:
        raise missing
    if not may(user, row):
        raise refused
    return row
