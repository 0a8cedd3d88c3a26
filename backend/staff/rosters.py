"""Duty pages: a deputy's own duties (swaps, unavailable dates) and a station's roster for its
liaison. Every POST goes through `roster_action`: one operation, one commit, a flashed message,
back to the page it came from."""
from datetime import date, timedelta
from functools import wraps

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from backend.core import parsing
from backend.org.policy import ensure
from backend.core.errors import DomainError, Forbidden, ValidationFailed
from backend.core.extensions import db
from backend.org.models import Deputy, Station
from backend.reception.models import DeputyUnavailability, DutySwap, ReceptionDay, ReceptionDuty
from backend.reception import ical
from backend.reception import rosters as ops
from backend.reception import policy
from backend.staff import bp
from backend.staff.guard import roles_required
from backend.staff.messages import form_object, form_text
from backend.staff.pages import done, error_text, get_or_404
from backend.core.timeutil import local_today

ROSTER_DAYS = 180  # how far ahead the station's roster looks
SWAP_DONE = {
    "accept": "已同意换班，等待联络员批准", "decline": "已婉拒换班",
    "withdraw": "已撤回换班申请", "approve": "已批准换班，值班安排已更新",
    "reject": "已驳回换班申请，值班安排不变",
}


def roster_action(rule: str, *roles: str):
    """Register a POST action whose view runs one operation and returns the Chinese text to
    flash. A refusal stays a 403 page; any other domain error is flashed and nothing changes."""
    def decorator(view):
        @bp.post(rule, endpoint=view.__name__)
        @roles_required(*roles)
        @wraps(view)
        def wrapped(**kwargs):
            try:
                text = view(**kwargs)
            except Forbidden:
                raise
            except DomainError as err:
                db.session.rollback()
                flash(error_text(err), "error")
                return redirect(_back())
            return done(text, _back())
        return wrapped
    return decorator


def _back() -> str:
    """A deputy returns to their duties; staff to the roster of the station the form names."""
    if current_user.role == "deputy":
        return url_for(".my_duties")
    station_id = (request.view_args or {}).get("station_id") or request.values.get(
        "station_id", type=parsing.row_id)
    return url_for(".station_roster", station_id=station_id) if station_id else url_for(".stations")


def _form_date(name: str) -> date:
    try:
        return date.fromisoformat(request.form.get(name, ""))
    except ValueError:
        raise ValidationFailed(errors={name: ["请选择日期"]}) from None


# ---- the deputy ----

@bp.get("/duties")
@roles_required("deputy")
def my_duties():
    deputy, today = current_user.deputy, local_today()
    duties = ops.duties_for_deputy(deputy, today)
    swaps = ops.swaps_for_deputy(deputy, today)
    return render_template(
        "staff/duties.html", deputy=deputy, duties=duties, swaps=swaps,
        feed=ical.find_feed("deputy", deputy.id),
        options={d.id: ops.swap_options(d, today) for d in duties},
        pending={i for v in swaps if v.swap.status in ops.OPEN_SWAP_STATUSES
                 for i in (v.swap.duty_id, v.swap.counter_duty_id)},
        away=ops.unavailable_dates([deputy], today), today=today)


@roster_action("/duties/<int:duty_id>/swap", "deputy")
def propose_swap(duty_id):
    duty = get_or_404(ReceptionDuty, duty_id)
    colleague, counter = ops.resolve_swap_option(form_text("to"))
    ops.propose_swap(duty, colleague, counter_duty=counter, note=form_text("note"),
                     actor=current_user)
    return f"已向{colleague.name}代表发出换班申请，对方同意后由联络员批准"


@roster_action("/swaps/<int:swap_id>/<verb>", "admin", "liaison", "deputy")
def swap_step(swap_id, verb):
    if verb not in SWAP_DONE:
        abort(404)
    getattr(ops, f"{verb}_swap")(get_or_404(DutySwap, swap_id), actor=current_user)
    return SWAP_DONE[verb]


# ---- unavailable dates: the deputy for themselves, a liaison for their station's deputies ----

@roster_action("/unavailability", "admin", "liaison", "deputy")
def mark_unavailable():
    deputy = (current_user.deputy if current_user.role == "deputy"
              else form_object(Deputy, "deputy_id", "请选择代表"))
    row = ops.mark_unavailable(deputy, _form_date("date"), form_text("reason"), actor=current_user)
    return f"已登记{deputy.name}代表{row.date.month}月{row.date.day}日不能值班"


@roster_action("/unavailability/<int:row_id>/clear", "admin", "liaison", "deputy")
def clear_unavailable(row_id):
    row = get_or_404(DeputyUnavailability, row_id)
    ops.clear_unavailable(db.session.get(Deputy, row.deputy_id), row.date, actor=current_user)
    return f"已取消{row.date.month}月{row.date.day}日的不能值班登记"


# ---- the station's roster ----

@bp.post("/duties/feed")
@roles_required("deputy")
def my_duties_feed():
    ical.feed_token("deputy", current_user.deputy_id)
    return done("已生成值班日历订阅链接", url_for(".my_duties"))


@bp.get("/stations/<int:station_id>/roster")
@roles_required("admin", "liaison")
def station_roster(station_id):
    station = get_or_404(Station, station_id)
    ensure(policy.can_manage_roster(current_user, station))
    today = local_today()
    counts = ops.duty_counts(station, today.year)
    return render_template(
        "staff/roster.html", station=station, today=today, need=ops.duty_count_for(station.id),
        days=ops.roster(station, today, today + timedelta(days=ROSTER_DAYS)),
        counts=sorted(((db.session.get(Deputy, i), n) for i, n in counts.items()),
                      key=lambda pair: (-pair[1], pair[0].name)),
        swaps=ops.open_swaps_for_station(station),
        deputies=[d for d in station.deputies if d.is_active],
        names={d.id: d.name for d in station.deputies},
        away=ops.unavailable_dates(station.deputies, today))


@roster_action("/stations/<int:station_id>/roster/days/<int:day_id>/fill", "admin", "liaison")
def fill_day(station_id, day_id):
    day = get_or_404(ReceptionDay, day_id)
    if day.station_id != station_id:
        abort(404)
    ensure(policy.can_manage_roster(current_user, day.station))
    added = ops.fill_duties(day, actor=current_user)
    short = ops.duty_count_for(station_id) - len(day.duties)
    text = "已补上值班代表：" + "、".join(d.deputy.name for d in added) if added else "没有补上新的值班代表"
    return text + (f"；仍缺{short}人，本站暂无其他当天有空的代表" if short > 0 else "")
