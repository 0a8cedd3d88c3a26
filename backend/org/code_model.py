"""Deputy QR codes: an unguessable, revocable token that routes a scan to one deputy."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.extensions import db
from backend.core.db import UTCDateTime, utcnow
from backend.org.models import Deputy


class DeputyCode(db.Model):
    __tablename__ = "deputy_codes"
    __table_args__ = (
        # At most one live code per deputy; revoked ones stay so old posters can explain themselves.
        sa.Index("uq_deputy_codes_one_active", "deputy_id", unique=True,
                 sqlite_where=sa.text("revoked_at IS NULL"),
                 postgresql_where=sa.text("revoked_at IS NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    deputy_id: Mapped[int] = mapped_column(sa.ForeignKey("deputies.id", ondelete="CASCADE"),
                                           index=True)
    token: Mapped[str] = mapped_column(sa.String(16), unique=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    revoke_reason: Mapped[str] = mapped_column(sa.String(200), default="")
    # Where the cached mini-program code (wxacode.getUnlimited) is stored, once fetched.
    wxacode_path: Mapped[str | None] = mapped_column(sa.String(200))

    deputy = relationship(Deputy)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
