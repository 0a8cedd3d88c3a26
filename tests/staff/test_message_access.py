"""Who may reach which message page or action: every page and POST action × every role.

The world: station A with deputy 王建国 (the addressed and assigned deputy, `deputy`) and
李秀英 (`deputy_other`, same station, not assigned); station B with its own liaison. One new
message to 王建国 with a phone number and a photo, a second open message to merge into, and
one held message. A refused request must change nothing, which `_state` checks."""
import io
import uuid

import pytest
from PIL import Image

from backend.core.adapters import get_storage
from backend.core.extensions import db
from backend.core.audit_model import AuditEvent
from backend.messages.models import Message, MessageEvent, MessageReply
from backend.notifications.models import Notification
from backend.accounts.resident_model import Resident
from backend.messages.operations import add_photo, submit_message
from backend.messages.moderation import add_rule
from tests.conftest import csrf_token, form_keys

ROLES = ("admin", "liaison_own", "liaison_other", "deputy", "deputy_other", "department")
OK, SHOWN = "ok", "shown"  # ok: 200 page or done-and-redirected; shown: the POST answers 200


def allow(*roles, how=OK):
    return {role: how if role in roles else 403 for role in ROLES}


LIAISONS = allow("admin", "liaison_own", "liaison_other")  # each their own stations
TRIAGE = allow("admin", "liaison_own")
VIEWERS = allow("admin", "liaison_own", "deputy")
DEPUTIES = allow("deputy", "deputy_other")
ASSIGNED = allow("deputy")

MESSAGE = "/staff/messages/{message}"
INBOX = "/staff/inbox/{message}"
MATRIX = [
    ("GET", "/staff/messages", None, LIAISONS),
    ("GET", "/staff/messages?station={station_a}", None, TRIAGE),
    ("GET", MESSAGE, None, VIEWERS),
    ("GET", MESSAGE + "/photos/{photo}", None, VIEWERS),
    ("POST", "/staff/messages/{held}/release", {}, TRIAGE),
    ("POST", MESSAGE + "/acknowledge", {}, TRIAGE),
    ("POST", MESSAGE + "/category", {"category": "城乡建设"}, TRIAGE),
    ("POST", MESSAGE + "/assign", {"deputy_id": "{deputy_a2}"}, TRIAGE),
    ("POST", MESSAGE + "/merge", {"into_id": "{target}"}, TRIAGE),
    ("POST", MESSAGE + "/forward", {"to": "12345市民服务热线", "ref": "GD-1"}, TRIAGE),
    ("POST", MESSAGE + "/reject", {"reason": "与代表履职无关"}, TRIAGE),
    ("POST", MESSAGE + "/note", {"text": "已电话联系居民", "idempotency_key": "matrix-message-note"},
     VIEWERS),
    ("POST", MESSAGE + "/phone", {"reason": "电话回访居民"}, allow("admin", "liaison_own", "deputy", how=SHOWN)),
    ("GET", "/staff/inbox", None, DEPUTIES),
    ("GET", INBOX, None, ASSIGNED),
    ("POST", INBOX + "/reply", {"body": "已联系街道，本周内修好路灯。"}, ASSIGNED),
    ("POST", INBOX + "/request-info", {"body": "请问是哪一栋楼门口？"}, ASSIGNED),
    ("POST", INBOX + "/hand-back", {"reason": "不属于我的选区"}, ASSIGNED),
    ("GET", INBOX + "?answers_q=路灯 维修", None, ASSIGNED),
    ("POST", INBOX + "/check-answer", {"body": "已联系街道，本周内修好路灯。"}, allow("deputy", how=SHOWN)),
]
CASES = [pytest.param(method, url, data, role, rules.get(role), id=f"{method} {url} {role}")
         for method, url, data, rules in MATRIX for role in ("anonymous", *ROLES)]


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 40, 40)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def message_world(db, org_world, make_deputy, make_staff):
    w = org_world
    w.deputy_a2 = make_deputy(name="李秀英", stations=[w.station_a])
    w.users["deputy_other"] = make_staff("deputy", deputy=w.deputy_a2)
    w.resident = Resident(web_key=uuid.uuid4().hex)
    db.session.add(w.resident)
    db.session.flush()
    photo_data = _jpeg()
    w.photo = add_photo(resident=w.resident, storage_key=get_storage().save(
        photo_data, "messages", "jpg"), width=8, height=8, size_bytes=len(photo_data))
    w.photo_data = photo_data

    def submit(body, **kw):
        return submit_message(resident=w.resident, deputy=w.deputy_a, body=body,
                              idempotency_key=uuid.uuid4().hex, **kw).message

    w.message = submit("小区门口的路灯坏了一个多月，晚上很不安全。", phone="13800131234",
                       photo_ids=[w.photo.id])
    w.target = submit("解放路路灯不亮，老人晚上出门不方便。")
    add_rule("刷单", "广告")
    w.held = submit("招聘刷单兼职日结，加微信")
    assert w.held.status == "held"
    db.session.commit()
    return w


def fill(text: str, world) -> str:
    names = ("station_a", "station_b", "deputy_a", "deputy_a2", "message", "target", "held",
             "photo")
    ids = {name: getattr(world, name).id for name in names}
    return text.format(**ids)


def state() -> tuple:
    """Everything a message action could change."""
    db.session.expire_all()
    rows = db.session.execute(db.select(
        Message.id, Message.status, Message.assigned_deputy_id, Message.category,
        Message.reject_reason, Message.forward_to, Message.merged_into_id, Message.deputy_read_at,
        Message.acknowledged_at).order_by(Message.id)).all()
    counts = [db.session.scalar(db.select(db.func.count()).select_from(model))
              for model in (MessageEvent, MessageReply, AuditEvent, Notification)]
    return [tuple(r) for r in rows], counts


def test_every_message_page_is_in_the_matrix(app, message_world):
    """A new message page or action without a row here fails this test."""
    adapter = app.url_map.bind("localhost")
    covered = {(adapter.match(fill(url, message_world).split("?")[0], method=method)[0], method)
               for method, url, _, _ in MATRIX}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(("staff.message", "staff.inbox")):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (rule.endpoint, method) in covered, f"{method} {rule.rule} has no row"


@pytest.mark.parametrize("method,url,data,role,expected", CASES)
def test_access(client, login, message_world, method, url, data, role, expected):
    url = fill(url, message_world)
    if role != "anonymous":
        login(message_world.users[role])
    before = state()
    if method == "GET":
        resp = client.get(url)
    else:
        token = csrf_token(client, "/staff/" if role != "anonymous" else "/staff/login")
        form = {key: fill(value, message_world) for key, value in data.items()}
        resp = client.post(url, data={**form, "csrf_token": token})
    location = resp.headers.get("Location", "")

    if role == "anonymous":
        assert resp.status_code == 302 and "/staff/login" in location
    elif expected == SHOWN or (expected == OK and method == "GET"):
        assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    elif expected == OK:
        assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
        with client.session_transaction() as session:  # done, not bounced with an error
            categories = {category for category, _ in session.get("_flashes", [])}
        assert categories == {"success"}, session.get("_flashes")
    else:
        assert resp.status_code == expected, resp.get_data(as_text=True)[:2000]
    if role == "anonymous" or expected not in (OK, SHOWN):
        assert state() == before


def test_phone_reveal_is_audited_and_shown_once(client, login, message_world):
    w = message_world
    login(w.users["liaison_own"])
    page = client.get(f"/staff/messages/{w.message.id}").get_data(as_text=True)
    assert "138****1234" in page and "13800131234" not in page
    token = csrf_token(client, f"/staff/messages/{w.message.id}")
    shown = client.post(f"/staff/messages/{w.message.id}/phone",
                        data={"csrf_token": token, "reason": "电话回访居民"})
    assert 'href="tel:13800131234"' in shown.get_data(as_text=True)
    audit = db.session.scalars(db.select(AuditEvent).filter_by(action="message.reveal_phone")).all()
    assert [(a.object_id, a.actor_id) for a in audit] == [(w.message.id, w.users["liaison_own"].id)]
    again = client.get(f"/staff/messages/{w.message.id}").get_data(as_text=True)
    assert "13800131234" not in again  # once: the next view is masked again


def test_internal_notes_are_shown_to_staff_as_internal(client, login, message_world):
    w = message_world
    login(w.users["liaison_own"])
    url = f"/staff/messages/{w.message.id}"
    token, key = form_keys(client, url)
    client.post(url + "/note", data={"text": "居民是独居老人，答复时请打电话",
                                     "csrf_token": token, "idempotency_key": key})
    client.post("/staff/logout", data={"csrf_token": csrf_token(client, url)})
    inbox_url = f"/staff/inbox/{w.message.id}"
    for role, page_url in (("liaison_own", url), ("admin", url), ("deputy", inbox_url)):
        login(w.users[role])
        html = client.get(page_url).get_data(as_text=True)
        assert "居民是独居老人，答复时请打电话" in html and 'data-testid="internal"' in html, role
        client.post("/staff/logout", data={"csrf_token": csrf_token(client, page_url)})


def test_liaison_cannot_filter_the_queue_by_another_station(client, login, message_world):
    w = message_world
    login(w.users["liaison_other"])
    assert client.get(f"/staff/messages?station={w.station_a.id}").status_code == 403
    mine = client.get(f"/staff/messages?station={w.station_b.id}")
    assert mine.status_code == 200 and w.message.tracking_no not in mine.get_data(as_text=True)
    # Without a station filter a liaison still sees only their own stations.
    assert w.message.tracking_no not in client.get("/staff/messages").get_data(as_text=True)


def test_photos_are_served_only_through_the_checked_route(client, login, message_world):
    w = message_world
    assert client.get(f"/media/{w.photo.storage_key}").status_code == 404
    login(w.users["deputy"])
    resp = client.get(f"/staff/messages/{w.message.id}/photos/{w.photo.id}")
    assert resp.data == w.photo_data and resp.mimetype == "image/jpeg"
    assert "private" in resp.headers["Cache-Control"]
    # A photo id under another message's URL is not found, even for someone who may see both.
    assert client.get(f"/staff/messages/{w.target.id}/photos/{w.photo.id}").status_code == 404


def test_the_note_form_posted_twice_writes_one_note(client, login, message_world):
    """A double click or a browser resubmit sends the page's key again: one note, and the page
    says it was added already, as a success."""
    w = message_world
    login(w.users["liaison_own"])
    url = f"/staff/messages/{w.message.id}"
    token, key = form_keys(client, url)
    form = {"text": "居民是独居老人，答复时请打电话", "csrf_token": token, "idempotency_key": key}
    first, again = client.post(url + "/note", data=form), client.post(url + "/note", data=form)
    assert first.status_code == again.status_code == 302 and first.location == again.location
    assert "这条备注已经添加过了，没有重复添加" in client.get(url).get_data(as_text=True)
    db.session.rollback()
    assert _notes(w.message) == 1

    # The same key with other words is another note: refused, nothing written.
    client.post(url + "/note", data={**form, "text": "另一条：居民白天不在家"})
    assert "该提交编号已用于另一条备注" in client.get(url).get_data(as_text=True)
    # A fresh render has a new key: the same words again are a second note, on purpose.
    fresh = form_keys(client, url)[1]
    assert fresh != key
    client.post(url + "/note", data={**form, "idempotency_key": fresh})
    db.session.rollback()
    assert _notes(w.message) == 2


def test_the_note_form_without_its_key_is_refused_and_writes_nothing(client, login,
                                                                     message_world):
    w = message_world
    login(w.users["liaison_own"])
    url = f"/staff/messages/{w.message.id}"
    client.post(url + "/note", data={"text": "居民是独居老人，答复时请打电话",
                                     "csrf_token": csrf_token(client, url)})
    assert "缺少有效的提交编号，请刷新页面后重试" in client.get(url).get_data(as_text=True)
    db.session.rollback()
    assert _notes(w.message) == 0


def _notes(message) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(MessageEvent).filter_by(
        message_id=message.id, kind="note"))
