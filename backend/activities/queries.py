"""Read-only helpers the channels need: which activities a user sees."""
import sqlalchemy as sa

from backend.activities.models import Activity, ActivityAttendance


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

