"""A year's livelihood projects on a 360-px phone: a resident proposes and a second supports it,
the office lists 5 candidates for 3 places, three deputies vote, the results show the chosen
ones, the lead department reports 50 %, and the proposer sees it. Screenshots of every step."""
import uuid

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from backend.core.timeutil import local_today
from backend.org.models import Department
from backend.accounts.resident_model import Resident
from backend.projects import collection
from backend.projects.models import ProjectProposal, ProjectSupport

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-9"
TITLE = "幸福小区老旧楼道加装扶手"


@pytest.fixture
def district(db, make_deputy, make_staff):
    lead = Department(name="区住房和城乡建设局")
    db.session.add(lead)
    db.session.flush()
    office = make_staff("admin", username="dgw", display_name="代工委 张敏")
    round_ = collection.open_round(year=2027, theme="办好群众身边的小事",
                                   categories=["城乡建设", "养老服务", "交通出行"], actor=office)
    others = []
    for n, title in enumerate(["人民路公交站增设候车座椅", "东城社区老年食堂", "滨河公园增设公厕",
                               "实验小学门口增设护学岗"]):
        resident = Resident(openid=f"openid-{uuid.uuid4().hex}")
        db.session.add(resident)
        db.session.flush()
        others.append(collection.propose_as_resident(
            round_, {"title": title, "content": f"{title}，方便周边群众日常生活",
                     "reason": "群众反映多年，需求迫切", "category": "城乡建设"},
            resident=resident, idempotency_key=f"seed-proposal-{n}")[0])
    deputies = [make_staff("deputy", username=f"daibiao{n}", display_name=f"代表{n}",
                           deputy=make_deputy(name=f"代表{n}")) for n in range(3)]
    department = make_staff("department", username="zjj", display_name="住建局 李强",
                            department=lead)
    db.session.commit()
    return {"office": office, "deputies": deputies, "department": department, "lead": lead,
            "others": others}


def _sign_in(page, base, user):
    page.goto(f"{base}/staff/login")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/staff/")


def _sign_out(page):
    page.get_by_role("button", name="退出").click()
    page.wait_for_url("**/staff/login**")


def _shot(page, screenshot_dir, name):
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    page.screenshot(path=str(screenshot_dir / name), full_page=True)


def test_propose_support_vote_deliver_on_a_phone(live_server, page, new_context, db, district,
                                                 screenshot_dir):
    base = live_server
    # 1. A resident proposes on the portal and gets a receipt.
    proposer = new_context().new_page()
    proposer.goto(f"{base}/projects")
    proposer.get_by_test_id("propose").click()
    proposer.get_by_test_id("title").fill(TITLE)
    proposer.get_by_test_id("category").select_option("城乡建设")
    proposer.get_by_test_id("content").fill("幸福小区1至6号楼楼道没有扶手，给每栋楼道加装扶手")
    proposer.get_by_test_id("reason").fill("楼里老人多，上下楼容易摔倒")
    _shot(proposer, screenshot_dir, "project-propose.png")
    proposer.get_by_test_id("submit").click()
    expect(proposer.get_by_test_id("receipt")).to_be_visible()
    expect(proposer.get_by_test_id("receipt-no")).to_have_text(
        __import__("re").compile(r"^MS2027-\d{5}$"))
    _shot(proposer, screenshot_dir, "project-receipt.png")
    db.session.commit()
    mine = db.session.scalars(sa.select(ProjectProposal).filter_by(title=TITLE)).one()

    # 2. A second resident starts writing the same thing, is offered it as they type, and
    #    supports it instead.
    second = new_context().new_page()
    second.goto(f"{base}/projects")
    second.get_by_test_id("propose").click()
    second.get_by_test_id("title").press_sequentially("楼道加装扶手", delay=50)
    offered = second.get_by_test_id("similar-item")
    expect(offered).to_have_text(TITLE)
    _shot(second, screenshot_dir, "project-similar-offered.png")
    offered.click()
    second.get_by_test_id("support").click()
    expect(second.get_by_test_id("supports")).to_have_text("1")
    expect(second.get_by_test_id("following")).to_be_visible()
    _shot(second, screenshot_dir, "project-supported.png")
    db.session.commit()
    assert db.session.query(ProjectSupport).filter_by(proposal_id=mine.id).count() == 1

    # 3. The office closes the collection and lists 5 candidates for 3 places.
    _sign_in(page, base, district["office"])
    page.goto(f"{base}/staff/projects")
    page.get_by_test_id("close-collection").click()
    expect(page.get_by_test_id("round-status")).to_have_text("初选中")
    for proposal in [mine, *district["others"]]:
        page.goto(f"{base}/staff/projects/{proposal.id}")
        form = page.get_by_test_id("nominate-form")
        form.locator("select[name=department_id]").select_option(str(district["lead"].id))
        form.locator("input[name=estimated_cost]").fill("800000")
        form.locator("textarea[name=plan]").fill("上半年完成设计招标，下半年施工并验收")
        page.get_by_test_id("nominate").click()
        expect(page.get_by_test_id("status")).to_have_text("候选项目")
    page.goto(f"{base}/staff/projects")
    page.get_by_test_id("session-name").fill("区十八届人大四次会议")
    page.get_by_test_id("places").fill("3")
    _shot(page, screenshot_dir, "project-candidates.png")
    page.get_by_test_id("open-vote").click()
    expect(page.get_by_test_id("round-status")).to_have_text("投票中")
    _sign_out(page)

    # 4. Three deputies vote on their phones: the proposer's project and two others.
    chosen = [mine, district["others"][0], district["others"][1]]
    for n, deputy in enumerate(district["deputies"]):
        _sign_in(page, base, deputy)
        page.goto(f"{base}/staff/projects/ballot")
        expect(page.get_by_test_id("candidate")).to_have_count(5)
        for proposal in chosen:
            page.get_by_test_id("candidate").filter(has_text=proposal.title).click()
            expect(page.locator(f'input[name=candidate_ids][value="{proposal.id}"]')).to_be_checked()
        if n == 0:
            _shot(page, screenshot_dir, "project-ballot.png")
        page.get_by_test_id("cast").click()
        expect(page.get_by_test_id("voted")).to_be_visible()
        _sign_out(page)

    # 5. The office closes the vote and publishes the result; chosen ones go into delivery.
    _sign_in(page, base, district["office"])
    page.goto(f"{base}/staff/projects")
    page.get_by_test_id("close-vote").click()
    page.get_by_test_id("decide").click()
    expect(page.get_by_test_id("round-status")).to_have_text("已公布结果")
    rows = page.get_by_test_id("result-row")
    expect(rows).to_have_count(5)
    expect(page.locator(f'[data-testid=result-row][data-id="{mine.id}"] [data-testid=outcome]')
           ).to_have_text("当选")
    _shot(page, screenshot_dir, "project-results-staff.png")
    page.goto(f"{base}/staff/projects")
    page.get_by_test_id("deliver").click()
    expect(page.get_by_text("当选项目已转入实施")).to_be_visible()
    _sign_out(page)

    # 6. The public results page shows the chosen ones and the full counts.
    proposer.goto(f"{base}/projects/results/2027")
    expect(proposer.get_by_test_id("result-row")).to_have_count(5)
    expect(proposer.get_by_test_id("delivering")).to_contain_text(TITLE)
    _shot(proposer, screenshot_dir, "project-results-public.png")

    # 7. The lead department reports 50 %; the proposer sees it on their project.
    _sign_in(page, base, district["department"])
    page.goto(f"{base}/staff/projects/{mine.id}")
    form = page.get_by_test_id("progress-form")
    form.locator("input[name=progress]").fill("50")
    form.locator("input[name=title]").fill("1至3号楼扶手安装完成")
    page.get_by_test_id("report").click()
    expect(page.get_by_test_id("progress")).to_have_text("进度：50%")
    # … plans a dated step (a date decades away is refused) and reports it done.
    form = page.get_by_test_id("milestone-form")
    form.locator("input[name=title]").fill("竣工验收")
    form.locator("input[name=due_on]").fill("2099-12-31")
    page.get_by_test_id("milestone-add").click()
    expect(page.get_by_text("计划完成日期应在票决之日")).to_be_visible()
    form = page.get_by_test_id("milestone-form")
    form.locator("input[name=title]").fill("竣工验收")
    form.locator("input[name=due_on]").fill(local_today().isoformat())
    page.get_by_test_id("milestone-add").click()
    expect(page.get_by_test_id("milestone")).to_have_count(1)
    page.get_by_test_id("milestone-complete").first.click()
    expect(page.get_by_test_id("milestone-done")).to_have_count(1)
    proposer.goto(f"{base}/projects/{mine.id}")
    expect(proposer.get_by_test_id("milestone")).to_have_count(1)
    expect(proposer.get_by_test_id("progress")).to_have_text("完成进度：50%")
    expect(proposer.get_by_test_id("update")).to_contain_text("1至3号楼扶手安装完成")
    _shot(proposer, screenshot_dir, "project-progress-proposer.png")
