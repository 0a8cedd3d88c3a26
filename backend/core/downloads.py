"""Files the staff download: named in Chinese for browsers (RFC 5987 filename*), with an ASCII
name for clients that read only filename= (an all-Chinese name would otherwise come out as
"-.png")."""
from urllib.parse import quote

from flask import Response


def attachment(data: bytes, mimetype: str, filename: str, ascii_name: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}")
    return response
