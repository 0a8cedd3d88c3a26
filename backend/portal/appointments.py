"""The resident's side of reception days: book a seat (or wait for one), keep the booking
code, see and cancel their bookings, and ask for a meeting outside reception days. Every rule
lives in backend.reception.appointments; these handlers read the form, call it and commit."""
from flask import abort, flash, redirect, render_template, request, url_for

from backend.core.errors import DomainError
from backend.core.extensions import db
from backend.reception.models import Appointment, ReceptionDay, ReceptionSlot
from backend.org.models import Deputy
from backend.reception import appointments as ops
from backend.reception.actions import resident_actions
from backend.reception import ical
from backend.org import public
from backend.core.parsing import row_id
from backend.portal import bp
from backend.portal.refusals import form_page
from backend.portal.residents import current_web_resident, get_or_create_web_resident, web_key
from backend.core.ratelimit import submission_limits
from backend.core.timeutil import local_today, utcnow

TEXT_FIELDS = ("topic", "contact_name", "phone")
MEETING_TIMES = [f"{h:02d}:{m:02d}" for h in range(8, 18) for m in (0, 30)][1:-1]  # 08:30–17:00


@bp.app_template_global()
def upcoming_duty(deputy):
    """The deputy's duty on a reception day soon, for the link on their page."""
    return ops.next_duty(deputy, today=local_today())


# ---- booking a seat ----

@bp.get("/stations/<int:station_id>/book")
def book_form(station_id: int):
    station = public.public_station(station_id)
    web_key()  # see backend/portal/residents.py: a double tap still names one resident
    return _book_page(station, request.args.get("day", type=row_id),
                      {"deputy_id": request.args.get("deputy", "")})


@bp.post("/stations/<int:station_id>/book")
@submission_limits("booking")
def book(station_id: int):
    station = public.public_station(station_id)
    form = request.form.to_dict()
    day = _station_day(station, row_id(form.get("day_id")))
    slot = db.session.get(ReceptionSlot, row_id(form.get("slot_id")) or 0)
    deputy = db.session.get(Deputy, row_id(form.get("deputy_id")) or 0)
    operation = ops.join_waitlist if form.get("action") == "waitlist" else ops.book
    resident = get_or_create_web_resident()
    try:
        appointment = operation(resident=resident, day=day, slot=slot, deputy=deputy,
                                **{k: form.get(k, "") for k in TEXT_FIELDS})
    except DomainError as err:
        db.session.rollback()
        return _book_page(station, day.id, form, err), err.status
    db.session.commit()
    return redirect(url_for(".appointment", appointment_id=appointment.id))


@form_page("portal.book")
def _book_again(err, station_id: int):
    return _book_page(public.public_station(station_id), row_id(request.form.get("day_id")),
                      request.form.to_dict(), err)


def _book_page(station, day_id: int | None, form: dict, err: DomainError | None = None) -> str:
    days = ops.upcoming_days(station, today=local_today())
    day = next((d for d in days if d.id == day_id), days[0] if days else None)
    return render_template(
        "portal/appointment_book.html", station=station, days=days, day=day,
        slots=ops.slot_views(day) if day else [], deputies=ops.on_duty(day) if day else [],
        held=ops.live_on_day(current_web_resident(), day) if day else None,
        form=form, err=err, errors=err.errors if err else {}, topic_max=ops.TOPIC_MAX,
        cutoff_hours=ops.cutoff_hours(station.id))


def _station_day(station, day_id: int | None) -> ReceptionDay:
    day = db.session.get(ReceptionDay, day_id or 0)
    if day is None or day.station_id != station.id:
        abort(404)
    return day


# ---- the resident's bookings ----

@bp.get("/my/appointments")
def my_appointments():
    resident = current_web_resident()
    items = ops.resident_appointments(resident) if resident else []
    now = utcnow()
    return render_template("portal/appointments.html", items=items,
                           actions_of=lambda a: resident_actions(resident, a, now),
                           meeting_time=ops.meeting_time,
                           feed=ical.find_feed("resident", resident.id) if resident else None)


@bp.post("/my/appointments/feed")
def my_appointments_feed():
    resident = current_web_resident()
    if resident is None:
        abort(404)
    ical.feed_token("resident", resident.id)
    db.session.commit()
    flash("已生成预约日历订阅链接", "success")
    return redirect(url_for(".my_appointments"))


@bp.get("/my/appointments/<int:appointment_id>")
def appointment(appointment_id: int):
    a = _own(appointment_id)
    return render_template("portal/appointment.html", a=a,
                           actions=resident_actions(a.resident, a), deadline=ops.cancel_deadline(a),
                           meeting_time=ops.meeting_time(a))


@bp.post("/my/appointments/<int:appointment_id>/cancel")
def cancel_appointment(appointment_id: int):
    a = _own(appointment_id)
    return _act(lambda: ops.cancel(a, by_resident=a.resident), "预约已取消",
                url_for(".my_appointments"))


@bp.post("/my/appointments/<int:appointment_id>/accept")
def accept_proposal(appointment_id: int):
    a = _own(appointment_id)
    return _act(lambda: ops.accept_proposal(a, resident=a.resident), "已接受新的见面时间",
                url_for(".appointment", appointment_id=a.id))


def _own(appointment_id: int) -> Appointment:
    """The appointment if this browser made it, else 404: a stranger cannot tell a hidden
    booking from a missing one."""
    a = db.session.get(Appointment, appointment_id)
    resident = current_web_resident()
    if a is None or resident is None or a.resident_id != resident.id:
        abort(404)
    return a


def _act(run, done: str, back: str):
    try:
        run()
    except DomainError as err:
        db.session.rollback()
        flash(err.message, "error")
    else:
        db.session.commit()
        flash(done, "success")
    return redirect(back)


# ---- a meeting outside reception days ----

@bp.get("/stations/<int:station_id>/meet")
def meet_form(station_id: int):
    station = public.public_station(station_id)
    web_key()
    return _meet_page(station, {"deputy_id": request.args.get("deputy", "")})


@bp.post("/stations/<int:station_id>/meet")
@submission_limits("booking")
def meet(station_id: int):
    station = public.public_station(station_id)
    form = request.form.to_dict()
    deputy = db.session.get(Deputy, row_id(form.get("deputy_id")) or 0)
    resident = get_or_create_web_resident()
    try:
        a = ops.request_meeting(
            resident=resident, station=station, deputy=deputy,
            requested_at=ops.parse_local(f"{form.get('date', '')}T{form.get('time', '')}"),
            **{k: form.get(k, "") for k in TEXT_FIELDS})
    except DomainError as err:
        db.session.rollback()
        return _meet_page(station, form, err), err.status
    db.session.commit()
    return redirect(url_for(".appointment", appointment_id=a.id))


@form_page("portal.meet")
def _meet_again(err, station_id: int):
    return _meet_page(public.public_station(station_id), request.form.to_dict(), err)


def _meet_page(station, form: dict, err: DomainError | None = None) -> str:
    return render_template(
        "portal/appointment_request.html", station=station, form=form, err=err,
        errors=err.errors if err else {}, roster=[d for d, _ in public.station_roster(station)],
        times=MEETING_TIMES, today=local_today(), topic_max=ops.TOPIC_MAX)
