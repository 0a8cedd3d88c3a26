"""Field-key rotation (issue #12): FIELD_ENCRYPTION_KEY holds several keys, newest first;
`flask privacy rotate-keys` re-encrypts every encrypted field with the newest, batch by batch,
skipping what is done, so the old key can then be removed and every phone still reads."""
import sqlalchemy as sa
from cryptography.fernet import Fernet

from backend.core import protect
from backend.core.audit_model import AuditEvent
from backend.messages.models import Message
from backend.reception.models import Appointment

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def _tokens(db):
    db.session.expire_all()
    return (db.session.execute(sa.select(Message.id, Message.phone_encrypted)
                               .where(Message.phone_encrypted.is_not(None)).order_by(Message.id)).all()
            + db.session.execute(sa.select(Appointment.id, Appointment.phone_encrypted)
                                 .where(Appointment.phone_encrypted.is_not(None))).all())


def test_rotate_then_drop_the_old_key_and_everything_still_reads(app, db, monkeypatch, pd_write,
                                                                 appt_world, appt_book):
    monkeypatch.setitem(app.config, "FIELD_ENCRYPTION_KEY", OLD)
    phones = ["13800138000", "13900139000", "13700137000"]
    messages = [pd_write(phone=p, photo=False) for p in phones]
    booking = appt_book(appt_world, phone="13600136000")
    db.session.commit()

    monkeypatch.setitem(app.config, "FIELD_ENCRYPTION_KEY", f"{NEW}, {OLD}")
    # A row already under the new key (a run stopped half-way) is left as it is.
    messages[0].phone_encrypted = protect.encrypt_phone("13800138000")
    db.session.commit()
    untouched = messages[0].phone_encrypted
    result = app.test_cli_runner().invoke(args=["privacy", "rotate-keys", "--batch", "1"])
    assert result.exit_code == 0, result.output
    assert "重新加密 3 个字段，1 个已是新密钥" in result.output
    assert db.session.get(Message, messages[0].id).phone_encrypted == untouched

    monkeypatch.setitem(app.config, "FIELD_ENCRYPTION_KEY", NEW)  # the old key removed
    db.session.expire_all()
    assert [protect.decrypt_phone(db.session.get(Message, m.id).phone_encrypted)
            for m in messages] == phones
    assert protect.decrypt_phone(db.session.get(Appointment, booking.id).phone_encrypted) == \
        "13600136000"
    audit = db.session.scalars(sa.select(AuditEvent).filter_by(action="privacy.rotate_keys")).one()
    assert audit.after == {"rotated": 3, "current": 1, "unreadable": 0}


def test_without_rotation_the_old_key_cannot_simply_go(app, monkeypatch, db, pd_write):
    monkeypatch.setitem(app.config, "FIELD_ENCRYPTION_KEY", OLD)
    message = pd_write(phone="13800138000", photo=False)
    monkeypatch.setitem(app.config, "FIELD_ENCRYPTION_KEY", NEW)
    assert protect.decrypt_phone(message.phone_encrypted) is None


def test_a_value_no_key_opens_is_listed_and_left(app, db, monkeypatch, pd_write):
    monkeypatch.setitem(app.config, "FIELD_ENCRYPTION_KEY", OLD)
    message = pd_write(phone="13800138000", photo=False)
    db.session.commit()
    monkeypatch.setitem(app.config, "FIELD_ENCRYPTION_KEY", NEW)  # OLD lost before rotating
    before = _tokens(db)
    result = app.test_cli_runner().invoke(args=["privacy", "rotate-keys"])
    assert result.exit_code == 1
    assert f"无法解密：messages {message.id}" in result.output
    assert _tokens(db) == before
