"""The office sets the retention period on a 360-px phone: a bad value is refused in Chinese,
a good one is saved and shown with its source, the preview counts what the next run touches."""
import pytest
from playwright.sync_api import expect

from tests.browser.test_staff_messages import _fits_phone, _sign_in

pytestmark = pytest.mark.browser


def test_office_changes_the_period_and_previews_the_next_run(live_server, page, db, make_staff,
                                                              screenshot_dir):
    office = make_staff("admin", username="office", display_name="代工委 刘敏")
    db.session.commit()
    _sign_in(page, live_server, office)
    page.get_by_role("link", name="个人信息保护").click()
    assert page.get_by_test_id("months").inner_text() == "24 个月"
    assert "系统默认值" in page.get_by_test_id("source").inner_text()
    _fits_phone(page)

    page.fill("input[name=months]", "3")
    page.get_by_test_id("save").click()
    expect(page.get_by_text("请填写 6 到 120 之间的月数")).to_be_visible()
    assert page.get_by_test_id("months").inner_text() == "24 个月"

    page.fill("input[name=months]", "36")
    page.get_by_test_id("save").click()
    expect(page.get_by_text("已将保存期限设为 36 个月")).to_be_visible()
    assert page.get_by_test_id("months").inner_text() == "36 个月"
    assert "由代工委 刘敏修改" in page.get_by_test_id("source").inner_text()

    page.get_by_test_id("preview-link").click()
    expect(page.get_by_test_id("preview")).to_be_visible()
    assert page.get_by_test_id("preview-messages").inner_text() == "0 条"
    assert "还没有执行过" in page.get_by_test_id("runs").inner_text()
    _fits_phone(page)
    page.screenshot(path=str(screenshot_dir / "retention_page.png"), full_page=True)
