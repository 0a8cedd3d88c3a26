"""Every transition is one guarded operation with an event row and, where someone should hear
of it, an outbox row; illegal ones raise and change nothing."""
import pytest

from backend.core.errors import Forbidden, InvalidState, ValidationFailed
from backend.core.audit_model import AuditEvent
from backend.messages.models import MessageEvent
from backend.notifications.models import Notification
from backend.messages import operations as ops


@pytest.fixture
def case(db, submit, make_station, make_deputy, deputy_user, liaison_of, make_resident):
    """A station with a liaison, a deputy with a staff account, and one message to the deputy."""
    class Case:
        pass
    c = Case()
    c.station = make_station()
    c.deputy = make_deputy(stations=[c.station])
    c.deputy_user = deputy_user(c.deputy)
    c.liaison = liaison_of(c.station)
    c.resident = make_resident()
    c.message = submit(resident=c.resident, deputy=c.deputy, phone="13800131234").message
    return c


def _notes(db, topic):
    return [(n.recipient_kind, n.recipient_id)
            for n in db.session.scalars(db.select(Notification).filter_by(topic=topic))]


def _events(db, message):
    return [(e.kind, e.from_status, e.to_status)
            for e in db.session.scalars(db.select(MessageEvent).filter_by(message_id=message.id)
                                        .order_by(MessageEvent.id))]


def test_full_happy_path(db, case):
    m = case.message
    ops.acknowledge(m, actor=case.liaison)
    ops.set_category(m, "城乡建设", actor=case.liaison)
    ops.reply(m, "已联系街道，本周内修好路灯。", actor=case.deputy_user)
    assert m.status == "answered" and m.answered_at is not None
    ops.rate(m, "satisfied", "谢谢代表", resident=case.resident)
    assert m.status == "closed"
    assert _events(db, m) == [("submitted", None, "new"), ("acknowledge", "new", "acknowledged"),
                              ("set_category", "acknowledged", "acknowledged"),
                              ("reply", "acknowledged", "answered"), ("close", "answered", "closed")]
    assert _notes(db, "message.acknowledged") == [("resident", case.resident.id)]
    assert _notes(db, "message.answered") == [("resident", case.resident.id)]


def test_answered_message_cannot_be_rejected(db, case):
    ops.reply(case.message, "已经处理完毕，请查看。", actor=case.deputy_user)
    with pytest.raises(InvalidState) as err:
        ops.reject(case.message, reason="重复", actor=case.liaison)
    assert err.value.code == "cannot_reject"
    assert case.message.status == "answered" and case.message.reject_reason == ""


def test_merged_message_cannot_be_answered(db, case, submit):
    other = submit(deputy=case.deputy).message
    ops.merge(other, case.message, actor=case.liaison)
    assert other.status == "merged" and other.merged_into_id == case.message.id
    with pytest.raises((InvalidState, Forbidden)):
        ops.reply(other, "我来答复这条已合并的留言。", actor=case.deputy_user)


def test_residents_of_merged_messages_hear_the_answer(db, case, submit, make_resident):
    neighbour = make_resident()
    dup = submit(resident=neighbour, deputy=case.deputy).message
    ops.merge(dup, case.message, actor=case.liaison)
    ops.reply(case.message, "路灯已经修好了，感谢反映。", actor=case.deputy_user)
    assert set(_notes(db, "message.answered")) == {("resident", case.resident.id),
                                                   ("resident", neighbour.id)}
    assert ops.answer_for(dup).body == "路灯已经修好了，感谢反映。"


def test_merge_into_itself_or_a_merged_one_is_refused(db, case, submit):
    with pytest.raises(InvalidState):
        ops.merge(case.message, case.message, actor=case.liaison)
    a, b = submit(deputy=case.deputy).message, submit(deputy=case.deputy).message
    ops.merge(a, case.message, actor=case.liaison)
    with pytest.raises(InvalidState):
        ops.merge(b, a, actor=case.liaison)


def test_reject_needs_a_reason_the_resident_sees(db, case):
    with pytest.raises(ValidationFailed):
        ops.reject(case.message, reason=" ", actor=case.liaison)
    assert case.message.status == "new"
    ops.reject(case.message, reason="留言内容与代表履职无关", actor=case.liaison)
    assert case.message.status == "rejected"
    assert ops.public_timeline(case.message)[-1].text == "留言内容与代表履职无关"
    assert _notes(db, "message.rejected") == [("resident", case.resident.id)]


def test_forward_records_body_and_reference(db, case):
    ops.forward(case.message, to="12345市民服务热线", ref="GD2026-889", actor=case.liaison)
    assert case.message.status == "forwarded"
    assert "12345市民服务热线" in ops.public_timeline(case.message)[-1].text


def test_liaison_of_another_station_cannot_triage(db, case, make_station, liaison_of):
    stranger = liaison_of(make_station())
    for action in (lambda: ops.acknowledge(case.message, actor=stranger),
                   lambda: ops.reject(case.message, reason="不归我管", actor=stranger),
                   lambda: ops.add_note(case.message, "看看", actor=stranger)):
        with pytest.raises(Forbidden):
            action()
    assert case.message.status == "new"


def test_only_the_assigned_deputy_answers(db, case, make_deputy, deputy_user):
    other = deputy_user(make_deputy(stations=[case.station]))
    with pytest.raises(Forbidden):
        ops.reply(case.message, "我不是被分办的代表。", actor=other)
    with pytest.raises(Forbidden):
        ops.reply(case.message, "联络员不能代答。", actor=case.liaison)


def test_reassign_moves_the_case_and_tells_the_new_deputy(db, case, make_deputy, deputy_user):
    new_deputy = make_deputy(stations=[case.station])
    new_user = deputy_user(new_deputy)
    ops.assign(case.message, new_deputy, actor=case.liaison)
    assert case.message.status == "acknowledged"  # assigning a new case accepts it
    assert ("deputy", new_deputy.id) in _notes(db, "message.assigned")
    with pytest.raises(Forbidden):
        ops.reply(case.message, "原来的代表不能再答复。", actor=case.deputy_user)
    ops.reply(case.message, "新的代表来答复这件事。", actor=new_user)


def test_cannot_assign_to_a_deputy_of_another_station(db, case, make_deputy):
    with pytest.raises(ValidationFailed):
        ops.assign(case.message, make_deputy(), actor=case.liaison)


def test_hand_back_clears_the_deputy_and_tells_the_liaison(db, case):
    ops.hand_back(case.message, "这件事属于另一个选区", actor=case.deputy_user)
    assert case.message.assigned_deputy_id is None
    assert _notes(db, "message.handed_back") == [("staff", case.liaison.id)]
    assert ops.public_timeline(case.message)[-1].kind == "submitted"  # internal, unseen


def test_ask_for_more_and_the_resident_adds_it(db, case):
    ops.request_info(case.message, "请问具体是哪一栋楼门口？", actor=case.deputy_user)
    assert case.message.status == "awaiting_info"
    assert _notes(db, "message.info_requested") == [("resident", case.resident.id)]
    ops.add_info(case.message, "是3栋东门口。", resident=case.resident)
    assert case.message.status == "acknowledged"
    assert ("deputy", case.deputy.id) in _notes(db, "message.info_added")


def test_dissatisfied_rating_reopens_for_the_liaison(db, case):
    ops.reply(case.message, "已经反映给有关部门了。", actor=case.deputy_user)
    ops.rate(case.message, "dissatisfied", "还是没修", resident=case.resident)
    assert case.message.status == "reopened" and case.message.answered_at is None
    assert _notes(db, "message.reopened") == [("staff", case.liaison.id)]
    ops.reply(case.message, "再次督促，已经修好。", actor=case.deputy_user)
    rating = ops.rate(case.message, "basically_satisfied", resident=case.resident)
    assert rating.round == 2 and case.message.status == "closed"


def test_rate_before_answer_and_by_someone_else_are_refused(db, case, make_resident):
    with pytest.raises(InvalidState):
        ops.rate(case.message, "satisfied", resident=case.resident)
    ops.reply(case.message, "已处理完毕，请查看。", actor=case.deputy_user)
    with pytest.raises(Forbidden):
        ops.rate(case.message, "satisfied", resident=make_resident())


def test_held_message_released_or_rejected(db, submit, make_station, make_deputy, liaison_of):
    from backend.messages.moderation import add_rule
    station = make_station()
    liaison = liaison_of(station)
    deputy = make_deputy(stations=[station])
    add_rule("刷单")
    held = submit(deputy=deputy, body="招聘刷单兼职日结").message
    ops.release(held, actor=liaison)
    assert held.status == "new" and held.hold_reason == ""
    assert ("deputy", deputy.id) in _notes(db, "message.new")
    held2 = submit(deputy=deputy, body="招聘刷单兼职日结2").message
    ops.reject(held2, reason="广告信息", actor=liaison)
    assert held2.status == "rejected"


def test_phone_reveal_is_audited_and_refused_to_others(db, case, make_station, liaison_of):
    assert ops.reveal_phone(case.message, reason="电话回访", actor=case.deputy_user) \
        == "13800131234"
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="message.reveal_phone"))
    assert event.actor_id == case.deputy_user.id and event.object_id == case.message.id
    with pytest.raises(Forbidden):
        ops.reveal_phone(case.message, reason="电话回访", actor=liaison_of(make_station()))


def test_internal_notes_never_reach_the_resident(db, case):
    ops.add_note(case.message, "此人多次反映同一问题", actor=case.liaison)
    assert all("多次反映" not in e.text for e in ops.public_timeline(case.message))
    assert any("多次反映" in e.text for e in ops.full_timeline(case.message))


def test_a_failed_transition_leaves_no_outbox_row(db, case):
    before = db.session.query(Notification).count()
    with pytest.raises(InvalidState):
        ops.rate(case.message, "satisfied", resident=case.resident)
    assert db.session.query(Notification).count() == before
