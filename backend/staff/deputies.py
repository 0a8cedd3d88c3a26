"""Staff pages for deputies: list, create, edit (with photo and stations), deactivate, and the
deputy's QR code (show, download, revoke, reissue)."""

from flask import render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import selectinload

from backend.org.policy import (
    can_create_deputy, can_deactivate_deputy, can_manage_deputy, ensure, managed_station_ids,
)
from backend.core.downloads import attachment
from backend.core.errors import NotFound
from backend.core.extensions import db
from backend.org.models import Deputy, DeputyGroup, Station, Term
from backend.org.code_model import DeputyCode
from backend.org import operations as org
from backend.org.codes import active_code, code_image, code_url, reissue_code, revoke_code
from backend.core.parsing import row_id
from backend.staff import bp
from backend.staff.forms import DeputyForm, RevokeCodeForm
from backend.staff.guard import roles_required
from backend.staff.pages import done, form_page, get_or_404, list_page


def _station_choices(user):
    """The stations a user may pick on a deputy's form: a liaison sees only their own."""
    stmt = db.select(Station).order_by(Station.is_active.desc(), Station.name)
    scope = managed_station_ids(user)
    if scope is not None:
        stmt = stmt.where(Station.id.in_(scope))
    return list(db.session.scalars(stmt))


def _deputy_form(user, **kw) -> DeputyForm:
    return DeputyForm(**kw).setup(
        terms=db.session.scalars(db.select(Term).order_by(Term.is_current.desc(), Term.name)),
        groups=db.session.scalars(db.select(DeputyGroup).order_by(DeputyGroup.name)),
        stations=_station_choices(user))


@bp.get("/deputies")
@roles_required("admin", "liaison")
def deputies():
    stmt = db.select(Deputy).options(selectinload(Deputy.stations))
    scope = managed_station_ids(current_user)
    if scope is not None:
        stmt = stmt.where(Deputy.stations.any(Station.id.in_(scope)))
    station_id = request.args.get("station", type=row_id)
    if station_id:
        stmt = stmt.where(Deputy.stations.any(Station.id == station_id))
    page, filters = list_page(stmt, search=[Deputy.name, Deputy.occupation],
                              active=Deputy.is_active, order=(Deputy.name, Deputy.id))
    return render_template("staff/deputies.html", page=page, station_id=station_id,
                           station_options=_station_choices(current_user), **filters)


@bp.route("/deputies/new", methods=["GET", "POST"])
@roles_required("admin", "liaison")
def deputy_new():
    ensure(can_create_deputy(current_user))
    own = _station_choices(current_user)
    # A liaison with one station gets it ticked already.
    form = _deputy_form(current_user, station_ids=[own[0].id] if len(own) == 1 else [])
    return form_page(form, "staff/deputy_form.html",
                     lambda: org.create_deputy(form.to_data(), actor=current_user),
                     saved=lambda d: (f"已添加代表：{d.name}，并生成了二维码",
                                      url_for(".deputy", deputy_id=d.id)),
                     deputy=None)


@bp.get("/deputies/<int:deputy_id>")
@roles_required("admin", "liaison")
def deputy(deputy_id):
    dep = get_or_404(Deputy, deputy_id)
    ensure(can_manage_deputy(current_user, dep))
    return _deputy_page(dep, RevokeCodeForm())


def _deputy_page(dep, revoke_form):
    code = active_code(dep)
    old_codes = db.session.scalars(
        db.select(DeputyCode).where(DeputyCode.deputy_id == dep.id,
                                    DeputyCode.revoked_at.is_not(None))
        .order_by(DeputyCode.revoked_at.desc()).limit(5))
    return render_template("staff/deputy.html", deputy=dep, code=code,
                           url=code_url(code) if code else None, old_codes=list(old_codes),
                           revoke_form=revoke_form)


@bp.route("/deputies/<int:deputy_id>/edit", methods=["GET", "POST"])
@roles_required("admin", "liaison")
def deputy_edit(deputy_id):
    dep = get_or_404(Deputy, deputy_id)
    ensure(can_manage_deputy(current_user, dep))
    scope = managed_station_ids(current_user)
    form = _deputy_form(current_user, obj=dep, station_ids=[
        s.id for s in dep.stations if scope is None or s.id in scope])
    return form_page(form, "staff/deputy_form.html",
                     lambda: org.update_deputy(dep, form.to_data(), actor=current_user),
                     saved=lambda d: (f"已保存代表信息：{d.name}",
                                      url_for(".deputy", deputy_id=d.id)),
                     deputy=dep)


@bp.post("/deputies/<int:deputy_id>/<any(activate,deactivate):verb>")
@roles_required("admin", "liaison")
def deputy_set_active(deputy_id, verb):
    dep = get_or_404(Deputy, deputy_id)
    ensure(can_deactivate_deputy(current_user, dep),
           "该代表还在您不负责的联络站，停用请联系代工委")
    org.set_active(dep, verb == "activate", actor=current_user)
    if verb == "activate":
        return done(f"已启用代表：{dep.name}", url_for(".deputy", deputy_id=dep.id))
    return done(f"已停用代表：{dep.name}，其页面和二维码不再对外显示",
                url_for(".deputy", deputy_id=dep.id))


# ---- the deputy's QR code ----

@bp.get("/deputies/<int:deputy_id>/qr.<any(png,svg):fmt>")
@roles_required("admin", "liaison")
def deputy_qr(deputy_id, fmt):
    dep = get_or_404(Deputy, deputy_id)
    ensure(can_manage_deputy(current_user, dep))
    code = active_code(dep)
    if code is None:
        raise NotFound("该代表没有在用的二维码，请先生成", code="no_active_code")
    data, mimetype = code_image(code, fmt)
    return attachment(data, mimetype, f"{dep.name}-二维码.{fmt}", f"deputy-{dep.id}-qr.{fmt}")


@bp.post("/deputies/<int:deputy_id>/code/revoke")
@roles_required("admin", "liaison")
def deputy_code_revoke(deputy_id):
    dep = get_or_404(Deputy, deputy_id)
    ensure(can_manage_deputy(current_user, dep))
    form = RevokeCodeForm()
    if not form.validate_on_submit():
        return _deputy_page(dep, form), 422
    revoke_code(dep, actor=current_user, reason=form.reason.data)
    return done(f"已停用{dep.name}的二维码。旧海报扫码后会看到停用提示，请生成新二维码并更换海报",
                url_for(".deputy", deputy_id=dep.id))


@bp.post("/deputies/<int:deputy_id>/code/reissue")
@roles_required("admin", "liaison")
def deputy_code_reissue(deputy_id):
    dep = get_or_404(Deputy, deputy_id)
    ensure(can_manage_deputy(current_user, dep))
    reissue_code(dep, actor=current_user)
    return done(f"已为{dep.name}生成新二维码，请下载并更换海报",
                url_for(".deputy", deputy_id=dep.id))

