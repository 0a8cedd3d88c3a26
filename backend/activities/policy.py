"""Who may see and do what with an activity: the object checks shared by handlers, templates and
operations. The office (admin) runs every activity; a station's liaison those of their stations;
a deputy sees the activities they are invited to (or reported) and answers only for themselves."""
from backend.activities.models import Activity, ActivityAttendance


def _role(user) -> str | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "role", None)


def can_organise(user, station_id: int | None) -> bool:
    """Create an activity for a station (or, station_id None, for the office)."""
    role = _role(user)
    if role == "admin":
        return True
    return role == "liaison" and station_id is not None and station_id in user.station_ids


def can_manage(user, activity: Activity) -> bool:
    """Check deputies in, mark absences, write the record, cancel, confirm a report."""
    return can_organise(user, activity.station_id)


def is_participant(user, activity: Activity) -> bool:
    return (_role(user) == "deputy"
            and activity.attendance_of(user.deputy_id) is not None)


def can_view(user, activity: Activity) -> bool:
    return can_manage(user, activity) or is_participant(user, activity)


def can_see_code(user, activity: Activity) -> bool:
    """The check-in code is shown on the organiser's phone only."""
    return can_manage(user, activity) and activity.status == "planned"


def can_answer(user, attendance: ActivityAttendance) -> bool:
    return _role(user) == "deputy" and user.deputy_id == attendance.deputy_id


def can_report(user) -> bool:
    """A deputy reports an activity of their own."""
    return _role(user) == "deputy" and user.deputy is not None and user.deputy.is_active
