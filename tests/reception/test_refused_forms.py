"""A submission refused for coming too often (429) or too large (413) keeps what the resident
typed: the form comes back filled in with the reason (and how long to wait) above it, or the
refusal page offers 返回修改 back to the form. Nothing is written either way."""
import re

import sqlalchemy as sa

from backend.reception.models import Appointment
from backend.messages.models import Message
from backend.org.codes import active_code
from tests.conftest import csrf_token
from tests.portal.helpers import jpeg, open_form, send

TOPIC = "小区想加装电梯，想听听代表的意见"
BODY = "建设路北段到菜市场那一段没有路灯，冬天六点天就黑了。"


def _count(db, model) -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_refused_booking_comes_back_filled_in(app, client, db, appt_world, monkeypatch):
    monkeypatch.setitem(app.config, "BOOKING_RATE_PER_RESIDENT", "1 per 10 minutes")
    db.session.commit()
    url = f"/stations/{appt_world.station.id}/book"

    def book(slot, **kw):
        return client.post(url, data={
            "day_id": appt_world.day.id, "slot_id": appt_world.slots[slot].id,
            "deputy_id": appt_world.li.id, "action": "book", "csrf_token": csrf_token(client, url),
            **kw})

    assert book(0, topic="第一件事：小区路灯").status_code == 302
    resp = book(1, topic=TOPIC, contact_name="陈阿姨", phone="13800131234")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 429
    assert "提交太频繁了，请10分钟后再试" in html and "您填写的内容还在" in html
    assert f">{TOPIC}</textarea>" in html
    assert 'value="陈阿姨"' in html and 'value="13800131234"' in html
    picked = re.findall(r'name="slot_id" value="(\d+)"[^>]*checked', html)
    assert picked == [str(appt_world.slots[1].id)]
    assert re.findall(r'name="deputy_id" value="(\d*)" checked', html) == [str(appt_world.li.id)]
    assert "返回首页" not in html  # the form itself, not a dead end
    assert _count(db, Appointment) == 1


def test_a_refused_meeting_request_comes_back_filled_in(app, client, db, appt_world, monkeypatch):
    monkeypatch.setitem(app.config, "BOOKING_RATE_PER_RESIDENT", "0 per 10 minutes")
    db.session.commit()
    url = f"/stations/{appt_world.station.id}/meet"
    resp = client.post(url, data={"date": "2099-01-05", "time": "09:00", "topic": TOPIC,
                                  "csrf_token": csrf_token(client, url)})
    assert resp.status_code == 429
    assert f">{TOPIC}</textarea>" in resp.get_data(as_text=True)
    assert _count(db, Appointment) == 0


def test_a_refused_message_comes_back_filled_in(app, client, db, make_deputy, monkeypatch):
    write_url = f"/d/{active_code(make_deputy(name='王建国')).token}/write"
    db.session.commit()
    monkeypatch.setitem(app.config, "SUBMIT_RATE_PER_RESIDENT", "1 per 10 minutes")
    assert send(client, write_url, body="第一件事：路灯坏了很久了").status_code == 302
    resp = send(client, write_url, body=BODY, phone="13800131234", place="建设路北段")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 429
    assert "提交太频繁了，请10分钟后再试" in html and f">{BODY}</textarea>" in html
    assert 'value="13800131234"' in html and 'value="建设路北段"' in html
    assert "如果刚才选了照片，请重新选择" in html
    assert _count(db, Message) == 1


def test_a_too_large_upload_offers_a_way_back_to_the_form(app, client, db, make_deputy,
                                                          monkeypatch):
    write_url = f"/d/{active_code(make_deputy()).token}/write"
    db.session.commit()
    form = open_form(client, write_url)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2000)
    resp = send(client, write_url, form=form, photos=[(jpeg(size=(400, 400)) + b"\0" * 4000,
                                                       "大.jpg")])
    html = resp.get_data(as_text=True)
    assert resp.status_code == 413 and "照片太大" in html
    # The link goes back in history when it can (static/js/common.js reads data-history-back).
    assert f'href="{write_url}"' in html and "返回修改" in html and "data-history-back" in html
    assert _count(db, Message) == 0


def test_a_refusal_elsewhere_still_answers_in_chinese_without_a_form(app, client, db,
                                                                     monkeypatch):
    monkeypatch.setitem(app.config, "TRACK_RATE_PER_IP", "0 per hour")
    resp = client.post("/track", data={"tracking_no": "LY1", "code": "x",
                                       "csrf_token": csrf_token(client, "/track")})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 429 and "提交太频繁了，请" in html and "返回修改" not in html
    assert "您填写的内容还在" not in html
