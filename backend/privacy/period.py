"""The effective retention period: the office's saved one, else the config key RETENTION_MONTHS.
Retention, consent texts and the staff page all read it through `effective_period`."""
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy.exc import IntegrityError

from backend.core import audit
from backend.core.errors import Forbidden, ValidationFailed
from backend.core.extensions import db
from backend.privacy.period_model import MAX_MONTHS, MIN_MONTHS, RetentionSetting
from backend.privacy.policy import can_manage_retention


@dataclass(frozen=True)
class Period:
    months: int
    saved: bool  # False: the config default
    updated_at: datetime | None = None
    updated_by: int | None = None

    @property
    def source(self) -> str:
        return "代工委管理员设置" if self.saved else "系统默认值（配置项 RETENTION_MONTHS）"


def effective_period() -> Period:
    row = db.session.get(RetentionSetting, 1)
    if row is None:
        return Period(current_app.config["RETENTION_MONTHS"], saved=False)
    return Period(row.months, saved=True, updated_at=row.updated_at, updated_by=row.updated_by)


def retention_months() -> int:
    return effective_period().months


def set_retention_months(months, *, actor) -> Period:
    """Save the office's period; an audit row holds the old and new value. Not committed."""
    if not can_manage_retention(actor):
        raise Forbidden()
    if isinstance(months, bool) or not isinstance(months, int) \
            or not MIN_MONTHS <= months <= MAX_MONTHS:
        raise ValidationFailed(f"保存期限应为 {MIN_MONTHS} 到 {MAX_MONTHS} 之间的整数（月）",
                               code="retention_months_out_of_range",
                               errors={"months": [f"请填写 {MIN_MONTHS} 到 {MAX_MONTHS} 之间的月数"]})
    # Locked, so two office users saving at once each log the other's value as the old one.
    row = _locked_row()
    before = {"months": row.months, "saved": True} if row else {
        "months": current_app.config["RETENTION_MONTHS"], "saved": False}
    if row is None:
        try:
            with db.session.begin_nested():
                row = RetentionSetting(id=1, months=months, updated_by=actor.id)
                db.session.add(row)
        except IntegrityError:  # the other one inserted first: update theirs
            row = _locked_row()
            before = {"months": row.months, "saved": True}
    row.months, row.updated_by = months, actor.id
    db.session.flush()
    audit.record("privacy.retention_period", row, actor=actor, before=before,
                 after={"months": months, "saved": True})
    return effective_period()


def _locked_row() -> RetentionSetting | None:
    return db.session.get(RetentionSetting, 1, with_for_update=True, populate_existing=True)
