"""WeChat push replays: each (timestamp, nonce) WeChat signed is taken once. The row is written
in the transaction that acts on the push, so a push that failed half-way leaves no row and
WeChat's retry is accepted; a copy sent again (by anyone who saw it) finds the row and is
refused. Rows outlive the age window, after which the timestamp alone refuses a copy."""
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import UTCDateTime, utcnow
from backend.core.extensions import db

# With the age check off (WECHAT_PUSH_MAX_AGE_SECONDS=0) seen pairs are still kept this long.
MIN_KEEP = timedelta(days=1)


class WeChatPushNonce(db.Model):
    __tablename__ = "wechat_push_nonces"
    timestamp: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    nonce: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False,
                                              index=True)


def claim_nonce(timestamp: str, nonce: str, *, max_age_seconds: int) -> bool:
    """False when this pair was seen before. Forgets pairs past the keep time on the way."""
    now = utcnow()
    keep = max(timedelta(seconds=2 * max_age_seconds), MIN_KEEP)
    db.session.execute(sa.delete(WeChatPushNonce).where(WeChatPushNonce.seen_at < now - keep))
    try:
        with db.session.begin_nested():
            db.session.add(WeChatPushNonce(timestamp=timestamp, nonce=nonce, seen_at=now))
    except sa.exc.IntegrityError:
        return False
    return True
