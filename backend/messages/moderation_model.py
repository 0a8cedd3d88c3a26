"""The local word list for the content check, kept as data admins can edit. A hit holds the
message for a liaison to look at; nothing is ever dropped automatically."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.extensions import db
from backend.core.db import UTCDateTime, utcnow


class ContentRule(db.Model):
    __tablename__ = "content_rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    word: Mapped[str] = mapped_column(sa.String(40), unique=True)
    label: Mapped[str] = mapped_column(sa.String(20), default="")  # 辱骂 / 广告 / 涉政 …
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
