"""`allowed_actions` and `resident_actions` against the appointment operations, status by status,
person by person and at the times that matter (before the day, during the slot, after it): the
set is the expected one, every verb in it is accepted by its operation, and every verb outside
it is refused and changes nothing. The pages show exactly the set's forms."""
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.core.errors import Forbidden, InvalidState, ValidationFailed
from backend.core.timeutil import utcnow
from backend.reception import appointments as ops
from backend.reception.actions import (
    RESIDENT_VERBS, STAFF_VERBS, allowed_actions, resident_actions,
)
from backend.reception.models import Appointment
from tests.conftest import csrf_token

STAFF = ("admin", "liaison", "liaison_other", "zhang", "li", "wang")

# (kind, status, when) → {staff: verbs}. kind: slot (a seat on the day, 09:00–09:30),
# request (a meeting asked of 王建国), station_request (asked of the station).
# when: before (two days ahead), during (the day, 09:10), after (the day, 12:00);
# for requests: before (the asked-for time ahead), after (it has passed).
STAFF_EXPECTED = {
    ("slot", "booked", "before"): {"admin": {"cancel"}, "liaison": {"cancel"}},
    ("slot", "booked", "during"): {"admin": {"cancel", "check_in"},
                                   "liaison": {"cancel", "check_in"}},
    ("slot", "booked", "after"): {"admin": {"cancel", "check_in", "no_show"},
                                  "liaison": {"cancel", "check_in", "no_show"}},
    ("slot", "waitlisted", "during"): {"admin": {"cancel"}, "liaison": {"cancel"}},
    ("slot", "checked_in", "after"): {},
    ("slot", "no_show", "after"): {},
    ("slot", "cancelled", "before"): {},
    ("request", "requested", "before"): {
        who: {"cancel", "accept", "propose", "decline"} for who in ("admin", "liaison", "wang")},
    ("request", "requested", "after"): {
        who: {"cancel", "propose", "decline"} for who in ("admin", "liaison", "wang")},
    ("request", "proposed", "before"): {
        who: {"cancel", "propose", "decline"} for who in ("admin", "liaison", "wang")},
    ("request", "accepted", "before"): {who: {"cancel"} for who in ("admin", "liaison", "wang")},
    ("request", "declined", "before"): {},
    ("request", "cancelled", "before"): {},
    ("station_request", "requested", "before"): {
        who: {"cancel", "accept", "propose", "decline"} for who in ("admin", "liaison")},
}

# (kind, status, when) → the owner's verbs; a stranger has none. when for a seat: before
# (outside the 24-hour cut-off) or late (inside it); for a proposal: before or after its time.
RESIDENT_EXPECTED = {
    ("slot", "booked", "before"): {"cancel"},
    ("slot", "booked", "late"): set(),
    ("slot", "waitlisted", "late"): {"cancel"},
    ("slot", "checked_in", "after"): set(),
    ("slot", "no_show", "after"): set(),
    ("slot", "cancelled", "before"): set(),
    ("request", "requested", "before"): {"cancel"},
    ("request", "proposed", "before"): {"cancel", "accept_proposal"},
    ("request", "proposed", "after"): {"cancel"},
    ("request", "accepted", "before"): {"cancel"},
    ("request", "declined", "before"): set(),
}


@pytest.fixture
def people(appt_world, make_staff, make_station):
    w = appt_world
    return {"admin": make_staff("admin"),
            "liaison": make_staff("liaison", stations=[w.station]),
            "liaison_other": make_staff("liaison", stations=[make_station()]),
            "zhang": make_staff("deputy", deputy=w.zhang), "li": make_staff("deputy", deputy=w.li),
            "wang": make_staff("deputy", deputy=w.wang)}


def _clock(w, at, kind, when):
    day = w.day
    if kind == "slot":
        return {"before": at(day, "10:00", days=-2), "late": at(day, "08:00"),
                "during": at(day, "09:10"), "after": at(day, "12:00")}[when]
    # The meeting is asked for at 15:00 three days before the reception day.
    return {"before": at(day, "09:00", days=-5), "after": at(day, "10:00", days=-2)}[when]


def _make(db, w, at, make_resident, appt_book, kind, status):
    """An appointment of that kind, put straight into `status` (seats counted as the operations
    would), committed so that every attempt can be rolled back to it."""
    resident = make_resident()
    if kind == "slot":
        if status == "waitlisted":
            a = Appointment(resident_id=resident.id, status="waitlisted", code="WAIT0001",
                            kind="slot", station_id=w.station.id, day_id=w.day.id,
                            slot_id=w.slots[0].id, topic="小区加装电梯的事")
            db.session.add(a)
        else:
            a = appt_book(w, resident=resident)
            if status != "booked":
                a.status = status
                if status == "cancelled":
                    w.slots[0].booked -= 1
    else:
        a = ops.request_meeting(
            resident=resident, station=w.station,
            deputy=w.wang if kind == "request" else None, topic="想当面说说小区停车难",
            requested_at=at(w.day, "15:00", days=-3), now=at(w.day, "09:00", days=-5))
        if status == "proposed":
            a.proposed_at = at(w.day, "15:00", days=-4)
        if status != "requested":
            a.status = status
    db.session.commit()
    return a


def _staff_attempt(verb, a, user, now):
    if verb == "check_in":
        return ops.check_in(a.code, actor=user, day=a.day, now=now)
    if verb == "no_show":
        return ops.mark_no_show(a, actor=user, now=now)
    if verb == "cancel":
        return ops.cancel(a, by_staff=user, reason="代表临时出差", now=now)
    if verb == "accept":
        return ops.accept_meeting(a, actor=user, now=now)
    if verb == "propose":
        return ops.propose_time(a, now + timedelta(days=2), actor=user, now=now)
    if verb == "decline":
        return ops.decline_meeting(a, "此事请拨打12345热线", actor=user)
    raise AssertionError(verb)


def _resident_attempt(verb, a, resident, now):
    if verb == "cancel":
        return ops.cancel(a, by_resident=resident, now=now)
    if verb == "accept_proposal":
        return ops.accept_proposal(a, resident=resident, now=now)
    raise AssertionError(verb)


PAGE_FORM_RE = re.compile(
    r'action="/(?:staff/appointments|staff/meeting-requests|my/appointments)/\d+/([a-z\-_]+)"')
PAGE_VERBS = {"no-show": "no_show", "cancel": "cancel", "accept": "accept", "propose": "propose",
              "decline": "decline"}


def _staff_page_forms(app, user, a, now) -> set[str]:
    """The forms the staff page listing `a` shows for it (the day's list or the requests)."""
    from flask import render_template
    from flask_login import login_user
    with app.test_request_context("/staff/appointments"):
        login_user(user)
        acts = lambda row: allowed_actions(user, row, now)  # noqa: E731
        if a.kind == "slot":
            html = render_template(
                "staff/appointments_day.html", day=a.day, seated=[a], waiting=[], deputies=[],
                slots=[], can_act=False, masked_phone=ops.masked_phone, actions_of=acts)
        else:
            html = render_template(
                "staff/appointment_requests.html", items=[a], actions_of=acts,
                meeting_time=ops.meeting_time, masked_phone=ops.masked_phone,
                today=now.date())
    return {PAGE_VERBS[v] for v in PAGE_FORM_RE.findall(html)}


def _resident_page_forms(app, a, actions) -> set[str]:
    from flask import render_template
    with app.test_request_context(f"/my/appointments/{a.id}"):
        html = render_template("portal/appointment.html", a=a, actions=actions,
                               deadline=ops.cancel_deadline(a), meeting_time=ops.meeting_time(a))
    return {"accept_proposal" if v == "accept" else v for v in PAGE_FORM_RE.findall(html)}


def _footprint(db, a_id):
    db.session.expire_all()
    a = db.session.get(Appointment, a_id)
    return a.status, a.slot.booked if a.slot else None, a.checked_in_at, a.proposed_at


def _check(db, a_id, verbs, expected, attempt, label):
    before = _footprint(db, a_id)
    for verb in verbs:
        a = db.session.get(Appointment, a_id)
        if verb in expected:
            try:
                attempt(verb, a)
            except Exception as err:  # noqa: BLE001 - the message says which pair broke
                pytest.fail(f"{label}: {verb} is offered but refused: {err!r}")
        else:
            # The asked-for time having passed is the one refusal given as bad input (at).
            refusals = (Forbidden, InvalidState) + ((ValidationFailed,) if verb == "accept" else ())
            with pytest.raises(refusals):
                attempt(verb, a)
                pytest.fail(f"{label}: {verb} is not offered but the operation accepts it")
        db.session.rollback()
        assert _footprint(db, a_id) == before


@pytest.mark.parametrize("kind, status, when", list(STAFF_EXPECTED))
def test_staff_actions_match_the_operations(app, db, appt_world, appt_at, appt_book, make_resident,
                                            people, kind, status, when):
    a = _make(db, appt_world, appt_at, make_resident, appt_book, kind, status)
    now = _clock(appt_world, appt_at, kind, when)
    for who in STAFF:
        expected = STAFF_EXPECTED[(kind, status, when)].get(who, set())
        user = people[who]
        assert allowed_actions(user, db.session.get(Appointment, a.id), now) == expected, who
        # Check-in is by code for the whole day. The requests page has no cancel form: staff
        # decline an open request; a confirmed meeting has none yet though cancel allows it.
        shown = expected - {"check_in"} - ({"cancel"} if a.kind != "slot" else set())
        assert _staff_page_forms(app, user, db.session.get(Appointment, a.id), now) == shown, who
        _check(db, a.id, STAFF_VERBS, expected,
               lambda verb, row: _staff_attempt(verb, row, user, now),
               f"{kind}/{status}/{when}/{who}")


@pytest.mark.parametrize("kind, status, when", list(RESIDENT_EXPECTED))
def test_resident_actions_match_the_operations(app, db, appt_world, appt_at, appt_book,
                                               make_resident, kind, status, when):
    a = _make(db, appt_world, appt_at, make_resident, appt_book, kind, status)
    now = _clock(appt_world, appt_at, kind, when)
    owner, stranger = a.resident, make_resident()
    db.session.commit()
    for resident, expected in ((owner, RESIDENT_EXPECTED[(kind, status, when)]),
                               (stranger, set())):
        assert resident_actions(resident, db.session.get(Appointment, a.id), now) == expected
        if resident is owner:
            assert _resident_page_forms(app, db.session.get(Appointment, a.id), expected) == expected
        _check(db, a.id, RESIDENT_VERBS, expected,
               lambda verb, row: _resident_attempt(verb, row, resident, now),
               f"{kind}/{status}/{when}/{'owner' if resident is owner else 'stranger'}")
    assert resident_actions(None, a, now) == set()


def test_the_tables_cover_every_status_and_verb():
    from backend.reception.models import APPOINTMENT_STATUSES
    assert {s for _, s, _ in STAFF_EXPECTED} == set(APPOINTMENT_STATUSES)
    offered = set().union(*(v for case in STAFF_EXPECTED.values() for v in case.values()))
    assert offered == set(STAFF_VERBS)
    assert set().union(*RESIDENT_EXPECTED.values()) == set(RESIDENT_VERBS)


# ---- the pages read the sets ----

@pytest.fixture
def staff_browser(app, db):
    def sign_in(user):
        db.session.commit()
        client = app.test_client()
        resp = client.post("/staff/login", data={
            "username": user.username, "password": "correct-horse-9",
            "csrf_token": csrf_token(client, "/staff/login")})
        assert resp.status_code == 302
        return client
    return sign_in


def test_a_request_whose_time_has_passed_is_not_offered_for_accepting(db, appt_world, people,
                                                                     make_resident, staff_browser):
    """The operation would refuse it (the time is past): the page offers another time instead."""
    resident = make_resident()
    stale = Appointment(resident_id=resident.id, status="requested", code="STALE001",
                        kind="request", station_id=appt_world.station.id,
                        deputy_id=appt_world.wang.id, topic="想当面说说小区停车难",
                        requested_at=utcnow() - timedelta(hours=1))
    db.session.add(stale)
    db.session.commit()
    html = staff_browser(people["wang"]).get("/staff/meeting-requests").get_data(as_text=True)
    assert 'data-testid="propose"' in html and 'data-testid="decline"' in html
    assert 'data-testid="accept"' not in html
    assert db.session.scalar(sa.select(Appointment.status).filter_by(id=stale.id)) == "requested"
