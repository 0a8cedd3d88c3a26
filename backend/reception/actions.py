"""Which verbs may be applied to an appointment now: `allowed_actions` for staff (the station's
liaison or an admin, and the deputy a meeting request is addressed to), `resident_actions` for
the resident who made it. The staff and portal pages show exactly these forms.

A verb is in the set when the policy (backend/reception/policy.py) lets the user act, its source
statuses in `appointments.TRANSITIONS` include the appointment's, and the clock allows what its
operation checks (check-in on the day only, a no-show after the slot, a meeting still ahead).
The operations check all of it again; tests/reception/test_actions.py holds the two together."""
from datetime import datetime

from backend.core.timeutil import LOCAL_TZ, utcnow
from backend.reception import appointments as ops
from backend.reception.models import Appointment
from backend.reception.policy import can_handle, can_manage

STAFF_VERBS = ("check_in", "no_show", "cancel", "accept", "propose", "decline")
RESIDENT_VERBS = ("cancel", "accept_proposal")


def _from(a: Appointment, verb: str) -> bool:
    return a.status in ops.TRANSITIONS[verb][0]


def allowed_actions(user, appointment: Appointment, now: datetime | None = None) -> set[str]:
    """The staff verbs `user` may apply to `appointment` at `now`."""
    a, now = appointment, now or utcnow()
    verbs = set()
    if a.kind == "slot" and can_manage(user, a.station):
        if _from(a, "check_in") and now.astimezone(LOCAL_TZ).date() == a.day.date:
            verbs.add("check_in")
        if _from(a, "no_show") and now >= ops.slot_end(a.slot):
            verbs.add("no_show")
    if not can_handle(user, a):
        return verbs
    if _from(a, "cancel"):
        verbs.add("cancel")
    # Accepting keeps the time asked for, which must still be ahead (a proposal names its own).
    if _from(a, "accept") and a.requested_at is not None and a.requested_at > now:
        verbs.add("accept")
    verbs |= {v for v in ("propose", "decline") if _from(a, v)}
    return verbs


def resident_actions(resident, appointment: Appointment, now: datetime | None = None) -> set[str]:
    """The verbs the resident may apply to their own appointment at `now`; none to another's."""
    a, now = appointment, now or utcnow()
    if resident is None or a.resident_id != resident.id:
        return set()
    verbs = set()
    if ops.resident_can_cancel(a, now):
        verbs.add("cancel")
    if _from(a, "accept_proposal") and a.proposed_at is not None and a.proposed_at > now:
        verbs.add("accept_proposal")
    return verbs
