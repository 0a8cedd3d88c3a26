"""Staff accounts: admins, liaisons, deputies and departments who log in to the portal."""
import secrets
from datetime import datetime
from functools import cache

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from backend.core.extensions import db
from backend.core.db import UTCDateTime, str_enum, utcnow
from backend.org.models import Department, Deputy, Station

ROLES = ("admin", "liaison", "deputy", "department")
ROLE_LABELS = {"admin": "代工委管理员", "liaison": "联络员", "deputy": "人大代表",
               "department": "承办单位"}

staff_stations = db.Table(
    "staff_stations",
    sa.Column("staff_id", sa.ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("station_id", sa.ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True),
)


class StaffUser(UserMixin, db.Model):
    __tablename__ = "staff_users"
    __table_args__ = (
        sa.CheckConstraint("role != 'deputy' OR deputy_id IS NOT NULL", name="deputy_linked"),
        sa.CheckConstraint("role != 'department' OR department_id IS NOT NULL",
                           name="department_linked"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(40), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(40))
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    role: Mapped[str] = mapped_column(str_enum("staff_role", *ROLES))
    deputy_id: Mapped[int | None] = mapped_column(sa.ForeignKey("deputies.id"))
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"))
    is_active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Part of the id a session cookie carries (get_id): raising it ends every session signed
    # in before, since the cookie itself cannot be taken back (logout, password reset/change).
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    # The WeChat account bound once with a one-time code, for deputy/liaison mode in the mini-program.
    wechat_openid: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    bind_code_hash: Mapped[str | None] = mapped_column(sa.String(64))
    bind_code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    deputy = relationship(Deputy)
    department = relationship(Department)
    stations = relationship(Station, secondary=staff_stations, order_by=Station.name)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]

    @property
    def titled_name(self) -> str:
        """The name with the role in front, unless the name says it already (城关站联络员 何军)."""
        label = "联络员" if self.role == "liaison" else self.role_label
        return self.display_name if label in self.display_name else label + self.display_name

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def station_ids(self) -> set[int]:
        return {s.id for s in self.stations}


@cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_urlsafe(16))


def check_dummy_password(password: str) -> bool:
    """As slow as checking a real account's password, for a name without one: the time an
    answer takes must not tell which names exist. Always False."""
    check_password_hash(_dummy_hash(), password)
    return False
