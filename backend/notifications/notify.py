"""Queueing notifications in the outbox, inside the caller's transaction. Delivery happens
after the commit (backend/delivery/outbox.py), so nobody hears of a change that rolled back."""
from backend.core.extensions import db
from backend.notifications.models import Notification
from backend.notifications.places import Place
from backend.accounts.models import StaffUser, staff_stations


def notify(recipient_kind: str, recipient_id: int | None, topic: str, title: str, *,
           body: str = "", place: Place | None = None, subject=None) -> Notification | None:
    """One outbox row: `subject` is what the notice is about, `place` where it takes its reader
    (they differ: a resident told of a suggestion is taken to their own message)."""
    if recipient_id is None:
        return None
    note = Notification(recipient_kind=recipient_kind, recipient_id=recipient_id, topic=topic,
                        title=title[:60], body=body[:500],
                        place_ref=place.stored() if place is not None else "",
                        subject_type=getattr(subject, "__tablename__", ""),
                        subject_id=getattr(subject, "id", None))
    db.session.add(note)
    return note


def notify_station_liaisons(station_id: int, topic: str, title: str, **kw) -> None:
    ids = db.session.scalars(
        db.select(StaffUser.id)
        .join(staff_stations, staff_stations.c.staff_id == StaffUser.id)
        .where(staff_stations.c.station_id == station_id, StaffUser.role == "liaison",
               StaffUser.is_active.is_(True)))
    for staff_id in ids:
        notify("staff", staff_id, topic, title, **kw)
