"""Staff account pages (admin only): list, create, edit, deactivate, reset password. A new or
reset password is shown once, in the answer to the POST itself: never stored in clear and never
put in the session cookie (a flash would carry it there, readable by anyone holding the cookie)."""
from flask import make_response, render_template, url_for
from flask_login import current_user

from backend.core.extensions import db
from backend.org.models import Department, Deputy, Station
from backend.accounts.models import StaffUser
from backend.accounts import operations as ops
from backend.staff import bp
from backend.staff.forms import AccountForm
from backend.staff.guard import roles_required
from backend.staff.pages import done, form_page, get_or_404, list_page


def _account_form(editing=False, **kw) -> AccountForm:
    return AccountForm(**kw).setup(
        deputies=db.session.scalars(db.select(Deputy).where(Deputy.is_active.is_(True))
                                    .order_by(Deputy.name)),
        departments=db.session.scalars(db.select(Department).order_by(Department.name)),
        stations=db.session.scalars(db.select(Station).order_by(Station.name)),
        editing=editing)


def _links(data: dict) -> dict:
    """Form ids → the objects the account operations take."""
    return {"deputy": db.session.get(Deputy, data["deputy_id"]) if data["deputy_id"] else None,
            "department": (db.session.get(Department, data["department_id"])
                           if data["department_id"] else None),
            "stations": list(db.session.scalars(
                db.select(Station).where(Station.id.in_(data["station_ids"] or []))))}


def _show_password(user: StaffUser, message: str, password: str):
    """The account's edit page with its one-time password, as the POST's own answer (committed
    already). Not cached, so going back later does not show it again."""
    form = _account_form(editing=True, obj=user, station_ids=[s.id for s in user.stations])
    response = make_response(render_template("staff/account_form.html", form=form, account=user,
                                             one_time=(message, password)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/accounts")
@roles_required("admin")
def accounts():
    page, filters = list_page(db.select(StaffUser),
                              search=[StaffUser.display_name, StaffUser.username],
                              active=StaffUser.is_active,
                              order=(StaffUser.role, StaffUser.username))
    return render_template("staff/accounts.html", page=page, **filters)


@bp.route("/accounts/new", methods=["GET", "POST"])
@roles_required("admin")
def account_new():
    form = _account_form()
    password = ops.generate_password()

    def run():
        data = form.to_data()
        return ops.create_staff(username=data["username"], display_name=data["display_name"],
                                role=data["role"], password=password, actor=current_user,
                                **_links(data))

    def saved(user):
        return _show_password(user, f"已创建账号 {user.username}（{user.role_label}）。", password)
    return form_page(form, "staff/account_form.html", run, saved=saved, account=None)


@bp.route("/accounts/<int:user_id>/edit", methods=["GET", "POST"])
@roles_required("admin")
def account_edit(user_id):
    user = get_or_404(StaffUser, user_id)
    form = _account_form(editing=True, obj=user, station_ids=[s.id for s in user.stations])

    def run():
        data = form.to_data()
        return ops.update_staff(user, actor=current_user, display_name=data["display_name"],
                                role=data["role"], is_active=user.is_active, **_links(data))
    return form_page(form, "staff/account_form.html", run,
                     saved=lambda u: (f"已保存账号：{u.username}", url_for(".accounts")),
                     account=user)


@bp.post("/accounts/<int:user_id>/<any(activate,deactivate):verb>")
@roles_required("admin")
def account_set_active(user_id, verb):
    user = get_or_404(StaffUser, user_id)
    ops.set_staff_active(user, verb == "activate", actor=current_user)
    word = "启用" if verb == "activate" else "停用"
    return done(f"已{word}账号：{user.username}", url_for(".account_edit", user_id=user.id))


@bp.post("/accounts/<int:user_id>/reset-password")
@roles_required("admin")
def account_reset_password(user_id):
    user = get_or_404(StaffUser, user_id)
    password = ops.reset_password(user, actor=current_user)
    db.session.commit()
    return _show_password(user, f"已重置 {user.username} 的密码，其登录已全部退出。", password)
