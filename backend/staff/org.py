"""Staff pages for terms, deputy groups and departments (one generic set of pages serves all
three) and for stations."""
from dataclasses import dataclass, field
from typing import Callable

from flask import render_template, url_for
from flask_login import current_user

from backend.org.policy import can_deactivate_station, can_manage_station, ensure
from backend.core.extensions import db
from backend.org.models import Department, DeputyGroup, Station, Term
from backend.org import operations as org
from backend.staff import bp
from backend.staff.forms import DepartmentForm, GroupForm, StationForm, TermForm
from backend.staff.guard import roles_required
from backend.staff.pages import done, form_page, get_or_404, list_page


def _term_dates(term: Term) -> str:
    if not (term.starts_on or term.ends_on):
        return ""
    fmt = lambda d: f"{d.year}年{d.month}月{d.day}日" if d else "未定"  # noqa: E731
    return f"{fmt(term.starts_on)} 至 {fmt(term.ends_on)}"


@dataclass(frozen=True)
class Registry:
    """A short list the admin office keeps: everything the generic pages need to know."""
    model: type
    form: type
    title: str
    create: Callable
    update: Callable
    describe: Callable = lambda obj: ""
    order: tuple = field(default=())
    hint: str = ""

    @property
    def has_active(self) -> bool:
        return hasattr(self.model, "is_active")


REGISTRIES = {
    "terms": Registry(Term, TermForm, "届次", org.create_term, org.update_term,
                      describe=_term_dates,
                      order=(Term.is_current.desc(), Term.starts_on.desc(), Term.name),
                      hint="届次只能修改，不能停用；标为“本届”的届次只有一个。"),
    "groups": Registry(DeputyGroup, GroupForm, "代表小组", org.create_group, org.update_group,
                       order=(DeputyGroup.name,)),
    "departments": Registry(
        Department, DepartmentForm, "承办单位", org.create_department, org.update_department,
        describe=lambda d: " · ".join(x for x in (d.contact_name, d.contact_phone) if x),
        order=(Department.name,)),
}
KIND = "<any(" + ",".join(REGISTRIES) + "):kind>"
# Terms are history (one is marked current) and have no is_active: they are never deactivated.
KIND_WITH_ACTIVE = "<any(" + ",".join(k for k, r in REGISTRIES.items() if r.has_active) + "):kind>"


@bp.get(f"/{KIND}")
@roles_required("admin")
def registry_list(kind):
    reg = REGISTRIES[kind]
    page, filters = list_page(db.select(reg.model), search=[reg.model.name],
                              active=getattr(reg.model, "is_active", None), order=reg.order)
    return render_template("staff/registry_list.html", reg=reg, kind=kind, page=page, **filters)


@bp.route(f"/{KIND}/new", methods=["GET", "POST"])
@roles_required("admin")
def registry_new(kind):
    reg = REGISTRIES[kind]
    form = reg.form()
    return form_page(form, "staff/registry_form.html",
                     lambda: reg.create(form.to_data(), actor=current_user),
                     saved=lambda obj: (f"已添加{reg.title}：{obj.name}",
                                        url_for(".registry_list", kind=kind)),
                     reg=reg, kind=kind, obj=None)


@bp.route(f"/{KIND}/<int:obj_id>/edit", methods=["GET", "POST"])
@roles_required("admin")
def registry_edit(kind, obj_id):
    reg = REGISTRIES[kind]
    obj = get_or_404(reg.model, obj_id)
    form = reg.form(obj=obj)
    return form_page(form, "staff/registry_form.html",
                     lambda: reg.update(obj, form.to_data(), actor=current_user),
                     saved=lambda obj: (f"已保存{reg.title}：{obj.name}",
                                        url_for(".registry_list", kind=kind)),
                     reg=reg, kind=kind, obj=obj)


@bp.post(f"/{KIND_WITH_ACTIVE}/<int:obj_id>/<any(activate,deactivate):verb>")
@roles_required("admin")
def registry_set_active(kind, obj_id, verb):
    reg = REGISTRIES[kind]
    obj = get_or_404(reg.model, obj_id)
    org.set_active(obj, verb == "activate", actor=current_user)
    word = "启用" if verb == "activate" else "停用"
    return done(f"已{word}{reg.title}：{obj.name}", url_for(".registry_list", kind=kind))


# ---- stations ----

@bp.get("/stations")
@roles_required("admin", "liaison")
def stations():
    stmt = db.select(Station)
    if not current_user.is_admin:
        stmt = stmt.where(Station.id.in_(current_user.station_ids))
    page, filters = list_page(stmt, search=[Station.name, Station.address],
                              active=Station.is_active, order=(Station.kind, Station.name))
    return render_template("staff/stations.html", page=page, **filters)


@bp.route("/stations/new", methods=["GET", "POST"])
@roles_required("admin")
def station_new():
    form = StationForm()
    return form_page(form, "staff/station_form.html",
                     lambda: org.create_station(form.to_data(), actor=current_user),
                     saved=lambda st: (f"已添加联络站：{st.name}", url_for(".stations")),
                     station=None)


@bp.route("/stations/<int:station_id>/edit", methods=["GET", "POST"])
@roles_required("admin", "liaison")
def station_edit(station_id):
    station = get_or_404(Station, station_id)
    ensure(can_manage_station(current_user, station))
    form = StationForm(obj=station, heads=(station.heads or [])[:2])
    return form_page(form, "staff/station_form.html",
                     lambda: org.update_station(station, form.to_data(), actor=current_user),
                     saved=lambda st: (f"已保存联络站：{st.name}", url_for(".stations")),
                     station=station)


@bp.post("/stations/<int:station_id>/<any(activate,deactivate):verb>")
@roles_required("admin")
def station_set_active(station_id, verb):
    station = get_or_404(Station, station_id)
    ensure(can_deactivate_station(current_user, station))
    org.set_active(station, verb == "activate", actor=current_user)
    word = "启用" if verb == "activate" else "停用"
    return done(f"已{word}联络站：{station.name}", url_for(".stations"))
