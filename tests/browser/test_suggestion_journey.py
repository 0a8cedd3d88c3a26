"""Two residents' messages become a deputy suggestion, on a 360-px phone: the deputy drafts and
submits it from his inbox, the admin office assigns it to 住建局, the department signs for it and
answers class B, the deputy rates the answer, and a resident sees what came of it and rates it
too. Every page is checked for no sideways scrolling; the department never sees what the
residents wrote. Screenshots of every step."""
import re
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from backend.org.models import Department
from backend.messages.models import Message
from backend.accounts.resident_model import Resident
from backend.suggestions.models import Suggestion
from backend.org.codes import active_code
from backend.messages.operations import submit_message
from backend.core.protect import lookup_code
from backend.core.timeutil import format_date_cn, local_today

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-9"
LEAD = "区住房和城乡建设局"
TITLE = "关于修复幸福小区周边路灯的建议"
FIRST = "幸福小区3栋门口的路灯坏了一个多月，晚上老人出门很不方便，希望尽快修好。"
SECOND = "幸福小区北门到菜市场那段路的路灯一直不亮，孩子晚上放学回家很危险。"


@pytest.fixture
def district(db, make_station, make_deputy, make_staff):
    station = make_station(name="城关街道代表联络站", address="解放路12号党群服务中心二楼")
    wang = make_deputy(name="王建国", occupation="社区卫生服务中心主任医师", stations=[station])
    lead = Department(name=LEAD)
    db.session.add_all([lead, Department(name="区交通运输局"), Department(name="区水务局")])
    db.session.flush()
    # The second resident wrote on WeChat: through the same operation the portal uses.
    other = Resident(openid=f"openid-{uuid.uuid4().hex}")
    db.session.add(other)
    db.session.flush()
    second = submit_message(resident=other, deputy=wang, body=SECOND,
                            idempotency_key=uuid.uuid4().hex).message
    users = {"deputy": make_staff("deputy", username="wangjg", display_name="王建国", deputy=wang),
             "admin": make_staff("admin", username="dgw", display_name="代工委 张敏"),
             "department": make_staff("department", username="zjj",
                                      display_name="住建局 李强", department=lead)}
    db.session.commit()
    return {"token": active_code(wang).token, "second": second, "users": users}


def _sign_in(page, base, user):
    page.goto(f"{base}/staff/login")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/staff/")


def _sign_out(page):
    page.get_by_role("button", name="退出").click()
    page.wait_for_url("**/staff/login**")


def _fits_phone(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def _shot(page, screenshot_dir, name):
    _fits_phone(page)
    page.screenshot(path=str(screenshot_dir / name), full_page=True)


def _status(page):
    return page.get_by_test_id("suggestion").get_by_test_id("status")


def _no_resident_words(page, messages):
    """What a department page must never carry: the residents' words or receipt numbers."""
    html = page.content()
    for m in messages:
        assert m.body not in html and m.body[:12] not in html, "a department sees a message"
        assert m.tracking_no not in html


def test_messages_to_suggestion_to_answer_on_a_phone(live_server, page, new_context, db,
                                                     district, screenshot_dir):
    users, second = district["users"], district["second"]
    page.on("dialog", lambda dialog: dialog.accept())  # the 提交建议 button asks to confirm

    # 1. A resident writes to 王建国 from the poster, in their own phone browser.
    resident = new_context().new_page()
    resident.goto(f"{live_server}/d/{district['token']}/write")
    resident.locator("#body").fill(FIRST)
    resident.get_by_test_id("send").click()
    resident.wait_for_url("**/receipt")
    db.session.commit()  # end the test's read snapshot (SQLite) to see the server's writes
    first = db.session.scalars(sa.select(Message).where(Message.body == FIRST)).one()
    messages = [first, second]

    # 2. 王建国 opens the message and turns it, with the other one, into a suggestion.
    _sign_in(page, live_server, users["deputy"])
    page.get_by_role("link", name="我的留言").click()
    page.locator(f'[data-testid=message-item][data-id="{first.id}"]').click()
    expect(page.get_by_test_id("body")).to_have_text(FIRST)
    page.get_by_test_id("draft-suggestion").click()
    expect(page.get_by_role("heading", name="起草代表建议")).to_be_visible()
    options = page.get_by_test_id("message-option")
    expect(options).to_have_count(2)
    mine = page.locator(f'input[name=message_ids][value="{first.id}"]')
    theirs = page.locator(f'input[name=message_ids][value="{second.id}"]')
    expect(mine).to_be_checked()
    expect(theirs).not_to_be_checked()
    page.get_by_test_id("message-option").filter(has_text=second.tracking_no).click()
    expect(theirs).to_be_checked()
    page.fill("input[name=title]", TITLE)
    page.select_option("select[name=category]", "城乡建设")
    page.fill("textarea[name=problem]", "幸福小区周边多处路灯损坏一个多月，居民反映夜间出行不安全，"
                                        "老人和放学的孩子尤其不便。")
    page.fill("textarea[name=proposal]", "建议区住建局尽快排查修复幸福小区周边路灯，"
                                         "并建立路灯定期巡查和报修机制。")
    _shot(page, screenshot_dir, "suggestion-draft.png")
    page.get_by_test_id("save").click()
    expect(page.get_by_text("建议草稿已保存")).to_be_visible()
    expect(_status(page)).to_have_text("草稿")
    expect(page.get_by_test_id("sources").locator(".lx-cell")).to_have_count(2)
    page.get_by_test_id("submit").click()
    expect(page.get_by_text("建议已提交区人大常委会")).to_be_visible()
    expect(_status(page)).to_have_text("待审核")
    expect(page.get_by_test_id("title")).to_have_text(TITLE)
    _shot(page, screenshot_dir, "suggestion-submitted.png")
    db.session.commit()
    suggestion = db.session.scalars(sa.select(Suggestion)).one()
    assert {m.id for m in suggestion.messages} == {first.id, second.id}
    _sign_out(page)

    # 3. The admin office assigns it to 住建局 alone.
    _sign_in(page, live_server, users["admin"])
    page.get_by_role("link", name="建议审核与督办").click()
    item = page.locator(f'[data-testid=suggestion-item][data-id="{suggestion.id}"]')
    expect(item.get_by_test_id("status")).to_have_text("待审核")
    _shot(page, screenshot_dir, "suggestion-review-list.png")
    item.click()
    expect(_status(page)).to_have_text("待审核")
    assign = page.get_by_test_id("assign")
    assign.locator("select[name=lead_id]").select_option(label=LEAD)
    # the lead cannot also be ticked as assisting
    lead_box = assign.locator("label.lx-check-item", has_text=LEAD).locator("input")
    expect(lead_box).to_be_disabled()
    expect(assign.locator("label.lx-check-item", has_text="区交通运输局").locator("input")
           ).to_be_enabled()
    _options_fit(assign.locator("select[name=is_complex]"))
    _shot(page, screenshot_dir, "suggestion-assign.png")
    page.get_by_test_id("assign-submit").click()
    expect(page.get_by_text("已交办，办理期限至")).to_be_visible()
    expect(_status(page)).to_have_text("已交办")
    expect(page.get_by_test_id("assignments")).to_contain_text(f"{LEAD} 主办")
    _sign_out(page)

    # 4. 住建局 signs for it and answers class B: a date two months ahead, two milestones.
    _sign_in(page, live_server, users["department"])
    page.get_by_role("link", name="交办建议").click()
    row = page.locator(f'[data-testid=assignment-item][data-id="{suggestion.id}"]')
    expect(row.get_by_test_id("title")).to_have_text(TITLE)
    expect(row.get_by_test_id("assignment-status")).to_have_text("待签收")
    expect(row).to_contain_text("已交办")
    _shot(page, screenshot_dir, "suggestion-department-list.png")
    _no_resident_words(page, messages)
    row.click()
    expect(_status(page)).to_have_text("已交办")
    expect(page.get_by_test_id("sources")).to_have_count(0)
    _no_resident_words(page, messages)
    page.get_by_test_id("accept").click()
    expect(page.get_by_text("已签收，请抓紧办理")).to_be_visible()
    expect(_status(page)).to_have_text("办理中")
    expect(page.get_by_test_id("assignment-status")).to_contain_text("已签收")

    today = local_today()
    promised = today + timedelta(days=61)
    steps = [(today + timedelta(days=20), "完成路灯线路排查和招标"),
             (today + timedelta(days=45), "更换损坏灯具和线路")]
    answer = page.get_by_test_id("answer")
    expect(page.get_by_test_id("answer-b")).to_be_hidden()  # shown by the page's script
    answer.get_by_text("B类（正在解决或列入计划解决）").click()
    expect(page.get_by_test_id("answer-b")).to_be_visible()
    expect(page.get_by_test_id("answer-c")).to_be_hidden()
    answer.locator("textarea[name=body]").fill(
        "经排查，幸福小区周边共有路灯17盏损坏，原因是地下线路老化。我局已将线路改造列入本年度计划，"
        "改造完成前安排专人每周巡查。")
    answer.locator("input[name=promised_by]").fill(promised.isoformat())
    for n, (when, text) in enumerate(steps, 1):
        answer.locator(f"input[name=milestone_date_{n}]").fill(when.isoformat())
        answer.locator(f"input[name=milestone_text_{n}]").fill(text)
    _big_enough(page.get_by_test_id("answer-submit"))
    _shot(page, screenshot_dir, "suggestion-answer-b.png")
    page.get_by_test_id("answer-submit").click()
    expect(page.get_by_text("已答复（B类")).to_be_visible()
    expect(_status(page)).to_have_text("已答复")
    reply = page.get_by_test_id("reply")
    expect(reply.get_by_test_id("resolution")).to_have_text("B类（正在解决或列入计划解决）")
    expect(reply.get_by_test_id("promised-by")).to_have_text(f"{format_date_cn(promised)}前解决")
    for _, text in steps:
        expect(reply).to_contain_text(text)
    _no_resident_words(page, messages)
    _shot(page, screenshot_dir, "suggestion-answered.png")
    _sign_out(page)

    # 5. 王建国 rates the answer: the suggestion is closed.
    _sign_in(page, live_server, users["deputy"])
    page.get_by_role("link", name="代表建议").click()
    page.get_by_role("link", name=re.compile(TITLE)).click()
    expect(_status(page)).to_have_text("已答复")
    rate = page.get_by_test_id("rate")
    rate.get_by_text("满意", exact=True).click()
    rate.locator("textarea[name=comment]").fill("答复具体，有时间表，请按期落实。")
    page.get_by_test_id("rate-submit").click()
    expect(page.get_by_text("已评价为满意，建议已办结")).to_be_visible()
    expect(_status(page)).to_have_text("已办结")
    expect(page.get_by_test_id("ratings")).to_contain_text("满意")
    _shot(page, screenshot_dir, "suggestion-rated.png")
    _sign_out(page)

    # 6. The first resident comes back in their own browser and sees what came of it.
    resident.goto(f"{live_server}/my")
    resident.locator(f'[data-testid=my-message][href$="/m/{first.id}"]').click()
    card = resident.get_by_test_id(f"suggestion-{suggestion.id}")
    expect(card).to_be_visible()
    expect(card.get_by_test_id("suggestion-status")).to_have_text("承办单位已答复，建议已办结")
    expect(card.get_by_role("heading", name=TITLE)).to_be_visible()
    expect(card.get_by_test_id("suggestion-lead")).to_have_text(LEAD)
    expect(card.get_by_test_id("suggestion-class")).to_have_text("B类（正在解决或列入计划解决）")
    expect(card.get_by_test_id("suggestion-promised")).to_have_text(f"{format_date_cn(promised)}前")
    expect(card.get_by_test_id("suggestion-milestones")).to_contain_text(steps[0][1])
    expect(card).not_to_contain_text("请按期落实")  # the deputy's rating comment is not theirs
    form = card.get_by_test_id("suggestion-rate-form")
    form.get_by_text("满意", exact=True).click()
    _big_enough(form.get_by_role("button", name="提交评价"))
    _shot(resident, screenshot_dir, "suggestion-resident-rate.png")
    form.get_by_role("button", name="提交评价").click()
    expect(resident.get_by_text("感谢您对建议办理结果的评价")).to_be_visible()
    expect(card.get_by_test_id("suggestion-rated")).to_have_text("您已评价：满意")
    expect(card.get_by_test_id("suggestion-rate-form")).to_have_count(0)
    _shot(resident, screenshot_dir, "suggestion-resident-outcome.png")

    # The other resident, on another phone, finds it with the receipt's number and code.
    other = new_context().new_page()
    other.goto(f"{live_server}/track")
    other.fill("#tracking_no", second.tracking_no)
    other.fill("#code", lookup_code(second.id))
    other.get_by_test_id("track-submit").click()
    card = other.get_by_test_id(f"suggestion-{suggestion.id}")
    expect(card.get_by_test_id("suggestion-lead")).to_have_text(LEAD)
    expect(card.get_by_test_id("suggestion-class")).to_have_text("B类（正在解决或列入计划解决）")
    expect(card).not_to_contain_text(FIRST[:12])  # one resident never sees another's words
    _fits_phone(other)


def _big_enough(locator, min_height=44):
    box = locator.bounding_box()
    assert box and box["height"] >= min_height, box


def _options_fit(select):
    """A closed select shows one line: every option's words must fit beside the arrow."""
    sizes = select.evaluate("""el => {
        const style = getComputedStyle(el), ctx = document.createElement('canvas').getContext('2d');
        ctx.font = style.font;
        const room = el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 24;
        return Array.from(el.options, o => [o.text, ctx.measureText(o.text).width, room]);
    }""")
    for text, width, room in sizes:
        assert width <= room, (text, width, room)
