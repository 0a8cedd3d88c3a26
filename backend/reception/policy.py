"""Who may see and do what on reception days: the object checks shared by handlers, templates and
operations. A station's liaison (or an admin) runs its days; deputies see their own duties and
the meeting requests addressed to them."""
from backend.org import policy as access
from backend.org.models import Deputy, Station
from backend.reception.models import Appointment, ReceptionDay


def can_manage(user, station: Station) -> bool:
    """The station's liaison, or an admin: the day's list, check-in, no-shows, cancelling."""
    return access.can_manage_station(user, station)


def can_handle(user, a: Appointment) -> bool:
    """Staff who answer for this appointment: the station's liaison (or an admin), and for a
    meeting request also the deputy it is addressed to."""
    if can_manage(user, a.station):
        return True
    return (a.kind == "request" and is_deputy(user) and a.deputy_id is not None
            and user.deputy_id == a.deputy_id)


def can_view_day(user, day: ReceptionDay) -> bool:
    """The station's staff, and the deputies on duty that day (read only)."""
    return can_manage(user, day.station) or (
        is_deputy(user) and any(d.deputy_id == user.deputy_id for d in day.duties))


def is_deputy(user) -> bool:
    return getattr(user, "is_authenticated", False) and getattr(user, "role", None) == "deputy"


def is_deputy_self(user, deputy_id: int | None) -> bool:
    return (getattr(user, "is_authenticated", False) and user.role == "deputy"
            and user.deputy_id == deputy_id)


def can_set_availability(user, deputy: Deputy) -> bool:
    """The deputy themselves, or whoever manages one of their stations."""
    return user is None or is_deputy_self(user, deputy.id) or access.can_manage_deputy(user, deputy)


def can_manage_roster(user, station: Station) -> bool:
    return user is None or access.can_manage_station(user, station)


def can_record(user, day: ReceptionDay) -> bool:
    return access.can_manage_station(user, day.station)
