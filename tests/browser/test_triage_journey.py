"""Triage on a 360-px phone: the liaison sees the suggested category in the queue, accepts it
with one tap on the message, then merges two near-duplicates into the first message, each with
one tap."""
import uuid

import pytest

from backend.accounts.resident_model import Resident
from backend.messages.hot_clusters import update_clusters
from backend.messages.models import Message
from backend.messages.operations import submit_message
from backend.messages.triage_model import MessageTriage

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-9"
BUS = "解放路公交站台取消后，附近居民要走一公里才能坐上公交车，希望恢复公交站点，增加班次。"
COPIES = ["希望恢复公交站点、增加班次！解放路公交站台取消以后，附近居民要走一公里才能坐上公交车。电话13912345678",
          "解放路公交站台取消后，附近的居民要走一公里多才能坐上公交车，老人很不方便，希望恢复公交站点。"]


@pytest.fixture
def bus_world(db, make_station, make_deputy, make_staff):
    station = make_station(name="城关街道代表联络站")
    wang = make_deputy(name="王建国", occupation="公交公司驾驶员", stations=[station])

    def submit(body):
        resident = Resident(web_key=uuid.uuid4().hex)
        db.session.add(resident)
        db.session.flush()
        return submit_message(resident=resident, deputy=wang, body=body,
                              idempotency_key=uuid.uuid4().hex).message
    first = submit(BUS)
    copies = [submit(t) for t in COPIES]
    liaison = make_staff("liaison", username="liaison-tri", display_name="城关站联络员 何军",
                         stations=[station])
    db.session.commit()
    return first, copies, liaison


def _fits_phone(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def test_accept_a_suggested_category_and_merge_two_duplicates(live_server, page, bus_world, db,
                                                              screenshot_dir):
    first, copies, liaison = bus_world
    page.goto(f"{live_server}/staff/login")
    page.fill("input[name=username]", liaison.username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server}/staff/")

    page.get_by_role("link", name="留言办理").click()
    item = page.locator(f'[data-testid=message-item][data-id="{first.id}"]')
    assert "建议分类：城乡建设" in item.get_by_test_id("suggested-category").inner_text()
    _fits_phone(page)
    page.screenshot(path=str(screenshot_dir / "triage-queue.png"), full_page=True)

    item.click()
    card = page.get_by_test_id("category-suggestion")
    assert "城乡建设" in card.get_by_test_id("suggested-label").inner_text()
    _fits_phone(page)
    page.screenshot(path=str(screenshot_dir / "triage-suggestion.png"), full_page=True)
    accept = card.get_by_role("button", name="采纳：城乡建设")
    box = accept.bounding_box()
    assert box and box["height"] >= 36, box
    accept.click()
    assert "已设置分类：城乡建设" in page.locator(".lx-flash").inner_text()
    assert page.get_by_test_id("message").get_by_test_id("category").inner_text() == "城乡建设"
    assert page.get_by_test_id("suggestion-decision").inner_text() == "已采纳建议"
    page.screenshot(path=str(screenshot_dir / "triage-accepted.png"), full_page=True)

    for n, copy in enumerate(copies, start=1):
        page.goto(f"{live_server}/staff/messages/{copy.id}")
        dupes = page.get_by_test_id("duplicates")
        row = dupes.locator(f'[data-testid=duplicate][data-id="{first.id}"]')
        assert first.tracking_no in row.inner_text()
        _fits_phone(page)
        page.screenshot(path=str(screenshot_dir / f"triage-duplicate-{n}.png"), full_page=True)
        row.get_by_test_id("merge-duplicate").click()
        assert f"已合并到留言 {first.tracking_no}" in page.locator(".lx-flash").inner_text()

    page.goto(f"{live_server}/staff/messages/{first.id}")
    page.screenshot(path=str(screenshot_dir / "triage-merged-into.png"), full_page=True)

    # merged messages still count as residents' voices on the hot-issues page
    db.session.rollback()  # see what the server wrote, then run the scheduler's triage job
    update_clusters()
    db.session.commit()
    page.goto(f"{live_server}/staff/hot-issues")
    issue = page.get_by_test_id("hot-issue")
    assert issue.count() == 1 and "3 位居民 · 3 条留言" in issue.inner_text()
    _fits_phone(page)
    page.screenshot(path=str(screenshot_dir / "triage-hot-issues.png"), full_page=True)

    db.session.rollback()  # end this test's read transaction: the server wrote since
    assert [db.session.get(Message, c.id).merged_into_id for c in copies] == [first.id, first.id]
    assert db.session.get(MessageTriage, first.id).decision == "accepted"


def test_a_hot_issue_written_to_two_deputies_becomes_one_draft_per_deputy(live_server, page, db, make_station,
                                                                          make_deputy, make_staff, screenshot_dir):
    station = make_station(name="城关街道代表联络站")
    wang = make_deputy(name="王建国", stations=[station])
    li = make_deputy(name="李秀英", stations=[station])
    for deputy, body in ((wang, BUS), (li, COPIES[1]), (wang, COPIES[0])):
        resident = Resident(web_key=uuid.uuid4().hex)
        db.session.add(resident)
        db.session.flush()
        submit_message(resident=resident, deputy=deputy, body=body, idempotency_key=uuid.uuid4().hex)
    liaison = make_staff("liaison", username="liaison-hot", display_name="城关站联络员 何军", stations=[station])
    update_clusters()  # the scheduler's triage job
    db.session.commit()
    page.goto(f"{live_server}/staff/login")
    page.fill("input[name=username]", liaison.username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server}/staff/")
    page.goto(f"{live_server}/staff/hot-issues")
    issue = page.get_by_test_id("hot-issue")
    assert issue.count() == 1 and "3 位居民 · 3 条留言" in issue.inner_text()
    _fits_phone(page)
    page.screenshot(path=str(screenshot_dir / "triage-hot-issue-two-deputies.png"), full_page=True)
    issue.get_by_role("link", name="李秀英代表：形成建议（1 条）").click()
    assert "李秀英代表" in page.get_by_test_id("deputy").inner_text()
    assert page.locator("input[name=message_ids]:checked").count() == 1
    page.go_back()
    issue.get_by_role("link", name="王建国代表：形成建议（2 条）").click()
    assert "王建国代表" in page.get_by_test_id("deputy").inner_text()
    assert page.locator("input[name=message_ids]:checked").count() == 2
    _fits_phone(page)
