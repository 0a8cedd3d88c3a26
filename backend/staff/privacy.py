"""The office's page for personal data retention (个人信息保护): the effective period and where
it comes from, a form to change it, a preview of the next run (counts only) and the last runs."""
from flask import request, url_for
from flask_login import current_user
from wtforms import IntegerField
from wtforms.validators import InputRequired

from backend.accounts.models import StaffUser
from backend.core.extensions import db
from backend.core.timeutil import LOCAL_TZ, utcnow
from backend.privacy.period import effective_period, set_retention_months
from backend.privacy.period_model import MAX_MONTHS, MIN_MONTHS
from backend.privacy.retention import count_due, cutoff, recent_runs
from backend.staff import bp
from backend.staff.forms import StaffForm
from backend.staff.guard import roles_required
from backend.staff.pages import form_page


class RetentionForm(StaffForm):
    # Bounds are the operation's rule (one coded error); the form only reads a whole number.
    months = IntegerField("新的期限", validators=[InputRequired("请填写保存期限")],
                          description=f"以月计，{MIN_MONTHS} 到 {MAX_MONTHS} 个月")


def _preview(months: int) -> dict:
    before = cutoff(utcnow().astimezone(LOCAL_TZ).date(), months)
    return {"before": before, **count_due(before)}


@bp.route("/privacy", methods=["GET", "POST"])
@roles_required("admin")
def privacy_settings():
    period = effective_period()
    form = RetentionForm(data={"months": period.months})
    editor = db.session.get(StaffUser, period.updated_by) if period.updated_by else None
    return form_page(form, "staff/privacy.html",
                     lambda: set_retention_months(form.months.data, actor=current_user),
                     saved=lambda p: (f"已将保存期限设为 {p.months} 个月，下次匿名化按新期限执行",
                                      url_for(".privacy_settings")),
                     title="个人信息保护", back_url=url_for(".home"), back_label="工作台",
                     period=period, editor=editor, runs=recent_runs(),
                     preview=_preview(period.months) if request.args.get("preview") else None)
