"""The residents' pages of the records of duty on a small phone: the 回访 question on the message
page (after an answer, and for a message left unanswered) and the 述职 rating page; each is
answered once, and nothing runs off a 360-px screen."""
import secrets
from datetime import timedelta

import pytest

from backend.core.timeutil import local_today, utcnow

pytestmark = pytest.mark.browser


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def _writer_and_message(db, make_station, make_deputy, make_resident, *, answered: bool):
    from backend.messages.models import Message
    station = make_station(name="城关街道代表联络站")
    deputy = make_deputy(name="王建国", stations=[station])
    resident = make_resident(web_key=secrets.token_urlsafe(32))
    at = utcnow() - timedelta(days=20)
    m = Message(station_id=station.id, deputy_id=deputy.id, assigned_deputy_id=deputy.id,
                resident_id=resident.id, status="answered" if answered else "acknowledged",
                body="小区门口的路灯坏了一个多月，晚上很不安全。", created_at=at,
                ack_due_at=at + timedelta(days=2), answer_due_at=at + timedelta(days=10),
                answered_at=at + timedelta(days=3) if answered else None)
    db.session.add(m)
    db.session.flush()
    return resident, m


@pytest.mark.parametrize("answered", (True, False), ids=("answered", "unanswered"))
def test_the_followup_question_on_a_phone(live_server, page, db, make_station, make_deputy,
                                          make_resident, screenshot_dir, answered):
    from backend.records.responsiveness import ask_and_remind
    from backend.records.responsiveness_model import FollowUp
    resident, message = _writer_and_message(db, make_station, make_deputy, make_resident,
                                            answered=answered)
    assert ask_and_remind() == (1, 0)
    db.session.commit()
    page.context.add_cookies([{"name": "lx_resident", "value": resident.web_key,
                               "url": live_server}])
    page.goto(f"{live_server}/m/{message.id}")
    form = page.get_by_test_id("followup-form")
    assert form.is_visible()
    title = "答复解决了您反映的问题吗？" if answered else "您反映的问题得到答复了吗？"
    assert form.get_by_text(title).is_visible()
    _fits(page)
    name = "followup-answered" if answered else "followup-unanswered"
    page.screenshot(path=str(screenshot_dir / f"{name}.png"), full_page=True)

    page.get_by_test_id("followup-submit").click()  # nothing chosen: the browser asks first
    assert page.get_by_test_id("followup-form").is_visible()
    choice = "unsolved" if answered else "no_answer"
    page.get_by_test_id(f"followup-{choice}").click()
    page.get_by_test_id("followup-submit").click()
    page.wait_for_load_state()
    assert page.get_by_text("谢谢您的回答").is_visible()
    assert page.get_by_test_id("followup-form").count() == 0  # once per message
    _fits(page)
    page.screenshot(path=str(screenshot_dir / f"{name}-done.png"), full_page=True)
    db.session.rollback()  # a fresh read of what the server committed
    (f,) = db.session.scalars(db.select(FollowUp)).all()
    assert f.response == choice


def test_rating_a_report_on_the_spot_on_a_phone(live_server, page, db, make_station,
                                                make_deputy, screenshot_dir):
    from backend.org.models import Term
    from backend.records.report_model import ConstituencyReport, ReportRating
    term = Term(name="区第五届", is_current=True)
    db.session.add(term)
    db.session.flush()
    deputy = make_deputy(name="李秀英", stations=[make_station()], term_id=term.id)
    report = ConstituencyReport(deputy_id=deputy.id, term_id=term.id, held_on=local_today(),
                                place="城关街道党群服务中心三楼会议室", constituency="第三选区",
                                token=secrets.token_urlsafe(12), min_attendance=10)
    db.session.add(report)
    db.session.commit()
    page.goto(f"{live_server}/r/{report.token}")
    assert page.get_by_text("李秀英代表向选民述职").is_visible()
    assert page.get_by_test_id("report-form").is_visible()
    _fits(page)
    page.screenshot(path=str(screenshot_dir / "report-rating.png"), full_page=True)
    page.get_by_test_id("report-basically_satisfied").click()
    page.get_by_test_id("report-submit").click()
    page.wait_for_load_state()
    assert page.get_by_text("感谢您的评议").is_visible()
    assert "您已评议：基本满意" in page.get_by_test_id("rated").inner_text()
    assert "不足 10 人，不作结论" in page.get_by_test_id("result").inner_text()
    _fits(page)
    page.screenshot(path=str(screenshot_dir / "report-rated.png"), full_page=True)
    page.reload()  # the same phone comes back: still one rating
    assert page.get_by_test_id("report-form").count() == 0
    db.session.rollback()  # a fresh read of what the server committed
    assert db.session.scalar(db.select(db.func.count()).select_from(ReportRating)) == 1
