"""接待选民日 staff pages (backend/staff/reception_days.py): who gets in, the page itself, and
each action going through the form the page shows."""
from datetime import date, time

import pytest
from flask import current_app

from backend.core.extensions import db
from backend.core.audit_model import AuditEvent
from backend.reception.models import CalendarFeed, ReceptionDay, ReceptionRule
from backend.reception import days as ops
from tests.conftest import csrf_token, post_form

JAN_10 = date(2026, 1, 10)
ROLES = ("admin", "liaison_own", "liaison_other", "deputy", "department")
RULE_FORM = {"day_of_month": "15", "start_time": "14:00", "end_time": "16:00",
             "slot_minutes": "60", "seats_per_slot": "4", "weekend_policy": "next",
             "holiday_policy": "next", "duty_count": "2", "months_ahead": "3",
             "cancel_cutoff_hours": "24"}


def page_url(station) -> str:
    return f"/staff/stations/{station.id}/reception"


def state() -> tuple:
    """Everything a refused request must leave as it was."""
    db.session.rollback()
    return (sorted(db.session.execute(db.select(ReceptionDay.id, ReceptionDay.status,
                                                ReceptionDay.date, ReceptionDay.start_time))),
            sorted(db.session.execute(
                db.select(ReceptionRule.station_id, ReceptionRule.start_time))),
            db.session.scalar(db.select(db.func.count()).select_from(CalendarFeed)),
            db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)))


@pytest.fixture
def world(day_world, day_today):
    day_today(JAN_10)
    ops.build_days(JAN_10, stations=[day_world.station_a])
    db.session.commit()
    day_world.days = list(db.session.scalars(
        db.select(ReceptionDay).filter_by(station_id=day_world.station_a.id)
        .order_by(ReceptionDay.date)))
    return day_world


@pytest.fixture
def liaison(world, login):
    return login(world.users["liaison_own"])


# ---- who gets in ----

ACTIONS = [
    ("get", "/staff/stations/{a}/reception", None),
    ("post", "/staff/stations/{a}/reception", RULE_FORM),
    ("post", "/staff/stations/{a}/reception/build", {}),
    ("post", "/staff/stations/{a}/reception/feed", {}),
    ("post", "/staff/reception-days/{feb}/cancel", {"reason": "场地维修"}),
    ("post", "/staff/reception-days/{feb}/move", {"new_date": "2026-02-26", "reason": "代表视察"}),
]


@pytest.mark.parametrize("method, url, data", ACTIONS)
@pytest.mark.parametrize("role", [None, *ROLES])
def test_only_the_stations_liaison_or_an_admin_gets_in(client, login, world, role, method, url,
                                                       data):
    url = url.format(a=world.station_a.id, feb=world.days[1].id)
    if role:
        login(world.users[role])
    before = state()
    token_page = "/staff/" if role else "/staff/login"
    payload = {**data, "csrf_token": csrf_token(client, token_page)} if data is not None else None
    resp = getattr(client, method)(url, data=payload)
    if role is None:
        assert resp.status_code == 302 and "/staff/login" in resp.location
    elif role in ("admin", "liaison_own"):
        assert resp.status_code in (200, 302) and "/staff/login" not in (resp.location or "")
        return
    else:
        assert resp.status_code == 403
    assert state() == before


def test_a_missing_station_or_day_is_404(liaison):
    assert liaison.get("/staff/stations/9999/reception").status_code == 404
    assert post_form(liaison, "/staff/reception-days/9999/cancel", {"reason": "x"},
                     form_url="/staff/").status_code == 404


# ---- the page ----

def test_the_page_shows_the_rule_and_the_coming_days(liaison, world):
    page = liaison.get(page_url(world.station_a)).get_data(as_text=True)
    assert page.count('data-testid="day"') == 4
    assert "2026年2月24日（周二） 09:00–11:30" in page
    assert "2月15日为春节假期，顺延至2月24日" in page
    assert "0 / 15 人" in page and "尚未排班" in page
    assert 'name="day_of_month"' in page and 'value="15"' in page
    assert 'data-testid="build"' in page and 'data-testid="make-feed"' in page
    assert 'data-testid="coverage-notice"' not in page  # 2026 is in the calendar


def test_the_page_warns_when_a_coming_year_has_no_holiday_data(client, login, world, day_today):
    day_today(date(2026, 11, 20))  # three months ahead reaches February 2027
    page = login(world.users["liaison_own"]).get(page_url(world.station_a)).get_data(as_text=True)
    assert 'data-testid="coverage-notice"' in page
    assert "2027年的法定节假日尚未录入，工作日按周一至周五计算" in page


def test_saving_the_rule(liaison, world):
    resp = post_form(liaison, page_url(world.station_a), RULE_FORM)
    assert resp.status_code == 302
    db.session.rollback()
    rule = db.session.get(ReceptionRule, world.station_a.id)
    assert (rule.start_time, rule.slot_minutes, rule.weekend_policy) == (time(14, 0), 60, "next")
    assert "已保存接待规则" in liaison.get(resp.location).get_data(as_text=True)


def test_a_bad_rule_shows_the_form_again_in_chinese(liaison, world):
    before = state()
    resp = post_form(liaison, page_url(world.station_a), {**RULE_FORM, "end_time": "13:00"})
    assert resp.status_code == 422
    assert "结束时间须晚于开始时间" in resp.get_data(as_text=True)
    resp = post_form(liaison, page_url(world.station_a), {**RULE_FORM, "day_of_month": ""})
    assert resp.status_code == 422 and "请填写每月几号" in resp.get_data(as_text=True)
    assert state() == before


def test_building_reports_what_it_did_and_the_booked_days_it_left(liaison, world, day_book):
    day_book(world.days[2])  # March
    db.session.commit()
    post_form(liaison, page_url(world.station_a), RULE_FORM)
    resp = post_form(liaison, f"{page_url(world.station_a)}/build", {},
                     form_url=page_url(world.station_a))
    page = liaison.get(resp.location).get_data(as_text=True)
    assert "新建接待日0个，按规则更新3个，1个已有群众预约的接待日保持不变" in page
    assert "3月15日：已有1位群众预约，保持原安排" in page
    db.session.rollback()
    march = db.session.get(ReceptionDay, world.days[2].id)
    assert march.start_time == time(9, 0)


def test_cancelling_a_day_from_the_page(liaison, world):
    feb = world.days[1]
    url = f"/staff/reception-days/{feb.id}/cancel"
    resp = post_form(liaison, url, {"reason": ""}, form_url=page_url(world.station_a))
    assert "请填写原因" in liaison.get(resp.location).get_data(as_text=True)
    resp = post_form(liaison, url, {"reason": "场地维修"}, form_url=page_url(world.station_a))
    page = liaison.get(resp.location).get_data(as_text=True)
    assert "已取消该接待日" in page and "取消原因：场地维修" in page
    db.session.rollback()
    assert db.session.get(ReceptionDay, feb.id).status == "cancelled"


def test_moving_a_day_from_the_page(liaison, world):
    feb = world.days[1]
    url = f"/staff/reception-days/{feb.id}/move"
    resp = post_form(liaison, url, {"new_date": "2026-01-05", "reason": "提前"},
                     form_url=page_url(world.station_a))
    assert "新的日期不能早于今天" in liaison.get(resp.location).get_data(as_text=True)
    resp = post_form(liaison, url, {"new_date": "2026-02-26", "reason": "代表集中视察"},
                     form_url=page_url(world.station_a))
    page = liaison.get(resp.location).get_data(as_text=True)
    assert "已调整接待日期" in page and "由2月24日调整至2月26日：代表集中视察" in page
    db.session.rollback()
    assert db.session.get(ReceptionDay, feb.id).date == date(2026, 2, 26)


def test_the_feed_link(liaison, world):
    resp = post_form(liaison, f"{page_url(world.station_a)}/feed", {},
                     form_url=page_url(world.station_a))
    page = liaison.get(resp.location).get_data(as_text=True)
    db.session.rollback()
    feed = db.session.scalar(db.select(CalendarFeed).filter_by(owner_kind="station",
                                                               owner_id=world.station_a.id))
    assert f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/ical/{feed.token}.ics" in page
    assert liaison.get(f"/ical/{feed.token}.ics").status_code == 200
