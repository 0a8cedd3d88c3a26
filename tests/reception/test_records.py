"""The record of a reception day: who came, what was raised, and a raised matter becoming a
message only with the resident's consent, once."""
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from backend.core.errors import Forbidden, InvalidState, ValidationFailed
from backend.core.audit_model import AuditEvent
from backend.messages.models import Message
from backend.reception.models import ReceptionItem, ReceptionRecord
from backend.accounts.resident_model import Resident
from backend.reception import records as ops
from tests.conftest import csrf_token, form_keys, post_form

ISSUE = "小区门口的路灯坏了一个多月，晚上老人出门很不方便"


def _record(w, **kw):
    return ops.record_day(w.day, **{"actor": w.liaison, "deputy_ids": [w.zhang.id, w.wang.id],
                                    "walk_in_count": 12, "notes": "秩序良好", **kw})


def _count(db, model, **where):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).filter_by(**where))


# ---- the record and its items ----

def test_record_a_day_then_correct_it(db, rec_world):
    w = rec_world
    rec = _record(w)
    assert (rec.walk_in_count, rec.notes, rec.recorded_by_id) == (12, "秩序良好", w.liaison.id)
    assert {d.name for d in rec.deputies} == {"张明华", "王建国"}

    again = _record(w, deputy_ids=[w.li.id], walk_in_count=15, actor=w.admin)
    assert again.id == rec.id and [d.name for d in again.deputies] == ["李秀英"]
    assert _count(db, ReceptionRecord) == 1
    saved = db.session.scalars(sa.select(AuditEvent).filter_by(
        action="reception_record.save").order_by(AuditEvent.id)).all()
    assert [e.before for e in saved][0] is None
    assert saved[1].before["walk_in_count"] == 12 and saved[1].after["walk_in_count"] == 15


@pytest.mark.parametrize("change, field", [
    (lambda w: {"deputy_ids": [w.stranger.id]}, "deputy_ids"),  # another station's, not on duty
    (lambda w: {"walk_in_count": -1}, "walk_in_count"),
    (lambda w: {"notes": "长" * 2001}, "notes"),
])
def test_bad_record_input_is_refused(db, rec_world, change, field):
    with pytest.raises(ValidationFailed) as err:
        _record(rec_world, **change(rec_world))
    assert field in err.value.errors
    assert _count(db, ReceptionRecord) == 0


def test_only_a_held_day_is_recorded(db, rec_world):
    w = rec_world
    with pytest.raises(InvalidState, match="还没到"):
        _record(w, today=w.day.date - timedelta(days=1))
    w.day.status, w.day.cancel_reason = "cancelled", "暴雨预警"
    with pytest.raises(InvalidState, match="已取消"):
        _record(w)


def test_items_are_checked(db, rec_world):
    w = rec_world
    rec = _record(w)
    item = ops.add_item(rec, actor=w.liaison, summary=ISSUE, deputy_id=w.zhang.id,
                        appointment_id=w.booking.id, resident_consent=True)
    assert (item.record_id, item.deputy_id, item.appointment_id) == (rec.id, w.zhang.id,
                                                                     w.booking.id)
    for bad, field in (({"summary": "太短"}, "summary"), ({"deputy_id": w.stranger.id}, "deputy_id"),
                       ({"appointment_id": 999_999}, "appointment_id")):
        with pytest.raises(ValidationFailed) as err:
            ops.add_item(rec, actor=w.liaison, **{"summary": ISSUE, "resident_consent": True,
                                                  **bad})
        assert field in err.value.errors
    assert [i.id for i in rec.items] == [item.id]


# ---- an item becomes a message ----

def test_no_message_without_consent(db, rec_world):
    w = rec_world
    item = ops.add_item(_record(w), actor=w.liaison, summary=ISSUE, resident_consent=False)
    with pytest.raises(InvalidState) as err:
        ops.item_to_message(item, actor=w.liaison)
    assert err.value.code == "consent_missing" and "同意" in err.value.message
    assert _count(db, Message) == 0 and item.message_id is None


def test_item_with_a_booking_becomes_the_residents_message_once(db, rec_world):
    from backend.messages.queue import QueueFilters, liaison_queue
    w = rec_world
    item = ops.add_item(_record(w), actor=w.liaison, summary=ISSUE, deputy_id=w.zhang.id,
                        appointment_id=w.booking.id, resident_consent=True)
    message = ops.item_to_message(item, actor=w.liaison)
    assert ops.item_to_message(item, actor=w.admin).id == message.id
    assert _count(db, Message) == 1 and item.message_id == message.id
    assert (message.channel, message.resident_id, message.station_id, message.deputy_id) == (
        "reception", w.resident.id, w.station.id, w.zhang.id)
    assert message.body == ISSUE and message.status == "new"
    assert [m.id for m in liaison_queue(w.liaison, QueueFilters()).items] == [message.id]
    assert _count(db, AuditEvent, action="reception_item.to_message") == 1


def test_walk_in_item_goes_to_the_station_from_an_unnamed_resident(db, rec_world):
    w = rec_world
    residents_before = _count(db, Resident)
    item = ops.add_item(_record(w), actor=w.liaison, summary=ISSUE, resident_consent=True)
    message = ops.item_to_message(item, actor=w.liaison)
    ops.item_to_message(item, actor=w.liaison)
    assert _count(db, Resident) == residents_before + 1
    assert (message.deputy_id, message.station_id, message.channel) == (None, w.station.id,
                                                                        "reception")


# ---- attendance ----

def test_attendance_counts_records_of_the_year(db, rec_world, roster_make_day):
    w = rec_world
    year = w.day.date.year - 1
    days = [roster_make_day(w.station, d) for d in (date(year, 3, 15), date(year, 6, 15),
                                                   date(year - 1, 12, 15))]
    for day, present in zip(days, ([w.zhang, w.li], [w.zhang], [w.zhang])):
        ops.record_day(day, actor=w.liaison, deputy_ids=[d.id for d in present], walk_in_count=3,
                       notes="")
    assert ops.attendance(w.zhang, year) == 2
    assert ops.attendance(w.li, year) == 1
    assert ops.attendance(w.wang, year) == 0
    assert ops.attendance(w.zhang, year - 1) == 1


def test_operations_refuse_other_stations(db, rec_world):
    w = rec_world
    rec = _record(w)
    item = ops.add_item(rec, actor=w.liaison, summary=ISSUE, resident_consent=True)
    for actor in (w.other_liaison, w.deputy_user):
        with pytest.raises(Forbidden):
            _record(w, actor=actor)
        with pytest.raises(Forbidden):
            ops.add_item(rec, actor=actor, summary=ISSUE, resident_consent=True)
        with pytest.raises(Forbidden):
            ops.item_to_message(item, actor=actor)


# ---- the page ----

def _checked(html: str, deputy_id: int) -> bool:
    box = re.search(rf'<input[^>]*name="deputy_ids"[^>]*value="{deputy_id}"[^>]*>', html)
    assert box, f"no checkbox for deputy {deputy_id}"
    return "checked" in box.group(0)


@pytest.mark.parametrize("who, status", [
    ("liaison", 200), ("admin", 200), ("other_liaison", 403), ("deputy_user", 403)])
def test_page_access(db, rec_world, roster_login, who, status):
    w = rec_world
    client = roster_login(getattr(w, who))
    assert client.get(f"/staff/reception-days/{w.day.id}/record").status_code == status


def test_anonymous_is_sent_to_login(db, rec_world, client):
    db.session.commit()
    resp = client.get(f"/staff/reception-days/{rec_world.day.id}/record")
    assert resp.status_code == 302 and "/staff/login" in resp.headers["Location"]


def test_other_liaison_cannot_post(db, rec_world, roster_login):
    w = rec_world
    item = ops.add_item(_record(w), actor=w.liaison, summary=ISSUE, resident_consent=True)
    db.session.commit()
    client = roster_login(w.other_liaison)
    token = csrf_token(client, "/staff/")  # their own valid token, from a page they may see
    assert client.post(f"/staff/reception-items/{item.id}/message",
                       data={"csrf_token": token}).status_code == 403
    assert client.post(f"/staff/reception-days/{w.day.id}/record/items",
                       data={"csrf_token": token, "summary": ISSUE}).status_code == 403
    assert _count(db, Message) == 0


def test_liaison_records_the_day_on_the_page(db, rec_world, roster_login):
    w = rec_world
    client = roster_login(w.liaison)
    url = f"/staff/reception-days/{w.day.id}/record"
    page = client.get(url).get_data(as_text=True)
    assert _checked(page, w.zhang.id) and _checked(page, w.li.id) and not _checked(page, w.wang.id)
    assert "请先保存上面的接待情况" in page

    resp = post_form(client, url, {"deputy_ids": [w.zhang.id, w.wang.id], "walk_in_count": "8",
                                   "notes": "来访群众较多"})
    assert resp.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "已保存接待记录" in page and _checked(page, w.wang.id) and not _checked(page, w.li.id)

    bad = post_form(client, url, {"deputy_ids": [w.zhang.id], "walk_in_count": ""})
    assert bad.status_code == 422 and "请填写接待群众人数" in bad.get_data(as_text=True)

    items_url = f"/staff/reception-days/{w.day.id}/record/items"
    post_form(client, items_url, {"summary": ISSUE, "deputy_id": str(w.zhang.id),
                                  "appointment_id": str(w.booking.id), "resident_consent": "y"},
              form_url=url, keyed=True)
    post_form(client, items_url, {"summary": "希望增加社区食堂的供餐时段", "deputy_id": "0",
                                  "appointment_id": "0"}, form_url=url, keyed=True)
    page = client.get(url).get_data(as_text=True)
    assert page.count('data-testid="item"') == 2 and page.count('data-testid="to-message"') == 1

    (item,) = [i for i in db.session.scalars(sa.select(ReceptionRecord)).one().items
               if i.resident_consent]
    resp = post_form(client, f"/staff/reception-items/{item.id}/message", {}, form_url=url,
                     follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert "已转为留言" in html and 'data-testid="item-message"' in html
    db.session.rollback()
    assert db.session.scalars(sa.select(Message)).one().channel == "reception"

    short = post_form(client, items_url, {"summary": "太短", "deputy_id": "0",
                                          "appointment_id": "0"}, form_url=url, keyed=True,
                      follow_redirects=True)
    assert "请用 5 到 2000 个字写明群众反映的问题" in short.get_data(as_text=True)


def test_the_item_form_posted_twice_records_the_matter_once(db, rec_world, roster_login):
    """A double click or a browser resubmit sends the page's key again: no second item or audit
    event, and the page says it was recorded already, as a success."""
    w = rec_world
    _record(w)
    client = roster_login(w.liaison)
    url, items_url = (f"/staff/reception-days/{w.day.id}/record",
                      f"/staff/reception-days/{w.day.id}/record/items")
    token, key = form_keys(client, url)
    form = {"summary": ISSUE, "deputy_id": str(w.zhang.id), "appointment_id": "0",
            "resident_consent": "y", "csrf_token": token, "idempotency_key": key}
    first, again = client.post(items_url, data=form), client.post(items_url, data=form)
    assert first.status_code == again.status_code == 302 and first.location == again.location
    assert "这个问题已经登记过了，没有重复登记" in client.get(url).get_data(as_text=True)
    db.session.rollback()
    assert _count(db, ReceptionItem) == 1
    assert _count(db, AuditEvent, action="reception_item.create") == 1

    # The same key with other words is another matter: refused, nothing stored.
    client.post(items_url, data={**form, "summary": "另一件事：楼道的灯不亮了"})
    assert "该提交编号已用于另一个问题" in client.get(url).get_data(as_text=True)
    # A fresh render has a new key: the same words again are a second matter, on purpose.
    fresh = form_keys(client, url)[1]
    assert fresh != key
    client.post(items_url, data={**form, "idempotency_key": fresh})
    db.session.rollback()
    assert _count(db, ReceptionItem) == 2


def test_the_item_form_without_its_key_is_refused_and_stores_nothing(db, rec_world,
                                                                     roster_login):
    w = rec_world
    _record(w)
    client = roster_login(w.liaison)
    url = f"/staff/reception-days/{w.day.id}/record"
    client.post(f"{url}/items", data={"summary": ISSUE, "deputy_id": "0", "appointment_id": "0",
                                      "csrf_token": csrf_token(client, url)})
    assert "缺少有效的提交编号，请刷新页面后重试" in client.get(url).get_data(as_text=True)
    db.session.rollback()
    assert _count(db, ReceptionItem) == 0
