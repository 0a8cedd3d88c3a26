"""One error shape for the whole API: {"code": "...", "message": "中文说明", "errors": {...}}.

Every error on a path under /api/ is answered by `error_response`, registered with
backend/web.py when the blueprint is; this module also maps what else can go wrong in a request: invalid input (marshmallow) and HTTP errors (bad JSON, a wrong
method, an upload too large, a rate limit, a crash)."""
from flask import jsonify, request
from marshmallow import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from backend.core.errors import DomainError, NotFound, RateLimited, ValidationFailed
from backend.core.extensions import db
from backend.web import answer_errors_under
from miniprogram_api import bp

HTTP_ERRORS = {
    400: ("bad_request", "请求格式有误，请更新小程序后重试"),
    404: (NotFound.code, NotFound.message),
    405: ("method_not_allowed", "不支持这种请求方式"),
    413: ("payload_too_large", "上传的内容太大了，请换一张小一点的照片"),
    415: ("bad_request", "请求格式有误，请更新小程序后重试"),
    429: (RateLimited.code, RateLimited.message),
}
SERVER_ERROR = ("server_error", "服务器开小差了，请稍后再试")


def error_response(err: DomainError):
    try:
        db.session.rollback()
    except SQLAlchemyError:
        pass  # the database is down (a 503): the pool replaces the connection

    retry_after = getattr(err, "retry_after", None)
    if retry_after is None:
        return jsonify(code=err.code, message=err.message, errors=err.errors), err.status
    return (jsonify(code=err.code, message=err.message, errors=err.errors,
                    retry_after=retry_after), err.status, {"Retry-After": str(retry_after)})


@bp.record_once
def _answer_api_errors(state) -> None:
    # Also a path under /api/ that matched no route (no blueprint) speaks JSON.
    answer_errors_under(state.app, "/api/", error_response)


def api_error(code: str, message: str, status: int) -> DomainError:
    """A one-off error of this channel, for failures no domain error class describes."""
    err = DomainError(message, code=code)
    err.status = status
    return err


def http_error(status: int) -> DomainError:
    code, message = HTTP_ERRORS.get(status, SERVER_ERROR if status >= 500 else (
        "request_failed", "请求无法完成"))
    return api_error(code, message, status)


@bp.errorhandler(ValidationError)
def _invalid_input(err: ValidationError):
    errors = err.messages if isinstance(err.messages, dict) else {"_schema": err.messages}
    return error_response(ValidationFailed(errors=errors))


@bp.errorhandler(HTTPException)
def _http_error(err: HTTPException):
    return error_response(http_error(err.code or 500))


@bp.app_errorhandler(405)
def _method_not_allowed(err):
    # Routing fails before a blueprint is chosen, so only an app-wide handler sees a 405;
    # other paths keep Flask's default page.
    if request.path.startswith(bp.url_prefix + "/"):
        body, status = error_response(http_error(405))
        # The methods the URL does take (RFC 9110 requires Allow on a 405).
        return body, status, [h for h in err.get_headers() if h[0] == "Allow"]
    return err
