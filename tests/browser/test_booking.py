"""A resident on a 360-px phone books a reception-day seat: station page → 预约接待 → a slot
and a deputy on duty → the booking code → 我的预约. Screenshots of each step."""
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from backend.reception.models import Appointment
from backend.core.timeutil import local_today
from tests.reception.conftest import appt_make_day  # noqa: F401  (a shared fixture)

pytestmark = pytest.mark.browser


def _fits_the_phone(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def _tall_enough(locator, height=48) -> None:
    box = locator.bounding_box()
    assert box["height"] >= height, box  # for older thumbs


def test_book_a_seat_and_find_it_again(live_server, page, db, make_station, make_deputy,
                                       appt_make_day, screenshot_dir):  # noqa: F811
    station = make_station(name="城关街道代表联络站", address="解放路12号党群服务中心二楼",
                           phone="0510-12345678")
    zhang = make_deputy(name="张明华", occupation="社区卫生服务中心主任医师", stations=[station])
    li = make_deputy(name="李秀英", occupation="小学教师", stations=[station])
    day = appt_make_day(station, local_today() + timedelta(days=10), on_duty=[zhang, li],
                        slots=(("09:00", 3), ("09:30", 3), ("10:00", 2), ("10:30", 3)))
    day.slots[2].booked = 2  # 10:00 is full
    db.session.commit()

    page.goto(f"{live_server}/stations/{station.id}")
    page.get_by_test_id("book-station").click()
    page.wait_for_url(f"**/stations/{station.id}/book")
    assert page.get_by_test_id(f"slot-{day.slots[2].id}").inner_text().endswith("已约满 · 可候补")
    assert page.get_by_test_id(f"slot-{day.slots[1].id}").inner_text().endswith("还剩 3 个名额")

    page.get_by_test_id(f"slot-{day.slots[2].id}").click()  # a full slot turns the button
    expect(page.get_by_test_id("book-submit")).to_have_text("登记候补")  # set by JS
    page.get_by_test_id(f"slot-{day.slots[1].id}").click()
    expect(page.get_by_test_id("book-submit")).to_have_text("确认预约")
    page.get_by_test_id(f"deputy-{zhang.id}").click()
    page.locator("#topic").fill("小区想加装电梯，一楼住户有顾虑，想听听代表的意见")
    page.locator("#contact_name").fill("陈阿姨")
    page.locator("#phone").fill("13800131234")
    for testid in (f"slot-{day.slots[1].id}", f"deputy-{zhang.id}", "book-submit"):
        _tall_enough(page.get_by_test_id(testid))
    _fits_the_phone(page)
    page.screenshot(path=str(screenshot_dir / "booking.png"), full_page=True)

    page.get_by_test_id("book-submit").click()
    page.wait_for_url("**/my/appointments/*")
    db.session.rollback()  # end this test's read transaction: the server wrote since
    a = db.session.scalars(sa.select(Appointment)).one()
    assert (a.slot_id, a.deputy_id, a.status) == (day.slots[1].id, zhang.id, "booked")
    assert page.get_by_test_id("appointment-title").inner_text() == "预约成功"
    assert page.get_by_test_id("booking-code").inner_text().replace(" ", "") == a.code
    assert page.get_by_test_id("who").inner_text() == "张明华代表"
    code_box = page.get_by_test_id("booking-code").bounding_box()
    assert code_box["height"] >= 40 and code_box["width"] <= 360  # big, and on one line
    _fits_the_phone(page)
    page.screenshot(path=str(screenshot_dir / "booked.png"), full_page=True)

    page.get_by_test_id("to-my-appointments").click()
    page.wait_for_url("**/my/appointments")
    item = page.get_by_test_id("my-appointment")
    assert item.count() == 1 and page.get_by_test_id("my-code").inner_text() == a.code
    assert "张明华代表" in item.inner_text() and "已预约" in item.inner_text()
    _tall_enough(item.get_by_test_id("cancel"))
    _fits_the_phone(page)
    page.screenshot(path=str(screenshot_dir / "my-appointments.png"), full_page=True)

    page.get_by_test_id("text-size").click()  # large text: still one column, nothing cut off
    _fits_the_phone(page)
    page.goto(f"{live_server}/stations/{station.id}/book")
    _fits_the_phone(page)
    page.screenshot(path=str(screenshot_dir / "booking-large-text.png"), full_page=True)
    page.goto(f"{live_server}/my/appointments/{a.id}")
    _fits_the_phone(page)
    page.screenshot(path=str(screenshot_dir / "booked-large-text.png"), full_page=True)
