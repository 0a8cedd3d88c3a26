"""Reading ids from what a browser or the mini-program sent. Only plain ASCII digits that fit
the databases' integer columns count: `"²".isdigit()` is true and `int("9" * 5000)` raises, and
an id beyond PostgreSQL's integer fails the query itself (a 500) rather than finding nothing."""
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1


def row_id(value) -> int | None:
    """The id `value` spells, or None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 < value <= MAX_ID else None
    text = str(value or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def row_ids(values) -> list[int]:
    return [n for n in (row_id(v) for v in values) if n is not None]


class RowIdConverter(IntegerConverter):
    """`<int:…>` in every URL: a number past the integer columns is simply not found (404)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)
