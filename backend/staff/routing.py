"""分办规则: the admin office's routing table (category and keywords → a station's deputy or a
department), whose suggestion the message page shows beside the category suggestion."""
from flask import redirect, render_template, request, url_for
from flask_login import current_user

from backend.core.extensions import db
from backend.core.parsing import row_id
from backend.messages import routing
from backend.messages.operations import CATEGORIES
from backend.messages.triage_model import RoutingRule
from backend.org.models import Department, Deputy, Station
from backend.staff import bp
from backend.staff.guard import roles_required
from backend.staff.pages import get_or_404, run_and_flash


@bp.get("/routing")
@roles_required("admin")
def routing_rules():
    stations = db.session.scalars(db.select(Station).where(Station.is_active).order_by(Station.id)).all()
    deputies = db.session.scalars(db.select(Deputy).where(Deputy.is_active).order_by(Deputy.name)).all()
    departments = db.session.scalars(
        db.select(Department).where(Department.is_active).order_by(Department.name)).all()
    return render_template("staff/routing.html", rules=routing.rules_listing(), stations=stations,
                           deputies=deputies, departments=departments, categories=CATEGORIES)


@bp.post("/routing")
@roles_required("admin")
def routing_rule_add():
    form = request.form
    station = get_or_404(Station, form.get("station_id", type=row_id) or 0)
    kind, _, ident = form.get("assignee", "").partition(":")
    ident = row_id(ident)
    deputy = db.session.get(Deputy, ident) if kind == "deputy" and ident else None
    department = db.session.get(Department, ident) if kind == "department" and ident else None
    run_and_flash(lambda: routing.add_rule(
        station, category=form.get("category", ""), keywords=form.get("keywords", ""),
        deputy=deputy, department=department, actor=current_user), "已添加分办规则")
    return redirect(url_for(".routing_rules"))


@bp.post("/routing/<int:rule_id>/delete")
@roles_required("admin")
def routing_rule_delete(rule_id: int):
    rule = get_or_404(RoutingRule, rule_id)
    run_and_flash(lambda: routing.remove_rule(rule, actor=current_user), "已删除分办规则")
    return redirect(url_for(".routing_rules"))
