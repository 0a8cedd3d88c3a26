"""议事 details on an activity's record: topic, residents (a count; names staff-only) and what
was agreed. Required for a 议事, refused as a whole when one is wrong, ignored for other kinds;
the names never reach the audit log, the deputy's page or the mini-program."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.activities import operations as ops
from backend.activities.models import Activity
from backend.core.audit_model import AuditEvent
from backend.core.errors import ValidationFailed
from tests.activities.conftest import NOW
from tests.conftest import csrf_token

AFTER = NOW + timedelta(days=1, hours=3)
DETAILS = {"topic": "幸福小区加装电梯费用分摊", "resident_count": 23,
           "resident_names": "张阿姨、李师傅", "agreed": "一楼住户不分摊；二楼以上按楼层系数分摊。"}


@pytest.fixture
def session(db, scene):
    """The scene's activity as a 议事 (人民议事厅) session."""
    scene.activity.kind = "deliberation"
    db.session.commit()
    return scene.activity


def test_a_deliberation_records_topic_residents_and_what_was_agreed(db, scene, session):
    ops.record_activity(session, actor=scene.liaison, summary="居民代表充分发表了意见",
                        details=DETAILS, now=AFTER)
    db.session.expire_all()
    act = db.session.get(Activity, session.id)
    assert (act.status, act.topic, act.resident_count, act.resident_names, act.agreed) == (
        "held", DETAILS["topic"], 23, "张阿姨、李师傅", DETAILS["agreed"])
    event = db.session.scalar(sa.select(AuditEvent).filter_by(action="activity.record"))
    assert event.after["topic"] == DETAILS["topic"] and event.after["resident_count"] == 23
    assert "张阿姨" not in str(event.after) and "张阿姨" not in str(event.before)


@pytest.mark.parametrize("field, value, words", [
    ("topic", "", "议题"),
    ("resident_count", None, "群众人数"),
    ("resident_count", -1, "群众人数"),
    ("resident_count", True, "群众人数"),
    ("resident_count", 10_001, "群众人数"),
    ("resident_names", "名" * 501, "姓名"),
    ("agreed", " ", "议定事项"),
])
def test_a_wrong_detail_refuses_the_whole_record_and_closes_nothing(db, scene, session, field,
                                                                   value, words):
    with pytest.raises(ValidationFailed) as err:
        ops.record_activity(session, actor=scene.liaison, summary="居民代表充分发表了意见",
                            details={**DETAILS, field: value}, now=AFTER)
    assert words in err.value.errors[field][0]
    db.session.rollback()
    act = db.session.get(Activity, session.id)
    assert act.status == "planned" and act.topic == "" and act.summary == ""
    assert {a.status for a in act.attendances} == {"invited"}


def test_other_kinds_keep_no_deliberation_details(db, scene):
    ops.record_activity(scene.activity, actor=scene.liaison, summary="走访了十户居民",
                        details=DETAILS, now=AFTER)
    assert (scene.activity.topic, scene.activity.resident_count,
            scene.activity.resident_names) == ("", None, "")


def test_the_page_shows_the_details_and_the_names_only_to_the_organiser(client, login, db,
                                                                       scene, session):
    ops.record_activity(session, actor=scene.liaison, summary="居民代表充分发表了意见",
                        details=DETAILS, now=AFTER)
    db.session.commit()
    organiser = login(scene.liaison).get(f"/staff/activities/{session.id}").get_data(
        as_text=True)
    assert DETAILS["topic"] in organiser and "23 人" in organiser and "张阿姨" in organiser
    client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/")})
    deputy = login(scene.u1).get(f"/staff/activities/{session.id}").get_data(as_text=True)
    assert DETAILS["agreed"] in deputy and "23 人" in deputy
    assert "张阿姨" not in deputy
    # The deputy's list of their activities carries the topic and the outcome.
    listing = client.get("/staff/activities").get_data(as_text=True)
    assert f"议题：{DETAILS['topic']}" in listing and "群众 23 人" in listing
    assert "张阿姨" not in listing


def test_the_record_form_sends_the_details(client, login, db, make_station, make_deputy,
                                           make_staff):
    from backend.core.timeutil import utcnow
    station = make_station()
    deputy = make_deputy(stations=[station])
    liaison = make_staff("liaison", stations=[station])
    now = utcnow()
    act = ops.create_activity(actor=liaison, kind="deliberation", title="人民议事厅第三期",
                              place="社区议事厅", starts_at=now - timedelta(hours=2),
                              ends_at=now - timedelta(hours=1), station_id=station.id,
                              deputy_ids=[deputy.id], now=now - timedelta(days=1))
    login(liaison)
    page = client.get(f"/staff/activities/{act.id}").get_data(as_text=True)
    assert 'name="topic"' in page and 'name="agreed"' in page
    token = csrf_token(client, f"/staff/activities/{act.id}")
    url = f"/staff/activities/{act.id}/record"
    form = {"summary": "议事顺利进行", "topic": "停车位划线", "resident_count": "十二",
            "agreed": "由物业在月底前划线", "csrf_token": token}
    client.post(url, data=form)
    db.session.expire_all()
    assert db.session.get(Activity, act.id).status == "planned"  # 十二 is not a number
    client.post(url, data={**form, "resident_count": "12"})
    db.session.expire_all()
    act = db.session.get(Activity, act.id)
    assert (act.status, act.topic, act.resident_count) == ("held", "停车位划线", 12)
