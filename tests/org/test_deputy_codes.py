"""Deputy code images: a plain QR for /d/<token>, or the mini-program code when WeChat is set."""
import io

import responses
import zxingcpp
from PIL import Image

from backend.core.audit_model import AuditEvent
from backend.org.codes import active_code, code_image, mini_program_code, revoke_code
from tests.conftest import FAKE_WECHAT


def _decode(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert results, "no QR code found in the image"
    return results[0].text


def test_qr_png_encodes_the_public_url(app, db, make_deputy):
    code = active_code(make_deputy())
    data, mimetype = code_image(code, "png")
    assert mimetype == "image/png"
    assert _decode(data) == f"{app.config['PUBLIC_BASE_URL']}/d/{code.token}"


def test_svg_is_served(client, db, make_deputy):
    code = active_code(make_deputy())
    db.session.commit()
    resp = client.get(f"/d/{code.token}/qr.svg")
    assert resp.status_code == 200 and resp.mimetype == "image/svg+xml"
    assert b"<svg" in resp.data


def test_without_wechat_the_poster_falls_back_to_the_plain_qr(app, db, make_deputy):
    code = active_code(make_deputy())
    assert mini_program_code(code) is None
    data, _ = code_image(code, "wxacode")
    assert _decode(data).endswith(f"/d/{code.token}")


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (430, 430), "white").save(out, "PNG")
    return out.getvalue()


def test_mini_program_code_is_fetched_once_with_the_token_as_scene(wechat, db, make_deputy,
                                                                   each_storage):
    import json
    png = _png()
    wechat.add(responses.POST, FAKE_WECHAT + "wxa/getwxacodeunlimit", body=png,
               content_type="image/png")
    code = active_code(make_deputy())
    assert mini_program_code(code) == png
    assert mini_program_code(code) == png  # second time from the cache
    calls = [c for c in wechat.calls if "getwxacodeunlimit" in c.request.url]
    assert len(calls) == 1
    assert json.loads(calls[0].request.body)["scene"] == code.token
    assert code.wxacode_path and each_storage.read(code.wxacode_path) == png  # cached in the store


def test_revoking_writes_an_audit_entry_with_reason(db, make_deputy, make_staff):
    liaison = make_staff("liaison")
    deputy = make_deputy()
    code = revoke_code(deputy, actor=liaison, reason="海报丢失")
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="code.revoke"))
    assert event.actor_id == liaison.id and event.object_id == code.id
    assert event.before == {"active": True}
    assert event.after == {"active": False, "reason": "海报丢失"}
