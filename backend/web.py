"""What every server-rendered page shares: the logged-in user, filters, error pages."""
import logging
import time
from datetime import date

import sqlalchemy as sa
from collections.abc import Callable

from flask import (
    Flask, Response, current_app, flash, g, redirect, render_template, request, url_for,
)
from flask_wtf.csrf import CSRFError

from backend.core.errors import DomainError, NotFound, Unavailable
from backend.core.extensions import db, login_manager
from backend.core.timeutil import format_date_cn, format_local, people_day, people_time

LARGE_TEXT_COOKIE = "lx_large"
# The database cannot be reached (down, restarting, a dropped connection): a 503 to retry, not a
# crash. pool_pre_ping (config) replaces dead pooled connections, so the app recovers on its own.
DATABASE_DOWN = (sa.exc.OperationalError, sa.exc.DisconnectionError, sa.exc.InterfaceError)
log = logging.getLogger("lianxin.web")


# Each channel answers errors on its own paths in its own way (the mini-program in JSON, the
# portal with its form again); the Chinese error page answers the rest. Channels register here
# (answer_errors_under), so this module, below them, never imports one.
ERROR_ANSWERS = "lianxin_error_answers"
PAGE_TITLES = {404: "页面不存在", 429: "请稍后再试", 500: "出错了", 503: "系统暂时无法访问"}


def answer_errors_under(app: Flask, prefix: str,
                        answer: Callable[[DomainError], Response | None]) -> None:
    """`answer(err)` answers errors for paths under `prefix`, or returns None to let the
    next one (at last the Chinese page) answer."""
    app.extensions.setdefault(ERROR_ANSWERS, []).append((prefix, answer))


def answer_error(err: DomainError, *, title: str | None = None, page_message: str | None = None):
    for prefix, answer in current_app.extensions.get(ERROR_ANSWERS, ()):
        if request.path.startswith(prefix):
            response = answer(err)
            if response is not None:
                return response
    try:
        db.session.rollback()
    except sa.exc.SQLAlchemyError:
        pass  # the connection is gone; the pool replaces it
    retry_after = getattr(err, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return render_template(
        "error.html", title=title or PAGE_TITLES.get(err.status, "无法完成"),
        message=page_message or err.message, code=err.code), err.status, headers


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
        return answer_error(err)

    @app.errorhandler(sa.exc.OperationalError)
    @app.errorhandler(sa.exc.DisconnectionError)
    @app.errorhandler(sa.exc.InterfaceError)
    def _database_down(err):
        log.error("数据库不可用：%s", err)
        return answer_error(Unavailable(
            "系统暂时无法访问，请稍后再试。您填写的内容尚未提交，请稍后重新提交。",
            code="database_unavailable"), title="系统暂时无法访问")

    @app.errorhandler(500)
    def _server_error(err):
        crash = DomainError("服务器开小差了，请稍后再试", code="server_error")
        crash.status = 500
        return answer_error(crash, title="出错了", page_message=(
            "服务器开小差了，请稍后再试。如果问题一直存在，请联系联络站。"))

    @app.errorhandler(CSRFError)
    def _csrf_error(err):
        flash("页面已过期，请刷新后重新提交", "warning")
        return redirect(request.referrer or url_for("portal.index"))

    @app.errorhandler(429)
    def _rate_limited(err):
        from backend.core.ratelimit import limiter, refusal
        current = limiter.current_limit
        return answer_error(refusal(current.reset_at - time.time() if current else 60))

    @app.errorhandler(404)
    def _not_found(err):
        return answer_error(NotFound(), title="页面不存在",
                            page_message="您访问的页面不存在或已被移除。")
