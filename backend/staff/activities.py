"""代表活动 pages: the list, organising an activity (the office or a station's liaison), its page
(the organiser's check-in code, attendance, record, cancel; the deputy's answer and check-in),
and a deputy reporting an activity of their own. Rules live in backend.activities."""
from datetime import datetime

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import DateField, SelectChoice, SelectField, StringField, TextAreaField, TimeField
from wtforms.validators import DataRequired, InputRequired

from backend.activities import matters
from backend.activities import operations as ops
from backend.activities import policy
from backend.activities.models import (
    ACTIVITY_KIND_LABELS, Activity, ActivityAttendance, ActivityItem,
)
from backend.activities.queries import still_invitable, visible_to
from backend.core.errors import DomainError, Forbidden, NotFound, ValidationFailed
from backend.core.extensions import db
from backend.core.loading import load_for
from backend.core.parsing import row_id
from backend.core.ratelimit import limiter
from backend.org.models import Station
from backend.staff import bp
from backend.staff.forms import MultiCheckboxField, StaffForm
from backend.staff.guard import roles_required
from backend.staff.once import posted_key, said
from backend.staff.pages import error_text, form_page, list_page

KINDS = [SelectChoice(k, v) for k, v in ACTIVITY_KIND_LABELS.items()]
OFFICE = 0  # the station select's value for an activity of the office itself
# The operation's argument names → the form's fields, so each error sits under its field.
FORM_FIELDS = {"starts_at": "start", "ends_at": "end"}


class _When(StaffForm):
    kind = SelectField("活动类型", choices=KINDS)
    title = StringField("活动名称", validators=[DataRequired("请填写活动名称")])
    day = DateField("日期", validators=[InputRequired("请填写正确的日期")])
    start = TimeField("开始时间", validators=[InputRequired("请填写开始时间，如 09:00")])
    end = TimeField("结束时间", validators=[InputRequired("请填写结束时间，如 11:30")])
    place = StringField("地点", validators=[DataRequired("请填写活动地点")])

    def times(self) -> dict:
        data = self.to_data()
        day, start, end = data.pop("day"), data.pop("start"), data.pop("end")
        return {**data, "starts_at": ops.local_datetime(day, start),
                "ends_at": ops.local_datetime(day, end)}


class ActivityForm(_When):
    station_id = SelectField("组织方", coerce=int, validate_choice=False)
    organiser = StringField("组织单位", description="不填则为所选联络站或代工委")
    deputy_ids = MultiCheckboxField("邀请代表", coerce=int, validate_choice=False)


class ReportForm(_When):
    station_id = SelectField("报备给", coerce=int, validate_choice=False)
    summary = TextAreaField("活动情况", validators=[DataRequired("请写明活动情况")])


@bp.get("/activities")
@roles_required("admin", "liaison", "deputy")
def activities():
    page, _ = list_page(visible_to(current_user))
    return render_template("staff/activity_list.html", page=page,
                           can_organise=current_user.role in ("admin", "liaison"),
                           can_report=policy.can_report(current_user))


@bp.route("/activities/new", methods=["GET", "POST"])
@roles_required("admin", "liaison")
def activity_new():
    form = ActivityForm()
    stations = _organising_stations()
    form.station_id.choices = [*([SelectChoice(OFFICE, "代工委（区人大常委会）")]
                                 if current_user.is_admin else []),
                               *(SelectChoice(s.id, s.name) for s in stations)]
    deputies = {d.id: d for s in ([None] if current_user.is_admin else stations)
                for d in ops.invitable_deputies(getattr(s, "id", None))}
    form.deputy_ids.choices = [SelectChoice(d.id, d.name) for d in deputies.values()]
    return form_page(form, "staff/activity_form.html",
                     _on_form(lambda: ops.create_activity_once(
                         actor=current_user, idempotency_key=posted_key(), **form.times())),
                     saved=lambda done: (said(done, "已创建活动，并通知了受邀代表",
                                              "这项活动已经创建过了，没有重复创建"), _url(done[0])),
                     title="组织活动")


@bp.route("/activities/report", methods=["GET", "POST"])
@roles_required("deputy")
def activity_report():
    deputy = current_user.deputy
    form = ReportForm()
    form.station_id.choices = [SelectChoice(s.id, s.name) for s in deputy.stations]
    return form_page(form, "staff/activity_form.html",
                     _on_form(lambda: ops.report_activity_once(
                         deputy, actor=current_user, idempotency_key=posted_key(),
                         **form.times())),
                     saved=lambda done: (said(done, "已报备，等待联络站确认",
                                              "这项活动已经报备过了，没有重复报备"), _url(done[0])),
                     title="报备我的活动")


@bp.get("/activities/<int:activity_id>")
@roles_required("admin", "liaison", "deputy")
def activity(activity_id: int):
    act = _load(activity_id, policy.can_view)
    mine = act.attendance_of(current_user.deputy_id) if current_user.role == "deputy" else None
    manage = policy.can_manage(current_user, act)
    invitable = still_invitable(act) if manage else []
    return render_template("staff/activity_detail.html", activity=act, mine=mine, manage=manage,
                           show_code=policy.can_see_code(current_user, act), invitable=invitable,
                           item_deputies=matters.attended_deputies(act) if manage else [])


@bp.post("/activities/<int:activity_id>/answer")
@roles_required("deputy")
def activity_answer(activity_id: int):
    act = _load(activity_id, policy.can_view)
    attendance = act.attendance_of(current_user.deputy_id)
    return _act(act, lambda f: ops.answer_invitation(attendance, actor=current_user,
                                                     answer=f.get("answer"),
                                                     reason=f.get("reason", "")),
                lambda a: "已回复：" + a.status_label)


@bp.post("/activities/<int:activity_id>/check-in")
@roles_required("deputy")
@limiter.limit("10 per 10 minutes", key_func=lambda: f"activity-checkin:{current_user.id}")
def activity_check_in(activity_id: int):
    # Loaded without the view check: the operation says "not invited" in its own words.
    act = _load(activity_id, lambda user, a: True)
    return _act(act, lambda f: ops.check_in_with_code(act, actor=current_user,
                                                      code=f.get("code", "")),
                lambda _: "签到成功")


@bp.post("/activity-attendances/<int:attendance_id>/present")
@roles_required("admin", "liaison")
def activity_mark_present(attendance_id: int):
    attendance = load_for(current_user, ActivityAttendance, attendance_id,
                          lambda user, a: policy.can_manage(user, a.activity),
                          missing=NotFound("没有找到这条签到记录"), refused=_refused())
    return _act(attendance.activity,
                lambda f: ops.mark_present(attendance, actor=current_user),
                lambda a: f"已为{a.deputy.name}签到")


@bp.post("/activities/<int:activity_id>/<any(record, cancel, invite, confirm, reject):verb>")
@roles_required("admin", "liaison")
def activity_step(activity_id: int, verb: str):
    act = _load(activity_id, policy.can_manage)
    steps = {
        "record": (lambda f: ops.record_activity(act, actor=current_user,
                                                 summary=f.get("summary", ""),
                                                 details=_deliberation(f)),
                   "已保存活动记录"),
        "cancel": (lambda f: ops.cancel_activity(act, actor=current_user,
                                                 reason=f.get("reason", "")), "已取消活动"),
        "invite": (lambda f: ops.invite_deputies(act, actor=current_user, deputy_ids=[
            int(i) for i in f.getlist("deputy_ids") if i.isdigit()]), "已邀请并通知代表"),
        "confirm": (lambda f: ops.confirm_report(act, actor=current_user), "已确认这条报备"),
        "reject": (lambda f: ops.reject_report(act, actor=current_user,
                                               reason=f.get("reason", "")), "已退回这条报备"),
    }
    run, message = steps[verb]
    return _act(act, run, lambda _: message)


@bp.post("/activities/<int:activity_id>/items")
@roles_required("admin", "liaison")
def activity_item_add(activity_id: int):
    act = _load(activity_id, policy.can_manage)
    # The page's key: a double click or a browser resubmit sends it again and records nothing.
    return _act(act, lambda f: matters.add_item_once(
        act, actor=current_user, idempotency_key=posted_key(),
        summary=f.get("summary", ""), resident_name=f.get("resident_name", ""),
        phone=f.get("phone", ""), deputy_id=row_id(f.get("deputy_id", "")),
        resident_consent=bool(f.get("resident_consent"))),
        lambda done: said(done, "已登记这个问题", "这个问题已经登记过了，没有重复登记"))


@bp.post("/activity-items/<int:item_id>/message")
@roles_required("admin", "liaison")
def activity_item_message(item_id: int):
    item = load_for(current_user, ActivityItem, item_id,
                    lambda user, i: policy.can_manage(user, i.activity),
                    missing=NotFound("没有找到这条群众反映的问题"), refused=_refused())
    return _act(item.activity, lambda f: matters.item_to_message(item, actor=current_user),
                lambda m: f"已转为留言（编号 {m.tracking_no}），进入本站留言队列")


@bp.app_template_global()
def activity_source(message) -> Activity | None:
    """For a message's page: the activity it was raised at, when it came from one."""
    return matters.source_of(message)


# ---- helpers ----

def _deliberation(form) -> dict:
    """A 议事's details as the record form sends them; a count that is not a number stays
    as None, for the operation to name."""
    count = (form.get("resident_count") or "").strip()
    return {"topic": form.get("topic", ""), "resident_names": form.get("resident_names", ""),
            "agreed": form.get("agreed", ""),
            "resident_count": (int(count) if count.isascii() and count.isdigit() and len(count) < 7
                               else None)}


def _on_form(run):
    def wrapped():
        try:
            return run()
        except ValidationFailed as err:
            err.errors = {FORM_FIELDS.get(k, k): v for k, v in err.errors.items()}
            raise
    return wrapped


def _organising_stations() -> list[Station]:
    if current_user.is_admin:
        return list(db.session.scalars(db.select(Station).filter_by(is_active=True)
                                       .order_by(Station.id)))
    return [s for s in current_user.stations if s.is_active]


def _load(activity_id: int, may) -> Activity:
    return load_for(current_user, Activity, activity_id, may,
                    missing=NotFound("没有找到这项活动"), refused=_refused())


def _refused() -> Forbidden:
    return Forbidden("这项活动不归您管理，也没有邀请您", code="activity_forbidden")


def _act(act: Activity, run, message):
    """One operation, one commit; a refusal is flashed on the activity's page and changes
    nothing."""
    try:
        result = run(request.form)
    except DomainError as err:
        db.session.rollback()
        if isinstance(err, Forbidden):
            raise
        flash(error_text(err), "error")
        return redirect(_url(act))
    db.session.commit()
    flash(message(result), "success")
    return redirect(_url(act))


def _url(act: Activity) -> str:
    return url_for("staff.activity", activity_id=act.id)
