"""A reception day's matter straight into a proposal, in one step on the record page: only with
the resident's consent (reception's rule), only by a liaison of the station, once; the
proposal says where it came from."""
import pytest
import sqlalchemy as sa

from backend.messages.models import Message
from backend.projects.models import ProjectProposal
from backend.reception import records
from tests.conftest import post_form
from tests.reception.conftest import rec_world  # noqa: F401 - the fixture

ISSUE = "小区门口的路灯坏了一个多月，晚上老人出门很不方便"
FORM = {"title": "修好小区门口路灯", "category": "交通", "reason": "老人晚上出门不便"}


@pytest.fixture
def item_world(db, rec_world, make_round):  # noqa: F811
    w = rec_world
    w.round = make_round()
    rec = records.record_day(w.day, actor=w.liaison, deputy_ids=[w.zhang.id], walk_in_count=3,
                             notes="")
    w.agreed = records.add_item(rec, actor=w.liaison, summary=ISSUE, resident_consent=True,
                                appointment_id=w.booking.id)
    w.refused = records.add_item(rec, actor=w.liaison, summary=ISSUE + "（不愿留名）",
                                 resident_consent=False)
    db.session.commit()
    return w


def _count(db, model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _page(w):
    return f"/staff/reception-days/{w.day.id}/record"


def test_one_step_makes_the_message_and_the_proposal_and_shows_the_source(client, login, db,
                                                                          item_world):
    w = item_world
    login(w.liaison)
    page = client.get(_page(w)).get_data(as_text=True)
    assert page.count('data-testid="item-to-project"') == 1  # the consenting item only
    done = post_form(client, f"/staff/reception-items/{w.agreed.id}/project", FORM,
                     form_url=_page(w), follow_redirects=True).get_data(as_text=True)
    assert "已转为民生实事项目建议" in done and 'data-testid="item-project"' in done
    db.session.expire_all()
    proposal = db.session.scalar(sa.select(ProjectProposal))
    message = db.session.get(Message, proposal.source_message_id)
    assert message.channel == "reception" and message.body == ISSUE == proposal.content
    assert db.session.get(type(w.agreed), w.agreed.id).message_id == message.id
    assert proposal.resident_id == w.booking.resident_id and proposal.author_kind == "liaison"
    staff_page = client.get(f"/staff/projects/{proposal.id}").get_data(as_text=True)
    assert "接待选民日群众反映，联络员转入" in staff_page
    public = client.get(f"/projects/{proposal.id}").get_data(as_text=True)
    assert "接待选民日群众反映" in public
    again = post_form(client, f"/staff/reception-items/{w.agreed.id}/project", FORM,
                      form_url=_page(w), follow_redirects=True).get_data(as_text=True)
    assert "这条留言已经转为项目建议" in again and _count(db, ProjectProposal) == 1


def test_without_consent_neither_message_nor_proposal(client, login, db, item_world):
    w = item_world
    login(w.liaison)
    resp = post_form(client, f"/staff/reception-items/{w.refused.id}/project", FORM,
                     form_url=_page(w), follow_redirects=True)
    assert "群众没有同意将此事转为留言" in resp.get_data(as_text=True)
    assert _count(db, ProjectProposal) == 0 and _count(db, Message) == 0


def test_a_bad_proposal_form_leaves_no_message_either(client, login, db, item_world):
    w = item_world
    login(w.liaison)
    resp = post_form(client, f"/staff/reception-items/{w.agreed.id}/project",
                     {**FORM, "title": ""}, form_url=_page(w), follow_redirects=True)
    assert "项目名称请填写4到60个字" in resp.get_data(as_text=True)
    assert _count(db, ProjectProposal) == 0 and _count(db, Message) == 0
    db.session.expire_all()
    assert db.session.get(type(w.agreed), w.agreed.id).message_id is None


@pytest.mark.parametrize("who", ["other_liaison", "admin", "deputy", "department"])
def test_only_the_stations_liaison_may(client, login, db, item_world, make_staff,
                                       make_department, who):
    w = item_world
    user = {"other_liaison": w.other_liaison, "admin": w.admin, "deputy": w.deputy_user,
            "department": make_staff("department", department=make_department())}[who]
    login(user)
    resp = post_form(client, f"/staff/reception-items/{w.agreed.id}/project", FORM,
                     form_url="/staff/projects")
    assert resp.status_code == 403
    assert _count(db, ProjectProposal) == 0 and _count(db, Message) == 0


def test_nothing_offered_when_no_collection_is_open(client, login, db, item_world, office):
    from backend.projects import screening
    w = item_world
    screening.close_collection(w.round, actor=office)
    db.session.commit()
    login(w.liaison)
    assert 'data-testid="item-to-project"' not in client.get(_page(w)).get_data(as_text=True)
    resp = post_form(client, f"/staff/reception-items/{w.agreed.id}/project", FORM,
                     form_url=_page(w), follow_redirects=True)
    assert "不能提出项目建议" in resp.get_data(as_text=True)
    assert _count(db, ProjectProposal) == 0 and _count(db, Message) == 0
