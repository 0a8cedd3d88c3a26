"""On a 360-px phone: a resident's proposal photo stays theirs until the office checks it and
marks it 可公开; a tie at the cut-off goes to a run-off that the office opens, a deputy votes
in and the office publishes, and both stages show on the results pages. Screenshots."""
import io
import re
import uuid

import pytest
import sqlalchemy as sa
from PIL import Image
from playwright.sync_api import expect

from backend.accounts.resident_model import Resident
from backend.org.models import Department
from backend.projects import collection, screening, voting
from backend.projects.models import ProjectProposal
from tests.browser.test_project_vote_journey import _shot, _sign_in, _sign_out

pytestmark = pytest.mark.browser
TITLE = "解放路老街路灯修缮"


@pytest.fixture
def photo_file(tmp_path):
    exif = Image.Exif()
    exif[0x8825] = {2: (39.0, 54.0, 0.0)}  # GPS, to be stripped
    path = tmp_path / "路灯.jpg"
    Image.new("RGB", (320, 240), (30, 60, 90)).save(path, "JPEG", exif=exif.tobytes())
    return path


def test_a_proposal_photo_is_public_only_after_the_office_approves_it(
        live_server, page, new_context, db, make_staff, photo_file, screenshot_dir):
    base = live_server
    office = make_staff("admin", username="dgw-photo", display_name="代工委 张敏")
    collection.open_round(year=2027, theme="办好群众身边的小事", categories=["交通出行"],
                          actor=office)
    db.session.commit()
    proposer = new_context().new_page()
    proposer.goto(f"{base}/projects/new")
    proposer.get_by_test_id("title").fill(TITLE)
    proposer.get_by_test_id("content").fill("解放路老街两侧路灯多处不亮，夜里行人看不清路")
    proposer.get_by_test_id("reason").fill("老人晚上出门容易摔倒")
    proposer.get_by_test_id("photos").set_input_files(str(photo_file))
    expect(proposer.get_by_test_id("photos-privacy")).to_contain_text("只有您和工作人员能看到")
    _shot(proposer, screenshot_dir, "project-photo-propose.png")
    proposer.get_by_test_id("submit").click()
    expect(proposer.get_by_test_id("receipt")).to_be_visible()
    expect(proposer.get_by_test_id("proposal-photo")).to_have_count(1)
    expect(proposer.get_by_test_id("photo-private")).to_have_text("仅您和工作人员可见")
    _shot(proposer, screenshot_dir, "project-photo-private.png")
    db.session.commit()
    mine = db.session.scalars(sa.select(ProjectProposal).filter_by(title=TITLE)).one()

    stranger = new_context().new_page()
    stranger.goto(f"{base}/projects/{mine.id}")
    expect(stranger.get_by_test_id("project-title")).to_have_text(TITLE)
    expect(stranger.get_by_test_id("proposal-photo")).to_have_count(0)

    _sign_in(page, base, office)
    page.goto(f"{base}/staff/projects/{mine.id}")
    expect(page.get_by_test_id("privacy-check")).to_contain_text("人脸")
    expect(page.get_by_test_id("photo-state")).to_have_text("未公开（仅提出人和工作人员可见）")
    _shot(page, screenshot_dir, "project-photo-screening.png")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("photo-public").click()
    expect(page.get_by_test_id("photo-state")).to_have_text("已设为可公开")
    _sign_out(page)

    stranger.goto(f"{base}/projects/{mine.id}")
    expect(stranger.get_by_test_id("proposal-photo")).to_have_count(1)
    src = stranger.get_by_test_id("proposal-photo").get_attribute("src")
    body = stranger.request.get(base + src).body()
    assert not Image.open(io.BytesIO(body)).getexif()  # no EXIF, no GPS
    _shot(stranger, screenshot_dir, "project-photo-public.png")


@pytest.fixture
def tied_round(db, make_deputy, make_staff):
    """5 candidates for 3 places, five deputies voted: two chosen, two tied for the last place."""
    lead = Department(name="区城市管理局")
    db.session.add(lead)
    db.session.flush()
    office = make_staff("admin", username="dgw-runoff", display_name="代工委 王芳")
    round_ = collection.open_round(year=2028, theme="办好群众身边的小事", categories=["城乡建设"],
                                   actor=office)
    titles = ["人民路公交站增设候车座椅", "东城社区老年食堂", "滨河公园增设公厕",
              "实验小学门口增设护学岗", "老旧小区增设充电桩"]
    proposals = []
    for n, title in enumerate(titles):
        resident = Resident(openid=f"openid-{uuid.uuid4().hex}")
        db.session.add(resident)
        db.session.flush()
        proposals.append(collection.propose_as_resident(
            round_, {"title": title, "content": f"{title}，方便周边群众日常生活",
                     "reason": "群众反映多年，需求迫切", "category": "城乡建设"},
            resident=resident, idempotency_key=f"runoff-seed-{n}")[0])
    screening.close_collection(round_, actor=office)
    for p in proposals:
        screening.nominate(p, department_id=lead.id, estimated_cost=600000,
                           plan="上半年完成设计招标，下半年施工并验收", actor=office)
    deputies = [make_staff("deputy", username=f"runoff{n}", display_name=f"代表{n}",
                           deputy=make_deputy(name=f"决选代表{n}")) for n in range(5)]
    screening.open_vote(round_, places=3, session_name="区十八届人大五次会议",
                        present_ids=[d.deputy_id for d in deputies], actor=office)
    a, b, c, d, _ = (p.id for p in proposals)
    for deputy, ids in zip(deputies, [[a, b, c], [a, b, d], [a, b, c], [a, b, d], [a, c, d]]):
        voting.cast_ballot(round_, ids, actor=deputy)
    voting.close_vote(round_, actor=office)
    voting.decide(round_, actor=office)
    db.session.commit()
    return round_, proposals, office, deputies


def test_a_tie_goes_to_a_runoff_on_a_phone(live_server, page, new_context, db, tied_round,
                                           screenshot_dir):
    base = live_server
    round_, proposals, office, deputies = tied_round
    results_url = f"{base}/staff/projects/rounds/{round_.id}/results"
    _sign_in(page, base, office)
    page.goto(results_url)
    expect(page.get_by_test_id("runoff")).to_contain_text("须再次表决")
    page.get_by_test_id("open-runoff").click()
    expect(page.get_by_text("决选已开始")).to_be_visible()
    expect(page.get_by_test_id("stage-title")).to_have_text("决选（决选投票中）")
    _sign_out(page)

    for n, deputy in enumerate(deputies[:3]):
        _sign_in(page, base, deputy)
        page.goto(f"{base}/staff/projects/ballot")
        expect(page.get_by_test_id("runoff-note")).to_contain_text("剩余的1个名额")
        expect(page.get_by_test_id("candidate")).to_have_count(2)
        page.get_by_test_id("candidate").filter(has_text=proposals[3].title).click()
        if n == 0:
            _shot(page, screenshot_dir, "project-runoff-ballot.png")
        page.get_by_test_id("cast").click()
        expect(page.get_by_test_id("voted")).to_be_visible()
        _sign_out(page)

    _sign_in(page, base, office)
    page.goto(results_url)
    page.get_by_test_id("close-runoff").click()
    page.get_by_test_id("decide").click()
    expect(page.get_by_text("决选结果已公布")).to_be_visible()
    expect(page.get_by_test_id("stage")).to_have_count(2)
    expect(page.get_by_test_id("combined")).to_contain_text("合计当选3个")
    _shot(page, screenshot_dir, "project-runoff-results-staff.png")
    _sign_out(page)

    public = new_context().new_page()
    public.goto(f"{base}/projects/results/2028")
    expect(public.get_by_test_id("stage")).to_have_count(2)
    expect(public.get_by_test_id("combined")).to_contain_text(proposals[3].title)
    _shot(public, screenshot_dir, "project-runoff-results-public.png")
    db.session.commit()  # a new transaction: the server's writes are seen
    assert db.session.get(ProjectProposal, proposals[3].id).status == "chosen"
    assert re.match(r"^MS2028-", proposals[3].number)
