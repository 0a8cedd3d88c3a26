"""Keyset cursors for the lists the mini-program scrolls: the cursor names the last row shown (its
sort time and id, or only its id), so page 500 costs what page 1 costs and a row added meanwhile
never shifts the rest. What a client sends back is checked to the last character: a cursor that
is not one of ours is `cursor_invalid`, never a 500 from the database."""
import base64
import binascii
from datetime import datetime

from backend.core.errors import ValidationFailed
from backend.core.parsing import row_id

PAGE_SIZE = 20


def cursor_invalid() -> ValidationFailed:
    return ValidationFailed("翻页参数无效，请回到第一页", code="cursor_invalid")


def encode_cursor(at: datetime, last_id: int, section: str = "") -> str:
    """After the row (at, last_id); `section` names which part of a list in parts it is in."""
    raw = "|".join(([section] if section else []) + [at.isoformat(), str(last_id)])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sections: tuple[str, ...] = ("",)) -> tuple[str, datetime, int]:
    """(section, at, last_id) from a cursor encode_cursor made for one of `sections`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        *section, at, last = raw.split("|")
        section = section[0] if len(section) == 1 else None if section else ""
        parsed = datetime.fromisoformat(at)
        last_id = row_id(last)  # past the id column would fail the query on PostgreSQL
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise cursor_invalid() from None
    if section not in sections or parsed.tzinfo is None or last_id is None:
        raise cursor_invalid()
    return section, parsed, last_id


def decode_id_cursor(cursor: str) -> int:
    """The id a list paged by id alone stopped at."""
    last_id = row_id(cursor)
    if last_id is None:
        raise cursor_invalid()
    return last_id
