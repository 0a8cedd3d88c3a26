"""A resident scans a poster: the URL comes out of the QR image itself, and the deputy's page
opens on a small phone."""
import io

import pytest
from playwright.sync_api import expect
import zxingcpp
from PIL import Image

from backend.org.codes import active_code

pytestmark = pytest.mark.browser


def _url_in_qr(png: bytes) -> str:
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert found, "the generated QR image does not decode"
    return found[0].text


def test_scan_opens_the_deputy_page_on_a_phone(live_server, page, client, db, make_station,
                                               make_deputy, screenshot_dir):
    station = make_station(name="城关街道代表联络站", address="解放路12号党群服务中心二楼")
    deputy = make_deputy(name="王建国", level="county", occupation="社区卫生服务中心主任医师",
                         expertise="基层医疗、慢病管理", stations=[station])
    token = active_code(deputy).token
    db.session.commit()

    png = client.get(f"/d/{token}/qr.png").data
    url = _url_in_qr(png)
    assert url == f"{live_server}/d/{token}"

    page.goto(url)
    assert page.get_by_test_id("deputy-name").inner_text() == "王建国"
    expect(page.get_by_text("区人大代表")).to_be_visible()
    write = page.get_by_test_id("write")
    assert write.inner_text() == "给Ta留言"
    box = write.bounding_box()
    assert box["width"] >= 0.8 * page.viewport_size["width"] and box["height"] >= 48  # big for older thumbs
    # Nothing runs off the side of a 360-px screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    page.screenshot(path=str(screenshot_dir / "deputy-page.png"), full_page=True)

    page.get_by_test_id("text-size").click()
    assert "lx-large" in (page.locator("html").get_attribute("class") or "")
    page.screenshot(path=str(screenshot_dir / "deputy-page-large-text.png"), full_page=True)

    page.get_by_test_id("write").click()
    assert "/write" in page.url


def test_revoked_code_page_on_a_phone(live_server, page, db, make_deputy, screenshot_dir):
    from backend.org.codes import reissue_code
    deputy = make_deputy(name="李秀英")
    old = active_code(deputy).token
    reissue_code(deputy, actor=None, reason="海报损坏")
    db.session.commit()
    page.goto(f"{live_server}/d/{old}")
    expect(page.get_by_text("此二维码已停止使用")).to_be_visible()
    page.get_by_text("前往李秀英代表的新页面").click()
    assert page.get_by_test_id("deputy-name").inner_text() == "李秀英"
    page.screenshot(path=str(screenshot_dir / "revoked-code.png"), full_page=True)
