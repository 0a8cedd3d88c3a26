"""接待选民日 pages for a station's liaison (or an admin): the rule, the coming days, building
them, cancelling or moving one, and the station's calendar feed."""
from flask import flash, redirect, url_for
from flask_login import current_user
from wtforms import DateField, IntegerField, SelectChoice, SelectField, StringField, TimeField
from wtforms.validators import InputRequired

from backend.workdays import calendar as workdays
from backend.org.policy import can_manage_station, ensure
from backend.core.errors import InvalidState, ValidationFailed
from backend.core.extensions import db
from backend.reception.models import DAY_POLICY_LABELS, ReceptionDay
from backend.org.models import Station
from backend.reception import ical
from backend.reception import days as ops
from backend.staff import bp
from backend.staff.forms import StaffForm
from backend.staff.guard import roles_required
from backend.staff.pages import done, form_page, get_or_404
from backend.core.timeutil import local_today

UPCOMING = 12
POLICY_CHOICES = [SelectChoice(k, v) for k, v in DAY_POLICY_LABELS.items()]


def _number(label, hint=""):
    return IntegerField(label, validators=[InputRequired(f"请填写{label}")], description=hint)


class RuleForm(StaffForm):
    # Ranges and the window's order are checked by the operation, in one place.
    day_of_month = _number("每月几号", "大于当月天数时，取当月最后一天")
    start_time = TimeField("开始时间", validators=[InputRequired("请填写开始时间")])
    end_time = TimeField("结束时间", validators=[InputRequired("请填写结束时间")])
    slot_minutes = _number("每段时长", "单位：分钟；接待时间按此分段供群众预约")
    seats_per_slot = _number("每段名额")
    weekend_policy = SelectField("遇周末", choices=POLICY_CHOICES, validate_choice=False)
    holiday_policy = SelectField("遇节假日", choices=POLICY_CHOICES, validate_choice=False,
                                 description="国家法定节假日的放假期间")
    duty_count = _number("值班人数", "每次接待安排几位代表值班")
    months_ahead = _number("提前月数", "除本月外，再提前生成几个月的接待日")
    cancel_cutoff_hours = _number("取消截止", "单位：小时；群众最晚在接待开始前几小时取消预约")


class CancelForm(StaffForm):
    reason = StringField("原因")


class MoveForm(StaffForm):
    new_date = DateField("新日期", validators=[InputRequired("请选择新的日期")])
    reason = StringField("原因")


@bp.route("/stations/<int:station_id>/reception", methods=["GET", "POST"])
@roles_required("admin", "liaison")
def reception_page(station_id: int):
    station = _station(station_id)
    rule = ops.rule_for(station)
    form = RuleForm(obj=rule)
    today = local_today()
    return form_page(
        form, "staff/reception_days.html",
        lambda: ops.update_rule(station, form.to_data(), actor=current_user),
        saved=lambda _: ("已保存接待规则。点击“生成接待日”即可按新规则更新尚无人预约的接待日",
                         _page_url(station.id)),
        station=station, today=today, days=ops.upcoming_days(station, today, UPCOMING),
        seats=ops.seats, status_labels=ops.DAY_STATUS_LABELS,
        notice=workdays.coverage_notice(*ops.horizon_years(rule, today)),
        feed=ical.find_feed("station", station.id))


@bp.post("/stations/<int:station_id>/reception/build")
@roles_required("admin", "liaison")
def reception_build(station_id: int):
    station = _station(station_id)
    report = ops.build_days(local_today(), stations=[station], actor=current_user)
    db.session.commit()
    flash(report.summary(), "success")
    for day, reason in report.left_alone:
        flash(f"{ops.month_day(day.date)}：{reason}", "warning")
    return redirect(_page_url(station.id))


@bp.post("/stations/<int:station_id>/reception/feed")
@roles_required("admin", "liaison")
def reception_feed(station_id: int):
    station = _station(station_id)
    ical.feed_token("station", station.id)
    return done("已生成日历订阅链接", _page_url(station.id))


@bp.post("/reception-days/<int:day_id>/cancel")
@roles_required("admin", "liaison")
def reception_day_cancel(day_id: int):
    day, form = _day(day_id), CancelForm()
    return _change(day, form, lambda: ops.cancel_day(day, form.reason.data, actor=current_user),
                   "已取消该接待日，并通知了预约群众和值班代表")


@bp.post("/reception-days/<int:day_id>/move")
@roles_required("admin", "liaison")
def reception_day_move(day_id: int):
    day, form = _day(day_id), MoveForm()
    return _change(day, form, lambda: ops.move_day(day, form.new_date.data, form.reason.data,
                                                   actor=current_user),
                   "已调整接待日期，并通知了预约群众和值班代表")


def _station(station_id: int) -> Station:
    station = get_or_404(Station, station_id)
    ensure(can_manage_station(current_user, station))
    return station


def _day(day_id: int) -> ReceptionDay:
    day = get_or_404(ReceptionDay, day_id)
    ensure(can_manage_station(current_user, day.station))
    return day


def _page_url(station_id: int) -> str:
    return url_for("staff.reception_page", station_id=station_id)


def _change(day: ReceptionDay, form: StaffForm, run, message: str):
    """Cancel and move: their forms sit on the station's page, so a problem goes back there."""
    url = _page_url(day.station_id)
    try:
        if not form.validate_on_submit():
            raise ValidationFailed(errors=form.errors)
        run()
    except (ValidationFailed, InvalidState) as err:
        db.session.rollback()
        flash(next((e for errors in err.errors.values() for e in errors), err.message), "error")
        return redirect(url)
    return done(message, url)
