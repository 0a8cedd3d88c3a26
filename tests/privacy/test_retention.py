"""Retention (issue #12): messages never turned into a suggestion lose their writer's phone,
photos (files too) and link after RETENTION_MONTHS, counted from midnight in Beijing; a dry
run changes nothing; one audit row per run; a second run finds nothing more."""
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from backend.accounts.resident_model import Resident
from backend.core.audit_model import AuditEvent
from backend.core.protect import phone_fields
from backend.messages.models import Message, MessagePhoto
from backend.reception.models import Appointment

TODAY = date(2026, 12, 3)  # cut-off: 2024-12-03 00:00 Beijing = 2024-12-02 16:00 UTC
NOW = datetime(2026, 12, 3, 1, 0, tzinfo=timezone.utc)
LAST_MINUTE_BEFORE = datetime(2024, 12, 2, 15, 59, tzinfo=timezone.utc)  # Beijing 12-02 23:59
FIRST_MINUTE_AFTER = datetime(2024, 12, 2, 16, 0, tzinfo=timezone.utc)  # Beijing 12-03 00:00
LONG_AGO = datetime(2024, 6, 1, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def cases(db, pd_write, pd_deputy, make_resident):
    from types import SimpleNamespace

    from backend.suggestions.models import Suggestion
    idle = make_resident(web_key="k" * 43, created_at=LONG_AGO)
    recent_writer = make_resident(web_key="r" * 43, created_at=LONG_AGO)
    c = SimpleNamespace(
        due=pd_write(LAST_MINUTE_BEFORE, resident=idle, status="closed"),
        boundary=pd_write(FIRST_MINUTE_AFTER, resident=recent_writer, status="closed"),
        in_suggestion=pd_write(LONG_AGO, status="closed"),
        still_open=pd_write(LONG_AGO, status="acknowledged"),
        idle=idle, recent_writer=recent_writer)
    db.session.add(Suggestion(deputy_id=pd_deputy.id, status="answered", title="关于修复路灯的建议",
                              messages=[c.in_suggestion]))
    c.old_booking = Appointment(
        kind="request", code="RETAIN01", resident_id=idle.id, station_id=c.due.station_id,
        status="declined", topic="想谈谈小区加装电梯", contact_name="陈阿姨", created_at=LONG_AGO,
        **phone_fields("13900139000"))
    db.session.add(c.old_booking)
    db.session.commit()
    return c


def _state(db):
    db.session.expire_all()
    messages = db.session.execute(sa.select(
        Message.id, Message.resident_id, Message.phone_encrypted, Message.phone_index,
        Message.phone_last4, Message.anonymised_at, Message.body).order_by(Message.id)).all()
    residents = db.session.execute(sa.select(
        Resident.id, Resident.web_key, Resident.anonymised_at).order_by(Resident.id)).all()
    bookings = db.session.execute(sa.select(
        Appointment.id, Appointment.contact_name, Appointment.phone_encrypted)).all()
    photos = db.session.scalar(sa.select(sa.func.count()).select_from(MessagePhoto))
    audits = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    return messages, residents, bookings, photos, audits


def test_dry_run_lists_counts_and_ids_and_changes_nothing(app, db, cases, photo_files):
    before = _state(db)
    result = app.test_cli_runner().invoke(
        args=["privacy", "retain", "--dry-run", "--date", TODAY.isoformat()])
    assert result.exit_code == 0, result.output
    assert "试运行" in result.output
    assert f"留言 1 个：{cases.due.id}" in result.output
    assert f"预约 1 个：{cases.old_booking.id}" in result.output
    assert f"居民 1 个：{cases.idle.id}" in result.output
    assert "13800138000" not in result.output and "0013" not in result.output
    assert _state(db) == before
    assert all(photo_files([cases.due.id])[1])


def test_the_job_anonymises_what_is_due_and_keeps_the_rest(app, db, cases, photo_files):
    from backend.jobs.scheduler import run_job
    due_keys, exists = photo_files([cases.due.id])
    assert due_keys and all(exists)
    kept_keys, _ = photo_files([cases.boundary.id, cases.in_suggestion.id, cases.still_open.id])

    assert run_job("privacy.retention", today=TODAY, now=NOW) == "done"

    db.session.expire_all()
    due = db.session.get(Message, cases.due.id)
    assert due.resident_id is None and due.phone_encrypted is None and due.phone_index is None
    assert due.phone_last4 == "" and due.anonymised_at is not None
    assert due.body == "小区门口的路灯坏了一个多月，晚上很不安全。"  # text kept for the figures
    assert photo_files([cases.due.id]) == ([], [])
    from backend.core.adapters import get_storage
    assert not any(get_storage().exists(k) for k in due_keys), "photo files must be gone"
    for kept in (cases.boundary, cases.in_suggestion, cases.still_open):
        row = db.session.get(Message, kept.id)
        assert row.phone_encrypted and row.resident_id and row.anonymised_at is None
    assert all(get_storage().exists(k) for k in kept_keys)

    booking = db.session.get(Appointment, cases.old_booking.id)
    assert booking.contact_name == "" and booking.phone_encrypted is None
    idle = db.session.get(Resident, cases.idle.id)
    assert idle.web_key is None and idle.anonymised_at is not None
    assert db.session.get(Resident, cases.recent_writer.id).web_key == "r" * 43

    audit = db.session.scalars(sa.select(AuditEvent).filter_by(action="privacy.retention")).all()
    assert len(audit) == 1
    assert {k: audit[0].after[k] for k in ("messages", "photos", "appointments", "residents")} == {
        "messages": 1, "photos": 1, "appointments": 1, "residents": 1}
    assert audit[0].after["cutoff"].startswith("2024-12-03T00:00:00+08:00")


def test_a_second_run_finds_nothing_more(app, db, cases):
    from backend.privacy.retention import retain
    first = retain(TODAY, NOW)
    db.session.commit()
    after_first = _state(db)
    second = retain(TODAY, NOW)
    db.session.commit()
    assert (first.messages, first.residents) == (1, 1)
    assert (second.messages, second.photos, second.appointments, second.residents) == (0, 0, 0, 0)
    messages, residents, bookings, photos, audits = _state(db)
    assert (messages, residents, bookings, photos) == after_first[:4]
    assert audits == after_first[4] + 1  # one audit row per run, even an empty one


def test_the_period_is_the_office_setting(app, db, cases):
    from backend.privacy.retention import plan, cutoff
    app.config["RETENTION_MONTHS"] = 12
    try:
        ids = plan(cutoff(TODAY)).messages
    finally:
        app.config["RETENTION_MONTHS"] = 24
    assert cases.boundary.id in ids and cases.due.id in ids


def test_batches_carry_on_to_the_end(db, pd_write):
    from backend.privacy.retention import retain
    written = [pd_write(LONG_AGO, status="closed", photo=False) for _ in range(5)]
    db.session.commit()
    assert retain(TODAY, NOW, batch=2).messages == 5
    db.session.expire_all()
    assert all(db.session.get(Message, m.id).anonymised_at for m in written)


def test_a_message_made_a_project_proposal_and_a_resident_with_a_booking_ahead_are_kept(
        db, pd_write, make_resident, make_staff, district):
    from backend.privacy.retention import cutoff, plan
    from backend.projects import collection
    office = make_staff("admin")
    liaison = make_staff("liaison", stations=[district.station_a])
    round_ = collection.open_round(year=2027, theme="办好身边小事", categories=["交通"], actor=office)
    proposed = pd_write(LONG_AGO, status="closed", photo=False)
    collection.propose_from_message(round_, proposed, {
        "title": "修复小区门口路灯", "reason": "晚上出行不安全", "category": "交通"}, actor=liaison)
    booked = make_resident(created_at=LONG_AGO)
    pd_write(LONG_AGO, resident=booked, status="closed", photo=False)
    db.session.add(Appointment(kind="request", code="RETAIN02", resident_id=booked.id,
                               station_id=district.station_a.id, status="requested",
                               topic="想当面谈谈路灯的事", created_at=LONG_AGO))
    db.session.flush()
    work = plan(cutoff(TODAY))
    assert proposed.id not in work.messages
    assert booked.id not in work.residents  # the booking still needs them
