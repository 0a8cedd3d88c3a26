"""Rotating the field key: every encrypted column re-encrypted under the newest key of
FIELD_ENCRYPTION_KEY (a comma-separated list, newest first). Batched and resumable: a batch
commits as it goes, and a row already under the newest key is skipped, so a stopped run
started again only does what is left. The blind index is keyed apart (PHONE_INDEX_KEY) and
does not change."""
from dataclasses import dataclass, field

import sqlalchemy as sa
from cryptography.fernet import InvalidToken

from backend.core.audit import record_run
from backend.core.extensions import db
from backend.core.protect import reencrypt, under_newest_key
from backend.messages.models import Message
from backend.reception.models import Appointment

# Every encrypted column: (model, column attribute name).
ENCRYPTED = ((Message, "phone_encrypted"), (Appointment, "phone_encrypted"))
BATCH = 500


@dataclass
class Rotation:
    rotated: int = 0
    current: int = 0  # already under the newest key
    # (table, id) that no key opens: left as they are, listed for the operator.
    unreadable: list = field(default_factory=list)

    def describe(self) -> str:
        text = f"重新加密 {self.rotated} 个字段，{self.current} 个已是新密钥"
        return text + (f"，{len(self.unreadable)} 个无法解密（见列表）" if self.unreadable else "")


def rotate_keys(*, batch: int = BATCH, progress=None) -> Rotation:
    result = Rotation()
    for model, name in ENCRYPTED:
        column = getattr(model, name)
        last = 0
        while True:
            rows = db.session.execute(
                sa.select(model.id, column).where(model.id > last, column.is_not(None))
                .order_by(model.id).limit(batch)).all()
            if not rows:
                break
            for row_id, token in rows:
                if under_newest_key(token):
                    result.current += 1
                    continue
                try:
                    fresh = reencrypt(token)
                except InvalidToken:
                    result.unreadable.append((model.__tablename__, row_id))
                    continue
                # Only if unchanged since read: a row anonymised meanwhile stays anonymised.
                db.session.execute(sa.update(model).where(model.id == row_id, column == token)
                                   .values({name: fresh}).execution_options(synchronize_session=False))
                result.rotated += 1
            db.session.commit()
            last = rows[-1][0]
            if progress:
                progress(model.__tablename__, last)
    record_run("privacy.rotate_keys", after={"rotated": result.rotated, "current": result.current,
                                             "unreadable": len(result.unreadable)})
    db.session.commit()
    return result
