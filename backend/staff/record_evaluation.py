"""The office's page for the evaluation (履职评价设置): which items count, their weights, the
bands. One form field per catalogue item, built from backend.records.evaluation.CATALOGUE."""
from flask import url_for
from flask_login import current_user
from wtforms import BooleanField, IntegerField
from wtforms.validators import InputRequired, NumberRange

from backend.records.evaluation import CATALOGUE, current_settings, update_evaluation
from backend.staff import bp
from backend.staff.forms import StaffForm
from backend.staff.guard import roles_required
from backend.staff.pages import form_page


def _number(label: str, low: int, high: int, **kw):
    return IntegerField(label, validators=[
        InputRequired(f"请填写{label}"),
        NumberRange(low, high, message=f"{label}应为 {low} 到 {high} 之间的整数")], **kw)


def _form_class():
    fields = {}
    for item in CATALOGUE:
        fields[f"{item.key}_counted"] = BooleanField(f"计入{item.label}",
                                                     description=item.rule)
        fields[f"{item.key}_weight"] = _number(f"{item.label}分值", 0, 100)
        if item.target is not None:
            fields[f"{item.key}_target"] = _number(f"{item.label}目标件数", 1, 1000)
    fields["good_from"] = _number("“好”的起点分数", 1, 100)
    fields["fair_from"] = _number("“较好”的起点分数", 1, 100)
    return type("EvaluationForm", (StaffForm,), fields)


EvaluationForm = _form_class()


def _initial(settings) -> dict:
    data = {"good_from": settings.good_from, "fair_from": settings.fair_from}
    for s in settings.items:
        data[f"{s.item.key}_counted"] = s.is_counted
        data[f"{s.item.key}_weight"] = s.weight
        if s.item.target is not None:
            data[f"{s.item.key}_target"] = s.target
    return data


def _data(form) -> dict:
    d = form.to_data()
    return {"good_from": d["good_from"], "fair_from": d["fair_from"],
            "items": {item.key: {"is_counted": d[f"{item.key}_counted"],
                                 "weight": d[f"{item.key}_weight"],
                                 "target": d.get(f"{item.key}_target")} for item in CATALOGUE}}


@bp.route("/records/evaluation", methods=["GET", "POST"])
@roles_required("admin")
def evaluation_settings():
    form = EvaluationForm(data=_initial(current_settings()))
    return form_page(form, "staff/record_evaluation.html",
                     lambda: update_evaluation(_data(form), actor=current_user),
                     saved=lambda _: ("已保存履职评价设置，各代表的评价按新设置重新计算",
                                      url_for(".evaluation_settings")),
                     title="履职评价设置", back_url=url_for(".records"), back_label="代表履职档案")
