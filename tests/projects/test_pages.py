"""The project pages end to end over HTTP: a resident's form (errors in Chinese, nothing
written; a double tap makes one proposal), the office's screening and counting forms, a
liaison turning a queue message into a proposal."""
import re

import sqlalchemy as sa

from backend.projects.models import ProjectPaperEntry, ProjectProposal
from tests.conftest import csrf_token, post_form

FORM = {"title": "修缮老街路灯", "category": "交通", "content": "解放路老街路灯多处不亮，夜里行人不便",
        "reason": "老人晚上出门容易摔倒"}


def _key(client):
    page = client.get("/projects/new").get_data(as_text=True)
    return re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)


def test_resident_form_errors_are_chinese_and_write_nothing(client, db, make_round):
    make_round()
    db.session.commit()
    key = _key(client)
    resp = client.post("/projects/new", data={**FORM, "title": "", "reason": "",
                                              "idempotency_key": key,
                                              "csrf_token": csrf_token(client, "/projects/new")})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "项目名称请填写4到60个字" in page and "理由请填写5到2000个字" in page
    assert FORM["content"] in page  # what they wrote is kept
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProjectProposal)) == 0


def test_a_double_tap_makes_one_proposal_with_one_receipt(client, db, make_round):
    make_round()
    db.session.commit()
    key = _key(client)
    token = csrf_token(client, "/projects/new")
    first = client.post("/projects/new", data={**FORM, "idempotency_key": key, "csrf_token": token})
    second = client.post("/projects/new", data={**FORM, "idempotency_key": key, "csrf_token": token})
    assert first.status_code == second.status_code == 302 and first.location == second.location
    receipt = client.get(first.location).get_data(as_text=True)
    assert "项目建议已提交" in receipt and "MS2027-" in receipt
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProjectProposal)) == 1


def test_office_screens_opens_counts_paper_twice_and_publishes(client, login, db, office,
                                                              make_staff, make_round,
                                                              make_proposal, make_department,
                                                              make_deputy):
    round_ = make_round()
    proposals = [make_proposal(round_) for _ in range(4)]
    present = [make_deputy().id for _ in range(6)]
    department = make_department()
    second_office = make_staff("admin")
    db.session.commit()
    login(office)
    post_form(client, f"/staff/projects/{proposals[0].id}/reject", {"reason": "属于日常维修"},
              form_url=f"/staff/projects/{proposals[0].id}")
    post_form(client, f"/staff/projects/rounds/{round_.id}/close-collection", {},
              form_url="/staff/projects")
    for p in proposals[1:]:
        resp = post_form(client, f"/staff/projects/{p.id}/nominate",
                         {"department_id": department.id, "estimated_cost": "300000",
                          "plan": "年内完成设计施工并验收"}, form_url=f"/staff/projects/{p.id}")
        assert resp.status_code == 302
    too_many = post_form(client, f"/staff/projects/rounds/{round_.id}/open-vote",
                         {"places": "3", "session_name": "区人大会议"}, form_url="/staff/projects",
                         follow_redirects=True)
    assert "实行差额票决" in too_many.get_data(as_text=True)
    roll_call = client.get("/staff/projects").get_data(as_text=True)
    assert all(f'name="present_ids" value="{i}"' in roll_call for i in present)
    post_form(client, f"/staff/projects/rounds/{round_.id}/open-vote",
              {"places": "2", "session_name": "区人大会议", "present_ids": [str(i) for i in present]},
              form_url="/staff/projects")
    post_form(client, f"/staff/projects/rounds/{round_.id}/close-vote", {},
              form_url="/staff/projects")
    results_url = f"/staff/projects/rounds/{round_.id}/results"
    counts = {f"votes_{p.id}": v for p, v in zip(proposals[1:], ("5", "4", "1"))}
    post_form(client, results_url.replace("results", "paper"), {"ballots": "6", **counts},
              form_url=results_url)
    early = post_form(client, results_url.replace("results", "decide"), {},
                      form_url=results_url, follow_redirects=True)
    assert "纸质票只录入了一次" in early.get_data(as_text=True)
    client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/")})
    login(second_office)
    post_form(client, results_url.replace("results", "paper"), {"ballots": "6", **counts},
              form_url=results_url)
    done = post_form(client, results_url.replace("results", "decide"), {}, form_url=results_url,
                     follow_redirects=True).get_data(as_text=True)
    assert "票决结果已公布" in done and "纸质票两次录入一致" in done
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProjectPaperEntry)) == 2
    db.session.expire_all()
    assert [db.session.get(ProjectProposal, p.id).status for p in proposals] == [
        "rejected", "chosen", "chosen", "unchosen"]


def test_liaison_turns_a_queue_message_into_a_proposal(client, login, db, make_round, make_staff,
                                                       make_station, make_resident):
    from backend.messages.operations import submit_message
    station = make_station()
    liaison = make_staff("liaison", stations=[station])
    message = submit_message(resident=make_resident(), body="小区门口的路坑坑洼洼，下雨天积水很深",
                             idempotency_key="msgkey-page-1", station=station).message
    make_round()
    db.session.commit()
    login(liaison)
    page = client.get(f"/staff/messages/{message.id}").get_data(as_text=True)
    assert 'data-testid="project-from-message"' in page
    resp = post_form(client, f"/staff/messages/{message.id}/project",
                     {"title": "修整小区门口道路", "reason": "雨天积水出行难", "category": "交通"},
                     form_url=f"/staff/messages/{message.id}", follow_redirects=True)
    assert "留言已转为民生实事项目建议" in resp.get_data(as_text=True)
    proposal = db.session.scalars(sa.select(ProjectProposal)).one()
    assert proposal.source_message_id == message.id and proposal.author_kind == "liaison"
    page = client.get(f"/staff/messages/{message.id}").get_data(as_text=True)
    assert 'data-testid="project-from-message"' not in page  # once only


def test_similar_proposals_are_offered_as_one_types(client, db, make_round, make_proposal,
                                                    office):
    from backend.projects import lists, screening
    round_ = make_round()
    lift = make_proposal(round_, title="幸福小区老楼加装电梯")
    lamp = make_proposal(round_, title="修缮老街路灯", content="解放路老街路灯多处不亮，夜里行人不便")
    gone = make_proposal(round_, title="东城小区加装电梯")
    screening.reject(gone, "与已有项目重复", actor=office)
    assert lists.similar(round_, "加装电梯") == [lift]  # a rejected one is not offered
    assert lists.similar(round_, "修路灯") == [lamp]
    assert lists.similar(round_, "公交站台") == []
    db.session.commit()
    fragment = client.get("/projects/similar?q=加装电梯").get_data(as_text=True)
    assert lift.title in fragment and lamp.title not in fragment and gone.title not in fragment
    assert client.get("/projects/similar?q=公交站台").get_data(as_text=True).strip() == ""


def test_numbers_past_the_integer_columns_are_refused_in_chinese_not_a_500(
        client, login, db, office, make_round, make_proposal):
    """On PostgreSQL an id or count past the integer column used to reach the database (500)."""
    round_ = make_round()
    proposal = make_proposal(round_)
    db.session.commit()
    login(office)
    post_form(client, f"/staff/projects/rounds/{round_.id}/close-collection", {},
              form_url="/staff/projects")
    for department_id, cost in (("2147483648", "300000"), ("１", "300000"),
                                ("99999999999999999999", "1")):
        resp = post_form(client, f"/staff/projects/{proposal.id}/nominate",
                         {"department_id": department_id, "estimated_cost": cost,
                          "plan": "年内完成设计施工并验收"}, form_url=f"/staff/projects/{proposal.id}",
                         follow_redirects=True)
        assert resp.status_code == 200
        db.session.rollback()
        assert db.session.get(ProjectProposal, proposal.id).department_id is None


def test_a_deputy_not_present_is_told_why_and_cannot_cast(client, login, db, voting_round,
                                                          make_deputy_user, office):
    round_, c = voting_round
    deputy = make_deputy_user()
    login(deputy)
    page = client.get("/staff/projects/ballot").get_data(as_text=True)
    assert 'data-testid="not-present"' in page and 'data-testid="ballot"' not in page
    refused = post_form(client, "/staff/projects/ballot", {"candidate_ids": [str(c[0].id)]},
                        form_url="/staff/projects", follow_redirects=True)
    assert "未登记出席" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(type(round_), round_.id).ballots_cast == 0


def test_a_deputy_s_proposal_form_posted_twice_makes_one_proposal(client, login, db, make_round,
                                                                   make_deputy_user):
    """The staff page's form carries a key made when it renders: a double click or a browser
    resubmit sends it again and makes nothing new, and the page says it was made already."""
    make_round()
    deputy = make_deputy_user()
    db.session.commit()
    login(deputy)
    page = client.get("/staff/projects").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', page).group(1)
    form = {**FORM, "idempotency_key": key, "csrf_token": csrf_token(client, "/staff/projects")}
    first = client.post("/staff/projects/propose", data=form)
    again = client.post("/staff/projects/propose", data=form)
    assert first.status_code == again.status_code == 302 and first.location == again.location
    assert "这条项目建议已经提交过了，没有重复提交" in client.get(again.location).get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProjectProposal)) == 1
    proposal = db.session.scalar(sa.select(ProjectProposal))
    assert (proposal.author_kind, proposal.staff_id) == ("deputy", deputy.id)
    # The next render has a new key: another proposal is another proposal.
    page = client.get("/staff/projects").get_data(as_text=True)
    fresh = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', page).group(1)
    assert fresh != key
    client.post("/staff/projects/propose", data={**form, "idempotency_key": fresh,
                                                 "title": "增设公交站台雨棚"})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProjectProposal)) == 2
