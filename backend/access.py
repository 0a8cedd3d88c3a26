"""Object-level permission checks, shared by handlers, templates and operations."""
from backend.errors import Forbidden


def can_manage_station(user, station) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.role == "admin":
        return True
    return user.role == "liaison" and station.id in user.station_ids


def can_manage_deputy(user, deputy) -> bool:
    """Admins manage every deputy; a liaison only deputies who belong to one of their stations."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.role == "admin":
        return True
    if user.role != "liaison":
        return False
    return any(s.id in user.station_ids for s in deputy.stations)


def ensure(allowed: bool, message: str | None = None) -> None:
    if not allowed:
        raise Forbidden(message)
