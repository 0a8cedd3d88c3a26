"""What every request must satisfy before any handler reads it: a URL of reasonable length and
text without NUL bytes or lone surrogates. PostgreSQL refuses NUL in text and UTF-8 cannot
encode a lone surrogate ("\\ud800" is valid JSON), so either reached a query as a 500. Checked
here once, for the path, the query string, form fields and JSON bodies of every blueprint."""
from flask import Flask, current_app, request

from backend.core.errors import DomainError


class InvalidCharacters(DomainError):
    code = "invalid_characters"
    message = "提交的内容含有无法识别的字符，请删除后重试"
    status = 400


class UrlTooLong(DomainError):
    code = "url_too_long"
    message = "网址太长了，请返回上一页重新操作"
    status = 414


def is_clean(text: str | None) -> bool:
    if not text:  # a multipart part may come without a name
        return True
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def _clean_json(value) -> bool:
    if isinstance(value, str):
        return is_clean(value)
    if isinstance(value, list):
        return all(_clean_json(item) for item in value)
    if isinstance(value, dict):
        return all(is_clean(key) and _clean_json(item) for key, item in value.items())
    return True


def _clean_multidict(values) -> bool:
    return all(is_clean(key) and is_clean(value) for key, value in values.items(multi=True))


def check_request() -> None:
    # The target as the client sent it (gunicorn: RAW_URI, Werkzeug: REQUEST_URI), else rebuilt.
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.full_path
    if len(raw) > current_app.config["MAX_URL_LENGTH"]:
        raise UrlTooLong()
    if not (is_clean(request.path) and _clean_multidict(request.args)):
        raise InvalidCharacters()
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        if not _clean_multidict(request.form):
            raise InvalidCharacters()
    elif request.content_length or request.is_json:
        # The API reads a body as JSON whatever its label (miniprogram_api/endpoint.py).
        if not _clean_json(request.get_json(force=True, silent=True)):
            raise InvalidCharacters()


def register_input_edges(app: Flask) -> None:
    app.before_request(check_request)  # first, before any handler or other hook reads input
