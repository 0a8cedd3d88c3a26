"""The blind index (issue #12): a keyed hash of the normalised phone, stored with every phone,
lets staff find a resident's messages by phone in one indexed equality, whatever way the
number is written, without decrypting a row; the migration fills it for rows written before."""
import re
import uuid

import pytest
import sqlalchemy as sa

from backend.core import protect
from backend.messages.models import Message
from backend.reception.models import Appointment

ITEM_RE = re.compile(r'data-testid="message-item" data-id="(\d+)"')


def test_one_number_one_index_however_it_is_written(app):
    variants = ("13800138000", "138 0013 8000", "+86 138-0013-8000", "+8613800138000")
    assert len({protect.phone_index(v) for v in variants}) == 1
    assert protect.phone_index("13800138001") != protect.phone_index("13800138000")
    assert protect.phone_index("路灯坏了") is None and protect.phone_index("12345") is None
    index = protect.phone_index("13800138000")
    assert "13800138000" not in index and len(index) == 64


def test_the_index_is_keyed(app, monkeypatch):
    first = protect.phone_index("13800138000")
    monkeypatch.setitem(app.config, "PHONE_INDEX_KEY", "another-key")
    assert protect.phone_index("13800138000") != first  # no rainbow table of phone numbers


def test_messages_and_bookings_store_it(db, pd_write, appt_world, appt_book):
    message = pd_write(phone="138 0013 8000")
    booking = appt_book(appt_world, phone="+86 138 0013 8000")
    assert message.phone_index == booking.phone_index == protect.phone_index("13800138000")
    assert pd_write(phone="").phone_index is None


@pytest.mark.parametrize("typed", ["13800138000", "+86 138 0013 8000", "138-0013-8000"])
def test_staff_find_a_residents_messages_by_phone_without_decrypting(
        client, db, district, pd_deputy, pd_write, make_deputy, make_staff, login, monkeypatch,
        typed):
    wanted = [pd_write(phone="13800138000"), pd_write(phone="+8613800138000", photo=False)]
    pd_write(phone="13800138001", photo=False)  # one digit apart
    pd_write(phone="", photo=False)
    # The number in the text is no phone of the writer's: not a hit.
    wanted_body = pd_write(phone="13900139000", photo=False)
    wanted_body.body = "请打13800138000联系物业"
    elsewhere = make_deputy(stations=[district.station_b])
    from backend.messages import operations as ops
    from backend.accounts.resident_model import Resident
    stranger = Resident()
    db.session.add(stranger)
    db.session.flush()
    ops.submit_message(resident=stranger, deputy=elsewhere, body="桂花坪的路灯也坏了很久了。",
                       phone="13800138000", idempotency_key=uuid.uuid4().hex)
    liaison = make_staff("liaison", stations=[district.station_a])
    login(liaison)

    def no_decrypting(*a, **kw):
        raise AssertionError("a search by phone must not decrypt")
    monkeypatch.setattr(protect, "_fernets", no_decrypting)
    html = client.get("/staff/messages", query_string={"q": typed, "status": "all"}).get_data(
        as_text=True)
    assert {int(i) for i in ITEM_RE.findall(html)} == {m.id for m in wanted}


def test_the_migration_fills_the_index_of_rows_written_before_it(app, db, pd_write, appt_world,
                                                                 appt_book):
    import importlib.util
    from pathlib import Path

    from alembic.migration import MigrationContext
    from alembic.operations import Operations
    message = pd_write(phone="13800138000", photo=False)
    booking = appt_book(appt_world, phone="13900139000")
    for model in (Message, Appointment):  # as rows written before the column existed
        db.session.execute(sa.update(model).values(phone_index=None))
    db.session.commit()
    path = next((Path(app.root_path).parent / "migrations" / "versions").glob("*_c4a9e2f7d813_*.py"))
    spec = importlib.util.spec_from_file_location("personal_data_migration", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with db.engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        migration._backfill("messages")
        migration._backfill("appointments")
    db.session.expire_all()
    assert db.session.get(Message, message.id).phone_index == protect.phone_index("13800138000")
    assert db.session.get(Appointment, booking.id).phone_index == protect.phone_index("13900139000")
