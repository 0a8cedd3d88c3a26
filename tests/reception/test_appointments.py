"""Appointments at the operation level: seats as a hard limit, the waitlist, the cancel
cut-off, check-in, no-shows, meetings outside reception days and idempotent reminders."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.core.errors import Forbidden, InvalidState, NotFound, ValidationFailed
from backend.reception.models import Appointment, ReceptionRule, ReceptionSlot
from backend.core.audit_model import AuditEvent
from backend.notifications.models import Notification
from backend.reception import appointments as ops
from tests.conftest import at_once


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _query(topic, **kw):
    from backend.core.extensions import db
    return db.session.scalars(sa.select(Notification).filter_by(topic=topic, **kw)
                              .order_by(Notification.id)).all()


# ---- booking ----

def test_book_takes_a_seat_with_a_deputy_on_duty(db, appt_world, appt_book, make_resident):
    resident = make_resident()
    a = appt_book(appt_world, resident=resident, deputy=appt_world.zhang,
                  contact_name="陈阿姨", phone="138 0013 1234")
    assert a.status == "booked" and a.kind == "slot" and a.deputy_id == appt_world.zhang.id
    assert appt_world.slots[0].booked == 1
    assert len(a.code) == 8 and set(a.code) <= set(ops.LOOKUP_ALPHABET)
    assert ops.masked_phone(a) == "138****1234" and "13800131234" not in a.phone_encrypted
    assert _query("appointment.booked", recipient_id=resident.id)
    audit = db.session.scalars(sa.select(AuditEvent).filter_by(object_type="appointments",
                                                              object_id=a.id)).one()
    assert audit.action == "appointment.booked" and audit.actor_label == "居民"


def test_book_with_the_station_and_codes_differ(appt_world, appt_book):
    codes = {appt_book(appt_world, deputy=None).code for _ in range(2)}
    assert len(codes) == 2


@pytest.mark.parametrize("kw, field", [
    ({"topic": "电"}, "topic"),
    ({"topic": "事" * 201}, "topic"),
    ({"phone": "12345"}, "phone"),
    ({"contact_name": "名" * 41}, "contact_name"),
    ({"slot": None}, "slot_id"),
])
def test_book_refuses_bad_input_in_chinese(db, appt_world, appt_book, kw, field):
    with pytest.raises(ValidationFailed) as err:
        appt_book(appt_world, **kw)
    assert all(_is_chinese(m) for m in err.value.errors[field])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 0


def test_book_refuses_a_deputy_not_on_duty(appt_world, appt_book):
    with pytest.raises(ValidationFailed) as err:
        appt_book(appt_world, deputy=appt_world.wang)
    assert err.value.errors["deputy_id"] == ["这位代表当天不值班，请重新选择"]


def test_book_refuses_a_started_slot_and_a_cancelled_day(db, appt_world, appt_book, appt_at):
    with pytest.raises(ValidationFailed) as err:
        appt_book(appt_world, now=appt_at(appt_world.day, "09:05"))
    assert "已经开始" in err.value.errors["slot_id"][0]
    appt_world.day.status, appt_world.day.cancel_reason = "cancelled", "场地维修"
    with pytest.raises(InvalidState) as err:
        appt_book(appt_world)
    assert err.value.code == "day_cancelled" and "场地维修" in err.value.message


def test_one_live_booking_per_resident_and_day(appt_world, appt_book, make_resident):
    resident = make_resident()
    appt_book(appt_world, resident=resident, slot=0)
    with pytest.raises(InvalidState) as err:
        appt_book(appt_world, resident=resident, slot=1)
    assert err.value.code == "already_booked_that_day"
    assert appt_world.slots[1].booked == 0


def test_a_full_slot_refuses_with_slot_full(db, appt_world, appt_book):
    appt_book(appt_world, slot=2)
    with pytest.raises(ops.SlotFull) as err:
        appt_book(appt_world, slot=2)
    assert err.value.code == "slot_full"
    assert err.value.message == "该时段已约满，您可以选择其他时段或登记候补"
    assert appt_world.slots[2].booked == 1


def test_the_database_refuses_one_seat_too_many(db, appt_world):
    slot = appt_world.slots[2]
    db.session.commit()
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.update(ReceptionSlot).where(ReceptionSlot.id == slot.id)
                           .values(booked=slot.capacity + 1))
    db.session.rollback()


def _race(app, n, work):
    """Run `work(i)` in n threads at once (tests/conftest.py at_once); returns (results, errors)."""
    outcomes = at_once(app, *(lambda i=i: work(i) for i in range(n)))
    errors = [o for o in outcomes if isinstance(o, Exception)]
    return [o for o in outcomes if not isinstance(o, Exception)], errors


def test_last_seat_race_between_threads(app, db, postgres_only, appt_world, make_resident,
                                        appt_at):
    slot = appt_world.slots[0]  # 2 seats, one taken already
    slot.booked = 1
    residents = [make_resident().id for _ in range(10)]
    day_id, slot_id, now = appt_world.day.id, slot.id, appt_at(appt_world.day, "10:00", days=-1)
    db.session.commit()

    def work(i):
        from backend.core.extensions import db as tdb
        from backend.reception.models import ReceptionDay
        from backend.accounts.resident_model import Resident
        return ops.book(resident=tdb.session.get(Resident, residents[i]),
                        day=tdb.session.get(ReceptionDay, day_id),
                        slot=tdb.session.get(ReceptionSlot, slot_id), topic="最后一个名额", now=now).id

    results, errors = _race(app, 10, work)
    assert len(results) == 1
    assert len(errors) == 9 and all(isinstance(e, ops.SlotFull) for e in errors), errors
    db.session.rollback()
    assert db.session.get(ReceptionSlot, slot_id).booked == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 1


def test_double_tap_by_one_resident_books_once(app, db, postgres_only, appt_world, make_resident,
                                               appt_at):
    resident_id = make_resident().id
    day_id, slot_ids = appt_world.day.id, [s.id for s in appt_world.slots[:2]]
    now = appt_at(appt_world.day, "10:00", days=-1)
    db.session.commit()

    def work(i):
        from backend.core.extensions import db as tdb
        from backend.reception.models import ReceptionDay
        from backend.accounts.resident_model import Resident
        return ops.book(resident=tdb.session.get(Resident, resident_id),
                        day=tdb.session.get(ReceptionDay, day_id),
                        slot=tdb.session.get(ReceptionSlot, slot_ids[i]), topic="同一个人点了两次",
                        now=now).id

    results, errors = _race(app, 2, work)
    assert len(results) == 1 and [e.code for e in errors] == ["already_booked_that_day"]
    db.session.rollback()
    assert sum(db.session.get(ReceptionSlot, i).booked for i in slot_ids) == 1


# ---- waitlist and cancelling ----

def test_waitlist_only_for_a_full_slot(appt_world, make_resident, appt_at):
    with pytest.raises(InvalidState) as err:
        ops.join_waitlist(resident=make_resident(), day=appt_world.day, slot=appt_world.slots[2],
                          topic="想排队", now=appt_at(appt_world.day, "10:00", days=-2))
    assert err.value.code == "seats_available"


def test_cancel_frees_the_seat_and_promotes_the_first_waiting(db, appt_world, appt_book,
                                                              make_resident, appt_at):
    now = appt_at(appt_world.day, "10:00", days=-2)
    first = appt_book(appt_world, slot=2)
    waiters = [ops.join_waitlist(resident=make_resident(), day=appt_world.day,
                                 slot=appt_world.slots[2], topic=f"候补{i}", now=now)
               for i in range(2)]
    assert all(w.status == "waitlisted" and w.slot_id == appt_world.slots[2].id for w in waiters)

    ops.cancel(first, by_resident=first.resident, now=now)
    assert first.status == "cancelled"
    assert [w.status for w in waiters] == ["booked", "waitlisted"]
    assert appt_world.slots[2].booked == 1
    promoted = _query("appointment.promoted")
    assert [(n.recipient_id, n.title) for n in promoted] == [
        (waiters[0].resident_id, "您候补的接待时段有空位，已为您预约成功")]
    assert _query("appointment.cancelled", recipient_id=first.resident_id)


def test_a_day_waitlist_takes_any_freed_slot(db, appt_world, appt_book, make_resident, appt_at):
    now = appt_at(appt_world.day, "10:00", days=-2)
    booked = [appt_book(appt_world, slot=i) for i in (0, 0, 1, 1, 2)]
    waiter = ops.join_waitlist(resident=make_resident(), day=appt_world.day, topic="哪个时段都行",
                               now=now)
    assert waiter.slot_id is None
    ops.cancel(booked[2], by_resident=booked[2].resident, now=now)
    assert waiter.status == "booked" and waiter.slot_id == appt_world.slots[1].id
    assert appt_world.slots[1].booked == 2


def test_resident_cancel_cut_off(db, appt_world, appt_book, appt_at):
    db.session.add(ReceptionRule(station_id=appt_world.station.id, cancel_cutoff_hours=48))
    a = appt_book(appt_world, slot=0)  # 09:00
    late = appt_at(appt_world.day, "09:00", days=-2)  # exactly 48 hours before
    assert ops.cancel_deadline(a) == late
    assert not ops.resident_can_cancel(a, late)
    with pytest.raises(InvalidState) as err:
        ops.cancel(a, by_resident=a.resident, now=late)
    assert err.value.code == "cancel_too_late" and "不足48小时" in err.value.message
    assert a.status == "booked"
    ops.cancel(a, by_resident=a.resident, now=late - timedelta(minutes=1))
    assert a.status == "cancelled" and appt_world.slots[0].booked == 0


def test_only_the_owner_cancels_and_only_once(appt_world, appt_book, make_resident, appt_at):
    a = appt_book(appt_world)
    with pytest.raises(Forbidden):
        ops.cancel(a, by_resident=make_resident(), now=appt_at(appt_world.day, "08:00", days=-2))
    ops.cancel(a, by_resident=a.resident, now=appt_at(appt_world.day, "08:00", days=-2))
    with pytest.raises(InvalidState):
        ops.cancel(a, by_resident=a.resident, now=appt_at(appt_world.day, "08:00", days=-2))
    assert appt_world.slots[0].booked == 0


def test_staff_cancel_any_time_with_a_reason(db, appt_world, appt_book, appt_at, make_staff):
    liaison = make_staff("liaison", stations=[appt_world.station])
    a = appt_book(appt_world)
    during = appt_at(appt_world.day, "08:30")
    with pytest.raises(ValidationFailed) as err:
        ops.cancel(a, by_staff=liaison, reason=" ", now=during)
    assert "reason" in err.value.errors
    ops.cancel(a, by_staff=liaison, reason="代表临时有公务", now=during)
    assert (a.status, a.cancel_reason, a.cancelled_by_id) == ("cancelled", "代表临时有公务", liaison.id)
    note = _query("appointment.cancelled", recipient_id=a.resident_id)[-1]
    assert note.title == "您的预约已被取消" and note.body == "代表临时有公务"
    other = make_staff("liaison", stations=[])
    with pytest.raises(Forbidden):
        ops.cancel(appt_book(appt_world), by_staff=other, reason="不是我的站", now=during)


# ---- at the station ----

def test_check_in_by_code_only_on_the_day_by_the_station(db, appt_world, appt_book, appt_at,
                                                         make_staff, make_station):
    liaison = make_staff("liaison", stations=[appt_world.station])
    stranger = make_staff("liaison", stations=[make_station()])
    a = appt_book(appt_world)
    spaced = f" {a.code[:4].lower()} {a.code[4:]} "
    with pytest.raises(InvalidState) as err:
        ops.check_in(spaced, actor=liaison, now=appt_at(appt_world.day, "18:00", days=-1))
    assert err.value.code == "not_reception_day"
    with pytest.raises(Forbidden):
        ops.check_in(a.code, actor=stranger, now=appt_at(appt_world.day, "08:50"))
    with pytest.raises(NotFound):
        ops.check_in("ZZZZZZZZ", actor=liaison, now=appt_at(appt_world.day, "08:50"))
    ops.check_in(spaced, actor=liaison, day=appt_world.day, now=appt_at(appt_world.day, "08:50"))
    assert a.status == "checked_in" and a.checked_in_at == appt_at(appt_world.day, "08:50")
    with pytest.raises(InvalidState):
        ops.check_in(a.code, actor=liaison, now=appt_at(appt_world.day, "08:55"))
    assert db.session.scalars(sa.select(AuditEvent.action).filter_by(
        object_type="appointments", object_id=a.id, actor_id=liaison.id)).all() == ["appointment.check_in"]


def test_no_show_only_after_the_slot(appt_world, appt_book, appt_at, make_staff):
    liaison = make_staff("liaison", stations=[appt_world.station])
    a = appt_book(appt_world)  # 09:00–09:30
    with pytest.raises(InvalidState) as err:
        ops.mark_no_show(a, actor=liaison, now=appt_at(appt_world.day, "09:20"))
    assert err.value.code == "slot_not_over"
    ops.mark_no_show(a, actor=liaison, now=appt_at(appt_world.day, "09:30"))
    assert a.status == "no_show"


# ---- meetings outside reception days ----

@pytest.fixture
def meeting(appt_world, make_resident, appt_at):
    def ask(deputy=None):
        return ops.request_meeting(
            resident=make_resident(), station=appt_world.station, deputy=deputy,
            topic="想当面说说小区停车难", requested_at=appt_at(appt_world.day, "15:00", days=-3),
            now=appt_at(appt_world.day, "09:00", days=-5))
    return ask


def test_request_notifies_the_deputy_or_the_liaisons(appt_world, meeting, make_staff):
    liaison = make_staff("liaison", stations=[appt_world.station])
    to_deputy = meeting(appt_world.wang)  # any deputy of the station, on duty or not
    assert to_deputy.status == "requested" and to_deputy.kind == "request"
    assert [n.recipient_kind for n in _query("meeting.requested")] == ["deputy"]
    meeting(None)
    assert [(n.recipient_kind, n.recipient_id) for n in _query("meeting.requested")][1:] == [
        ("staff", liaison.id)]


def test_request_validates_deputy_and_time(appt_world, make_resident, appt_at, make_deputy):
    now = appt_at(appt_world.day, "09:00", days=-5)
    with pytest.raises(ValidationFailed) as err:
        ops.request_meeting(resident=make_resident(), station=appt_world.station,
                            deputy=make_deputy(), topic="停车", requested_at=now - timedelta(hours=1),
                            now=now)
    assert set(err.value.errors) == {"deputy_id", "requested_at"}


def test_deputy_accepts_a_meeting(appt_world, meeting, make_staff, appt_at):
    a = meeting(appt_world.wang)
    other_deputy = make_staff("deputy", deputy=appt_world.zhang)
    with pytest.raises(Forbidden):
        ops.accept_meeting(a, actor=other_deputy, now=appt_at(appt_world.day, "09:00", days=-4))
    ops.accept_meeting(a, actor=make_staff("deputy", deputy=appt_world.wang),
                       now=appt_at(appt_world.day, "09:00", days=-4))
    assert a.status == "accepted" and ops.meeting_time(a) == a.requested_at
    assert _query("meeting.accepted", recipient_id=a.resident_id)[0].title == "您的约见已确认"


def test_liaison_proposes_and_resident_accepts(appt_world, meeting, make_staff, appt_at):
    a = meeting()
    liaison = make_staff("liaison", stations=[appt_world.station])
    other = appt_at(appt_world.day, "10:00", days=-2)
    ops.propose_time(a, other, actor=liaison, note="那天代表在区里开会",
                     now=appt_at(appt_world.day, "09:00", days=-4))
    assert (a.status, a.proposed_at, a.answer_note) == ("proposed", other, "那天代表在区里开会")
    assert _query("meeting.proposed", recipient_id=a.resident_id)
    ops.accept_proposal(a, resident=a.resident, now=appt_at(appt_world.day, "09:00", days=-3))
    assert a.status == "accepted" and ops.meeting_time(a) == other


def test_resident_may_cancel_a_proposal_and_a_meeting_is_declined_with_a_reason(
        appt_world, meeting, make_staff, appt_at):
    liaison = make_staff("liaison", stations=[appt_world.station])
    now = appt_at(appt_world.day, "09:00", days=-4)
    proposed = ops.propose_time(meeting(), appt_at(appt_world.day, "10:00", days=-2),
                                actor=liaison, now=now)
    ops.cancel(proposed, by_resident=proposed.resident, now=now)
    assert proposed.status == "cancelled"

    a = meeting()
    with pytest.raises(ValidationFailed):
        ops.decline_meeting(a, "", actor=liaison)
    ops.decline_meeting(a, "此事请向街道城管科反映", actor=liaison)
    assert (a.status, a.answer_note) == ("declined", "此事请向街道城管科反映")
    assert _query("meeting.declined", recipient_id=a.resident_id)[0].body == "此事请向街道城管科反映"
    with pytest.raises(InvalidState):
        ops.accept_meeting(a, actor=liaison, now=now)


# ---- reminders ----

def test_day_before_reminders_are_sent_once(db, appt_world, appt_book, make_resident, appt_at,
                                            make_staff, make_deputy):
    to_zhang = appt_book(appt_world, slot=0, deputy=appt_world.zhang, topic="老旧小区改造")
    to_station = appt_book(appt_world, slot=1, topic="公交线路调整")
    cancelled = appt_book(appt_world, slot=2)
    earlier = appt_at(appt_world.day, "08:00", days=-2)
    ops.join_waitlist(resident=make_resident(), day=appt_world.day, slot=appt_world.slots[2],
                      topic="候补的人", now=earlier)
    ops.cancel(cancelled, by_resident=cancelled.resident, now=earlier)  # the waiter moves up
    db.session.commit()

    day_date = appt_world.day.date
    first = ops.send_day_before_reminders(day_date)
    db.session.commit()
    again = ops.send_day_before_reminders(day_date)
    db.session.commit()
    assert first == ops.ReminderCounts(residents=3, deputies=2)
    assert again == ops.ReminderCounts(0, 0)
    reminded = {n.subject_id for n in _query("appointment.day_before")}
    assert to_zhang.id in reminded and to_station.id in reminded and cancelled.id not in reminded

    lists = {n.recipient_id: n for n in _query("appointment.duty_list")}
    assert set(lists) == {appt_world.zhang.id, appt_world.li.id}
    assert "09:00 老旧小区改造（约您）" in lists[appt_world.zhang.id].body
    assert "09:30 公交线路调整" in lists[appt_world.li.id].body
    assert "（约您）" not in lists[appt_world.li.id].body
    assert lists[appt_world.zhang.id].title.endswith("已有3位居民预约")


def test_morning_reminders_are_sent_once_and_only_for_that_date(db, appt_world, appt_book):
    appt_book(appt_world)
    assert ops.send_morning_reminders(appt_world.day.date + timedelta(days=1)).residents == 0
    assert ops.send_morning_reminders(appt_world.day.date).residents == 1
    assert ops.send_morning_reminders(appt_world.day.date).residents == 0
    assert ops.send_day_before_reminders(appt_world.day.date).residents == 1  # another topic
