"""Read-only helpers the channels need: which activities a user sees, and what a deputy may do
with one now."""
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from backend.activities.models import Activity, ActivityAttendance, counted_between
from backend.activities.operations import CHECKIN_EARLY, CHECKIN_LATE, invitable_deputies
from backend.core.extensions import db
from backend.core.paging import PAGE_SIZE, decode_cursor, encode_cursor
from backend.org.models import Deputy

SECTIONS = ("upcoming", "recent")  # a list's two parts (activity_page), in this order


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


def _ahead(now: datetime):
    """Planned, and its check-in not yet closed."""
    return (Activity.status == "planned") & (Activity.ends_at > now - CHECKIN_LATE)


@dataclass
class ActivityPage:
    upcoming: list[Activity]
    recent: list[Activity]
    next_cursor: str | None


def activity_page(user, now: datetime, *, cursor: str | None = None,
                  limit: int = PAGE_SIZE) -> ActivityPage:
    """The activities `user` sees, as `visible_to` has them (an organiser their stations', a
    deputy those they are invited to), in one stable order paged by keyset: first those still
    ahead, soonest first; then the others (held, cancelled, reported), newest first. A page
    holds `limit` in all, the tail of the first part and the head of the second when it spans
    both; the cursor names the part and the last row."""
    # Each row shows every answer (organiser) or the deputy's own: one more query, not one each.
    stmt = visible_to(user).order_by(None).options(selectinload(Activity.attendances))
    section, after = "upcoming", None
    if cursor:
        section, at, last_id = decode_cursor(cursor, SECTIONS)
        after = sa.tuple_(sa.literal(at, Activity.starts_at.type), sa.literal(last_id))
    upcoming = []
    if section == "upcoming":
        ahead = stmt.where(_ahead(now)).order_by(Activity.starts_at, Activity.id)
        if after is not None:
            ahead = ahead.where(sa.tuple_(Activity.starts_at, Activity.id) > after)
        upcoming = list(db.session.scalars(ahead.limit(limit + 1)))
        if len(upcoming) > limit:
            return ActivityPage(upcoming[:limit], [], _cursor("upcoming", upcoming[limit - 1]))
        after = None  # the second part, from its start
    room = limit - len(upcoming)
    others = stmt.where(~_ahead(now)).order_by(Activity.starts_at.desc(), Activity.id.desc())
    if after is not None:
        others = others.where(sa.tuple_(Activity.starts_at, Activity.id) < after)
    rows = list(db.session.scalars(others.limit(room + 1)))
    recent = rows[:room]
    if len(rows) <= room:
        return ActivityPage(upcoming, recent, None)
    last = ("recent", recent[-1]) if recent else ("upcoming", upcoming[-1])
    return ActivityPage(upcoming, recent, _cursor(*last))


def _cursor(section: str, activity: Activity) -> str:
    return encode_cursor(activity.starts_at, activity.id, section)


def deputy_actions(activity: Activity, attendance: ActivityAttendance | None, now: datetime
                   ) -> list[str]:
    """What the invited deputy may do now, as the operations would allow it: answer (参加/请假)
    until the start, check in with the code within its window."""
    if attendance is None or activity.status != "planned" or attendance.status == "attended":
        return []
    actions = []
    if now < activity.starts_at:
        actions.append("answer")
    if activity.starts_at - CHECKIN_EARLY <= now <= activity.ends_at + CHECKIN_LATE:
        actions.append("check_in")
    return actions


def organiser_actions(activity: Activity, now: datetime) -> list[str]:
    """What the organiser (who may manage the activity) may do now, as the operations would
    allow it: confirm or reject a deputy's report; tick invited deputies present from an hour
    before the start while the activity is planned; write (or correct) the record once it has
    begun; list the matters residents raised once it is held."""
    if activity.status == "reported":
        return ["confirm", "reject"]
    actions = []
    if (activity.status == "planned" and now >= activity.starts_at - CHECKIN_EARLY
            and any(a.status != "attended" for a in activity.attendances)):
        actions.append("mark_present")
    if activity.status in ("planned", "held") and now >= activity.starts_at:
        actions.append("record")
    if activity.status == "held":
        actions.append("add_item")
    if activity.status == "planned":
        actions += ["invite", "cancel"]
    return actions


def still_invitable(activity: Activity) -> list[Deputy]:
    """Whom the organiser may still invite (invite_deputies' rule): the deputies it could have
    invited and has not, while it is planned."""
    if activity.status != "planned":
        return []
    return [d for d in invitable_deputies(activity.station_id)
            if activity.attendance_of(d.id) is None]


def counted_activities(deputy_id: int, start: datetime, end: datetime
                       ) -> list[tuple[Activity, ActivityAttendance]]:
    """The activities on a deputy's record of duty between two instants (held ones they were
    invited to, their own confirmed reports), each with the deputy's attendance, in date order:
    the lines behind the record's activity counts."""
    rows = db.session.execute(
        sa.select(Activity, ActivityAttendance)
        .join(ActivityAttendance, ActivityAttendance.activity_id == Activity.id)
        .where(ActivityAttendance.deputy_id == deputy_id, counted_between(start, end))
        .order_by(Activity.starts_at, Activity.id))
    return [(activity, attendance) for activity, attendance in rows]
