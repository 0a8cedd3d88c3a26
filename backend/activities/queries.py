"""Read-only helpers the channels need: which activities a user sees."""
import sqlalchemy as sa

from backend.activities.models import Activity, ActivityAttendance
from backend.core.extensions import db


def visible_to(user) -> sa.Select:
    """The office sees all; a liaison their stations'; a deputy those they are invited to or
    reported. Newest first."""
    stmt = sa.select(Activity).order_by(Activity.starts_at.desc(), Activity.id.desc())
    if user.role == "admin":
        return stmt
    if user.role == "liaison":
        return stmt.where(Activity.station_id.in_(user.station_ids or {-1}))
    if user.role == "deputy":
        return stmt.where(Activity.id.in_(sa.select(ActivityAttendance.activity_id).where(
            ActivityAttendance.deputy_id == user.deputy_id)))
    return stmt.where(sa.false())


def pending_reports(user) -> int:
    """Reports waiting for this user's confirmation: the count on the menu."""
    return db.session.scalar(visible_to(user).with_only_columns(sa.func.count()).order_by(None)
                             .where(Activity.status == "reported")) if user.role in (
        "admin", "liaison") else 0
