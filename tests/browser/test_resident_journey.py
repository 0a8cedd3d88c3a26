"""A resident on a 360-px phone: scan the poster, write with a photo, keep the receipt; later
open the message, read the deputy's answer and rate it. Screenshots of every step."""
import io

import pytest
import sqlalchemy as sa
import zxingcpp
from playwright.sync_api import expect
from PIL import Image

from backend.messages.models import Message
from backend.messages import operations as ops
from backend.org.codes import active_code

pytestmark = pytest.mark.browser


def _url_in_qr(png: bytes) -> str:
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert found, "the generated QR image does not decode"
    return found[0].text


def _photo() -> bytes:
    img = Image.new("RGB", (800, 600), (90, 120, 160))
    for x in range(300, 500):  # something to see in the preview: a lamp post
        for y in range(100, 600):
            if x < 320 or y < 130:
                img.putpixel((x, y), (40, 40, 40))
    out = io.BytesIO()
    img.save(out, "JPEG")
    return out.getvalue()


def _fits_the_phone(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def _big_enough(locator) -> None:
    box = locator.bounding_box()
    assert box["height"] >= 48 and box["width"] >= 0.8 * 360 - 40, box  # for older thumbs


def test_scan_write_receipt_answer_rate(live_server, page, client, db, make_station, make_deputy,
                                        make_staff, screenshot_dir):
    station = make_station(name="城关街道代表联络站", address="解放路12号党群服务中心二楼")
    deputy = make_deputy(name="王建国", level="county", occupation="社区卫生服务中心主任医师",
                         stations=[station])
    deputy_user = make_staff("deputy", deputy=deputy)
    token = active_code(deputy).token
    db.session.commit()

    page.goto(_url_in_qr(client.get(f"/d/{token}/qr.png").data))
    page.get_by_test_id("write").click()
    assert page.get_by_test_id("write-to").inner_text() == "给王建国代表留言"

    text = "幸福小区3栋门口的路灯坏了一个多月，晚上老人出门很不方便，希望尽快修好。"
    page.locator("#body").fill(text)
    expect(page.get_by_test_id("counter")).to_have_text(f"已写 {len(text)} 字")  # set by JS
    page.set_input_files("#photos", files=[
        {"name": "路灯.jpg", "mimeType": "image/jpeg", "buffer": _photo()}])
    expect(page.locator(".lx-previews__img")).to_have_count(1)
    page.locator("#phone").fill("13800131234")
    page.locator("#place").fill("幸福小区3栋门口")
    page.get_by_text("同意代表在公开场合引用我的留言").click()
    _big_enough(page.get_by_test_id("send"))
    _fits_the_phone(page)
    page.screenshot(path=str(screenshot_dir / "write-form.png"), full_page=True)

    page.get_by_test_id("send").click()
    page.wait_for_url("**/receipt")
    db.session.expire_all()
    message = db.session.scalars(sa.select(Message)).one()
    assert page.get_by_test_id("tracking-no").inner_text() == message.tracking_no
    assert len(page.get_by_test_id("lookup-code").inner_text()) == 6
    expect(page.get_by_text("请截图或记下编号和查询码")).to_be_visible()
    assert len(message.photos) == 1 and message.may_publish
    _fits_the_phone(page)
    page.screenshot(path=str(screenshot_dir / "receipt.png"), full_page=True)

    ops.reply(message, "您好，已联系街道和供电所，路灯本周五前修好。修好后请您留意，如还有问题"
                       "可以再给我留言。", actor=deputy_user)
    db.session.commit()

    page.get_by_test_id("my-link").click()
    page.get_by_test_id("my-message").first.click()
    assert page.get_by_test_id("status").inner_text() == "已答复"
    assert "路灯本周五前修好" in page.get_by_test_id("answer").inner_text()
    assert page.get_by_test_id("phone").inner_text() == "138****1234"
    photo = page.locator(".lx-gallery__img")
    photo.scroll_into_view_if_needed()  # loading="lazy": a busy browser may not have fetched it yet
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=photo.element_handle())
    assert photo.evaluate("img => img.naturalWidth") == 800
    _fits_the_phone(page)
    page.screenshot(path=str(screenshot_dir / "answered.png"), full_page=True)

    page.get_by_test_id("rate-satisfied").click()
    _big_enough(page.get_by_test_id("rate-submit"))
    page.get_by_test_id("rate-submit").click()
    assert page.get_by_test_id("status").inner_text() == "已办结"
    expect(page.get_by_text("感谢您的评价")).to_be_visible()
    _fits_the_phone(page)
    page.screenshot(path=str(screenshot_dir / "rated.png"), full_page=True)

    page.get_by_test_id("text-size").click()  # large text: still one column, nothing cut off
    assert "lx-large" in (page.locator("html").get_attribute("class") or "")
    _fits_the_phone(page)
    page.screenshot(path=str(screenshot_dir / "rated-large-text.png"), full_page=True)
    page.goto(f"{live_server}/d/{token}/write")
    _fits_the_phone(page)
    page.screenshot(path=str(screenshot_dir / "write-form-large-text.png"), full_page=True)
    page.goto(f"{live_server}/m/{message.id}/receipt")
    _fits_the_phone(page)
    page.screenshot(path=str(screenshot_dir / "receipt-large-text.png"), full_page=True)
