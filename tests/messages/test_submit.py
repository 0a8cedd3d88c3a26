"""A resident writes: validation, idempotency, receipts, the content check, the clocks."""
import uuid
from datetime import datetime, timezone

import pytest
import responses
import sqlalchemy as sa

from backend.core.errors import NotFound, ValidationFailed
from backend.messages.models import Message, MessageEvent
from backend.notifications.models import Notification
from backend.messages.operations import find_by_tracking, masked_phone, submit_message
from backend.messages.moderation import add_rule
from backend.core.protect import decrypt_phone, lookup_code
from backend.core.timeutil import LOCAL_TZ
from tests.conftest import FAKE_WECHAT, at_once


def test_submission_gives_tracking_number_and_lookup_code(db, submit):
    result = submit()
    message = result.message
    assert result.created
    assert message.tracking_no.startswith("LY") and message.tracking_no.endswith(f"-{message.id:06d}")
    assert len(result.lookup_code) == 6
    assert find_by_tracking(message.tracking_no, result.lookup_code.lower()) is message
    with pytest.raises(NotFound):
        find_by_tracking(message.tracking_no, "WRONG1")
    with pytest.raises(NotFound):
        find_by_tracking("LY20200101-" + f"{message.id:06d}", result.lookup_code)


def test_lands_in_deputy_inbox_and_station_queue_and_notifies_the_deputy(db, submit, make_deputy,
                                                                         make_station):
    station = make_station()
    deputy = make_deputy(stations=[station])
    message = submit(deputy=deputy).message
    assert message.station_id == station.id and message.assigned_deputy_id == deputy.id
    assert message.status == "new"
    db.session.commit()
    db.session.expire_all()  # read back what the database holds, not what the session made
    note = db.session.scalar(db.select(Notification).filter_by(topic="message.new"))
    assert note.recipient_kind == "deputy" and note.recipient_id == deputy.id
    assert (note.subject_type, note.subject_id, note.link) == (
        "messages", message.id, f"/staff/inbox/{message.id}")
    assert (note.title, note.status, note.attempts) == ("您收到一条新留言", "pending", 0)
    assert note.body == message.body and note.next_attempt_at == message.created_at
    event = db.session.scalar(db.select(MessageEvent).filter_by(message_id=message.id))
    assert (event.kind, event.actor_kind, event.to_status) == ("submitted", "resident", "new")
    assert (event.actor_id, event.actor_label, event.is_internal, event.data) == (
        message.resident_id, "留言人", False, None)
    assert event.created_at == message.created_at


def test_written_to_a_station_as_a_whole(db, submit, make_station):
    station = make_station()
    message = submit(station=station).message
    assert message.station_id == station.id and message.deputy_id is None
    assert message.assigned_deputy_id is None


@pytest.mark.parametrize("body, ok", [
    ("太短了", False),  # 3 characters
    ("路灯坏了啊", True),  # 5 characters
    ("👨‍👩‍👧👨‍👩‍👧👨‍👩‍👧👨‍👩‍👧", False),  # 4 emoji, 20 code points: still 4 to a person
    ("好" * 2000, True),
    ("好" * 2001, False),
    ("   \n\n  ", False),
])
def test_length_counted_as_a_person_counts(db, submit, body, ok):
    if ok:
        assert submit(body=body).created
    else:
        with pytest.raises(ValidationFailed) as err:
            submit(body=body)
        assert "body" in err.value.errors
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)) == 0


def test_bad_phone_is_refused_and_nothing_is_written(db, submit):
    with pytest.raises(ValidationFailed) as err:
        submit(phone="12345")
    assert err.value.errors["phone"] == ["请填写11位手机号码，或留空"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)) == 0


def test_phone_is_encrypted_at_rest_and_masked(db, submit):
    message = submit(phone="138 0013 1234").message
    raw = db.session.execute(sa.text("SELECT phone_encrypted FROM messages")).scalar()
    assert "13800131234" not in str(db.session.execute(sa.text("SELECT * FROM messages")).all())
    assert decrypt_phone(raw) == "13800131234"
    assert masked_phone(message) == "138****1234"


def test_same_idempotency_key_returns_the_first_result(db, submit, make_resident, make_deputy):
    resident, deputy = make_resident(), make_deputy()
    first = submit(resident=resident, deputy=deputy, idempotency_key="retry-key-0001")
    again = submit(resident=resident, deputy=deputy, idempotency_key="retry-key-0001")
    assert not again.created
    assert again.message.id == first.message.id and again.lookup_code == first.lookup_code
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)) == 1


def test_same_key_for_a_different_message_is_refused(db, submit, make_resident, make_deputy):
    resident, deputy = make_resident(), make_deputy()
    submit(resident=resident, deputy=deputy, idempotency_key="retry-key-0002")
    with pytest.raises(ValidationFailed) as err:
        submit(resident=resident, deputy=deputy, idempotency_key="retry-key-0002",
               body="这是另外一件事情，和刚才的不一样。")
    assert err.value.code == "idempotency_conflict"
    with pytest.raises(ValidationFailed):
        submit(resident=make_resident(), deputy=deputy, idempotency_key="retry-key-0002")


def test_inactive_deputy_and_deputy_without_station(db, submit, make_deputy):
    with pytest.raises(NotFound):
        submit(deputy=make_deputy(is_active=False))
    with pytest.raises(ValidationFailed) as err:
        submit(deputy=make_deputy(stations=[]))
    assert "deputy" in err.value.errors


def test_word_list_holds_for_a_liaison_and_keeps_everything(db, submit, make_station, make_deputy,
                                                           liaison_of):
    station = make_station()
    liaison = liaison_of(station)
    add_rule("发票", "广告")
    message = submit(deputy=make_deputy(stations=[station]), body="代开发票，联系微信").message
    assert message.status == "held" and "广告" in message.hold_reason
    assert message.body == "代开发票，联系微信"
    topics = {(n.topic, n.recipient_kind, n.recipient_id)
              for n in db.session.scalars(db.select(Notification))}
    assert ("message.held", "staff", liaison.id) in topics
    assert not any(t == "message.new" for t, _, _ in topics)  # the deputy hears after release


def _sec_check(wechat, suggest, label=100):
    wechat.add(responses.POST, FAKE_WECHAT + "wxa/msg_sec_check",
               json={"errcode": 0, "errmsg": "ok", "trace_id": "t",
                     "result": {"suggest": suggest, "label": label}})


def test_wechat_sec_check_risky_is_held(wechat, db, submit, make_resident):
    _sec_check(wechat, "risky", 20003)
    message = submit(resident=make_resident(openid="o-123")).message
    assert message.status == "held" and "辱骂" in message.hold_reason


def test_wechat_sec_check_pass_goes_through(wechat, db, submit, make_resident):
    _sec_check(wechat, "pass")
    assert submit(resident=make_resident(openid="o-123")).message.status == "new"


def test_wechat_down_never_loses_the_message(wechat, db, submit, make_resident):
    wechat.add(responses.POST, FAKE_WECHAT + "wxa/msg_sec_check", status=502)
    message = submit(resident=make_resident(openid="o-123")).message
    assert message.status == "new"
    event = db.session.scalar(db.select(MessageEvent).filter_by(message_id=message.id))
    assert "暂不可用" in event.data["check_note"]


def _at(y, m, d, hh=10):
    return datetime(y, m, d, hh, tzinfo=LOCAL_TZ).astimezone(timezone.utc)


def test_friday_before_national_day_2026_is_due_on_the_right_days(db, submit):
    # Fri 25 Sep 2026 is the Mid-Autumn holiday (25–27), then National Day 1–7 Oct with
    # Sat 10 Oct worked: 2 working days → Tue 29 Sep; 15 → Thu 22 Oct.
    message = submit(now=_at(2026, 9, 25)).message
    assert message.ack_due_at.astimezone(LOCAL_TZ).date().isoformat() == "2026-09-29"
    assert message.answer_due_at.astimezone(LOCAL_TZ).date().isoformat() == "2026-10-22"
    # The last working day before the holiday: Wed 30 Sep → 8 and 9 Oct.
    message = submit(now=_at(2026, 9, 30)).message
    assert message.ack_due_at.astimezone(LOCAL_TZ).date().isoformat() == "2026-10-09"


def test_station_sets_its_own_clock(db, submit, make_station, make_deputy):
    station = make_station(ack_workdays=1, answer_workdays=5)
    message = submit(deputy=make_deputy(stations=[station]), now=_at(2026, 11, 23)).message
    assert message.ack_due_at.astimezone(LOCAL_TZ).date().isoformat() == "2026-11-24"
    assert message.answer_due_at.astimezone(LOCAL_TZ).date().isoformat() == "2026-11-30"


def test_2027_without_a_holiday_table_warns_and_counts_weekdays(db, submit, caplog):
    caplog.set_level("WARNING", logger="lianxin.workdays")
    from backend.workdays import calendar as workdays
    workdays._warned_years.discard(2027)
    message = submit(now=_at(2027, 1, 4)).message  # a Monday
    assert message.ack_due_at.astimezone(LOCAL_TZ).date().isoformat() == "2027-01-06"
    assert any("2027" in r.getMessage() for r in caplog.records)


def test_lookup_code_is_stable_per_message(app, db, submit):
    result = submit()
    assert lookup_code(result.message.id) == result.lookup_code


def test_many_threads_same_key_make_exactly_one_message(app, db, postgres_only, make_resident,
                                                       make_deputy):
    resident, deputy = make_resident(), make_deputy()
    db.session.commit()
    resident_id, deputy_id = resident.id, deputy.id
    key = uuid.uuid4().hex

    def send():
        from backend.org.models import Deputy
        from backend.accounts.resident_model import Resident
        result = submit_message(
            resident=db.session.get(Resident, resident_id), deputy=db.session.get(Deputy, deputy_id),
            body="同一条留言在网络不好时被重复提交了好几次。", idempotency_key=key)
        return result.message.id, result.created

    outcomes = at_once(app, *[send] * 8)
    errors = [o for o in outcomes if isinstance(o, Exception)]
    results = [o for o in outcomes if not isinstance(o, Exception)]
    assert errors == []
    assert len({mid for mid, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)) == 1


def test_a_retry_aimed_elsewhere_is_not_taken_for_the_first(db, submit, make_resident, make_deputy):
    resident = make_resident()
    first, other = make_deputy(), make_deputy()
    submit(resident=resident, deputy=first, idempotency_key="retry-key-0003")
    with pytest.raises(ValidationFailed) as err:
        submit(resident=resident, deputy=other, idempotency_key="retry-key-0003")
    assert err.value.code == "idempotency_conflict"


def test_held_message_is_not_shown_to_the_deputy_until_released(db, submit, make_station,
                                                               make_deputy, deputy_user,
                                                               liaison_of):
    from backend.messages import policy as message_policy
    from backend.messages.operations import release
    station = make_station()
    deputy = make_deputy(stations=[station])
    add_rule("刷单")
    held = submit(deputy=deputy, body="刷单兼职日结，加我").message
    user = deputy_user(deputy)
    assert not message_policy.can_view(user, held)
    release(held, actor=liaison_of(station))
    assert message_policy.can_view(user, held)


def test_a_retry_whose_photos_the_first_try_took_gets_the_first_receipt(db, submit,
                                                                       make_resident, make_deputy):
    from backend.messages.operations import add_photo
    resident, deputy = make_resident(), make_deputy()
    photo = add_photo(resident=resident, storage_key="messages/x.jpg", width=10, height=10,
                      size_bytes=100)
    first = submit(resident=resident, deputy=deputy, idempotency_key="retry-photo-0001",
                   photo_ids=[photo.id])
    db.session.commit()
    again = submit(resident=resident, deputy=deputy, idempotency_key="retry-photo-0001",
                   photo_ids=[photo.id])
    assert not again.created and again.message.id == first.message.id
    assert [p.id for p in again.message.photos] == [photo.id]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)) == 1


def test_a_retry_after_the_deputy_was_deactivated_gets_the_first_receipt(db, submit,
                                                                        make_resident, make_deputy):
    resident, deputy = make_resident(), make_deputy()
    first = submit(resident=resident, deputy=deputy, idempotency_key="retry-gone-0001")
    deputy.is_active = False
    db.session.commit()
    again = submit(resident=resident, deputy=deputy, idempotency_key="retry-gone-0001")
    assert not again.created and again.message.id == first.message.id
    with pytest.raises(NotFound):  # a new message to that deputy is refused
        submit(resident=resident, deputy=deputy, idempotency_key="retry-gone-0002")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)) == 1

