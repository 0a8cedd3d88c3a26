"""The `endpoint` decorator: one declaration of a handler's input and output schemas, used both
to load and dump at run time and to describe the handler in the OpenAPI document."""
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, wraps

from flask import Response, jsonify, request
from marshmallow import Schema

from backend.core.errors import ValidationFailed
from backend.core.extensions import db


@dataclass(frozen=True)
class Endpoint:
    body: type[Schema] | None = None  # JSON body
    query: type[Schema] | None = None  # query string
    form: type[Schema] | None = None  # multipart form (wx.uploadFile)
    out: type[Schema] | None = None
    file_type: str | None = None  # the handler answers with a file of this type instead
    status: int = 200  # on success; a handler may return (result, status) instead
    replay: bool = False  # an idempotent retry answers 200 with the first result
    # Our field name for an operation's: its errors name its own arguments.
    error_fields: Mapping[str, str] | None = None
    # Commit after dumping the answer: what the transaction just wrote is answered from the
    # objects in hand, not loaded again after the commit expired them.
    commit: bool = False
    # Error statuses this handler answers beyond the usual ones, for the OpenAPI document.
    errors: Mapping[str, str] | None = None

    @property
    def input(self) -> type[Schema] | None:
        return self.body or self.query or self.form


def endpoint(**spec):
    """Loads the input into the handler's `data` argument (marshmallow's ValidationError
    becomes our 422 in errors.py) and dumps what the handler returns with `out`."""
    meta = Endpoint(**spec)

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if meta.input is not None:
                kwargs["data"] = _schema(meta.input).load(_read(meta))
            try:
                result, status = view(*args, **kwargs), meta.status
            except ValidationFailed as err:
                renames = meta.error_fields or {}
                err.errors = {renames.get(key, key): texts for key, texts in err.errors.items()}
                raise
            if isinstance(result, tuple):
                result, status = result
            if isinstance(result, Response):
                return result
            answer = _schema(meta.out).dump(result) if meta.out else {}
            if meta.commit:
                db.session.commit()
            return jsonify(answer), status
        wrapped.mp_endpoint = meta
        return wrapped
    return decorator


@cache
def _schema(schema_class: type[Schema]) -> Schema:
    """One instance per schema for the process: loading and dumping keep no state on it, and
    building one (copying every declared field) costs more than the load itself."""
    return schema_class()


def _read(meta: Endpoint):
    if meta.query:
        return request.args.to_dict()
    if meta.form:
        return {**request.form.to_dict(), **request.files.to_dict()}
    if not request.get_data(cache=True):
        return {}  # no body at all: the schema says which fields are missing
    # The mini-program always sends JSON; a body that is not JSON is a 400 in our shape.
    return request.get_json(force=True)
