"""A message from queue to answer on a 360-px phone: the liaison assigns it, the deputy sees it
unread in the inbox and answers."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect

from backend.accounts.resident_model import Resident
from backend.messages.operations import submit_message
from backend.messages.moderation import add_rule

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-9"


@pytest.fixture
def station_day(db, make_station, make_deputy, make_staff):
    station = make_station(name="城关街道代表联络站")
    wang = make_deputy(name="王建国", occupation="社区卫生服务中心主任医师", stations=[station])
    make_deputy(name="李秀英", occupation="小学教师", stations=[station])
    resident = Resident(web_key=uuid.uuid4().hex)
    db.session.add(resident)
    db.session.flush()

    def submit(body, **kw):
        return submit_message(resident=resident, body=body, idempotency_key=uuid.uuid4().hex,
                              **{"station": station, **kw}).message

    submit("解放路与人民路交叉口的红绿灯时间太短，老人过马路来不及。",
           now=datetime.now(timezone.utc) - timedelta(days=40))
    add_rule("刷单", "广告")
    submit("招聘刷单兼职日结，加微信详谈")
    submit("希望社区卫生服务中心周末也能开放半天，上班族看病不方便。", deputy=wang)
    new = submit("小区门口的路灯坏了一个多月，晚上很黑，老人出门不安全，请帮忙协调修理。",
                 phone="13800131234", place="城关街道幸福里小区东门")
    users = {"liaison": make_staff("liaison", username="liaison", display_name="城关站联络员 何军",
                                   stations=[station]),
             "deputy": make_staff("deputy", username="wangjg", display_name="王建国",
                                  deputy=wang)}
    db.session.commit()
    return station, new, users


def _sign_in(page, base, user):
    page.goto(f"{base}/staff/login")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/staff/")


def _fits_phone(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def _big_enough(locator, min_height=44):
    box = locator.bounding_box()
    assert box and box["height"] >= min_height, box


def test_liaison_assigns_and_deputy_answers(live_server, page, station_day, screenshot_dir):
    _, new, users = station_day

    _sign_in(page, live_server, users["liaison"])
    page.get_by_role("link", name="留言办理").click()
    assert page.get_by_test_id("count-todo").inner_text().startswith("4")
    items = page.get_by_test_id("message-item")
    assert items.count() == 4
    expect(items.first.get_by_test_id("overdue")).to_be_visible()  # the oldest overdue leads
    _fits_phone(page)
    _big_enough(items.first)
    page.screenshot(path=str(screenshot_dir / "queue.png"), full_page=True)

    page.locator(f'[data-testid=message-item][data-id="{new.id}"]').click()
    assert page.get_by_test_id("assigned").inner_text() == "未分办"
    assign = page.get_by_test_id("assign")
    assign.locator("select").select_option(label="王建国 · 社区卫生服务中心主任医师")
    _fits_phone(page)
    _big_enough(page.get_by_test_id("assign-submit"))
    _big_enough(page.get_by_test_id("reveal-phone"), 36)
    page.screenshot(path=str(screenshot_dir / "assign.png"), full_page=True)
    page.get_by_test_id("assign-submit").click()
    expect(page.get_by_text("已分办给王建国代表")).to_be_visible()
    assert page.get_by_test_id("assigned").inner_text() == "王建国代表"
    page.get_by_role("button", name="退出").click()

    _sign_in(page, live_server, users["deputy"])
    page.get_by_role("link", name="我的留言").click()
    assert page.get_by_test_id("unread-count").inner_text() == "2 条未读"
    mine = page.locator(f'[data-testid=message-item][data-id="{new.id}"]')
    expect(mine.get_by_test_id("unread")).to_be_visible()
    _fits_phone(page)
    page.screenshot(path=str(screenshot_dir / "inbox.png"), full_page=True)

    mine.click()
    assert "小区门口的路灯坏了" in page.get_by_test_id("body").inner_text()
    page.fill("#reply-body", "您好，我已联系城关街道和供电所，路灯本周五前修好。修好后如还有问题，请再给我留言。")
    send = page.get_by_test_id("send-reply")
    # The send button sits on the bottom edge of the screen while the answer is written.
    box, height = send.bounding_box(), page.viewport_size["height"]
    assert box["y"] + box["height"] <= height and box["y"] > height * 0.6
    assert box["width"] >= 0.8 * page.viewport_size["width"] and box["height"] >= 48
    _fits_phone(page)
    page.screenshot(path=str(screenshot_dir / "answer.png"))
    send.click()
    expect(page.get_by_text("答复已发送，居民会收到通知")).to_be_visible()
    assert page.get_by_test_id("status").first.inner_text() == "已答复"

    page.get_by_role("link", name="‹ 我的留言").click()
    assert page.get_by_test_id("unread-count").count() == 1  # the other one is still unread
    assert page.locator(f'[data-testid=message-item][data-id="{new.id}"]').count() == 0
