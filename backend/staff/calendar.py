"""节假日设置: admins keep the statutory holidays the working-day clocks count with."""
from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm import selectinload
from wtforms import DateField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from backend.workdays import calendar as workdays
from backend.core.errors import ValidationFailed
from backend.core.extensions import db
from backend.workdays.models import HOLIDAY_KIND_LABELS, HolidayOverride
from backend.workdays.holidays import LINE_EXAMPLE, add_override, import_notice, remove_override
from backend.staff import bp
from backend.staff.guard import roles_required
from backend.core.timeutil import local_today


class HolidayForm(FlaskForm):
    date = DateField("日期", validators=[DataRequired("请填写正确的日期，如 2027-01-01")])
    # The operation checks the kind, in Chinese; WTForms' own choice error is English.
    kind = SelectField("类型", choices=[SelectChoice(k, v) for k, v in HOLIDAY_KIND_LABELS.items()],
                       validate_choice=False)
    name = StringField("名称", validators=[DataRequired("请填写名称，如“春节”"),
                                           Length(max=40, message="名称不能超过40个字")])
    note = StringField("备注", validators=[Length(max=200, message="备注不能超过200个字")])


class NoticeForm(FlaskForm):
    text = TextAreaField("通知内容", validators=[DataRequired("请粘贴节假日安排，每行一个日期")])


@bp.get("/holidays")
@roles_required("admin")
def holidays():
    return _list_page(HolidayForm(), _year_arg())


@bp.post("/holidays")
@roles_required("admin")
def holiday_add():
    form = HolidayForm()
    if form.validate_on_submit():
        try:
            row = add_override(form.date.data, form.kind.data, form.name.data, form.note.data,
                               actor=current_user)
        except ValidationFailed as err:
            flash(err.message, "error")
        else:
            db.session.commit()
            flash(f"已添加 {row.date.isoformat()} {row.name}（{row.kind_label}）", "success")
            return redirect(url_for("staff.holidays", year=row.date.year))
    return _list_page(form, form.date.data.year if form.date.data else _year_arg()), 422


@bp.post("/holidays/<int:override_id>/delete")
@roles_required("admin")
def holiday_delete(override_id: int):
    row = db.get_or_404(HolidayOverride, override_id)
    year, label = row.date.year, f"{row.date.isoformat()} {row.name}"
    remove_override(row, actor=current_user)
    db.session.commit()
    flash(f"已删除 {label}", "success")
    return redirect(url_for("staff.holidays", year=year))


@bp.route("/holidays/import", methods=["GET", "POST"])
@roles_required("admin")
def holiday_import():
    form, problems = NoticeForm(), []
    if form.validate_on_submit():
        try:
            rows = import_notice(form.text.data, actor=current_user)
        except ValidationFailed as err:
            flash(err.message, "error")
            problems = err.errors.get("lines", [])
        else:
            db.session.commit()
            flash(f"已导入 {len(rows)} 个日期", "success")
            return redirect(url_for("staff.holidays", year=rows[0].date.year))
    return (render_template("staff/holiday_import.html", form=form, problems=problems,
                            example=LINE_EXAMPLE, year=_year_arg()),
            422 if form.is_submitted() else 200)


def _year_arg() -> int:
    year = request.args.get("year", type=int)
    return year if year and 2000 <= year <= 2100 else local_today().year


def _list_page(form: HolidayForm, year: int) -> str:
    this_year = local_today().year
    rows = db.session.scalars(
        db.select(HolidayOverride)
        .where(HolidayOverride.date.between(date(year, 1, 1), date(year, 12, 31)))
        .options(selectinload(HolidayOverride.created_by)).order_by(HolidayOverride.date)).all()
    coverage = workdays.coverage(year)
    return render_template(
        "staff/holidays.html", form=form, year=year, rows=rows, coverage=coverage,
        years=[(y, workdays.coverage(y)) for y in (this_year, this_year + 1)],
        labels=workdays.COVERAGE_LABELS, notice=workdays.coverage_notice(this_year, this_year + 1),
        # A year without data has no schedule to show, and asking would log the warning.
        schedule=workdays.year_schedule(year) if coverage != "weekends_only" else [])
