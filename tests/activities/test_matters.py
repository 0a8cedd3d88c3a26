"""Matters residents raised at an activity: listed on its record by the organiser, and with the
resident's consent turned into a message in the station's queue (to a deputy who attended, or to
the station), once; without consent refused, nothing stored. The message names the activity."""
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.accounts.resident_model import Resident
from backend.activities import matters
from backend.activities import operations as ops
from backend.activities.models import ActivityItem
from backend.core.audit_model import AuditEvent
from backend.core.errors import Forbidden, InvalidState, ValidationFailed
from backend.core.protect import decrypt_phone
from backend.messages.models import Message
from backend.notifications.models import Notification
from tests.activities.conftest import NOW
from tests.conftest import csrf_token

ISSUE = "小区北门的下水道堵了一个星期，雨天积水很深"
AFTER = NOW + timedelta(days=1, hours=3)


def _count(db, model, *where):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


@pytest.fixture
def held(db, scene):
    """The scene's activity held: d1 checked in, d2 not, the record written."""
    ops.mark_present(scene.a1, actor=scene.liaison, now=NOW + timedelta(days=1))
    ops.record_activity(scene.activity, actor=scene.liaison, summary="走访了十户居民", now=AFTER)
    db.session.commit()
    return scene.activity


def test_a_consented_matter_becomes_one_message_to_the_deputy_who_attended(db, scene, held):
    item = matters.add_item(held, actor=scene.liaison, summary=ISSUE, resident_name="刘大爷",
                            phone="138 0013 1234", deputy_id=scene.d1.id, resident_consent=True)
    message = matters.item_to_message(item, actor=scene.liaison)
    assert (message.channel, message.deputy_id, message.station_id, message.body) == (
        "activity", scene.d1.id, scene.station.id, ISSUE)
    assert decrypt_phone(message.phone_encrypted) == "13800131234"
    assert item.message_id == message.id
    assert _count(db, Notification, Notification.recipient_kind == "deputy",
                  Notification.recipient_id == scene.d1.id,
                  Notification.topic.like("message.%")) == 1
    # Pressed again: the same message, no second one, no second audit row.
    assert matters.item_to_message(item, actor=scene.admin).id == message.id
    assert _count(db, Message) == 1
    assert _count(db, AuditEvent, AuditEvent.action == "activity_item.to_message") == 1
    assert matters.source_of(message).id == held.id
    created = db.session.scalar(sa.select(AuditEvent).filter_by(action="activity_item.create"))
    assert "刘大爷" not in str(created.after) and "1234" not in str(created.after)


def test_without_a_deputy_the_matter_goes_to_the_station(db, scene, held):
    item = matters.add_item(held, actor=scene.liaison, summary=ISSUE, resident_consent=True)
    message = matters.item_to_message(item, actor=scene.liaison)
    assert (message.deputy_id, message.station_id, message.status) == (
        None, scene.station.id, "new")


def test_consent_missing_is_refused_and_nothing_is_stored(db, scene, held):
    item = matters.add_item(held, actor=scene.liaison, summary=ISSUE, resident_consent=False)
    db.session.commit()
    residents = _count(db, Resident)
    with pytest.raises(InvalidState) as err:
        matters.item_to_message(item, actor=scene.liaison)
    assert err.value.code == "consent_missing" and "同意" in err.value.message
    db.session.rollback()
    assert (_count(db, Message), _count(db, Resident)) == (0, residents)
    assert db.session.get(ActivityItem, item.id).message_id is None


@pytest.mark.parametrize("kw, field", [
    ({"summary": "太短"}, "summary"),
    ({"phone": "12345"}, "phone"),
    ({"phone": "13800131234", "resident_consent": False}, "phone"),
    ({"resident_name": "名" * 41}, "resident_name"),
    ({"deputy_id": "d2"}, "deputy_id"),  # invited, but did not come
    ({"deputy_id": "outsider"}, "deputy_id"),
])
def test_bad_input_is_refused_with_its_field_and_stores_nothing(db, scene, held, kw, field):
    if "deputy_id" in kw:
        kw["deputy_id"] = getattr(scene, kw["deputy_id"]).id
    with pytest.raises(ValidationFailed) as err:
        matters.add_item(held, actor=scene.liaison, **{"summary": ISSUE, "resident_consent": True,
                                                      **kw})
    assert list(err.value.errors) == [field]
    assert _count(db, ActivityItem) == 0


@pytest.mark.parametrize("who", ["other_liaison", "u1", "department"])
def test_only_the_organiser_lists_and_converts(db, scene, held, who):
    with pytest.raises(Forbidden):
        matters.add_item(held, actor=getattr(scene, who), summary=ISSUE, resident_consent=True)
    item = matters.add_item(held, actor=scene.liaison, summary=ISSUE, resident_consent=True)
    with pytest.raises(Forbidden):
        matters.item_to_message(item, actor=getattr(scene, who))
    assert _count(db, Message) == 0


def test_matters_wait_for_the_record(db, scene):
    with pytest.raises(InvalidState) as err:
        matters.add_item(scene.activity, actor=scene.liaison, summary=ISSUE,
                         resident_consent=True)
    assert err.value.code == "activity_not_held"


def _form_keys(client, url):
    """The CSRF token and the item form's idempotency key, as a fresh render of the page has."""
    page = client.get(url).get_data(as_text=True)
    key = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', page)
    assert key, "no idempotency key on the item form"
    return csrf_token(client, url), key.group(1)


def test_the_pages_list_convert_and_show_the_source(client, login, db, scene, held):
    login(scene.liaison)
    url = f"/staff/activities/{held.id}"
    token, key = _form_keys(client, url)
    resp = client.post(f"{url}/items", data={
        "summary": ISSUE, "resident_name": "刘大爷", "deputy_id": str(scene.d1.id),
        "resident_consent": "1", "csrf_token": token, "idempotency_key": key})
    assert resp.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert ISSUE in page and "刘大爷" in page and "群众同意转为留言" in page
    item = db.session.scalar(sa.select(ActivityItem))
    client.post(f"/staff/activity-items/{item.id}/message", data={"csrf_token": token})
    db.session.expire_all()
    message_id = db.session.get(ActivityItem, item.id).message_id
    assert message_id
    detail = client.get(f"/staff/messages/{message_id}").get_data(as_text=True)
    assert "走访选民「走访幸福社区」" in detail and f"/staff/activities/{held.id}" in detail
    # A refusal is said in Chinese on the page and stores nothing.
    token, key = _form_keys(client, url)
    client.post(f"{url}/items", data={"summary": ISSUE, "phone": "13800131234",
                                      "csrf_token": token, "idempotency_key": key})
    assert "群众没有同意转为留言时不登记手机号" in client.get(url).get_data(as_text=True)
    assert _count(db, ActivityItem) == 1


def test_the_item_form_posted_twice_records_the_matter_once(client, login, db, scene, held):
    """A double click or a browser resubmit sends the page's key again: nothing new is recorded
    (no second item, message or audit event) and the page says so, as a success."""
    login(scene.liaison)
    url = f"/staff/activities/{held.id}"
    token, key = _form_keys(client, url)
    form = {"summary": ISSUE, "resident_name": "刘大爷", "phone": "13800131234",
            "deputy_id": str(scene.d1.id), "resident_consent": "1",
            "csrf_token": token, "idempotency_key": key}
    first, again = client.post(f"{url}/items", data=form), client.post(f"{url}/items", data=form)
    assert (first.status_code, again.status_code) == (302, 302)
    assert again.headers["Location"] == first.headers["Location"]
    page = client.get(url).get_data(as_text=True)
    assert "这个问题已经登记过了，没有重复登记" in page
    assert _count(db, ActivityItem) == 1
    assert _count(db, AuditEvent, AuditEvent.action == "activity_item.create") == 1

    # The same key with other words is another matter: refused, nothing stored.
    client.post(f"{url}/items", data={**form, "summary": "另一件事：路灯不亮"})
    assert "该提交编号已用于另一个问题" in client.get(url).get_data(as_text=True)
    # A fresh render has a new key: the same words again are a second matter, on purpose.
    assert _form_keys(client, url)[1] != key
    client.post(f"{url}/items", data={**form, "idempotency_key": _form_keys(client, url)[1]})
    assert _count(db, ActivityItem) == 2


def test_the_item_form_without_its_key_is_refused_and_stores_nothing(client, login, db, scene,
                                                                     held):
    login(scene.liaison)
    url = f"/staff/activities/{held.id}"
    client.post(f"{url}/items", data={"summary": ISSUE, "csrf_token": csrf_token(client, url)})
    assert "缺少有效的提交编号，请刷新页面后重试" in client.get(url).get_data(as_text=True)
    assert _count(db, ActivityItem) == 0
