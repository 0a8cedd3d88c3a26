"""Seeing a resident's full phone number: the user says why (kept in the audit row), and one
user may look at most PHONE_REVEALS_PER_HOUR times an hour, on the portal and in the
mini-program together. A refusal changes nothing and says why in Chinese."""
from datetime import timedelta

import pytest

from backend.core.errors import RateLimited, ValidationFailed
from backend.core.audit_model import AuditEvent
from backend.messages import operations as ops
from backend.core.timeutil import utcnow
from tests.conftest import csrf_token

REASON = "电话回访居民，核实路灯位置"


@pytest.fixture
def case(db, submit, make_station, make_deputy, deputy_user, liaison_of):
    class Case:
        pass
    c = Case()
    c.station = make_station()
    c.deputy = make_deputy(stations=[c.station])
    c.deputy_user = deputy_user(c.deputy)
    c.liaison = liaison_of(c.station)
    c.message = submit(deputy=c.deputy, phone="13800131234").message
    db.session.commit()
    return c


@pytest.fixture
def per_hour(app, monkeypatch):
    monkeypatch.setitem(app.config, "PHONE_REVEALS_PER_HOUR", 3)
    return 3


def _reveals(db, actor=None):
    stmt = db.select(AuditEvent).filter_by(action="message.reveal_phone")
    if actor is not None:
        stmt = stmt.filter_by(actor_id=actor.id)
    return db.session.scalars(stmt.order_by(AuditEvent.id)).all()


def test_the_reason_is_kept_in_the_audit_row(db, case):
    assert ops.reveal_phone(case.message, reason=f"  {REASON} ", actor=case.liaison) \
        == "13800131234"
    [event] = _reveals(db)
    assert event.actor_id == case.liaison.id and event.after == {"reason": REASON}


@pytest.mark.parametrize("reason", ["", "   ", "看", "\u200b\u200b"])
def test_a_reveal_without_a_reason_is_refused(db, case, reason):
    with pytest.raises(ValidationFailed) as err:
        ops.reveal_phone(case.message, reason=reason, actor=case.liaison)
    assert err.value.code == "reveal_reason_required"
    assert err.value.errors == {"reason": ["请填写查看号码的原因（至少 2 个字）"]}
    assert _reveals(db) == []


def test_a_too_long_reason_is_refused(db, case):
    with pytest.raises(ValidationFailed) as err:
        ops.reveal_phone(case.message, reason="核" * 101, actor=case.liaison)
    assert err.value.code == "reveal_reason_too_long"
    assert _reveals(db) == []


def test_reveals_are_limited_per_user_per_hour(db, case, per_hour):
    for _ in range(per_hour):
        ops.reveal_phone(case.message, reason=REASON, actor=case.liaison)
    with pytest.raises(RateLimited) as err:
        ops.reveal_phone(case.message, reason=REASON, actor=case.liaison)
    assert err.value.code == "phone_reveal_limited" and err.value.status == 429
    assert "每小时最多查看 3 次" in err.value.message
    assert len(_reveals(db, case.liaison)) == per_hour  # the refused one left no row
    # Another user has their own budget.
    assert ops.reveal_phone(case.message, reason=REASON, actor=case.deputy_user)


def test_reveals_older_than_an_hour_no_longer_count(db, case, per_hour):
    for _ in range(per_hour):
        ops.reveal_phone(case.message, reason=REASON, actor=case.liaison)
    for event in _reveals(db, case.liaison):
        event.created_at = utcnow() - timedelta(minutes=61)
    db.session.flush()
    assert ops.reveal_phone(case.message, reason=REASON, actor=case.liaison) == "13800131234"


def test_the_staff_page_asks_for_a_reason_and_stops_at_the_limit(client, login, db, case,
                                                                 per_hour):
    login(case.liaison)
    url = f"/staff/messages/{case.message.id}"
    page = client.get(url).get_data(as_text=True)
    assert 'name="reason"' in page and "查看原因" in page
    token = csrf_token(client, url)
    missing = client.post(url + "/phone", data={"csrf_token": token}, follow_redirects=True)
    assert "请填写查看号码的原因" in missing.get_data(as_text=True)
    assert "13800131234" not in missing.get_data(as_text=True)
    for _ in range(per_hour):
        shown = client.post(url + "/phone", data={"csrf_token": token, "reason": REASON})
        assert 'href="tel:13800131234"' in shown.get_data(as_text=True)
    refused = client.post(url + "/phone", data={"csrf_token": token, "reason": REASON},
                          follow_redirects=True)
    body = refused.get_data(as_text=True)
    assert "每小时最多查看 3 次" in body and "13800131234" not in body
    assert [e.after for e in _reveals(db)] == [{"reason": REASON}] * per_hour


def test_the_mini_program_shares_the_budget_and_needs_a_reason(client, db, case, per_hour,
                                                               make_resident):
    from miniprogram_api.auth import session_for
    from tests.api.conftest import Api
    resident = make_resident(openid="o-liaison-reveal")
    case.liaison.wechat_openid = resident.openid
    db.session.commit()
    api, token = Api(client, db), session_for(resident, case.liaison)["token"]
    url = f"/liaison/messages/{case.message.id}/phone"
    missing = api.post(url, token, json={})
    assert missing.status_code == 422 and "reason" in missing.json["errors"]
    ops.reveal_phone(case.message, reason=REASON, actor=case.liaison)  # one on the portal
    db.session.commit()
    for _ in range(per_hour - 1):
        assert api.post(url, token, json={"reason": REASON}).json == {"phone": "13800131234"}
    refused = api.post(url, token, json={"reason": REASON})
    assert refused.status_code == 429 and refused.json["code"] == "phone_reveal_limited"
    assert len(_reveals(db)) == per_hour


def test_two_reveals_racing_for_the_last_one_in_the_hour_give_one_number(app, db, case,
                                                                           per_hour):
    from tests.conftest import at_once
    for _ in range(per_hour - 1):
        ops.reveal_phone(case.message, reason=REASON, actor=case.liaison)
    db.session.commit()
    message_id, liaison_id = case.message.id, case.liaison.id

    def reveal():
        from backend.messages.models import Message
        from backend.accounts.models import StaffUser
        return ops.reveal_phone(db.session.get(Message, message_id), reason=REASON,
                                actor=db.session.get(StaffUser, liaison_id))
    outcomes = at_once(app, reveal, reveal)
    assert sorted(o == "13800131234" for o in outcomes) == [False, True], outcomes
    db.session.rollback()  # end the test's own read snapshot (SQLite)
    assert len(_reveals(db, case.liaison)) == per_hour
