"""Who may see a deputy's record and a station's figures: the deputy their own, a station's
liaison those of their stations' deputies and their stations, the office everything."""
from backend.org import policy as access


def _role(user) -> str | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "role", None)


def can_view_record(user, deputy) -> bool:
    if _role(user) == "deputy":
        return user.deputy_id == deputy.id
    return access.can_manage_deputy(user, deputy)


def can_view_station_figures(user, station) -> bool:
    return access.can_manage_station(user, station)


def can_view_district(user) -> bool:
    return _role(user) == "admin"


def can_export_all(user) -> bool:
    """The all-deputies Excel: the office files it."""
    return _role(user) == "admin"


def can_publish_evaluation(user) -> bool:
    """Publishing a quarter's evaluation (季度公布): the office."""
    return _role(user) == "admin"


def can_view_quarter(user, deputy, is_published: bool) -> bool:
    """A quarter's evaluation of a deputy: the office and the deputy's stations' liaisons at
    once; the deputy their own once it is published; the public only published ones."""
    if _role(user) == "deputy":
        return is_published and user.deputy_id == deputy.id
    if _role(user) in ("admin", "liaison"):
        return access.can_manage_deputy(user, deputy)
    return False
