"""Staff pages for appointments: a reception day's bookings (check-in by code, no-shows,
cancelling with a reason) and the meeting requests a liaison or deputy answers. Rules live in
backend.reception.appointments; each POST calls one operation, commits once and goes back."""
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from backend.core.errors import DomainError
from backend.core.extensions import db
from backend.reception import appointments as ops
from backend.reception import policy
from backend.reception.actions import allowed_actions
from backend.staff import bp
from backend.staff.guard import roles_required
from backend.staff.pages import error_text
from backend.core.timeutil import local_today, utcnow


@bp.get("/appointments")
@roles_required("admin", "liaison", "deputy")
def appointment_days():
    return render_template("staff/appointment_days.html",
                           days=ops.staff_days(current_user, today=local_today()))


@bp.get("/reception-days/<int:day_id>/appointments")
@login_required
def day_appointments(day_id: int):
    day = ops.get_day_for(current_user, day_id)
    seated, waiting = ops.day_appointments(day)
    now = utcnow()
    return render_template(
        "staff/appointments_day.html", day=day, seated=seated, waiting=waiting,
        deputies=ops.on_duty(day), slots=ops.slot_views(day),
        can_act=policy.can_manage(current_user, day.station), masked_phone=ops.masked_phone,
        actions_of=lambda a: allowed_actions(current_user, a, now))


@bp.post("/reception-days/<int:day_id>/check-in")
@roles_required("admin", "liaison")
def check_in(day_id: int):
    day = ops.get_day_for(current_user, day_id)
    code = request.form.get("code", "")
    return _act(lambda: ops.check_in(code, actor=current_user, day=day),
                "已签到：预约码 {a.code}，{a.slot.starts_at:%H:%M} 时段",
                url_for(".day_appointments", day_id=day.id))


@bp.post("/appointments/<int:appointment_id>/no-show")
@roles_required("admin", "liaison")
def no_show(appointment_id: int):
    a = ops.get_for_staff(current_user, appointment_id)
    return _act(lambda: ops.mark_no_show(a, actor=current_user), "已标记为未到场", _back(a))


@bp.post("/appointments/<int:appointment_id>/cancel")
@login_required
def staff_cancel(appointment_id: int):
    a = ops.get_for_staff(current_user, appointment_id)
    reason = request.form.get("reason", "")
    return _act(lambda: ops.cancel(a, by_staff=current_user, reason=reason),
                "已取消，并已通知居民", _back(a))


# ---- meeting requests outside reception days ----

@bp.get("/meeting-requests")
@roles_required("admin", "liaison", "deputy")
def meeting_requests():
    now = utcnow()
    return render_template("staff/appointment_requests.html",
                           items=ops.meeting_requests(current_user),
                           actions_of=lambda a: allowed_actions(current_user, a, now),
                           meeting_time=ops.meeting_time, masked_phone=ops.masked_phone,
                           today=local_today())


@bp.post("/meeting-requests/<int:appointment_id>/<any(accept, propose, decline):verb>")
@roles_required("admin", "liaison", "deputy")
def answer_meeting(appointment_id: int, verb: str):
    a = ops.get_for_staff(current_user, appointment_id)
    note, reason = request.form.get("note", ""), request.form.get("reason", "")
    run, done = {
        "accept": (lambda: ops.accept_meeting(a, actor=current_user, note=note),
                   "已确认约见，并已通知居民"),
        "propose": (lambda: ops.propose_time(a, ops.parse_local(request.form.get("at", "")),
                                             actor=current_user, note=note),
                    "已把新的时间发给居民，等居民确认"),
        "decline": (lambda: ops.decline_meeting(a, reason, actor=current_user),
                    "已婉拒，并已把原因告诉居民"),
    }[verb]
    return _act(run, done, url_for(".meeting_requests"))


def _act(run, done: str, back: str):
    """Run one operation: commit and flash `done` (formatted with the appointment as `a`),
    or flash why not and change nothing."""
    try:
        result = run()
    except DomainError as err:
        db.session.rollback()
        flash(error_text(err), "error")
    else:
        db.session.commit()
        flash(done.format(a=result), "success")
    return redirect(back)


def _back(a) -> str:
    if a.kind == "slot":
        return url_for(".day_appointments", day_id=a.day_id)
    return url_for(".meeting_requests")
