"""Uploaded images that are built to hurt: decompression bombs refused by their declared size
before any pixel is decoded, and nothing but pixels kept (no comment or APPn segment a browser
could sniff as HTML)."""
import io
import os
import pathlib
import struct
import time
import zlib

import pytest
from PIL import Image

from backend.core.adapters import get_storage
from backend.core.images import MAX_PIXELS, clean_image
from backend.core.errors import ValidationFailed
from backend.messages.models import MessagePhoto

SCRIPT = b"<script>alert(document.cookie)</script>"


def _upload(api, token, data, name="p.png"):
    return api.post("/photos", token, data={"photo": (io.BytesIO(data), name)},
                    content_type="multipart/form-data")


@pytest.fixture
def token(make_resident, token_for):
    return token_for(make_resident())


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int, height: int) -> bytes:
    """An RGBA PNG of zeros: a few hundred KB that inflate to width × height × 4 bytes. Written
    by hand, row by row, so the test itself never holds the inflated image."""
    row = b"\x00" * (1 + 4 * width)  # filter byte + pixels
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat)
            + _png_chunk(b"IEND", b""))


def _jpeg_segments(data: bytes) -> list[int]:
    """The marker of every segment before the scan data (SOS ends the header)."""
    assert data[:2] == b"\xff\xd8"
    markers, pos = [], 2
    while pos < len(data):
        assert data[pos] == 0xFF, pos
        marker = data[pos + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            break
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        pos += 2 + length
    return markers


def _with_comment_and_app(jpeg: bytes) -> bytes:
    """Insert a COM segment and an APP13 segment carrying a script right after SOI."""
    com = b"\xff\xfe" + struct.pack(">H", len(SCRIPT) + 2) + SCRIPT
    app13 = b"\xff\xed" + struct.pack(">H", len(SCRIPT) + 2) + SCRIPT
    return jpeg[:2] + com + app13 + jpeg[2:]


def test_a_png_bomb_is_refused_by_its_size_before_decoding(api, db, token, app):
    bomb = bomb_png(8900, 8900)
    assert len(bomb) < 400_000  # small on the wire
    uploads = pathlib.Path(app.config["UPLOAD_DIR"])
    files_before = set(uploads.rglob("*"))
    started = time.perf_counter()
    resp = _upload(api, token, bomb)
    elapsed = time.perf_counter() - started
    assert resp.status_code == 422, resp.json
    assert resp.json["code"] == "image_too_many_pixels"
    assert "像素" in resp.json["message"]
    assert elapsed < 1.0  # refused from the header, not after inflating 300 MB
    assert db.session.scalar(db.select(db.func.count()).select_from(MessagePhoto)) == 0
    assert set(uploads.rglob("*")) == files_before


def test_a_bomb_past_pillows_own_limit_gets_the_same_answer():
    with pytest.raises(ValidationFailed) as err:
        clean_image(bomb_png(12000, 12000))  # 144 MP: Pillow refuses it while opening
    assert err.value.code == "image_too_many_pixels"
    assert "百万像素" in err.value.message


def test_a_png_just_over_the_cap_is_refused_and_one_under_is_kept(token, api):
    side = int(MAX_PIXELS["PNG"] ** 0.5) + 1
    with pytest.raises(ValidationFailed) as err:
        clean_image(bomb_png(side, side))
    assert err.value.code == "image_too_many_pixels"
    ok = _upload(api, token, bomb_png(3000, 2000))
    assert ok.status_code == 201, ok.json
    assert (ok.json["width"], ok.json["height"]) == (2048, 1365)


def test_a_large_phone_jpeg_is_decoded_at_reduced_scale(monkeypatch):
    """A 50-megapixel phone photo is accepted, and JPEG's scaled decoding (draft) means the
    full-size pixels are never held in memory."""
    out = io.BytesIO()
    Image.new("RGB", (8160, 6120), (90, 120, 200)).save(out, "JPEG", quality=50)
    loaded_sizes = []
    original_load = Image.Image.load

    def spying_load(self):
        loaded_sizes.append(self.size)
        return original_load(self)
    monkeypatch.setattr(Image.Image, "load", spying_load)
    data, ext = clean_image(out.getvalue())
    assert ext == "jpg"
    assert Image.open(io.BytesIO(data)).size == (2048, 1536)
    # Never decoded at more than a quarter of its pixels (draft picks 1/2, 1/4 or 1/8 scale).
    assert loaded_sizes and max(w * h for w, h in loaded_sizes) <= 8160 * 6120 // 4


def test_jpeg_comment_and_app_segments_do_not_survive(api, token):
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 20, 30)).save(out, "JPEG", comment=b"hello")
    polyglot = _with_comment_and_app(out.getvalue())
    assert SCRIPT in polyglot and 0xFE in _jpeg_segments(polyglot)

    resp = _upload(api, token, polyglot, name="p.jpg")
    assert resp.status_code == 201, resp.json
    photo = api.db.session.get(MessagePhoto, resp.json["id"])
    stored = get_storage().read(photo.storage_key)
    assert SCRIPT not in stored and b"hello" not in stored
    markers = _jpeg_segments(stored)
    assert 0xFE not in markers  # no COM
    assert not [m for m in markers if 0xE1 <= m <= 0xEF]  # no APP1..APP15 (EXIF, XMP, ICC, IPTC)


def test_png_text_chunks_do_not_survive():
    from PIL.PngImagePlugin import PngInfo
    info = PngInfo()
    info.add_text("Comment", SCRIPT.decode())
    info.add_itxt("XML:com.adobe.xmp", SCRIPT.decode())
    out = io.BytesIO()
    Image.new("RGBA", (32, 32), (1, 2, 3, 128)).save(out, "PNG", pnginfo=info)
    assert SCRIPT in out.getvalue()
    data, ext = clean_image(out.getvalue())
    assert ext == "png" and SCRIPT not in data
    assert Image.open(io.BytesIO(data)).getpixel((0, 0)) == (1, 2, 3, 128)


def test_a_truncated_image_is_refused_in_chinese():
    out = io.BytesIO()
    Image.frombytes("RGB", (400, 300), os.urandom(400 * 300 * 3)).save(out, "PNG")
    with pytest.raises(ValidationFailed) as err:
        clean_image(out.getvalue()[:-200])
    assert err.value.code == "image_invalid"


def test_orientation_is_applied_and_no_exif_or_profile_is_kept():
    """A phone's portrait photo, stored landscape with EXIF Orientation 6 and a colour profile,
    comes out upright, in sRGB, with neither segment."""
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to view
    exif[0x8825] = {2: (39.0, 54.0, 0.0)}  # GPS
    from PIL import ImageCms
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    Image.new("RGB", (80, 40), (0, 128, 255)).save(out, "JPEG", exif=exif.tobytes(),
                                                    icc_profile=icc)
    data, _ = clean_image(out.getvalue())
    cleaned = Image.open(io.BytesIO(data))
    assert cleaned.size == (40, 80)
    assert not cleaned.getexif() and "icc_profile" not in cleaned.info
    assert not [m for m in _jpeg_segments(data) if 0xE1 <= m <= 0xEF]
