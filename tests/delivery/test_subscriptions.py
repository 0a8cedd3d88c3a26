"""The subscribe-grant operation on its own: what counts, what is ignored, what is listed."""
import pytest
import sqlalchemy as sa

from backend.accounts.resident_model import SubscribeGrant
from backend.delivery.subscriptions import grants_for, record_grants


@pytest.fixture(autouse=True)
def templates(app, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_TEMPLATES", {
        "message.answered": "TPL-MSG", "message.rejected": "TPL-MSG",
        "reception.reminder": "TPL-REC"})


def _remaining(db, resident):
    return dict(db.session.execute(sa.select(SubscribeGrant.template_id, SubscribeGrant.remaining)
                                   .filter_by(resident_id=resident.id)).all())


def test_nothing_granted_lists_every_template_at_zero(make_resident):
    assert grants_for(make_resident()) == [
        {"template_id": "TPL-MSG", "topics": ["message.answered", "message.rejected"],
         "remaining": 0},
        {"template_id": "TPL-REC", "topics": ["reception.reminder"], "remaining": 0}]


def test_each_acceptance_counts_once_unknown_ones_are_ignored(db, make_resident):
    resident = make_resident()
    assert record_grants(resident, ["TPL-REC", "TPL-MSG", "TPL-MSG", "UNKNOWN"]) == [
        "TPL-MSG", "TPL-REC"]
    assert record_grants(resident, ["TPL-MSG"]) == ["TPL-MSG"]
    assert _remaining(db, resident) == {"TPL-MSG": 2, "TPL-REC": 1}
    assert [g["remaining"] for g in grants_for(resident)] == [2, 1]


def test_only_unknown_templates_change_nothing(db, make_resident):
    resident = make_resident()
    assert record_grants(resident, ["UNKNOWN", "OTHER"]) == []
    assert _remaining(db, resident) == {}


def test_no_templates_configured_counts_nothing(app, db, make_resident, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_TEMPLATES", None)
    resident = make_resident()
    assert record_grants(resident, ["TPL-MSG"]) == [] and grants_for(resident) == []
    assert _remaining(db, resident) == {}


def test_grants_are_per_resident(db, make_resident):
    one, two = make_resident(), make_resident()
    record_grants(one, ["TPL-MSG"])
    assert _remaining(db, two) == {}
    assert [g["remaining"] for g in grants_for(two)] == [0, 0]


def test_the_operation_does_not_commit(db, make_resident):
    resident = make_resident()
    db.session.commit()
    record_grants(resident, ["TPL-MSG"])
    db.session.rollback()
    assert _remaining(db, resident) == {}


def test_grants_the_outbox_spent_to_zero_are_counted_up_again(db, make_resident):
    resident = make_resident()
    db.session.add(SubscribeGrant(resident_id=resident.id, template_id="TPL-MSG", remaining=0))
    db.session.flush()
    record_grants(resident, ["TPL-MSG"])
    assert _remaining(db, resident) == {"TPL-MSG": 1}
