from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from backend.core.errors import DomainError
from backend.core.extensions import db
from backend.accounts.operations import authenticate
from backend.staff import bp
from backend.staff.forms import LoginForm


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("staff.home"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = authenticate(form.username.data, form.password.data)
        except DomainError as err:
            db.session.commit()  # keep the failure count
            flash(err.message, "error")
            return render_template("staff/login.html", form=form), err.status
        db.session.commit()
        session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME
        login_user(user)
        return redirect(_safe_next(request.args.get("next")) or url_for("staff.home"))
    return render_template("staff/login.html", form=form)


@bp.post("/logout")
def logout():
    logout_user()
    session.clear()
    flash("您已退出登录", "info")
    return redirect(url_for("staff.login"))


def _safe_next(target: str | None) -> str | None:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return None
