"""The outbox delivery worker: which channel each recipient gets, grants, retries, locking."""
import itertools
import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests
import responses
import sqlalchemy as sa

from backend.notifications.models import Notification
from backend.accounts.resident_model import Resident, SubscribeGrant
from backend.delivery import outbox as delivery
from backend.delivery.outbox import DeliveryReport, deliver_due
from backend.messages.operations import submit_message
from backend.notifications.notify import notify
from backend.notifications.places import Place
from tests.conftest import FAKE_WECHAT, at_once

T0 = datetime(2026, 11, 23, 2, 30, tzinfo=timezone.utc)  # 10:30 in Shanghai
SEND = FAKE_WECHAT + "cgi-bin/message/subscribe/send"
KINDS = {"residents": "resident", "staff_users": "staff", "deputies": "deputy"}
ANSWER = "小区门口的路灯已经修好了，感谢您的耐心等待和监督。"


@pytest.fixture
def make_resident(db):
    numbers = itertools.count(1)

    def make(openid=None, grants=None):
        """A mini-program resident when given an openid, else a web one; grants: {template: n}."""
        n = next(numbers)
        resident = Resident(openid=openid, web_key=None if openid else f"web-key-{n:034d}")
        db.session.add(resident)
        db.session.flush()
        db.session.add_all(SubscribeGrant(resident_id=resident.id, template_id=tpl, remaining=left)
                           for tpl, left in (grants or {}).items())
        db.session.flush()
        return resident
    return make


@pytest.fixture
def templates(app, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_TEMPLATES",
                        {"message.answered": "TPL-ANSWER", "message.new": "TPL-NEW"})


def queue(db, recipient, topic="message.answered", *, subject=None, at=T0,
          title="代表已答复您的留言", body=ANSWER,
          place=Place("resident_message", 1)) -> Notification:
    note = notify(KINDS[recipient.__tablename__], recipient.id, topic, title, body=body, place=place,
                  subject=subject)
    note.created_at = note.next_attempt_at = at
    db.session.flush()
    return note


def sends(mock) -> list[dict]:
    return [json.loads(c.request.body) for c in mock.calls if c.request.url.startswith(SEND)]


def grant_left(db, resident, template="TPL-ANSWER") -> int:
    return db.session.get(SubscribeGrant, (resident.id, template)).remaining


def test_web_resident_is_told_in_the_inbox_and_the_log(db, make_resident, caplog):
    note = queue(db, make_resident())
    caplog.set_level("INFO", logger="lianxin.outbox")
    assert deliver_due(now=T0) == DeliveryReport(sent=1)
    assert (note.status, note.channel, note.sent_at, note.attempts) == ("sent", "inbox", T0, 0)
    assert any(r.name == "lianxin.outbox" and "代表已答复您的留言" in r.getMessage()
               for r in caplog.records)


def test_wechat_resident_with_template_and_grant_gets_a_subscribe_message(
        db, wechat, templates, make_resident, make_deputy):
    resident = make_resident("o-resident", {"TPL-ANSWER": 2})
    message = submit_message(resident=resident, deputy=make_deputy(), body="小区门口的路灯坏了。",
                             idempotency_key=uuid.uuid4().hex).message
    db.session.execute(sa.delete(Notification))  # the deputy's "new message" row is not ours
    note = queue(db, resident, subject=message, place=Place("resident_message", message.id))
    wechat.add(responses.POST, SEND, json={"errcode": 0, "errmsg": "ok"})

    assert deliver_due(now=T0) == DeliveryReport(sent=1)
    assert sends(wechat) == [{
        "touser": "o-resident",
        "template_id": "TPL-ANSWER",
        "page": f"pages/message/detail?id={message.id}",
        "miniprogram_state": "formal",
        "data": {
            "character_string1": {"value": message.tracking_no},
            "thing2": {"value": "代表已答复您的留言"},
            "thing3": {"value": ANSWER[:19] + "…"},
            "time4": {"value": "2026-11-23 10:30"},
        },
    }]
    assert (note.status, note.channel) == ("sent", "wechat")
    assert grant_left(db, resident) == 1


def test_no_grant_left_goes_to_the_inbox_without_calling_wechat(db, wechat, templates,
                                                                make_resident):
    note = queue(db, make_resident("o-resident", {"TPL-ANSWER": 0}))
    assert deliver_due(now=T0) == DeliveryReport(sent=1)
    assert note.channel == "inbox" and sends(wechat) == []


def test_wechat_says_no_grant_so_the_grant_is_zeroed_and_the_inbox_used(db, wechat, templates,
                                                                         make_resident):
    resident = make_resident("o-resident", {"TPL-ANSWER": 3})
    note = queue(db, resident)
    wechat.add(responses.POST, SEND, json={"errcode": 43101, "errmsg": "user refuse to accept"})
    assert deliver_due(now=T0) == DeliveryReport(sent=1)
    assert (note.status, note.channel, note.attempts) == ("sent", "inbox", 0)
    assert grant_left(db, resident) == 0
    assert len(sends(wechat)) == 1


def test_staff_and_deputies_are_reached_on_their_bound_wechat(db, wechat, templates, make_staff,
                                                              make_deputy, make_resident):
    deputy = make_deputy()
    make_staff("deputy", deputy=deputy).wechat_openid = "o-deputy"
    liaison, unbound = make_staff("liaison"), make_staff("liaison")
    liaison.wechat_openid = "o-liaison"
    notes = [queue(db, who, "message.new", title="您收到一条新留言")
             for who in (deputy, liaison, unbound)]
    wechat.add(responses.POST, SEND, json={"errcode": 0, "errmsg": "ok"})
    assert deliver_due(now=T0) == DeliveryReport(sent=3)
    assert [s["touser"] for s in sends(wechat)] == ["o-deputy", "o-liaison"]
    assert [n.channel for n in notes] == ["wechat", "wechat", "inbox"]


def test_no_answer_from_wechat_is_not_retried(db, wechat, templates, make_resident):
    """WeChat got the request but the answer timed out: it may have been sent, and the resident's
    one-time grant spent, so sending again could repeat it. At most once."""
    resident = make_resident("o-resident", {"TPL-ANSWER": 2})
    note = queue(db, resident)
    wechat.add(responses.POST, SEND, body=requests.exceptions.ReadTimeout("no answer"))
    assert deliver_due(now=T0) == DeliveryReport(sent=1)
    assert deliver_due(now=T0 + timedelta(hours=7)).total == 0
    assert len(sends(wechat)) == 1
    db.session.refresh(note)
    assert (note.status, note.channel) == ("sent", "wechat")
    assert grant_left(db, resident) == 1


@pytest.mark.parametrize("failure", [
    {"status": 500},
    {"body": requests.exceptions.ConnectTimeout("timed out")},
    {"json": {"errcode": 45009, "errmsg": "reach max api daily quota limit"}},
], ids=["http-500", "timeout", "wechat-error"])
def test_a_failed_send_is_retried_later(db, wechat, templates, make_resident, failure):
    resident = make_resident("o-resident", {"TPL-ANSWER": 1})
    note = queue(db, resident)
    wechat.add(responses.POST, SEND, **failure)
    assert deliver_due(now=T0) == DeliveryReport(failed=1)
    assert (note.status, note.attempts) == ("failed", 1)
    assert note.next_attempt_at == T0 + timedelta(seconds=30)
    assert note.last_error and len(note.last_error) <= 300
    assert grant_left(db, resident) == 1  # nothing went out, the grant is still there


def test_backoff_doubles_and_the_eighth_failure_is_dead(db, wechat, templates, make_resident):
    note = queue(db, make_resident("o-resident", {"TPL-ANSWER": 1}))
    wechat.add(responses.POST, SEND, status=500)
    now, waits = T0, []
    for _ in range(7):
        assert deliver_due(now=now) == DeliveryReport(failed=1)
        waits.append((note.next_attempt_at - now).total_seconds())
        assert deliver_due(now=note.next_attempt_at - timedelta(seconds=1)).total == 0  # not yet
        now = note.next_attempt_at
    assert waits == [30, 60, 120, 240, 480, 960, 1920]
    assert deliver_due(now=now) == DeliveryReport(dead=1)
    assert (note.status, note.attempts) == ("dead", 8)
    assert "500" in note.last_error
    assert deliver_due(now=now + timedelta(days=1)).total == 0  # the dead stay dead


def test_one_bad_row_does_not_stop_the_batch(db, make_resident, monkeypatch):
    bad, good = make_resident(), make_resident()
    bad_note, good_note = queue(db, bad), queue(db, good)
    real_target = delivery._target

    def target(note):
        if note.recipient_id == bad.id:
            raise RuntimeError("broken recipient")
        return real_target(note)
    monkeypatch.setattr(delivery, "_target", target)
    assert deliver_due(now=T0) == DeliveryReport(sent=1, failed=1)
    assert (bad_note.status, bad_note.last_error) == ("failed", "RuntimeError: broken recipient")
    assert good_note.status == "sent"


def test_a_recipient_who_is_gone_is_closed_not_retried(db):
    note = notify("resident", 987654, "message.answered", "代表已答复您的留言")
    note.next_attempt_at = T0
    db.session.flush()
    assert deliver_due(now=T0) == DeliveryReport(skipped=1)
    assert (note.status, note.last_error) == ("dead", "收件人已不存在")


def test_rows_not_yet_due_are_left_alone_and_oldest_go_first(db, make_resident):
    resident = make_resident()
    later = queue(db, resident, at=T0 + timedelta(minutes=5))
    due = [queue(db, resident, at=T0 - timedelta(minutes=m)) for m in (1, 2, 3)]
    assert deliver_due(now=T0, batch=2) == DeliveryReport(sent=2)
    assert [n.status for n in due] == ["sent", "sent", "pending"]  # by id: queued first, sent first
    assert deliver_due(now=T0) == DeliveryReport(sent=1)
    assert (later.status, later.sent_at) == ("pending", None)


def test_cli_delivers_and_reports_in_chinese(app, db, make_resident):
    queue(db, make_resident(), at=datetime.now(timezone.utc) - timedelta(minutes=1))
    db.session.commit()  # the command runs in its own app context and session
    runner = app.test_cli_runner()
    result = runner.invoke(args=["outbox", "deliver"])
    assert result.exit_code == 0, result.output
    assert "已发送 1 条" in result.output
    result = runner.invoke(args=["outbox", "status"])
    assert "已发送：1 条（站内通知 1 条）" in result.output and "待发送：0 条" in result.output


def test_two_workers_never_send_a_row_twice(app, db, wechat, templates, make_resident,
                                            postgres_only):
    # Two grants each, so a grant running out could not hide a second send.
    residents = [make_resident(f"o-{n:02d}", {"TPL-ANSWER": 2}) for n in range(50)]
    for resident in residents:
        queue(db, resident, at=datetime.now(timezone.utc) - timedelta(minutes=1))
    db.session.commit()

    def slow_ok(request):
        time.sleep(0.005)  # long enough for the workers' batches to overlap
        return 200, {}, json.dumps({"errcode": 0, "errmsg": "ok"})
    wechat.add_callback(responses.POST, SEND, callback=slow_ok)
    def worker():
        from backend.core.extensions import db as worker_db
        while deliver_due(batch=5).total:
            worker_db.session.commit()

    assert at_once(app, worker, worker) == [None, None]
    sent_to = [s["touser"] for s in sends(wechat)]
    assert len(sent_to) == 50 and len(set(sent_to)) == 50
    db.session.expire_all()
    outcomes = sa.select(Notification.status, Notification.channel).distinct()
    assert db.session.execute(outcomes).all() == [("sent", "wechat")]
    assert db.session.scalar(sa.select(sa.func.sum(SubscribeGrant.remaining))) == 50


@pytest.mark.parametrize("place,path,page", [
    (("resident_message", 12), "/m/12", "pages/message/detail?id=12"),
    (("resident_appointment", 7), "/my/appointments/7", "pages/appointment/detail?id=7"),
    (("deputy_message", 3), "/staff/inbox/3", "pages/deputy/message?id=3"),
    (("liaison_message", 3), "/staff/messages/3", "pages/liaison/message?id=3"),
    (("suggestion", 5), "/staff/suggestions/5", "pages/deputy/suggestion?id=5"),
    (("duties", None), "/staff/duties", "pages/deputy/duties"),
    (("station_roster", 2), "/staff/stations/2/roster", "pages/liaison/roster?station=2"),
    (("meeting_requests", None), "/staff/meeting-requests", None),
])
def test_a_place_opens_the_mini_program_page_for_the_same_thing(place, path, page):
    from backend.notifications.places import from_stored
    where = Place(*place)
    assert (where.web_path, where.mp_page) == (path, page)
    assert from_stored(where.stored()) == where  # what the outbox row keeps comes back whole


@pytest.mark.parametrize("stored", ["", "/staff/accounts", "nowhere:3", "deputy_message", "duties:4"])
def test_an_unknown_or_malformed_place_opens_nothing(stored):
    from backend.notifications.places import from_stored
    assert from_stored(stored) is None
