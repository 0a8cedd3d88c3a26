"""On a phone: after a 人民议事厅 session, the liaison writes its record (topic, residents, 议定
事项), lists a matter a resident raised and, with the resident's consent, turns it into a message
for the deputy who attended; the message's page names the session. The deputy sees the
session's details but not the residents' names. Screenshots go to test-artifacts/screenshots/."""
import re
from datetime import timedelta

import pytest

from backend.activities import operations as ops
from backend.core.timeutil import utcnow

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-9"


def _login(page, base, user):
    page.goto(f"{base}/staff/login")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/staff/")


def _fits(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def test_deliberation_journey(live_server, page, db, make_station, make_deputy, make_staff,
                              screenshot_dir):
    station = make_station(name="城关街道代表联络站")
    wang = make_deputy(name="王建国", stations=[station])
    liaison = make_staff("liaison", username="linhong", display_name="林红", stations=[station])
    wang_user = make_staff("deputy", username="wangjg", display_name="王建国", deputy=wang)
    now = utcnow()
    act = ops.create_activity(actor=liaison, kind="deliberation", title="人民议事厅：加装电梯",
                              place="社区议事厅", starts_at=now - timedelta(hours=3),
                              ends_at=now - timedelta(hours=1), station_id=station.id,
                              deputy_ids=[wang.id], now=now - timedelta(days=3))
    ops.mark_present(act.attendance_of(wang.id), actor=liaison, now=now - timedelta(hours=3))
    db.session.commit()
    shots = lambda name: page.screenshot(path=str(screenshot_dir / name), full_page=True)  # noqa
    url = f"{live_server}/staff/activities/{act.id}"

    _login(page, live_server, liaison)
    page.goto(url)
    page.get_by_text("填写活动记录").click()
    page.fill("textarea[name=summary]", "三个小区的居民、物业和施工单位代表参加，充分协商。")
    page.fill("input[name=topic]", "老旧小区加装电梯费用分摊")
    page.fill("input[name=resident_count]", "26")
    page.fill("textarea[name=resident_names]", "周阿姨、马师傅")
    page.fill("textarea[name=agreed]", "一楼不分摊；二楼及以上按楼层系数分摊。")
    shots("deliberation-1-record-form.png")
    page.get_by_test_id("record").click()
    assert page.get_by_test_id("status").inner_text() == "已举行"
    details = page.get_by_test_id("deliberation").inner_text()
    assert "老旧小区加装电梯费用分摊" in details and "26 人" in details and "马师傅" in details

    # A matter without the resident's phone consent is refused, in Chinese, and not listed.
    page.get_by_text("登记群众反映的问题").click()
    page.fill("textarea[name=summary]", "5栋加装电梯要占用自行车棚，希望另找地方安置充电桩。")
    page.fill("input[name=resident_name]", "马师傅")
    page.fill("input[name=phone]", "13800138005")
    page.select_option("select[name=deputy_id]", str(wang.id))
    page.get_by_test_id("add-item").click()
    assert "群众没有同意转为留言时不登记手机号" in page.inner_text("body")
    assert page.get_by_test_id("item").count() == 0
    page.get_by_text("登记群众反映的问题").click()
    page.fill("textarea[name=summary]", "5栋加装电梯要占用自行车棚，希望另找地方安置充电桩。")
    page.fill("input[name=phone]", "13800138005")
    page.select_option("select[name=deputy_id]", str(wang.id))
    page.get_by_label("群众同意将此事转为留言，由联络站跟踪办理").check()
    page.get_by_test_id("add-item").click()
    assert page.get_by_test_id("item").count() == 1
    page.get_by_test_id("to-message").click()
    assert "已转为留言" in page.inner_text("body")
    _fits(page)
    shots("deliberation-2-items.png")
    page.get_by_test_id("item-message").click()
    page.wait_for_url(re.compile(r".*/staff/messages/\d+$"))
    assert "议事「人民议事厅：加装电梯」" in page.get_by_test_id("source").inner_text()
    _fits(page)
    shots("deliberation-3-message-source.png")
    page.get_by_role("button", name="退出").click()

    # The deputy who attended sees the session's details, not the residents' names.
    _login(page, live_server, wang_user)
    page.goto(url)
    body = page.inner_text("body")
    assert "一楼不分摊" in body and "26 人" in body
    assert "马师傅" not in body and "周阿姨" not in body
    _fits(page)
    shots("deliberation-4-deputy.png")
