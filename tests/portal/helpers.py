"""Posting the resident's forms as a browser does, and making photos."""
import io
import re

from PIL import Image

KEY_RE = re.compile(r'name="idempotency_key" value="([0-9a-f]+)"')
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def jpeg(color="red", size=(64, 48), gps=False) -> bytes:
    img = Image.new("RGB", size, color)
    exif = Image.Exif()
    if gps:
        exif[0x010F] = "TestCam"  # Make
        exif.get_ifd(0x8825).update({1: "N", 2: (30.0, 15.0, 0.0), 3: "E", 4: (120.0, 10.0, 0.0)})
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif)
    return out.getvalue()


def open_form(client, url: str) -> dict:
    """GET the write form as a browser does: its CSRF token and idempotency key."""
    html = client.get(url).get_data(as_text=True)
    return {"csrf_token": CSRF_RE.search(html).group(1),
            "idempotency_key": KEY_RE.search(html).group(1)}


def csrf_of(client, url: str) -> dict:
    """The CSRF field of the (first) form on a page, to post it like a browser."""
    return {"csrf_token": CSRF_RE.search(client.get(url).get_data(as_text=True)).group(1)}


def send(client, url: str, *, form: dict | None = None, photos=(), **fields):
    """Post the write form; `photos` are (bytes, filename) pairs."""
    data = {"body": "小区门口的路灯坏了一个多月，晚上很不安全。", **(form or open_form(client, url)),
            **fields}
    data["photos"] = [(io.BytesIO(b), name) for b, name in photos]
    return client.post(url, data=data, content_type="multipart/form-data")
