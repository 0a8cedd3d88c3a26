"""A deputy answering on a phone: the liaison finds the case with a two-word search, the deputy
sees a hint on a thin draft, picks an earlier answer as a starting point, and sends."""
import uuid

import pytest

from backend.accounts.resident_model import Resident
from backend.messages import operations as ops
from backend.messages.models import Message, MessageReply
from tests.browser.test_staff_messages import _fits_phone, _sign_in

pytestmark = pytest.mark.browser
EARLIER = "您好！关于解放路路灯不亮的问题，已联系城关街道办事处和区城管局路灯所，已于本周内派员更换灯具，目前已恢复照明。"


@pytest.fixture
def lamp_case(db, make_station, make_deputy, make_staff):
    station = make_station(name="城关街道代表联络站")
    wang = make_deputy(name="王建国", stations=[station])
    li = make_deputy(name="李秀英", stations=[station])
    resident = Resident(web_key=uuid.uuid4().hex)
    db.session.add(resident)
    db.session.flush()
    users = {"liaison": make_staff("liaison", username="liaison", stations=[station]),
             "deputy": make_staff("deputy", username="wangjg", display_name="王建国", deputy=wang),
             "li": make_staff("deputy", username="lixy", deputy=li)}

    def submit(body, deputy):
        return ops.submit_message(resident=resident, body=body, deputy=deputy,
                                  idempotency_key=uuid.uuid4().hex).message

    old = submit("解放路的路灯一直不亮，晚上走路很危险。", li)
    ops.reply(old, EARLIER, actor=users["li"])
    submit("小区停车位太少，晚上车停到了消防通道上。", wang)
    new = submit("小区门口的路灯坏了一个多月，晚上很黑，老人出门不安全，请帮忙协调修理。", wang)
    db.session.commit()
    return new, users


def test_deputy_sees_a_hint_reuses_an_earlier_answer_and_sends(
        live_server, page, lamp_case, screenshot_dir, db):
    new, users = lamp_case
    _sign_in(page, live_server, users["liaison"])
    page.goto(f"{live_server}/staff/messages")
    page.get_by_label("搜索留言内容").fill("路灯 老人")
    page.get_by_role("button", name="查询").first.click()
    items = page.get_by_test_id("message-item")
    assert items.count() == 1 and items.first.get_attribute("data-id") == str(new.id)
    _fits_phone(page)
    page.screenshot(path=str(screenshot_dir / "search_queue.png"), full_page=True)
    page.context.clear_cookies()

    _sign_in(page, live_server, users["deputy"])
    page.goto(f"{live_server}/staff/inbox/{new.id}")
    box = page.locator("#reply-body")
    box.fill("收到")
    hints = page.get_by_test_id("answer-hints")
    hints.wait_for(state="visible")  # as typed, from the page's script
    assert "没有说明已经或将要采取什么措施" in hints.inner_text()
    assert page.get_by_test_id("send-reply").is_enabled()  # a hint, never a block
    _fits_phone(page)
    page.screenshot(path=str(screenshot_dir / "answer_hints.png"), full_page=True)

    earlier = page.get_by_test_id("earlier-answers")
    earlier.get_by_label("搜索以往答复").fill("路灯")
    earlier.get_by_role("button", name="查找").click()
    answers = page.get_by_test_id("earlier-answer")
    assert answers.count() == 1 and "城管局路灯所" in answers.first.inner_text()
    page.screenshot(path=str(screenshot_dir / "earlier_answers.png"), full_page=True)
    assert page.locator("#reply-body").input_value() == "收到"  # the search kept the draft
    page.on("dialog", lambda dialog: dialog.accept())  # the draft is replaced after a confirm
    answers.first.get_by_test_id("use-answer").click()
    assert page.locator("#reply-body").input_value() == EARLIER
    page.locator("#reply-body").press("End")
    page.locator("#reply-body").type("小区门口的路灯也已请路灯所本周内一并维修。")
    hints.wait_for(state="hidden")  # the reused answer names action, body and date
    _fits_phone(page)
    page.screenshot(path=str(screenshot_dir / "answer_reused.png"), full_page=True)
    page.get_by_test_id("send-reply").click()
    page.wait_for_url(f"{live_server}/staff/inbox/{new.id}")
    assert "答复已发送" in page.content()
    db.session.rollback()  # a fresh read of what the server committed
    assert db.session.get(Message, new.id).status == "answered"
    sent = db.session.scalar(db.select(MessageReply.body).filter_by(message_id=new.id))
    assert sent.startswith(EARLIER) and sent.endswith("一并维修。")
