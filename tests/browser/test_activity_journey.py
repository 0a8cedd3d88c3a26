"""On a phone: a liaison organises an activity and invites two deputies; one answers 参加 and
checks in with the code the liaison shows, the other asks for leave; the liaison writes the
record; the first deputy opens 我的履职 and sees it; the station's dashboard shows the month.
Screenshots of each step go to test-artifacts/screenshots/."""
import re
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.activities.models import Activity
from backend.core.timeutil import LOCAL_TZ, utcnow

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-9"


def _login(page, base, user):
    page.goto(f"{base}/staff/login")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/staff/")


def _logout(page):
    page.get_by_role("button", name="退出").click()


def _fits(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def test_activity_journey(live_server, page, db, make_station, make_deputy, make_staff,
                          screenshot_dir):
    from backend.messages.operations import submit_message
    from backend.accounts.resident_model import Resident
    station = make_station(name="城关街道代表联络站")
    wang = make_deputy(name="王建国", stations=[station])
    li = make_deputy(name="李秀英", stations=[station])
    liaison = make_staff("liaison", username="linhong", display_name="林红", stations=[station])
    wang_user = make_staff("deputy", username="wangjg", display_name="王建国", deputy=wang)
    li_user = make_staff("deputy", username="lixy", display_name="李秀英", deputy=li)
    resident = Resident()
    db.session.add(resident)
    db.session.flush()
    submit_message(resident=resident, deputy=wang, body="小区门口的路灯坏了一个多月。",
                   idempotency_key=uuid.uuid4().hex)
    db.session.commit()
    # The form takes one date: near Beijing midnight the hour is cut at 23:59, or the activity
    # moves into the next day (answering and the code's check-in window allow both).
    start = (utcnow() + timedelta(minutes=40)).astimezone(LOCAL_TZ).replace(second=0, microsecond=0)
    if start.hour == 23 and start.minute >= 55:
        start += timedelta(minutes=10)
    end = min(start + timedelta(hours=1), start.replace(hour=23, minute=59))
    shots = lambda name: page.screenshot(path=str(screenshot_dir / name), full_page=True)  # noqa

    # The liaison organises it.
    _login(page, live_server, liaison)
    page.get_by_text("代表活动", exact=True).click()
    page.get_by_test_id("new").click()
    page.select_option("select[name=kind]", "visit")
    page.fill("input[name=title]", "走访幸福社区老旧小区")
    page.fill("input[name=day]", start.date().isoformat())
    page.fill("input[name=start]", start.strftime("%H:%M"))
    page.fill("input[name=end]", end.strftime("%H:%M"))
    page.fill("input[name=place]", "幸福社区居委会")
    page.get_by_label("王建国").check()
    page.get_by_label("李秀英").check()
    shots("activity-1-new.png")
    page.get_by_test_id("save").click()
    page.wait_for_url(re.compile(r".*/staff/activities/\d+$"))
    code = page.get_by_test_id("checkin-code").inner_text().strip()
    assert re.fullmatch(r"\d{6}", code)
    _fits(page)
    shots("activity-2-organiser.png")
    activity_url = page.url
    _logout(page)

    # 王建国 answers 参加 and checks in with the code.
    _login(page, live_server, wang_user)
    page.goto(activity_url)
    assert page.get_by_test_id("checkin-code").count() == 0
    page.get_by_test_id("answer").click()
    assert "已回复：参加" in page.inner_text("body")
    page.get_by_text("现场签到").click()
    page.fill("input[name=code]", code)
    page.get_by_test_id("check-in").click()
    assert "签到成功" in page.inner_text("body")
    assert page.get_by_test_id("my-status").inner_text().startswith("已到")
    _fits(page)
    shots("activity-3-checked-in.png")
    _logout(page)

    # 李秀英 asks for leave with a reason.
    _login(page, live_server, li_user)
    page.goto(activity_url)
    page.get_by_label("请假", exact=True).check()
    page.fill("input[name=reason]", "参加市人大培训")
    page.get_by_test_id("answer").click()
    assert "已回复：请假" in page.inner_text("body")
    _logout(page)

    # The activity takes place (its hour is moved into the past), and the liaison records it.
    db.session.commit()  # end the test's read snapshot: see what the pages wrote
    act = db.session.scalar(sa.select(Activity))
    shift = act.starts_at - (utcnow() - timedelta(minutes=5))
    act.starts_at, act.ends_at = act.starts_at - shift, act.ends_at - shift
    db.session.commit()
    _login(page, live_server, liaison)
    page.goto(activity_url)
    page.get_by_text("填写活动记录").click()
    page.fill("textarea[name=summary]", "走访了十二户居民，收集到加装电梯、路灯维修等意见三条。")
    page.get_by_test_id("record").click()
    assert page.get_by_test_id("status").inner_text() == "已举行"
    attendance = page.get_by_test_id("attendances").inner_text()
    assert "王建国 已到" in attendance and "李秀英 请假" in attendance
    shots("activity-4-recorded.png")

    # The station's dashboard shows this month.
    page.goto(f"{live_server}/staff/")
    page.get_by_text("联络站统计").click()
    month = utcnow().astimezone(LOCAL_TZ).month
    row = page.get_by_test_id(f"month-{month}").inner_text()
    assert row.split()[:3] == [f"{month}月", "0", "1"]
    _fits(page)
    shots("activity-6-dashboard.png")
    _logout(page)

    # 王建国 opens 我的履职.
    _login(page, live_server, wang_user)
    page.get_by_text("我的履职").click()
    body = page.inner_text("body")
    assert "王建国的履职档案" in body
    assert page.get_by_test_id("参加").inner_text() == "1 次"
    assert page.get_by_test_id("参与率").inner_text() == "100.0%"
    assert page.get_by_test_id("收到留言").inner_text() == "1 条"
    _fits(page)
    shots("activity-5-my-record.png")
