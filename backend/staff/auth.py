from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from backend.core.errors import DomainError
from backend.core.extensions import db
from backend.accounts.operations import authenticate, change_own_password, end_sessions
from backend.core.ratelimit import failed_response, limiter, login_rate_per_ip
from backend.staff import bp
from backend.staff.forms import LoginForm, PasswordChangeForm
from backend.staff.pages import form_page


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_rate_per_ip, scope="login-ip", methods=["POST"],
               deduct_when=failed_response)
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
    if current_user.is_authenticated:
        # A copy of this cookie (another browser, a captured one) must not stay signed in.
        end_sessions(current_user)
        db.session.commit()
    logout_user()
    session.clear()
    flash("您已退出登录", "info")
    return redirect(url_for("staff.login"))


def _staff_key() -> str:
    return f"staff:{current_user.get_id()}"


@bp.route("/password", methods=["GET", "POST"])
@login_required
@limiter.limit(lambda: "10 per hour", key_func=_staff_key, scope="staff-password",
               methods=["POST"], deduct_when=failed_response)
def change_password():
    """Anyone signed in changes their own password; a stolen session guessing the old one gets
    ten tries an hour."""
    form = PasswordChangeForm()

    def run():
        data = form.to_data()
        return change_own_password(current_user, old=data["old_password"],
                                   new=data["new_password"], confirm=data["confirm"])

    def saved(user):
        login_user(user)  # this session now carries the new version and goes on
        return "密码已修改，其他设备上的登录已全部退出", url_for("staff.home")
    return form_page(form, "staff/password.html", run, saved=saved)


def _safe_next(target: str | None) -> str | None:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return None
