"""接待记录: after a reception day, its liaison (or an admin) records who came and what was raised,
and turns a matter the resident agreed to into a message. Rules live in
backend.reception.records; each POST runs one operation and commits once."""
from flask import flash, redirect, url_for
from flask_login import current_user
from wtforms import BooleanField, IntegerField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import InputRequired

from backend.org.policy import ensure
from backend.core.errors import DomainError
from backend.core.extensions import db
from backend.reception.models import Appointment, ReceptionDay, ReceptionItem
from backend.reception import records as ops
from backend.reception import policy
from backend.staff import bp
from backend.staff.forms import MultiCheckboxField, StaffForm
from backend.staff.guard import roles_required
from backend.staff.once import posted_key, said
from backend.staff.pages import form_page, get_or_404

TEMPLATE = "staff/reception_record.html"


class RecordForm(StaffForm):
    deputy_ids = MultiCheckboxField("到场代表", coerce=int, validate_choice=False,
                                    description="已默认勾选当天值班的代表，请按实际到场情况调整")
    walk_in_count = IntegerField("接待群众", validators=[InputRequired("请填写接待群众人数")],
                                 description="单位：人次，含预约和现场来访的群众")
    notes = TextAreaField("备注")


class ItemForm(StaffForm):
    summary = TextAreaField("反映的问题", validators=[InputRequired("请填写群众反映的问题")])
    deputy_id = SelectField("接谈代表", coerce=int, validate_choice=False)
    appointment_id = SelectField("对应预约", coerce=int, validate_choice=False)
    resident_consent = BooleanField("群众同意将此事转为留言，由联络站跟踪办理")


@bp.route("/reception-days/<int:day_id>/record", methods=["GET", "POST"])
@roles_required("admin", "liaison")
def reception_record(day_id: int):
    day = _day(day_id)
    rec = ops.record_for(day)
    on_duty = [duty.deputy_id for duty in day.duties]
    form = RecordForm(data={"deputy_ids": [d.id for d in rec.deputies] if rec else on_duty,
                            "walk_in_count": rec.walk_in_count if rec else 0,
                            "notes": rec.notes if rec else ""})
    form.deputy_ids.choices = [SelectChoice(d.id, d.name) for d in ops.attendance_choices(day)]
    return form_page(form, TEMPLATE,
                     lambda: ops.record_day(day, actor=current_user, **form.to_data()),
                     saved=lambda _: ("已保存接待记录", _page_url(day)),
                     day=day, record=rec, item_form=_item_form(day))


@bp.post("/reception-days/<int:day_id>/record/items")
@roles_required("admin", "liaison")
def reception_record_item(day_id: int):
    day = _day(day_id)
    rec = ops.record_for(day)
    form = _item_form(day)
    if rec is None or not form.validate_on_submit():
        flash("请先保存接待情况" if rec is None else _first_error(form), "error")
        return redirect(_page_url(day))
    return _act(lambda: ops.add_item_once(rec, actor=current_user, idempotency_key=posted_key(),
                                          **form.to_data()),
                lambda done: said(done, "已登记这个问题", "这个问题已经登记过了，没有重复登记"),
                _page_url(day))


@bp.post("/reception-items/<int:item_id>/message")
@roles_required("admin", "liaison")
def reception_item_message(item_id: int):
    item = get_or_404(ReceptionItem, item_id)
    day = _day(item.record.day_id)
    return _act(lambda: ops.item_to_message(item, actor=current_user),
                lambda m: f"已转为留言（编号 {m.tracking_no}），进入本站留言队列", _page_url(day))


def _day(day_id: int) -> ReceptionDay:
    day = get_or_404(ReceptionDay, day_id)
    ensure(policy.can_record(current_user, day), "只有本站联络员或管理员可以填写接待记录")
    return day


def _item_form(day: ReceptionDay) -> ItemForm:
    form = ItemForm()
    form.deputy_id.choices = [SelectChoice(0, "不指定（交联络站）"), *(
        SelectChoice(d.id, d.name) for d in ops.station_deputies(day))]
    appointments = db.session.scalars(db.select(Appointment).filter_by(day_id=day.id).where(
        Appointment.status.in_(("booked", "checked_in"))).order_by(Appointment.id))
    form.appointment_id.choices = [SelectChoice(0, "无（现场来访）"), *(
        SelectChoice(a.id, f"{a.code} {a.topic[:16]}") for a in appointments)]
    return form


def _act(run, message, url: str):
    """One operation, one commit; a refused one is flashed back on the page."""
    try:
        result = run()
    except DomainError as err:
        db.session.rollback()
        flash(_first_error(err), "error")
        return redirect(url)
    db.session.commit()
    flash(message(result), "success")
    return redirect(url)


def _first_error(source) -> str:
    """The first field error of a form or a domain error, else the error's own message."""
    errors = source.errors if isinstance(source, StaffForm) else (source.errors or {})
    texts = [t for ts in errors.values() for t in ts]
    return texts[0] if texts else getattr(source, "message", "提交的内容有误，请检查后重试")


def _page_url(day: ReceptionDay) -> str:
    return url_for("staff.reception_record", day_id=day.id)
