"""Idempotency keys: the client makes one per new submission and sends it again, unchanged, on a
retry, so a bad mobile network never records a thing twice. The row keeps the key in a unique
column; a retry answers with the row the key already made, and a key used for something else
is refused. Messages write their row their own way (backend/messages/insert.py); the key's
rules and words are these, for every kind of row."""
import sqlalchemy as sa

from backend.core.errors import ValidationFailed
from backend.core.extensions import db

KEY_MIN, KEY_MAX = 8, 64


def checked_key(idempotency_key) -> str:
    key = (idempotency_key or "").strip()
    if not KEY_MIN <= len(key) <= KEY_MAX:
        raise ValidationFailed("缺少有效的提交编号，请刷新页面后重试", code="idempotency_key_invalid")
    return key


def key_reused(what: str) -> ValidationFailed:
    """The error for a key already used for another submission: `what` as in 另一条留言."""
    return ValidationFailed(f"该提交编号已用于另一{what}，请刷新页面后重新提交",
                            code="idempotency_conflict")


def made_with(model, key: str):
    """The row of `model` the key already made, or None."""
    return db.session.scalar(sa.select(model).where(model.idempotency_key == key))


def add_once(row):
    """Insert `row` (its idempotency_key set) unless the key is taken: (the row that has the
    key, whether it is this one). The unique column decides: a request racing with the same
    key waits for the first to commit (PostgreSQL), fails on the constraint, and gets the
    first one's row; only the savepoint is rolled back."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except sa.exc.IntegrityError:
        existing = made_with(type(row), row.idempotency_key)
        if existing is None:
            raise
        return existing, False
    return row, True


def record_once(model, idempotency_key, *, make, same, what: str):
    """(the row the key made, whether it was made now); the caller does what follows a new row
    (audit, notices) only when it was made now. `make(key)` builds the unsaved row once the key
    is checked and unused; `same(row)` says whether a row the key made already holds what was
    sent again. The key with other words is refused with key_reused(what); nothing is written
    then."""
    key = checked_key(idempotency_key)
    row = made_with(model, key)
    if row is None:
        row, created = add_once(make(key))
        if created:
            return row, True
    if not same(row):
        raise key_reused(what)
    return row, False
