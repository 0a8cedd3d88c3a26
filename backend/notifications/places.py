"""Where a notification takes its reader. An operation names the place (what it is and its id);
this module alone turns a place into the portal path (for the web and the in-app inbox) and
into the mini-program page a subscribe message opens (README lists those pages). The outbox row
stores the place as `name:id`, never a path, so nothing parses a path back."""
import re
from dataclasses import dataclass

# name: (portal path, mini-program page or None for its home page)
PLACES = {
    "resident_message": ("/m/{id}", "pages/message/detail?id={id}"),
    "resident_appointment": ("/my/appointments/{id}", "pages/appointment/detail?id={id}"),
    "deputy_message": ("/staff/inbox/{id}", "pages/deputy/message?id={id}"),
    "liaison_message": ("/staff/messages/{id}", "pages/liaison/message?id={id}"),
    "suggestion": ("/staff/suggestions/{id}", "pages/deputy/suggestion?id={id}"),
    "duties": ("/staff/duties", "pages/deputy/duties"),
    "station_roster": ("/staff/stations/{id}/roster", "pages/liaison/roster?station={id}"),
    "station": ("/stations/{id}", None),
    "meeting_requests": ("/staff/meeting-requests", None),
    "day_appointments": ("/staff/reception-days/{id}/appointments", None),
    # An invited (or reporting) deputy's notice; the organiser's opens organised_activity.
    "activity": ("/staff/activities/{id}", "pages/deputy/activity?id={id}"),
    "organised_activity": ("/staff/activities/{id}", "pages/liaison/activity?id={id}"),
    "resident_project": ("/projects/{id}", None),
    "staff_project": ("/staff/projects/{id}", None),
    "project_ballot": ("/staff/projects/ballot", None),
    "overdue_messages": ("/staff/messages?overdue=1", None),
}
_STORED = re.compile(r"([a-z_]+)(?::(\d+))?")


@dataclass(frozen=True)
class Place:
    name: str
    id: int | None = None

    def __post_init__(self):
        path, _ = PLACES[self.name]  # an unknown place is a bug: KeyError at once
        if ("{id}" in path) != (self.id is not None):
            raise ValueError(f"place {self.name} takes {'an' if '{id}' in path else 'no'} id")

    @property
    def web_path(self) -> str:
        return PLACES[self.name][0].format(id=self.id)

    @property
    def mp_page(self) -> str | None:
        page = PLACES[self.name][1]
        return page.format(id=self.id) if page else None

    def stored(self) -> str:
        return self.name if self.id is None else f"{self.name}:{self.id}"


def from_stored(value: str | None) -> Place | None:
    """The place an outbox row names; None for an empty or unknown value."""
    match = _STORED.fullmatch(value or "")
    if match is None or match.group(1) not in PLACES:
        return None
    try:
        return Place(match.group(1), int(match.group(2)) if match.group(2) else None)
    except ValueError:
        return None
