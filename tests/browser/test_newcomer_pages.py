"""What a newcomer tripped on, in a phone-sized Chromium: the home page's ways in (search,
查询留言, 我的留言 with its unread mark, 我的预约, a number to call), the rated message with the
resident's words on both sides, the staff login boxes, and the reply box with its send button.
Each takes a screenshot into test-artifacts/screenshots/."""
import secrets
import uuid

import pytest
from playwright.sync_api import expect

from backend.accounts.resident_model import Resident
from backend.messages import operations as ops

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-9"
COMMENT = "路灯修好了，谢谢王代表！就是修得慢了点，希望以后快一些。"


@pytest.fixture
def world(db, make_station, make_deputy, make_staff):
    home = make_station(name="城关区人大代表之家", kind="home", phone="0731-8888 0000")
    station = make_station(name="城关街道代表联络站")
    wang = make_deputy(name="王建国", occupation="社区卫生服务中心主任医师", stations=[home, station])
    make_deputy(name="王芳", occupation="小学教师", stations=[station])
    make_deputy(name="李秀英", occupation="小学校长", stations=[station])
    resident = Resident(web_key=secrets.token_urlsafe(32))
    db.session.add(resident)
    db.session.flush()
    message = ops.submit_message(
        resident=resident, deputy=wang, idempotency_key=uuid.uuid4().hex,
        body="小区门口的路灯坏了一个多月，晚上很黑，老人出门不安全，请帮忙协调修理。").message
    users = {"liaison": make_staff("liaison", username="liaison", display_name="城关站联络员 何军",
                                   stations=[home, station]),
             "deputy": make_staff("deputy", username="wangjg", display_name="王建国", deputy=wang)}
    ops.acknowledge(message, actor=users["liaison"])
    db.session.commit()
    return {"resident": resident, "message": message, "users": users}


def _as_resident(page, base, resident):
    page.context.add_cookies([{"name": "lx_resident", "value": resident.web_key, "url": base}])


def _sign_in(page, base, user):
    page.goto(f"{base}/staff/login")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/staff/")


def _fits_phone(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def test_home_page_ways_in_and_the_unread_mark(live_server, page, db, world, screenshot_dir):
    message = world["message"]
    ops.reply(message, "您好，我已联系街道和供电所，路灯本周五前修好。", actor=world["users"]["deputy"])
    db.session.commit()
    _as_resident(page, live_server, world["resident"])
    page.goto(live_server + "/")
    for testid in ("home-track", "home-my-messages", "home-my-appointments"):
        link = page.get_by_test_id(testid)
        assert link.is_visible() and link.bounding_box()["height"] >= 44, testid
    assert page.get_by_test_id("unread-count").inner_text() == "1"
    assert page.get_by_test_id("help-phone").inner_text() == "0731-8888 0000"
    _fits_phone(page)

    page.fill("input[name=q]", "王")
    page.get_by_role("button", name="查找").click()
    results = page.get_by_test_id("search-results").locator("a.lx-cell")
    assert results.count() == 2
    assert page.get_by_test_id("search-title").inner_text() == "「王」找到 2 位代表"
    _fits_phone(page)
    page.screenshot(path=str(screenshot_dir / "home.png"), full_page=True)

    page.get_by_test_id("home-my-messages").click()
    expect(page.get_by_test_id("unread")).to_be_visible()
    assert page.get_by_test_id("my-link").get_by_test_id("unread-count").inner_text() == "1"
    _fits_phone(page)
    page.screenshot(path=str(screenshot_dir / "my_messages_unread.png"), full_page=True)
    page.get_by_test_id("my-message").first.click()
    assert "路灯本周五前修好" in page.get_by_test_id("answer").inner_text()
    page.goto(live_server + "/")
    assert page.get_by_test_id("unread-count").count() == 0


def test_the_rated_message_shows_the_residents_words(live_server, page, db, world, screenshot_dir):
    message = world["message"]
    ops.reply(message, "您好，我已联系街道和供电所，路灯本周五前修好。", actor=world["users"]["deputy"])
    db.session.commit()
    _as_resident(page, live_server, world["resident"])
    page.goto(f"{live_server}/m/{message.id}")
    page.get_by_test_id("rate-basically_satisfied").click()
    page.fill("#rate-comment", COMMENT)
    page.get_by_test_id("rate-submit").click()
    expect(page.get_by_text("感谢您的评价")).to_be_visible()
    card = page.get_by_test_id("my-rating")
    assert "基本满意" in card.inner_text() and COMMENT in card.inner_text()
    assert COMMENT in page.get_by_test_id("timeline").inner_text()
    _fits_phone(page)
    page.screenshot(path=str(screenshot_dir / "rated_message.png"), full_page=True)

    page.context.clear_cookies()
    _sign_in(page, live_server, world["users"]["liaison"])
    page.goto(f"{live_server}/staff/messages/{message.id}")
    assert COMMENT in page.get_by_test_id("rating").inner_text()
    assert f"居民评价：基本满意。{COMMENT}" in page.get_by_test_id("timeline").inner_text()
    _fits_phone(page)
    page.screenshot(path=str(screenshot_dir / "rated_message_staff.png"), full_page=True)


def test_login_boxes_have_a_border_and_a_placeholder(live_server, page, screenshot_dir):
    page.goto(f"{live_server}/staff/login")
    for name, placeholder in (("username", "请输入用户名"), ("password", "请输入密码")):
        box = page.locator(f"input[name={name}]")
        assert box.get_attribute("placeholder") == placeholder
        style = box.evaluate("e => { const s = getComputedStyle(e);"
                             " return [s.borderTopWidth, s.borderTopStyle, s.borderBottomWidth]; }")
        assert style[1] == "solid" and float(style[0][:-2]) >= 1 and float(style[2][:-2]) >= 1
        assert box.bounding_box()["height"] >= 44
    _fits_phone(page)
    page.screenshot(path=str(screenshot_dir / "login.png"), full_page=True)


def test_the_send_button_never_covers_the_reply_box(live_server, page, db, world, screenshot_dir):
    message = world["message"]
    _sign_in(page, live_server, world["users"]["deputy"])
    # 退出 looks like the header's other links: same colour, size and weight, no button box.
    link, logout = page.locator(".lx-topbar a", has_text="工作台"), page.get_by_role("button",
                                                                                  name="退出")
    css = "e => { const s = getComputedStyle(e); return [s.color, s.fontSize, s.fontWeight," \
          " s.backgroundColor, s.paddingLeft]; }"
    mine, theirs = logout.evaluate(css), link.evaluate(css)
    assert mine[:3] == theirs[:3] and mine[3] in ("rgba(0, 0, 0, 0)", "transparent")
    assert mine[4] == "0px"

    page.goto(f"{live_server}/staff/messages/{message.id}")
    reply = page.locator("#reply-body")
    reply.click()
    reply.type("您好，\n" + "我已联系城关街道和供电所，路灯本周五前修好。\n" * 12 + "最后一行：修好后请再给我留言。")
    send = page.get_by_test_id("send-reply")
    height = page.viewport_size["height"]
    # Writing: the button is in reach at the bottom of the screen ...
    button = send.bounding_box()
    assert button["y"] + button["height"] <= height and button["y"] > height * 0.6
    # ... and the caret's line (the last one typed) is above it, not under it.
    caret_bottom = reply.evaluate("""e => {
        const r = e.getBoundingClientRect(), s = getComputedStyle(e);
        const pad = parseFloat(s.paddingBottom);
        const textBottom = r.top + e.scrollHeight - e.scrollTop - pad;
        return Math.min(r.bottom - pad, textBottom); }""")
    assert caret_bottom <= button["y"] - 4, (caret_bottom, button)
    _fits_phone(page)
    page.screenshot(path=str(screenshot_dir / "reply_box.png"))
    send.click()
    expect(page.get_by_text("答复已发送，居民会收到通知")).to_be_visible()


def test_too_large_then_back_to_the_form_keeps_the_text(live_server, page, app, db, world,
                                                        tmp_path, monkeypatch, screenshot_dir):
    from backend.org.codes import active_code
    from tests.portal.helpers import jpeg
    deputy = world["message"].deputy
    url = f"{live_server}/d/{active_code(deputy).token}/write"
    page.goto(url)
    page.fill("#body", "建设路北段到菜市场那一段没有路灯，冬天六点天就黑了。")
    page.fill("#place", "建设路北段")
    big = tmp_path / "big.jpg"
    big.write_bytes(jpeg(size=(400, 400)) + b"\0" * 8000)
    page.set_input_files("#photos", str(big))
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 4000)  # after the page said 40 MB
    page.get_by_test_id("send").click()
    expect(page.get_by_text("照片太大")).to_be_visible()
    back = page.get_by_test_id("back-to-form")
    _fits_phone(page)
    page.screenshot(path=str(screenshot_dir / "too_large.png"), full_page=True)
    back.click()
    page.wait_for_url(url)
    assert page.input_value("#body") == "建设路北段到菜市场那一段没有路灯，冬天六点天就黑了。"
    assert page.input_value("#place") == "建设路北段"
