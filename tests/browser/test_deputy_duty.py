"""A deputy on their phone finds their next reception-day duty from the staff home page."""
from datetime import date, time, timedelta

import pytest

from backend.reception.models import ReceptionDay
from backend.reception.rosters import fill_duties
from backend.core.timeutil import local_today

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-9"


def test_deputy_sees_their_next_duty(live_server, page, db, make_station, make_deputy,
                                     make_staff, screenshot_dir):
    station = make_station(name="城关街道代表联络站")
    wang = make_deputy(name="王建国", stations=[station])
    li = make_deputy(name="李秀英", stations=[station])
    user = make_staff("deputy", username="wangjg", display_name="王建国", deputy=wang)
    when = local_today() + timedelta(days=20)
    day = ReceptionDay(station_id=station.id, nominal_date=date(when.year, when.month, 1),
                       date=when, start_time=time(9), end_time=time(11, 30))
    db.session.add(day)
    db.session.flush()
    duties = fill_duties(day)  # two on duty by default: both deputies of the station
    assert {d.deputy_id for d in duties} == {wang.id, li.id}
    db.session.commit()

    page.goto(f"{live_server}/staff/login")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server}/staff/")
    page.get_by_text("我的值班").click()
    duty = page.get_by_test_id("my-duties")
    text = duty.inner_text()
    assert f"{when.month}月{when.day}日" in text and "城关街道代表联络站" in text
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    page.screenshot(path=str(screenshot_dir / "deputy-duty.png"), full_page=True)
