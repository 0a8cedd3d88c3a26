"""Races on one activity (PostgreSQL, real threads): the organiser closes the activity while a
deputy checks in; two organisers settle one report. Each ends in one consistent state."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.accounts.models import StaffUser
from backend.activities import operations as ops
from backend.activities.models import Activity, ActivityAttendance
from backend.core.errors import InvalidState
from backend.core.extensions import db
from tests.activities.conftest import NOW
from tests.conftest import at_once

DURING = NOW + timedelta(days=1, minutes=30)  # the scene's activity has begun


def _get(model, id_):
    return db.session.get(model, id_)


@pytest.mark.parametrize("round_", range(3))
def test_closing_while_a_deputy_checks_in(app, db, scene, postgres_only, round_):
    act_id, a1_id = scene.activity.id, scene.a1.id
    liaison_id, u1_id, code = scene.liaison.id, scene.u1.id, scene.activity.checkin_code
    db.session.commit()
    outcomes = at_once(
        app,
        lambda: ops.record_activity(_get(Activity, act_id), actor=_get(StaffUser, liaison_id),
                                    summary="活动顺利举行", now=DURING),
        lambda: ops.check_in_with_code(_get(Activity, act_id), actor=_get(StaffUser, u1_id),
                                       code=code, now=DURING))
    db.session.expire_all()
    a1 = db.session.get(ActivityAttendance, a1_id)
    assert db.session.get(Activity, act_id).status == "held"
    if isinstance(outcomes[1], InvalidState):
        assert a1.status == "absent"  # closed first: the late check-in was refused
    else:
        assert not isinstance(outcomes[1], Exception), outcomes
        assert a1.status == "attended"  # checked in first: never overwritten as absent
    assert not isinstance(outcomes[0], Exception), outcomes


def test_two_organisers_settle_one_report_once(app, db, scene, postgres_only):
    report = ops.report_activity(scene.d1, actor=scene.u1, station_id=scene.station.id, now=NOW,
                                 kind="visit", title="走访", place="南街",
                                 starts_at=NOW - timedelta(hours=3),
                                 ends_at=NOW - timedelta(hours=1), summary="走访了五户居民")
    rid, liaison_id, admin_id = report.id, scene.liaison.id, scene.admin.id
    db.session.commit()
    outcomes = at_once(
        app,
        lambda: ops.confirm_report(_get(Activity, rid), actor=_get(StaffUser, liaison_id)),
        lambda: ops.reject_report(_get(Activity, rid), actor=_get(StaffUser, admin_id),
                                  reason="重复报备"))
    assert sum(isinstance(o, InvalidState) for o in outcomes) == 1, outcomes
    db.session.expire_all()
    status = db.session.scalar(sa.select(Activity.status).where(Activity.id == rid))
    assert status == ("confirmed" if isinstance(outcomes[1], InvalidState) else "rejected")


@pytest.mark.parametrize("round_", range(3))
def test_two_organisers_turn_one_matter_into_one_message(app, db, scene, postgres_only, round_):
    from backend.activities import matters
    from backend.activities.models import ActivityItem
    from backend.messages.models import Message
    ops.mark_present(scene.a1, actor=scene.liaison, now=DURING)
    ops.record_activity(scene.activity, actor=scene.liaison, summary="走访了十户居民", now=DURING)
    item = matters.add_item(scene.activity, actor=scene.liaison, deputy_id=scene.d1.id,
                            summary="小区北门的下水道堵了一个星期，雨天积水很深",
                            resident_consent=True)
    item_id, liaison_id, admin_id = item.id, scene.liaison.id, scene.admin.id
    db.session.commit()
    outcomes = at_once(
        app,
        lambda: matters.item_to_message(_get(ActivityItem, item_id),
                                        actor=_get(StaffUser, liaison_id)).id,
        lambda: matters.item_to_message(_get(ActivityItem, item_id),
                                        actor=_get(StaffUser, admin_id)).id)
    assert outcomes[0] == outcomes[1] and isinstance(outcomes[0], int), outcomes
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)) == 1
    assert db.session.get(ActivityItem, item_id).message_id == outcomes[0]
