"""Activities end to end at the operation level: each rule, and the states that must not be
reached. Time is pinned (NOW, 10:00 in Beijing on 1 June 2026)."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.activities import operations as ops
from backend.activities.models import Activity, ActivityAttendance
from backend.core.audit_model import AuditEvent
from backend.core.errors import Forbidden, InvalidState, ValidationFailed
from backend.notifications.models import Notification
from tests.activities.conftest import NOW

START = NOW + timedelta(days=1)


def _notes(db, topic):
    return db.session.scalars(sa.select(Notification).filter_by(topic=topic)
                              .order_by(Notification.id)).all()


def test_create_invites_each_deputy_with_a_notice_and_an_audit_row(db, scene):
    act = scene.activity
    assert act.status == "planned" and act.organiser == scene.station.name
    assert len(act.checkin_code) == 6 and act.checkin_code.isdigit()
    assert [a.status for a in act.attendances] == ["invited", "invited"]
    notes = _notes(db, "activity.invited")
    assert {(n.recipient_kind, n.recipient_id) for n in notes} == {
        ("deputy", scene.d1.id), ("deputy", scene.d2.id)}
    assert "走访选民" in notes[0].body and "6月2日 10:00" in notes[0].body
    actions = db.session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.object_type == "activities").order_by(AuditEvent.id)).all()
    assert actions == ["activity.create", "activity.invite"]


@pytest.mark.parametrize("who", ["other_liaison", "u1", "department"])
def test_only_the_office_or_the_station_liaison_organises(db, scene, who):
    with pytest.raises(Forbidden):
        ops.create_activity(actor=getattr(scene, who), kind="visit", title="走访", place="某地",
                            starts_at=START, ends_at=START + timedelta(hours=1),
                            station_id=scene.station.id, now=NOW)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 1


def test_a_liaison_may_not_organise_for_the_office(scene):
    with pytest.raises(Forbidden):
        ops.create_activity(actor=scene.liaison, kind="meeting", title="全区会议", place="区人大",
                            starts_at=START, ends_at=START + timedelta(hours=1), now=NOW)


def test_the_office_invites_any_deputy_a_station_only_its_own(db, scene):
    office = ops.create_activity(actor=scene.admin, kind="training", title="代表履职培训",
                                 place="区人大会议室", starts_at=START,
                                 ends_at=START + timedelta(hours=3),
                                 deputy_ids=[scene.d1.id, scene.outsider.id], now=NOW)
    assert office.station_id is None and office.organiser == "区人大常委会代表工作委员会"
    assert len(office.attendances) == 2
    with pytest.raises(ValidationFailed) as err:
        ops.create_activity(actor=scene.liaison, kind="visit", title="走访", place="某地",
                            starts_at=START, ends_at=START + timedelta(hours=1),
                            station_id=scene.station.id, deputy_ids=[scene.outsider.id], now=NOW)
    assert err.value.errors["deputy_ids"] == ["只能邀请本站在任的代表"]


@pytest.mark.parametrize("change, field", [
    ({"kind": "party"}, "kind"),
    ({"title": " "}, "title"),
    ({"place": ""}, "place"),
    ({"ends_at": START}, "ends_at"),
    ({"ends_at": START + timedelta(days=8)}, "ends_at"),
    ({"starts_at": NOW - timedelta(hours=3), "ends_at": NOW - timedelta(hours=1)}, "starts_at"),
    ({"starts_at": None}, "starts_at"),
])
def test_bad_details_are_refused_in_chinese_and_change_nothing(db, scene, change, field):
    data = {"kind": "visit", "title": "走访", "place": "某地", "starts_at": START,
            "ends_at": START + timedelta(hours=1), **change}
    with pytest.raises(ValidationFailed) as err:
        ops.create_activity(actor=scene.liaison, station_id=scene.station.id, now=NOW, **data)
    assert field in err.value.errors
    assert "\u4e00" <= err.value.errors[field][0][0] <= "\u9fff"  # worded in Chinese
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 1


def test_deputies_answer_and_an_excuse_needs_a_reason(db, scene):
    ops.answer_invitation(scene.a1, actor=scene.u1, answer="accept", now=NOW)
    with pytest.raises(ValidationFailed) as err:
        ops.answer_invitation(scene.a2, actor=scene.u2, answer="excuse", reason="  ", now=NOW)
    assert err.value.errors == {"reason": ["请假请写明原因"]}
    assert scene.a2.status == "invited"
    ops.answer_invitation(scene.a2, actor=scene.u2, answer="excuse", reason="外出开会", now=NOW)
    assert (scene.a1.status, scene.a2.status, scene.a2.reason) == ("accepted", "excused", "外出开会")
    # The organiser hears of the excuse.
    assert [n.recipient_id for n in _notes(db, "activity.excused")] == [scene.liaison.id]
    # Changing one's mind before the start is allowed and clears the reason.
    ops.answer_invitation(scene.a2, actor=scene.u2, answer="accept", now=NOW)
    assert (scene.a2.status, scene.a2.reason) == ("accepted", "")


def test_a_deputy_answers_only_for_themselves_and_not_after_the_start(scene):
    with pytest.raises(Forbidden):
        ops.answer_invitation(scene.a1, actor=scene.u2, answer="accept", now=NOW)
    with pytest.raises(Forbidden):
        ops.answer_invitation(scene.a1, actor=scene.liaison, answer="accept", now=NOW)
    with pytest.raises(InvalidState) as err:
        ops.answer_invitation(scene.a1, actor=scene.u1, answer="accept", now=START)
    assert err.value.code == "activity_started"
    assert scene.a1.status == "invited"


def test_check_in_with_the_code_inside_the_window_only(scene):
    act = scene.activity
    with pytest.raises(InvalidState):
        ops.check_in_with_code(act, actor=scene.u1, code=act.checkin_code,
                               now=START - timedelta(hours=2))
    wrong = "000000" if act.checkin_code != "000000" else "111111"
    with pytest.raises(ValidationFailed) as err:
        ops.check_in_with_code(act, actor=scene.u1, code=wrong, now=START)
    assert "签到码不对" in err.value.errors["code"][0]
    assert scene.a1.status == "invited"
    ops.check_in_with_code(act, actor=scene.u1, code=" " + act.checkin_code, now=START)
    assert (scene.a1.status, scene.a1.checked_in_by) == ("attended", "code")
    # A second scan is harmless, and the attendance cannot then be turned into an excuse.
    ops.check_in_with_code(act, actor=scene.u1, code=act.checkin_code, now=START)
    with pytest.raises(InvalidState):
        ops.answer_invitation(scene.a1, actor=scene.u1, answer="excuse", reason="x",
                              now=START - timedelta(minutes=1))
    with pytest.raises(InvalidState):
        ops.check_in_with_code(act, actor=scene.u2, code=act.checkin_code,
                               now=act.ends_at + timedelta(hours=3))


def test_a_deputy_not_invited_cannot_check_in_even_with_the_code(db, scene):
    with pytest.raises(Forbidden) as err:
        ops.check_in_with_code(scene.activity, actor=scene.u_out,
                               code=scene.activity.checkin_code, now=START)
    assert err.value.code == "not_invited"
    assert scene.activity.attendance_of(scene.outsider.id) is None


def test_the_organiser_marks_present_and_records_absences(db, scene):
    with pytest.raises(InvalidState):
        ops.mark_present(scene.a1, actor=scene.liaison, now=NOW)  # a day early
    with pytest.raises(Forbidden):
        ops.mark_present(scene.a1, actor=scene.other_liaison, now=START)
    ops.mark_present(scene.a1, actor=scene.liaison, now=START)
    assert (scene.a1.status, scene.a1.checked_in_by) == ("attended", "organiser")
    with pytest.raises(InvalidState):
        ops.record_activity(scene.activity, actor=scene.liaison, summary="走访了十户居民",
                            now=START - timedelta(minutes=5))
    ops.record_activity(scene.activity, actor=scene.liaison, summary="走访了十户居民，收集意见三条",
                        now=START + timedelta(hours=3))
    assert scene.activity.status == "held"
    assert (scene.a1.status, scene.a2.status) == ("attended", "absent")
    # Once held, nobody checks in any more; the record text may still be corrected.
    with pytest.raises(InvalidState):
        ops.mark_present(scene.a2, actor=scene.liaison, now=START + timedelta(hours=3))
    ops.record_activity(scene.activity, actor=scene.liaison, summary="走访了十二户居民",
                        now=START + timedelta(hours=4))
    assert scene.activity.summary == "走访了十二户居民" and scene.a2.status == "absent"


def test_an_excused_deputy_stays_excused_when_absences_are_marked(scene):
    ops.answer_invitation(scene.a2, actor=scene.u2, answer="excuse", reason="生病", now=NOW)
    ops.record_activity(scene.activity, actor=scene.admin, summary="活动顺利举行",
                        now=START + timedelta(hours=3))
    assert (scene.a1.status, scene.a2.status) == ("absent", "excused")


def test_cancel_tells_the_deputies_and_stops_everything(db, scene):
    with pytest.raises(ValidationFailed):
        ops.cancel_activity(scene.activity, actor=scene.liaison, reason="")
    ops.cancel_activity(scene.activity, actor=scene.liaison, reason="暴雨预警")
    assert scene.activity.status == "cancelled"
    assert len(_notes(db, "activity.cancelled")) == 2
    with pytest.raises(InvalidState):
        ops.check_in_with_code(scene.activity, actor=scene.u1,
                               code=scene.activity.checkin_code, now=START)
    with pytest.raises(InvalidState):
        ops.record_activity(scene.activity, actor=scene.liaison, summary="活动顺利举行",
                            now=START + timedelta(hours=3))


def test_invite_more_deputies_later(db, scene, make_deputy):
    d3 = make_deputy(stations=[scene.station])
    ops.invite_deputies(scene.activity, actor=scene.liaison, deputy_ids=[scene.d1.id, d3.id])
    assert [a.deputy_id for a in scene.activity.attendances] == [scene.d1.id, scene.d2.id, d3.id]
    with pytest.raises(ValidationFailed):
        ops.invite_deputies(scene.activity, actor=scene.liaison, deputy_ids=[scene.outsider.id])


def test_a_deputy_reports_their_own_activity_and_the_station_confirms(db, scene):
    data = {"kind": "visit", "title": "走访选区老党员", "place": "和平里小区",
            "starts_at": NOW - timedelta(days=2), "ends_at": NOW - timedelta(days=2, hours=-2),
            "summary": "听取了五位老党员对加装电梯的意见"}
    with pytest.raises(ValidationFailed) as err:
        ops.report_activity(scene.d1, actor=scene.u1, station_id=scene.other_station.id,
                            now=NOW, **data)
    assert "station_id" in err.value.errors
    with pytest.raises(Forbidden):
        ops.report_activity(scene.d1, actor=scene.u2, station_id=scene.station.id, now=NOW, **data)
    with pytest.raises(ValidationFailed) as err:
        ops.report_activity(scene.d1, actor=scene.u1, station_id=scene.station.id, now=NOW,
                            **{**data, "starts_at": NOW + timedelta(hours=1),
                               "ends_at": NOW + timedelta(hours=2)})
    assert err.value.errors == {"ends_at": ["只能报备已经结束的活动"]}
    act = ops.report_activity(scene.d1, actor=scene.u1, station_id=scene.station.id, now=NOW,
                              **data)
    assert (act.origin, act.status, act.attendances[0].status) == ("reported", "reported",
                                                                   "attended")
    assert [n.recipient_id for n in _notes(db, "activity.reported")] == [scene.liaison.id]
    with pytest.raises(Forbidden):
        ops.confirm_report(act, actor=scene.other_liaison)
    with pytest.raises(Forbidden):
        ops.reject_report(act, actor=scene.other_liaison, reason="")
    ops.confirm_report(act, actor=scene.liaison)
    assert act.status == "confirmed"
    with pytest.raises(InvalidState):
        ops.reject_report(act, actor=scene.liaison, reason="重复报备")
    assert [n.recipient_id for n in _notes(db, "activity.confirmed")] == [scene.d1.id]


def test_a_rejected_report_names_its_reason(db, scene):
    act = ops.report_activity(scene.d2, actor=scene.u2, station_id=scene.station.id, now=NOW,
                              kind="research", title="调研停车难", place="东街",
                              starts_at=NOW - timedelta(hours=5), ends_at=NOW - timedelta(hours=3),
                              summary="走访了三个小区的停车情况")
    ops.reject_report(act, actor=scene.admin, reason="与 5 月 30 日的报备重复")
    assert (act.status, act.status_note) == ("rejected", "与 5 月 30 日的报备重复")


def test_the_database_refuses_an_excuse_without_reason_and_attended_without_time(db, scene):
    for status, reason in (("excused", ""), ("attended", "")):
        with pytest.raises(sa.exc.IntegrityError):
            with db.session.begin_nested():
                db.session.execute(sa.update(ActivityAttendance).where(
                    ActivityAttendance.id == scene.a1.id).values(status=status, reason=reason))
