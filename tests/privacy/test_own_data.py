"""A resident's own data (issue #12): they see what is held (phones masked) on the portal's
我的信息 and in the mini-program, and can delete it after confirming; deletion anonymises
(bookings ahead cancelled, seats freed, photos' files gone, the resident tombstoned) while the
deputies' records and the figures stay as they were; nobody sees or deletes another's."""
import uuid

import pytest
import sqlalchemy as sa

from backend.accounts.resident_model import Resident
from backend.core.adapters import get_storage
from backend.core.audit_model import AuditEvent
from backend.core.timeutil import local_today
from backend.messages.models import Message, MessagePhoto
from backend.reception.models import Appointment, ReceptionSlot
from miniprogram_api.auth import session_for
from tests.conftest import csrf_token

KEY, OTHER_KEY = "a" * 43, "b" * 43


@pytest.fixture
def mine(db, pd_write, pd_deputy, make_resident, appt_world, appt_book):
    from types import SimpleNamespace
    me = make_resident(web_key=KEY, openid="o-me-123")
    other = make_resident(web_key=OTHER_KEY, openid="o-other-456")
    w = SimpleNamespace(me=me, other=other, deputy=pd_deputy, appt_world=appt_world)
    w.messages = [pd_write(resident=me), pd_write(resident=me, photo=False, phone="")]
    w.others_message = pd_write(resident=other, phone="13900139000")
    w.booking = appt_book(appt_world, resident=me, contact_name="陈阿姨", phone="+86 138 0013 8000")
    db.session.commit()
    return w


def _figures(deputy):
    from backend.records.dossier import deputy_record
    from backend.records.station_figures import year_figures
    year = local_today().year
    return repr(deputy_record(deputy, year)), repr(year_figures(year))


def _keys(db, message_ids):
    return list(db.session.scalars(sa.select(MessagePhoto.storage_key)
                                   .where(MessagePhoto.message_id.in_(message_ids))))


def _footprint(db):
    db.session.expire_all()
    return (db.session.execute(sa.select(Message.id, Message.resident_id, Message.phone_encrypted)
                               .order_by(Message.id)).all(),
            db.session.execute(sa.select(Resident.id, Resident.openid, Resident.web_key)
                               .order_by(Resident.id)).all(),
            db.session.execute(sa.select(Appointment.id, Appointment.status,
                                         Appointment.contact_name)).all(),
            db.session.scalar(sa.select(sa.func.count()).select_from(MessagePhoto)),
            db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)))


def test_holdings_list_only_mine_with_phones_masked(db, mine):
    from backend.privacy.own_data import holdings
    held = holdings(mine.me)
    assert sorted(m["id"] for m in held.messages) == sorted(m.id for m in mine.messages)
    assert {m["phone"] for m in held.messages} == {"138****8000", ""}
    assert [a["id"] for a in held.appointments] == [mine.booking.id]
    assert held.appointments[0]["phone"] == "138****8000"
    assert held.has_wechat


def test_portal_page_shows_mine_and_not_the_neighbours(client, db, mine):
    client.set_cookie("lx_resident", KEY)
    page = client.get("/my/data").get_data(as_text=True)
    assert "我的信息" in page and "138****8000" in page and "陈阿姨" in page
    assert "13800138000" not in page and "139****9000" not in page
    assert f"/m/{mine.messages[0].id}" in page and f"/m/{mine.others_message.id}" not in page
    assert 'data-confirm="确定要删除您的个人信息吗' in page
    stranger = client.application.test_client()
    assert "没有保存您的个人信息" in stranger.get("/my/data").get_data(as_text=True)
    mine_list = client.get("/my").get_data(as_text=True)
    assert 'href="/my/data"' in mine_list  # reached from 我的留言


def test_portal_delete_needs_the_confirmation_and_changes_nothing_without_it(client, db, mine):
    client.set_cookie("lx_resident", KEY)
    before = _footprint(db)
    resp = client.post("/my/data/delete", data={"csrf_token": csrf_token(client, "/my/data")})
    assert resp.status_code == 422
    assert "请确认您已了解删除的后果" in resp.get_data(as_text=True)
    assert _footprint(db) == before


def test_a_browser_without_data_cannot_delete_anything(client, db, mine):
    before = _footprint(db)
    from backend.org.codes import active_code
    stranger = client.application.test_client()
    token = csrf_token(stranger, f"/d/{active_code(mine.deputy).token}/write")  # any form's token
    resp = stranger.post("/my/data/delete", data={"confirm": "yes", "csrf_token": token})
    assert resp.status_code == 404
    assert _footprint(db) == before


def test_portal_delete_anonymises_frees_the_seat_and_keeps_the_figures(client, db, mine):
    client.set_cookie("lx_resident", KEY)
    figures_before = _figures(mine.deputy)
    slot_id = mine.booking.slot_id
    seats_before = db.session.get(ReceptionSlot, slot_id).booked
    keys = _keys(db, [m.id for m in mine.messages])
    assert keys and all(get_storage().exists(k) for k in keys)
    others_before = db.session.execute(sa.select(Message).filter_by(id=mine.others_message.id)
                                       ).scalar_one().phone_encrypted

    resp = client.post("/my/data/delete", data={
        "confirm": "yes", "csrf_token": csrf_token(client, "/my/data")})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/my/data?deleted=1")

    db.session.expire_all()
    me = db.session.get(Resident, mine.me.id)
    assert me.openid is None and me.web_key is None and me.anonymised_at is not None
    for m in mine.messages:
        row = db.session.get(Message, m.id)
        assert row.resident_id is None and row.phone_encrypted is None and row.phone_index is None
        assert row.body  # the deputy's record keeps the text
    assert not any(get_storage().exists(k) for k in keys) and _keys(db, [m.id for m in mine.messages]) == []
    booking = db.session.get(Appointment, mine.booking.id)
    assert booking.status == "cancelled" and booking.contact_name == "" and booking.phone_encrypted is None
    assert db.session.get(ReceptionSlot, slot_id).booked == seats_before - 1
    assert db.session.get(Message, mine.others_message.id).phone_encrypted == others_before
    assert db.session.get(Resident, mine.other.id).web_key == OTHER_KEY
    audit = db.session.scalars(sa.select(AuditEvent).filter_by(action="resident.delete_own_data")).one()
    assert audit.actor_label == "居民本人" and audit.object_id == mine.me.id
    assert audit.after == {"messages": 2, "photos": 1, "appointments": 1, "cancelled": 1}
    assert _figures(mine.deputy) == figures_before
    # The browser's cookie names no one now: the page says nothing is held.
    assert "没有保存您的个人信息" in client.get("/my/data?deleted=1").get_data(as_text=True)


def test_mini_program_sees_and_deletes_only_its_own(client, db, mine):
    tokens = {r.id: session_for(r)["token"] for r in (mine.me, mine.other)}

    def call(method, path, resident, **kw):
        db.session.commit()
        token = tokens[resident.id]  # issued before the deletion, as the phone still holds it
        resp = client.open(f"/api/mp/v1{path}", method=method,
                           headers={"Authorization": f"Bearer {token}"}, **kw)
        db.session.expire_all()
        return resp

    mine_data = call("GET", "/me/data", mine.me).json
    assert sorted(m["id"] for m in mine_data["messages"]) == sorted(m.id for m in mine.messages)
    assert mine_data["appointments"][0]["phone"] == "138****8000"
    theirs = call("GET", "/me/data", mine.other).json
    assert [m["id"] for m in theirs["messages"]] == [mine.others_message.id]

    before = _footprint(db)
    refused = call("POST", "/me/delete", mine.me, json={"confirm": False})
    assert refused.status_code == 422 and refused.json["code"] == "deletion_not_confirmed"
    assert _footprint(db) == before

    done = call("POST", "/me/delete", mine.me, json={"confirm": True})
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.json == {"messages": 2, "photos": 1, "appointments": 1, "cancelled": 1}
    # The token names no one now (tests/api/test_revoked_tokens.py); a second deletion that
    # raced past it finds the first done (test_a_double_tap_deletes_once_and_frees_the_seat_once).
    again = call("POST", "/me/delete", mine.me, json={"confirm": True})
    assert again.status_code == 401 and again.json["code"] == "token_revoked"
    assert db.session.get(Resident, mine.other.id).openid == "o-other-456"
    assert db.session.get(Message, mine.others_message.id).resident_id == mine.other.id


def test_a_double_tap_deletes_once_and_frees_the_seat_once(app, db, mine, postgres_only):
    from tests.conftest import at_once

    from backend.privacy.own_data import delete_own_data
    slot_id = mine.booking.slot_id
    seats_before = db.session.get(ReceptionSlot, slot_id).booked
    me_id = mine.me.id
    db.session.commit()

    def delete():
        return delete_own_data(db.session.get(Resident, me_id), confirmed=True)
    outcomes = at_once(app, delete, delete)

    codes = sorted(getattr(o, "code", "done") for o in outcomes)
    assert codes == ["already_deleted", "done"], outcomes
    db.session.expire_all()
    assert db.session.get(ReceptionSlot, slot_id).booked == seats_before - 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .filter_by(action="resident.delete_own_data")) == 1
