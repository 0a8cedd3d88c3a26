"""Object-level permission checks, shared by handlers, templates and operations."""
from backend.core.errors import Forbidden


def _role(user) -> str | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.role


def managed_station_ids(user) -> set[int] | None:
    """The stations a user looks after: None means all of them (admin)."""
    role = _role(user)
    if role == "admin":
        return None
    if role == "liaison":
        return user.station_ids
    return set()


def can_manage_org(user) -> bool:
    """Terms, deputy groups, departments and staff accounts belong to the admin office alone."""
    return _role(user) == "admin"


def can_manage_station(user, station) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.role == "admin":
        return True
    return user.role == "liaison" and station.id in user.station_ids


def can_create_station(user) -> bool:
    return _role(user) == "admin"


def can_deactivate_station(user, station) -> bool:
    return _role(user) == "admin"


def can_manage_deputy(user, deputy) -> bool:
    """Admins manage every deputy; a liaison only deputies who belong to one of their stations."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.role == "admin":
        return True
    if user.role != "liaison":
        return False
    return any(s.id in user.station_ids for s in deputy.stations)


def can_create_deputy(user) -> bool:
    return _role(user) == "admin" or (_role(user) == "liaison" and bool(user.station_ids))


def can_deactivate_deputy(user, deputy) -> bool:
    """Deactivating hides a deputy from every station, so a liaison may do it only when all of
    the deputy's stations are theirs."""
    scope = managed_station_ids(user)
    if scope is None:
        return True
    return bool(deputy.stations) and all(s.id in scope for s in deputy.stations)


def can_edit_deputy_stations(user, current_ids: set[int], requested_ids: set[int]) -> bool:
    """A liaison may add a deputy only to stations they manage. (Memberships of other stations
    are kept by the operation whatever is submitted, so removal needs no check here.)"""
    scope = managed_station_ids(user)
    if scope is None:
        return True
    return set(requested_ids) - set(current_ids) <= scope


def ensure(allowed: bool, message: str | None = None) -> None:
    if not allowed:
        raise Forbidden(message)
