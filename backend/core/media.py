"""Sending stored images: deputies' portraits to anyone, residents' photos only after the
caller's route has checked who may see the message. One place decides the headers, so a
resident's photo is never cacheable by a proxy or kept on a shared phone."""
import posixpath

from flask import Response

from backend.core.adapters import get_storage

IMAGE_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
PUBLIC_FOLDER = "photos"  # deputies' portraits; residents' uploads live in "messages"
PUBLIC_CACHE = "public, max-age=86400"
PRIVATE_CACHE = "private, no-store"


def public_key(path: str) -> str | None:
    """The storage key a /media/<path> URL names, if it is a public one. Werkzeug has already
    decoded %2e and %2f, so dot segments are resolved here, before the folder is checked:
    photos/../messages/<key> names a resident's photo, not a portrait."""
    if "\\" in path or "\x00" in path:
        return None
    key = posixpath.normpath("/" + path).lstrip("/")
    folder, _, name = key.partition("/")
    if folder != PUBLIC_FOLDER or not name or ".." in key.split("/"):
        return None
    return key


def image_response(key: str, *, public: bool = False) -> Response | None:
    """The stored image as a response, or None when there is none under `key`. Streamed in
    chunks: from an object store, a worker never holds a whole photo in memory."""
    try:
        chunks, size = get_storage().stream(key)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, ValueError):
        return None
    mimetype = IMAGE_TYPES.get(key.rsplit(".", 1)[-1].lower(), "application/octet-stream")
    return Response(chunks, mimetype=mimetype, direct_passthrough=True, headers={
        "Content-Length": str(size),
        "Cache-Control": PUBLIC_CACHE if public else PRIVATE_CACHE,
        "X-Content-Type-Options": "nosniff"})
