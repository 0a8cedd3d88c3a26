"""What every server-rendered page shares: the logged-in user, filters, error pages."""
from datetime import date

from flask import Flask, flash, g, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError

from backend.core.errors import DomainError
from backend.core.extensions import db, login_manager
from backend.core.timeutil import format_date_cn, format_local

LARGE_TEXT_COOKIE = "lx_large"


def register_web(app: Flask) -> None:
    login_manager.login_view = "staff.login"
    login_manager.login_message = "请先登录"
    login_manager.login_message_category = "warning"

    @login_manager.user_loader
    def load_user(user_id: str):
        from backend.accounts.models import StaffUser
        user = db.session.get(StaffUser, int(user_id))
        return user if user is not None and user.is_active else None

    app.jinja_env.filters["localtime"] = format_local
    # Dates kept in JSON (a B answer's milestones) arrive as ISO strings.
    app.jinja_env.filters["cn_date"] = lambda d: format_date_cn(
        date.fromisoformat(d) if isinstance(d, str) else d)

    def feed_link(feed):
        from backend.reception.ical import feed_url
        return feed_url(feed)
    app.jinja_env.globals["feed_link"] = feed_link

    @app.before_request
    def _large_text():
        g.large_text = request.cookies.get(LARGE_TEXT_COOKIE) == "1"

    @app.errorhandler(DomainError)
    def _domain_error(err: DomainError):
        # A path under /api/ that matched no route (blueprint None) still speaks JSON.
        if request.blueprint == "miniprogram_api" or request.path.startswith("/api/"):
            from miniprogram_api.errors import error_response
            return error_response(err)
        db.session.rollback()
        return render_template("error.html", title="无法完成", message=err.message,
                               code=err.code), err.status

    @app.errorhandler(CSRFError)
    def _csrf_error(err):
        flash("页面已过期，请刷新后重新提交", "warning")
        return redirect(request.referrer or url_for("portal.index"))

    @app.errorhandler(429)
    def _rate_limited(err):
        from backend.core.errors import RateLimited
        limited = RateLimited()
        if request.path.startswith("/api/"):
            from miniprogram_api.errors import error_response
            return error_response(limited)
        return render_template("error.html", title="请稍后再试", message=limited.message,
                               code=limited.code), 429

    @app.errorhandler(404)
    def _not_found(err):
        if request.path.startswith("/api/"):
            from miniprogram_api.errors import error_response
            from backend.core.errors import NotFound
            return error_response(NotFound())
        return render_template("error.html", title="页面不存在",
                               message="您访问的页面不存在或已被移除。", code="not_found"), 404
