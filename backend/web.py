"""What every server-rendered page shares: the logged-in user, filters, error pages."""
from datetime import date

import logging
import time

import sqlalchemy as sa
from flask import Flask, flash, g, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError

from backend.core.errors import DomainError, RateLimited, Unavailable
from backend.core.extensions import db, login_manager
from backend.core.timeutil import format_date_cn, format_local, people_day, people_time

LARGE_TEXT_COOKIE = "lx_large"
# The database cannot be reached (down, restarting, a dropped connection): a 503 to retry, not a
# crash. pool_pre_ping (config) replaces dead pooled connections, so the app recovers on its own.
DATABASE_DOWN = (sa.exc.OperationalError, sa.exc.DisconnectionError, sa.exc.InterfaceError)
log = logging.getLogger("lianxin.web")


def register_web(app: Flask) -> None:
    login_manager.login_view = "staff.login"
    login_manager.login_message = "请先登录"
    login_manager.login_message_category = "warning"

    @login_manager.user_loader
    def load_user(session_id: str):
        """`<user id>:<session version>` (StaffUser.get_id): a session from before the user's
        last logout or password change names an old version and is refused."""
        from backend.accounts.models import StaffUser
        from backend.core.parsing import row_id
        user_id, _, version = (session_id or "").partition(":")
        user = db.session.get(StaffUser, row_id(user_id) or 0)
        if user is None or not user.is_active or version != str(user.session_version):
            return None
        return user

    # Dates for people, one format everywhere: |day gives 12月2日, |localtime 12月2日 14:30;
    # |localtime("%H:%M") for a bare time of day.
    app.jinja_env.filters["day"] = people_day
    app.jinja_env.filters["localtime"] = lambda dt, fmt=None: (
        format_local(dt, fmt) if fmt else people_time(dt))
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
        if isinstance(err, RateLimited):
            from backend.portal.refusals import rate_limited_page
            return rate_limited_page(err)
        db.session.rollback()
        retry_after = getattr(err, "retry_after", None)
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        title = "请稍后再试" if retry_after is not None else "无法完成"
        return render_template("error.html", title=title, message=err.message,
                               code=err.code), err.status, headers

    @app.errorhandler(sa.exc.OperationalError)
    @app.errorhandler(sa.exc.DisconnectionError)
    @app.errorhandler(sa.exc.InterfaceError)
    def _database_down(err):
        log.error("数据库不可用：%s", err)
        try:
            db.session.rollback()
        except sa.exc.SQLAlchemyError:
            pass  # the connection is gone; the pool replaces it
        down = Unavailable("系统暂时无法访问，请稍后再试。您填写的内容尚未提交，请稍后重新提交。",
                           code="database_unavailable")
        headers = {"Retry-After": str(down.retry_after)}
        if request.path.startswith("/api/"):
            from flask import jsonify
            return jsonify(code=down.code, message=down.message, errors={},
                           retry_after=down.retry_after), 503, headers
        return render_template("error.html", title="系统暂时无法访问", message=down.message,
                               code=down.code), 503, headers

    @app.errorhandler(500)
    def _server_error(err):
        if request.path.startswith("/api/"):
            from miniprogram_api.errors import error_response, http_error
            return error_response(http_error(500))
        try:
            db.session.rollback()
        except sa.exc.SQLAlchemyError:
            pass
        return render_template("error.html", title="出错了",
                               message="服务器开小差了，请稍后再试。如果问题一直存在，请联系联络站。",
                               code="server_error"), 500

    @app.errorhandler(CSRFError)
    def _csrf_error(err):
        flash("页面已过期，请刷新后重新提交", "warning")
        return redirect(request.referrer or url_for("portal.index"))

    @app.errorhandler(429)
    def _rate_limited(err):
        from backend.core.ratelimit import limiter, refusal
        current = limiter.current_limit
        limited = refusal(current.reset_at - time.time() if current else 60)
        if request.path.startswith("/api/"):
            from miniprogram_api.errors import error_response
            return error_response(limited)
        from backend.portal.refusals import rate_limited_page
        return rate_limited_page(limited)

    @app.errorhandler(404)
    def _not_found(err):
        if request.path.startswith("/api/"):
            from miniprogram_api.errors import error_response
            from backend.core.errors import NotFound
            return error_response(NotFound())
        return render_template("error.html", title="页面不存在",
                               message="您访问的页面不存在或已被移除。", code="not_found"), 404
