"""Collection and screening: who may propose, one support each, receipts, rejection told."""
import pytest

from backend.core.errors import Forbidden, InvalidState, ValidationFailed
from backend.notifications.models import Notification
from backend.projects import collection, screening
from backend.projects.models import ProjectFollow, ProjectProposal, ProjectSupport


def test_only_the_office_opens_a_round_and_once_a_year(db, make_round, make_staff):
    make_round(2027)
    with pytest.raises(ValidationFailed) as err:
        make_round(2027)
    assert err.value.errors["year"] == ["2027年度的民生实事项目征集已经开启"]
    with pytest.raises(Forbidden):
        collection.open_round(year=2028, theme="主题", categories=["交通"],
                              actor=make_staff("liaison"))


def test_resident_proposal_gets_a_receipt_follows_it_and_a_retry_makes_one(db, make_round,
                                                                           make_resident):
    round_, resident = make_round(), make_resident()
    data = {"title": "修缮老街路灯", "content": "解放路老街路灯多处不亮，夜里行人不便",
            "reason": "老人晚上出门容易摔倒", "category": "交通"}
    first, made = collection.propose_as_resident(round_, data, resident=resident,
                                                 idempotency_key="abcdefgh1")
    again, made_again = collection.propose_as_resident(round_, data, resident=resident,
                                                       idempotency_key="abcdefgh1")
    assert again.id == first.id and first.number == f"MS2027-{first.id:05d}"
    assert (made, made_again) == (True, False)
    assert db.session.query(ProjectProposal).count() == 1
    assert db.session.query(ProjectFollow).filter_by(resident_id=resident.id).count() == 1


def test_bad_input_is_refused_in_chinese_and_writes_nothing(db, make_round, make_resident):
    round_ = make_round()
    with pytest.raises(ValidationFailed) as err:
        collection.propose_as_resident(round_, {"title": "路", "content": "短", "reason": "",
                                                "category": "不存在"},
                                       resident=make_resident(), idempotency_key="abcdefgh2")
    assert set(err.value.errors) == {"title", "content", "reason", "category"}
    assert err.value.errors["category"] == ["请选择项目类别"]
    assert db.session.query(ProjectProposal).count() == 0


def test_one_support_each_and_not_ones_own(db, make_round, make_proposal, make_resident):
    round_ = make_round()
    proposer, other = make_resident(), make_resident()
    proposal = make_proposal(round_, resident=proposer)
    assert collection.support(proposal, resident=other)[1] is True
    assert collection.support(proposal, resident=other)[1] is False  # answered, not counted
    with pytest.raises(InvalidState) as own:
        collection.support(proposal, resident=proposer)
    assert own.value.code == "project_own_proposal"
    assert collection.support_count(proposal) == 1


def test_no_support_after_collection_closed(db, office, make_round, make_proposal, make_resident):
    round_ = make_round()
    proposal = make_proposal(round_)
    screening.close_collection(round_, actor=office)
    with pytest.raises(InvalidState):
        collection.support(proposal, resident=make_resident())
    with pytest.raises(InvalidState) as late:
        make_proposal(round_)
    assert late.value.code == "round_cannot_propose"


def test_deputy_proposes_and_a_department_may_not(db, make_round, make_deputy_user, make_staff,
                                                  make_department):
    round_ = make_round()
    data = {"title": "社区食堂建设", "content": "在东城社区建设老年食堂一处",
            "reason": "独居老人吃饭难", "category": "养老"}
    proposal = collection.propose_as_deputy(round_, data, actor=make_deputy_user())
    assert proposal.author_kind == "deputy" and proposal.deputy_id is not None
    with pytest.raises(Forbidden):
        collection.propose_as_deputy(round_, data,
                                     actor=make_staff("department", department=make_department()))


def test_liaison_turns_a_queue_message_into_a_proposal_once(db, make_round, make_staff,
                                                           make_station, make_resident):
    from backend.messages.operations import submit_message
    station, resident = make_station(), make_resident()
    liaison = make_staff("liaison", stations=[station])
    message = submit_message(resident=resident, body="小区门口的路坑坑洼洼，下雨天积水很深",
                             idempotency_key="msgkey-0001", station=station).message
    round_ = make_round()
    data = {"title": "修整小区门口道路", "reason": "雨天积水出行难", "category": "交通"}
    proposal = collection.propose_from_message(round_, message, data, actor=liaison)
    assert proposal.resident_id == resident.id and proposal.content == message.body
    assert db.session.query(Notification).filter_by(recipient_kind="resident",
                                                    recipient_id=resident.id,
                                                    topic="project.proposed").count() == 1
    with pytest.raises(InvalidState) as twice:
        collection.propose_from_message(round_, message, data, actor=liaison)
    assert twice.value.code == "message_already_proposed"
    stranger = make_staff("liaison", stations=[make_station()])
    with pytest.raises(Forbidden):
        collection.propose_from_message(round_, message, data, actor=stranger)


def test_rejection_needs_a_reason_and_the_proposer_is_told(db, office, make_round,
                                                         make_proposal, make_resident):
    round_, resident = make_round(), make_resident()
    proposal = make_proposal(round_, resident=resident)
    with pytest.raises(ValidationFailed):
        screening.reject(proposal, "  ", actor=office)
    assert proposal.status == "submitted"
    screening.reject(proposal, "属于日常维修，已转交街道办理", actor=office)
    assert proposal.status == "rejected"
    note = db.session.query(Notification).filter_by(recipient_id=resident.id,
                                                    topic="project.rejected").one()
    assert "已转交街道办理" in note.body


def test_merge_moves_supporters_once(db, office, make_round, make_proposal, make_resident):
    round_ = make_round()
    a, b = make_proposal(round_), make_proposal(round_)
    both, only_a = make_resident(), make_resident()
    for r in (both, only_a):
        collection.support(a, resident=r)
    collection.support(b, resident=both)
    screening.merge(a, b, actor=office)
    assert a.status == "merged" and a.merged_into_id == b.id
    supporters = {s.resident_id for s in db.session.query(ProjectSupport).filter_by(proposal_id=b.id)}
    assert supporters == {both.id, only_a.id}
    assert a.resident_id in {f.resident_id for f in db.session.query(ProjectFollow)
                             .filter_by(proposal_id=b.id)}
    with pytest.raises(ValidationFailed):
        screening.merge(b, b, actor=office)


def test_candidate_needs_department_cost_plan_and_list_needs_more_than_places(
        db, office, make_round, make_proposal, make_department, make_deputy):
    round_ = make_round()
    proposals = [make_proposal(round_) for _ in range(3)]
    with pytest.raises(ValidationFailed) as err:
        screening.nominate(proposals[0], department_id=None, estimated_cost=0, plan="",
                           actor=office)
    assert set(err.value.errors) == {"department_id", "estimated_cost", "plan"}
    dep = make_department()
    for p in proposals:
        screening.nominate(p, department_id=dep.id, estimated_cost=100000,
                           plan="年内完成施工并通过验收", actor=office)
    screening.close_collection(round_, actor=office)
    with pytest.raises(ValidationFailed) as few:
        screening.open_vote(round_, places=3, session_name="区人大会议", present_ids=[],
                            actor=office)
    assert set(few.value.errors) == {"places", "present_ids"}
    assert "差额" in few.value.errors["places"][0]
    assert round_.status == "screening"
    assert db.session.query(Notification).filter_by(topic="project.vote_open").count() == 0
    deputy, absent = make_deputy(), make_deputy()
    screening.open_vote(round_, places=2, session_name="区人大会议", present_ids=[deputy.id],
                        actor=office)
    assert round_.status == "voting"
    told = db.session.query(Notification).filter_by(topic="project.vote_open").all()
    assert [(n.recipient_kind, n.recipient_id) for n in told] == [("deputy", deputy.id)]
    assert absent.id not in screening.attendee_ids(round_)
