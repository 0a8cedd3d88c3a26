"""Residents' photos that were uploaded but never sent: personal data, so they do not linger.

The order of the two deletions is what keeps rows and files in step:
1. `purge_unclaimed_photos` deletes the rows in the caller's transaction (it only flushes) and
   queues their storage keys on the session;
2. the files go only after that transaction commits (a Session `after_commit` listener below),
   so no row ever points at a removed file, and a claim that wins the race keeps its photo;
3. a rollback of the transaction drops the queue: rows and files are both still there, and
   the next run takes them again.
A file that cannot be removed after the commit is logged at ERROR with its key (an operator
removes it) and counted in `take_failed_removals()`, which the scheduler job puts in its report;
one failure never stops the other files. A key whose file is already gone counts as removed.
"""
import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from backend.core.adapters import get_storage
from backend.core.extensions import db
from backend.messages.models import MessagePhoto

log = logging.getLogger("lianxin.photo_cleanup")

DEFAULT_AGE = timedelta(hours=24)
_PENDING = "lianxin.photo_cleanup.pending"  # session.info: (storage, [keys]) awaiting the commit
_FAILED = "lianxin.photo_cleanup.failed"  # session.info: keys whose removal failed


def purge_unclaimed_photos(now: datetime, *, older_than: timedelta = DEFAULT_AGE,
                           batch: int = 500) -> int:
    """Delete up to `batch` photos no message claimed, uploaded before `now - older_than`.
    Rows go in the caller's transaction; their files once it commits. Returns the rows deleted
    (fewer than `batch` means none are left)."""
    session = db.session()
    if session.in_nested_transaction():
        # A savepoint rolled back later would restore rows whose files were already queued.
        raise RuntimeError("purge_unclaimed_photos must not run inside a savepoint")
    cutoff = now - older_than
    unclaimed = sa.and_(MessagePhoto.message_id.is_(None), MessagePhoto.created_at < cutoff)
    # SKIP LOCKED (PostgreSQL): a photo being claimed right now is left for the next run.
    ids = list(db.session.scalars(
        sa.select(MessagePhoto.id).where(unclaimed).order_by(MessagePhoto.id).limit(batch)
        .with_for_update(skip_locked=True)))
    if not ids:
        return 0
    # The condition again in the DELETE: a claim committed since the SELECT keeps its photo,
    # and RETURNING tells exactly which files lost their row.
    keys = list(db.session.scalars(
        sa.delete(MessagePhoto).where(MessagePhoto.id.in_(ids), unclaimed)
        .returning(MessagePhoto.storage_key)
        .execution_options(synchronize_session="fetch")))
    if keys:
        storage, queued = session.info.setdefault(_PENDING, (get_storage(), []))
        queued.extend(keys)
    return len(keys)


def delete_photos_of(message_ids) -> int:
    """Every photo of these messages (hidden ones too), for personal-data removal: rows in the
    caller's transaction, files once it commits, by the same queue as the purge."""
    session = db.session()
    if session.in_nested_transaction():
        raise RuntimeError("delete_photos_of must not run inside a savepoint")
    ids = list(message_ids)
    if not ids:
        return 0
    keys = list(db.session.scalars(
        sa.delete(MessagePhoto).where(MessagePhoto.message_id.in_(ids))
        .returning(MessagePhoto.storage_key).execution_options(synchronize_session="fetch")))
    if keys:
        storage, queued = session.info.setdefault(_PENDING, (get_storage(), []))
        queued.extend(keys)
    return len(keys)


def take_failed_removals() -> list[str]:
    """Keys whose files could not be removed since the last call (they are logged too)."""
    return db.session().info.pop(_FAILED, [])


@event.listens_for(Session, "after_commit")
def _remove_files_after_commit(session):
    if session.get_nested_transaction() is not None:
        return  # a savepoint released: the outer transaction may still roll back
    pending = session.info.pop(_PENDING, None)
    if pending is None:
        return
    storage, keys = pending
    for key in keys:
        try:
            storage.delete(key)
        except Exception:  # noqa: BLE001 - one bad file must not keep the others
            log.exception("照片文件删除失败（记录已删除，请手动删除该文件）：%s", key)
            session.info.setdefault(_FAILED, []).append(key)


@event.listens_for(Session, "after_soft_rollback")
def _forget_files_on_rollback(session, previous_transaction):
    # Only the whole transaction: purging inside a savepoint is refused above.
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)
