"""Domain errors: a stable English code and a Chinese message; each channel maps them once."""


class DomainError(Exception):
    code = "invalid_request"
    message = "请求无法完成"
    status = 400

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 errors: dict | None = None):
        self.message = message or self.message
        self.code = code or self.code
        self.errors = errors or {}
        super().__init__(self.message)


class NotFound(DomainError):
    code = "not_found"
    message = "没有找到要访问的内容"
    status = 404


class Forbidden(DomainError):
    code = "forbidden"
    message = "您没有权限进行此操作"
    status = 403


class InvalidState(DomainError):
    code = "invalid_state"
    message = "当前状态下不能进行此操作"
    status = 409


class ValidationFailed(DomainError):
    code = "validation_failed"
    message = "提交的内容有误，请检查后重试"
    status = 422


class Gone(DomainError):
    code = "gone"
    message = "该内容已停止使用"
    status = 410


class RateLimited(DomainError):
    code = "rate_limited"
    message = "提交太频繁了，请稍后再试"
    status = 429

    def __init__(self, message: str | None = None, *, retry_after: int | None = None, **kw):
        super().__init__(message, **kw)
        self.retry_after = retry_after  # seconds; sent as Retry-After and in the JSON body


class Unavailable(DomainError):
    """A part the request needs (the database) cannot be reached: try again shortly."""
    code = "service_unavailable"
    message = "系统暂时无法访问，请稍后再试"
    status = 503
    retry_after = 30
