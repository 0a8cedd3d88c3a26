"""Project photo files (progress reports' and residents' proposal photos) kept in step with
their rows, as backend/messages/photos.py does for residents' message photos:
1. a file written in a transaction that does not commit is removed when it ends (`written`
   queues the key; a Session listener below keeps it on commit, removes it otherwise);
2. rows deleted by `sweep` (proposal photos a resident uploaded and never sent) lose their
   files only after the deleting transaction commits, so no row points at a missing file;
3. `sweep` also removes files in the project photo folders that no row names and that are
   older than the grace period: what a killed process left between writing and rolling back.
A file whose row exists is never touched, and a file younger than the grace period neither
(its row may be in a transaction still open).
"""
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from backend.core.adapters import get_storage
from backend.core.errors import ValidationFailed
from backend.core.extensions import db
from backend.core.photos import StoredImage, store_image
from backend.projects.models import ProjectPhoto, ProjectProposalPhoto

log = logging.getLogger("lianxin.project_photos")

FOLDERS = {"progress": "projects", "proposal": "proposals"}
DEFAULT_GRACE = timedelta(hours=24)
# session.info: (storage, keys) of files to drop unless the transaction commits / once it does
_WRITTEN = "lianxin.project_photos.written"
_DOOMED = "lianxin.project_photos.doomed"


def written(key: str) -> None:
    """A file was just stored for a row of the current transaction."""
    _queue(_WRITTEN, key)


def store_all(uploads, folder: str, *, field: str, code: str) -> list[StoredImage]:
    """Each upload (bytes) judged, cleaned (no EXIF/GPS: core/images.py) and stored in `folder`;
    a bad one refuses them all, naming which (when there are several), and removes the files
    already written."""
    uploads = list(uploads)
    stored: list[StoredImage] = []
    try:
        for n, upload in enumerate(uploads, 1):
            try:
                stored.append(store_image(upload, folder))
            except ValidationFailed as err:
                text = f"第{n}张照片：{err.message}" if len(uploads) > 1 else err.message
                raise ValidationFailed(errors={field: [text]}, code=code) from None
            written(stored[-1].key)  # removed again unless the transaction commits
    except BaseException:
        for image in stored:
            get_storage().delete(image.key)
        raise
    return stored


def _queue(name: str, key: str) -> None:
    storage, keys = db.session().info.setdefault(name, (get_storage(), []))
    keys.append(key)


@dataclass
class SweepReport:
    orphan_files: list[str] = field(default_factory=list)
    unsent_photos: list[str] = field(default_factory=list)
    dry_run: bool = False

    def summary(self) -> str:
        verb = "将删除" if self.dry_run else "删除"
        return (f"{verb}无记录的项目照片文件 {len(self.orphan_files)} 个，"
                f"未随建议提交的群众照片 {len(self.unsent_photos)} 张")


def sweep(now: datetime, *, grace: timedelta = DEFAULT_GRACE, dry_run: bool = False) -> SweepReport:
    """Orphaned files first (with the rows as they are), then unsent proposal photos: their
    rows go in the caller's transaction, their files once it commits."""
    session = db.session()
    if session.in_nested_transaction():
        raise RuntimeError("sweep must not run inside a savepoint")
    cutoff = now - grace
    report = SweepReport(dry_run=dry_run)
    known = set(db.session.scalars(sa.select(ProjectPhoto.storage_key))) | set(
        db.session.scalars(sa.select(ProjectProposalPhoto.storage_key)))
    storage = get_storage()
    for folder in FOLDERS.values():
        for key, modified in storage.keys_in(folder):
            if key not in known and modified < cutoff:
                report.orphan_files.append(key)
                if not dry_run:
                    storage.delete(key)
    unsent = sa.and_(ProjectProposalPhoto.proposal_id.is_(None),
                     ProjectProposalPhoto.created_at < cutoff)
    if dry_run:
        report.unsent_photos = list(db.session.scalars(
            sa.select(ProjectProposalPhoto.storage_key).where(unsent)))
        return report
    # The condition again in the DELETE: a proposal sent since claims its photos first.
    report.unsent_photos = list(db.session.scalars(
        sa.delete(ProjectProposalPhoto).where(unsent).returning(ProjectProposalPhoto.storage_key)
        .execution_options(synchronize_session="fetch")))
    for key in report.unsent_photos:
        _queue(_DOOMED, key)
    return report


@event.listens_for(Session, "after_commit")
def _settle_on_commit(session):
    if session.get_nested_transaction() is not None:
        return  # a savepoint released: the outer transaction may still roll back
    session.info.pop(_WRITTEN, None)  # their rows are in: keep the files
    doomed = session.info.pop(_DOOMED, None)
    if doomed is not None:
        _remove(*doomed)


@event.listens_for(Session, "after_transaction_end")
def _settle_on_rollback(session, transaction):
    if transaction.parent is not None or transaction.nested:
        return
    # Still queued here: the transaction ended without committing.
    session.info.pop(_DOOMED, None)  # their rows are back: keep the files
    written_ = session.info.pop(_WRITTEN, None)
    if written_ is not None:
        _remove(*written_)


def _remove(storage, keys) -> None:
    for key in keys:
        try:
            storage.delete(key)
        except Exception:  # noqa: BLE001 - one bad file must not keep the others
            log.exception("项目照片文件删除失败（请手动删除该文件）：%s", key)
