"""代表活动 in the mini-program's liaison mode: the organiser at the activity, with only their
phone, finds it in the station's list, shows the check-in code, ticks a deputy present, writes
the record (a 议事 with its details) and the matters residents raised, and turns one raised with
consent into a message in the station's queue. The rules are backend/activities'; here: each is
reachable, refused to whoever may not (changing nothing), bad input is a field error in Chinese,
and no answer carries a resident's name or phone."""
import json
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.activities import matters
from backend.activities import operations as ops
from backend.activities.models import Activity, ActivityAttendance, ActivityItem
from backend.core.audit_model import AuditEvent
from backend.core.timeutil import local, utcnow
from backend.messages.models import Message
from backend.notifications.models import Notification
from backend.records.dossier import deputy_record

CHINESE = ("\u4e00", "\u9fff")
DETAILS = {"topic": "加装电梯费用分摊", "resident_count": 18, "resident_names": "张阿姨、李师傅",
           "agreed": "一楼不分摊，其余按楼层分摊"}
MATTER = "三号楼的电梯井占了自行车棚，放车没地方"


def _key() -> str:
    return uuid.uuid4().hex


def _chinese(text: str) -> bool:
    return any(CHINESE[0] <= ch <= CHINESE[1] for ch in text)


def _activity(world, *, starts_in=timedelta(hours=-1), kind="visit", station=None,
              actor=None):
    now = utcnow()
    return ops.create_activity(
        actor=actor or world.liaison, kind=kind, title="走访幸福社区", place="幸福社区居委会",
        starts_at=now + starts_in, ends_at=now + starts_in + timedelta(hours=2),
        station_id=(station or world.station).id, now=now + starts_in - timedelta(days=1),
        deputy_ids=[world.deputy.id, world.deputy_b.id] if station is None else [])


def _held(world, **kw):
    act = _activity(world, **kw)
    ops.mark_present(act.attendance_of(world.deputy.id), actor=world.liaison)
    ops.record_activity(act, actor=world.liaison, summary="走访了十户居民",
                        details=DETAILS if act.is_deliberation else None)
    return act


def _text(resp) -> str:
    """The answer as text with its Chinese readable: Flask's JSON escapes it (\\u738b…), so a
    name searched in the raw body would never be found."""
    return json.dumps(resp.json, ensure_ascii=False)


def _count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _footprint(db, act):
    """What a refused request must leave as it was: the activity, its attendances and items,
    the messages and the audit log."""
    db.session.expire_all()
    act = db.session.get(Activity, act.id)
    return (act.status, act.status_note, act.summary, act.topic, act.resident_names,
            sorted((a.deputy_id, a.status) for a in act.attendances),
            _count(db, ActivityItem), _count(db, Message), _count(db, AuditEvent),
            _count(db, Notification))


def test_the_list_shows_my_stations_activities(api, db, world):
    ahead = _activity(world, starts_in=timedelta(hours=3))
    past = _held(world, starts_in=timedelta(days=-2))
    report = ops.report_activity(
        world.deputy, actor=world.deputy_user, kind="visit", title="走访选区居民", place="南街",
        starts_at=utcnow() - timedelta(days=3), ends_at=utcnow() - timedelta(days=3, hours=-1),
        station_id=world.station.id, summary="听取了居民对停车难的意见")
    elsewhere = _activity(world, starts_in=timedelta(hours=5), station=world.station_b,
                          actor=world.liaison_b)
    resp = api.get("/liaison/activities", world.tokens["liaison"])
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert [a["id"] for a in body["upcoming"]] == [ahead.id]
    assert [a["id"] for a in body["recent"]] == [past.id, report.id]
    # more than an hour ahead: too early to tick anyone present; it may still grow or be called off
    assert body["upcoming"][0]["actions"] == ["invite", "cancel"]
    assert body["recent"][0]["actions"] == ["record", "add_item"]
    assert body["recent"][1]["actions"] == ["confirm", "reject"]
    text = _text(resp)
    assert "checkin_code" not in text and ahead.checkin_code not in text
    other = api.get("/liaison/activities", world.tokens["other_liaison"]).json
    assert [a["id"] for a in other["upcoming"] + other["recent"]] == [elsewhere.id]
    refused = api.get("/liaison/activities", world.tokens["deputy"])
    assert refused.status_code == 403 and refused.json["code"] == "liaison_only"


def test_the_code_is_shown_only_to_the_organiser_while_it_is_of_use(api, db, world):
    act = _activity(world, starts_in=timedelta(minutes=30))
    db.session.commit()
    page = api.get(f"/liaison/activities/{act.id}", world.tokens["liaison"])
    assert page.status_code == 200 and page.json["checkin_code"] == act.checkin_code
    assert page.json["actions"] == ["mark_present", "invite", "cancel"]
    for role, code in (("other_liaison", "activity_forbidden"), ("deputy", "liaison_only")):
        resp = api.get(f"/liaison/activities/{act.id}", world.tokens[role])
        assert resp.status_code == 403 and resp.json["code"] == code, resp.json
        assert act.checkin_code not in _text(resp)
    deputy_page = api.get(f"/deputy/activities/{act.id}", world.tokens["deputy"])
    assert deputy_page.status_code == 200 and "checkin_code" not in deputy_page.json
    act = db.session.get(Activity, act.id)
    ops.record_activity(act, actor=world.liaison, summary="走访了十户居民",
                        now=act.starts_at + timedelta(hours=1))
    db.session.commit()
    assert api.get(f"/liaison/activities/{act.id}",
                   world.tokens["liaison"]).json["checkin_code"] is None


def test_ticking_a_deputy_present_counts_on_their_record(api, db, world):
    act = _activity(world)
    db.session.commit()
    resp = api.post(f"/liaison/activities/{act.id}/present", world.tokens["liaison"],
                    json={"deputy_id": world.deputy.id})
    assert resp.status_code == 200, resp.json
    answers = {a["deputy_id"]: a["status"] for a in resp.json["attendances"]}
    assert answers == {world.deputy.id: "attended", world.deputy_b.id: "invited"}
    attendance = db.session.scalar(sa.select(ActivityAttendance).filter_by(
        activity_id=act.id, deputy_id=world.deputy.id))
    assert (attendance.status, attendance.checked_in_by) == ("attended", "organiser")
    again = api.post(f"/liaison/activities/{act.id}/present", world.tokens["liaison"],
                     json={"deputy_id": world.deputy.id})
    assert again.status_code == 200  # ticking twice changes nothing
    resp = api.post(f"/liaison/activities/{act.id}/record", world.tokens["liaison"],
                    json={"summary": "走访了十户居民，听取了对停车难的意见"})
    assert resp.status_code == 200, resp.json
    assert (resp.json["status"], resp.json["summary"]) == ("held", "走访了十户居民，听取了对停车难的意见")
    year = local(act.starts_at).year
    present, absent = deputy_record(world.deputy, year), deputy_record(world.deputy_b, year)
    assert (present.invited, present.attended, present.absent) == (1, 1, 0)
    assert (absent.invited, absent.attended, absent.absent) == (1, 0, 1)
    late = api.post(f"/liaison/activities/{act.id}/present", world.tokens["liaison"],
                    json={"deputy_id": world.deputy_b.id})
    assert late.status_code == 409 and late.json["code"] == "invalid_state"
    assert _chinese(late.json["message"])


def test_too_early_to_tick_anyone_present(api, db, world):
    act = _activity(world, starts_in=timedelta(hours=3))
    db.session.commit()
    before = _footprint(db, act)
    resp = api.post(f"/liaison/activities/{act.id}/present", world.tokens["liaison"],
                    json={"deputy_id": world.deputy.id})
    assert resp.status_code == 409 and resp.json["code"] == "checkin_closed"
    assert _footprint(db, act) == before


def test_recording_a_deliberation_keeps_the_names_and_never_answers_them(api, db, world):
    act = _activity(world, kind="deliberation")
    db.session.commit()
    url = f"/liaison/activities/{act.id}/record"
    resp = api.post(url, world.tokens["liaison"], json={"summary": "议事顺利进行", **DETAILS})
    assert resp.status_code == 200, resp.json
    assert resp.json["deliberation"] == {
        "topic": "加装电梯费用分摊", "resident_count": 18, "agreed": "一楼不分摊，其余按楼层分摊",
        "resident_names_recorded": True}
    act = db.session.get(Activity, act.id)
    assert (act.status, act.topic, act.resident_count, act.resident_names, act.agreed) == (
        "held", "加装电梯费用分摊", 18, "张阿姨、李师傅", "一楼不分摊，其余按楼层分摊")
    # a correction from the phone, which never had the names, keeps them
    fix = {"summary": "议事顺利进行，居民充分发表了意见", "topic": "加装电梯费用分摊",
           "resident_count": 19, "agreed": "一楼不分摊，其余按楼层分摊"}
    resp = api.post(url, world.tokens["liaison"], json=fix)
    assert resp.status_code == 200 and resp.json["deliberation"]["resident_count"] == 19
    assert db.session.get(Activity, act.id).resident_names == "张阿姨、李师傅"
    for token in ("liaison", "deputy"):
        mode = "liaison" if token == "liaison" else "deputy"
        text = _text(api.get(f"/{mode}/activities/{act.id}", world.tokens[token]))
        assert "张阿姨" not in text and '"resident_names"' not in text
    # an empty text clears them
    resp = api.post(url, world.tokens["liaison"], json={**fix, "resident_names": ""})
    assert resp.json["deliberation"]["resident_names_recorded"] is False
    assert db.session.get(Activity, act.id).resident_names == ""


@pytest.mark.parametrize("path, body, field, words", [
    ("record", {"summary": "好"}, "summary", "个字记录活动情况"),
    ("record", {}, "summary", "此项必填"),
    ("record", {"summary": "议事顺利进行", **DETAILS, "topic": ""}, "topic", "写明议题"),
    ("record", {"summary": "议事顺利进行", **DETAILS, "resident_count": -1}, "resident_count",
     "之间的整数"),
    ("record", {"summary": "议事顺利进行", **DETAILS, "resident_count": "很多"},
     "resident_count", "请填写整数"),
    ("record", {"summary": "议事顺利进行", **DETAILS, "resident_count": None}, "resident_count",
     "之间的整数"),
    ("record", {"summary": "议事顺利进行", **DETAILS, "agreed": "好"}, "agreed", "议定事项"),
    ("present", {"deputy_id": 2**31}, "deputy_id", "编号无效"),
    ("present", {"deputy_id": "{stranger}"}, "deputy_id", "邀请名单"),
    ("items", {"summary": MATTER}, "resident_consent", "是否同意"),
    ("items", {"summary": "路灯", "resident_consent": True}, "summary", "写明群众反映的问题"),
    ("items", {"summary": MATTER, "phone": "13800131234", "resident_consent": False}, "phone",
     "不登记手机号"),
    ("items", {"summary": MATTER, "phone": "12345", "resident_consent": True}, "phone",
     "11位手机号"),
    ("items", {"summary": MATTER, "deputy_id": "{absent}", "resident_consent": True},
     "deputy_id", "到场的代表"),
])
def test_bad_input_is_a_chinese_field_error_and_changes_nothing(api, db, world, make_deputy,
                                                                path, body, field, words):
    if path == "items":
        act = _held(world, kind="deliberation")
    else:
        act = _activity(world, kind="deliberation")
    stranger = make_deputy(stations=[world.station])
    names = {"{stranger}": stranger.id, "{absent}": world.deputy_b.id}
    body = {k: names.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    if path == "items":
        body["idempotency_key"] = _key()
    db.session.commit()
    before = _footprint(db, act)
    resp = api.post(f"/liaison/activities/{act.id}/{path}", world.tokens["liaison"], json=body)
    assert resp.status_code == 422, resp.json
    assert resp.json["code"] == "validation_failed" and _chinese(resp.json["message"])
    assert words in resp.json["errors"][field][0], resp.json["errors"]
    assert _footprint(db, act) == before


@pytest.mark.parametrize("role, code", [("other_liaison", "activity_forbidden"),
                                        ("deputy", "liaison_only"),
                                        ("owner", "liaison_only")])
def test_whoever_does_not_organise_it_is_refused_and_nothing_changes(api, db, world, make_deputy,
                                                                     role, code):
    act = _held(world)
    stranger = make_deputy(stations=[world.station])  # invitable, but not by them
    item = matters.add_item(act, actor=world.liaison, summary=MATTER, resident_consent=True)
    planned = _activity(world)
    db.session.commit()
    calls = [
        (planned, "present", {"deputy_id": world.deputy.id}),
        (planned, "record", {"summary": "走访了十户居民"}),
        (act, "record", {"summary": "改写别人的活动记录"}),
        (act, "items", {"summary": MATTER, "resident_consent": True,
                        "idempotency_key": _key()}),
        (act, f"items/{item.id}/message", None),
        (planned, "invite", {"deputy_ids": [stranger.id]}),
        (planned, "cancel", {"reason": "场地临时有变"}),
    ]
    for target, path, body in calls:
        before = _footprint(db, target)
        resp = api.post(f"/liaison/activities/{target.id}/{path}", world.tokens[role], json=body)
        assert resp.status_code == 403, (path, resp.json)
        assert resp.json["code"] == code and _chinese(resp.json["message"])
        assert _footprint(db, target) == before, path


def test_unknown_activity_or_item_is_a_coded_404(api, db, world):
    act = _held(world)
    db.session.commit()
    resp = api.post("/liaison/activities/999999/record", world.tokens["liaison"],
                    json={"summary": "走访了十户居民"})
    assert resp.status_code == 404 and resp.json["code"] == "activity_not_found"
    resp = api.post(f"/liaison/activities/{act.id}/items/999999/message", world.tokens["liaison"])
    assert resp.status_code == 404 and resp.json["code"] == "activity_item_not_found"
    # an item of another activity is not found through this one
    other = _held(world)
    item = matters.add_item(other, actor=world.liaison, summary=MATTER, resident_consent=True)
    db.session.commit()
    resp = api.post(f"/liaison/activities/{act.id}/items/{item.id}/message",
                    world.tokens["liaison"])
    assert resp.status_code == 404 and db.session.get(ActivityItem, item.id).message_id is None


def test_a_matter_is_listed_only_once_the_record_is_saved(api, db, world):
    act = _activity(world)
    db.session.commit()
    before = _footprint(db, act)
    resp = api.post(f"/liaison/activities/{act.id}/items", world.tokens["liaison"],
                    json={"summary": MATTER, "resident_consent": True, "idempotency_key": _key()})
    assert resp.status_code == 409 and resp.json["code"] == "activity_not_held"
    assert _footprint(db, act) == before


def test_a_matter_without_consent_stays_on_the_activity(api, db, world):
    act = _held(world)
    db.session.commit()
    messages = _count(db, Message)
    resp = api.post(f"/liaison/activities/{act.id}/items", world.tokens["liaison"],
                    json={"summary": MATTER, "resident_name": "王大姐", "resident_consent": False,
                          "idempotency_key": _key()})
    assert resp.status_code == 201, resp.json
    [item] = resp.json["items"]
    assert (item["summary"], item["resident_consent"], item["named"], item["actions"],
            item["message_id"]) == (MATTER, False, True, [], None)
    assert "王大姐" not in _text(resp) and "resident_name\"" not in _text(resp)
    refused = api.post(f"/liaison/activities/{act.id}/items/{item['id']}/message",
                       world.tokens["liaison"])
    assert refused.status_code == 409 and refused.json["code"] == "consent_missing"
    assert _chinese(refused.json["message"])
    assert _count(db, Message) == messages
    assert db.session.get(ActivityItem, item["id"]).message_id is None


def test_a_matter_with_consent_becomes_a_message_in_the_stations_queue(api, db, world):
    act = _held(world)
    db.session.commit()
    resp = api.post(f"/liaison/activities/{act.id}/items", world.tokens["liaison"], json={
        "summary": MATTER, "resident_name": "王大姐", "phone": "13900139000",
        "deputy_id": world.deputy.id, "resident_consent": True, "idempotency_key": _key()})
    assert resp.status_code == 201, resp.json
    [item] = resp.json["items"]
    assert (item["deputy_id"], item["deputy_name"], item["phone_recorded"], item["actions"]) == (
        world.deputy.id, world.deputy.name, True, ["to_message"])
    url = f"/liaison/activities/{act.id}/items/{item['id']}/message"
    resp = api.post(url, world.tokens["liaison"])
    assert resp.status_code == 200, resp.json
    [item] = resp.json["items"]
    message = db.session.get(Message, item["message_id"])
    assert item["tracking_no"] == message.tracking_no and item["actions"] == []
    assert (message.channel, message.station_id, message.assigned_deputy_id or message.deputy_id,
            message.body) == ("activity", world.station.id, world.deputy.id, MATTER)
    for text in (_text(resp),
                 _text(api.get(f"/liaison/activities/{act.id}", world.tokens["liaison"]))):
        assert "王大姐" not in text and "13900139000" not in text
    queue = api.get("/liaison/queue?status=all", world.tokens["liaison"]).json
    assert message.id in [m["id"] for m in queue["items"]]
    messages = _count(db, Message)
    again = api.post(url, world.tokens["liaison"])
    assert again.status_code == 200 and again.json["items"][0]["message_id"] == message.id
    assert _count(db, Message) == messages


# ---- a matter sent again on a bad network is recorded once ----

def _items_and_audits(db):
    return (_count(db, ActivityItem), db.session.scalar(
        sa.select(sa.func.count()).select_from(AuditEvent)
        .where(AuditEvent.action == "activity_item.create")))


def test_a_retry_with_the_same_key_returns_the_first_result_and_records_nothing(api, db, world):
    act = _held(world)
    db.session.commit()
    body = {"summary": MATTER, "phone": "13900139000", "deputy_id": world.deputy.id,
            "resident_consent": True, "idempotency_key": _key()}
    url = f"/liaison/activities/{act.id}/items"
    first = api.post(url, world.tokens["liaison"], json=body)
    assert first.status_code == 201, first.json
    counts = _items_and_audits(db)
    assert counts == (1, 1)
    # the answer was lost: the phone sends it again, the key and the spaces as they were
    again = api.post(url, world.tokens["liaison"], json={**body, "summary": f" {MATTER} "})
    assert again.status_code == 200, again.json
    assert again.json == first.json
    assert _items_and_audits(db) == counts
    # even once the matter went on to the queue, a late retry gets the same item back
    item_id = first.json["items"][0]["id"]
    assert api.post(f"{url}/{item_id}/message", world.tokens["liaison"]).status_code == 200
    late = api.post(url, world.tokens["liaison"], json=body)
    assert late.status_code == 200 and [i["id"] for i in late.json["items"]] == [item_id]
    assert _items_and_audits(db) == counts


@pytest.mark.parametrize("change", [
    {"summary": "另一件事：小区门口的路灯坏了一个多月"},
    {"resident_consent": False, "phone": ""},
    {"deputy_id": None},
    {"resident_name": "王大姐"},
    {"phone": "13900139001"},
    {"activity": "other"},
])
def test_a_key_used_for_another_matter_is_refused_and_changes_nothing(api, db, world, change):
    act, other = _held(world), _held(world)
    db.session.commit()
    body = {"summary": MATTER, "phone": "13900139000", "deputy_id": world.deputy.id,
            "resident_consent": True, "idempotency_key": _key()}
    first = api.post(f"/liaison/activities/{act.id}/items", world.tokens["liaison"], json=body)
    assert first.status_code == 201, first.json
    change = dict(change)
    target = other if change.pop("activity", None) else act
    before = _footprint(db, act), _footprint(db, other)
    resp = api.post(f"/liaison/activities/{target.id}/items", world.tokens["liaison"],
                    json={**body, **change})
    assert resp.status_code == 422, resp.json
    assert resp.json["code"] == "idempotency_conflict" and _chinese(resp.json["message"])
    assert (_footprint(db, act), _footprint(db, other)) == before


@pytest.mark.parametrize("key, code, field", [
    (None, "validation_failed", "idempotency_key"),
    ("", "validation_failed", "idempotency_key"),
    ("k" * 65, "validation_failed", "idempotency_key"),
    ("short", "idempotency_key_invalid", None),
])
def test_a_matter_without_a_usable_key_is_refused(api, db, world, key, code, field):
    act = _held(world)
    db.session.commit()
    body = {"summary": MATTER, "resident_consent": True}
    if key is not None:
        body["idempotency_key"] = key
    before = _footprint(db, act)
    resp = api.post(f"/liaison/activities/{act.id}/items", world.tokens["liaison"], json=body)
    assert resp.status_code == 422 and resp.json["code"] == code, resp.json
    assert _chinese(resp.json["message"])
    if field:
        assert _chinese(resp.json["errors"][field][0])
    assert _footprint(db, act) == before


def test_a_request_that_loses_the_race_for_its_key_answers_with_the_winners_item(
        api, db, world, monkeypatch):
    """The other request with the same key committed between our look-up and our insert: the
    unique column refuses ours, and we answer with theirs (on either database)."""
    from backend.core import idempotency
    act = _held(world)
    key = _key()
    winner = matters.add_item_once(act, actor=world.liaison, idempotency_key=key,
                                   summary=MATTER, resident_consent=True)[0]
    db.session.commit()
    looked_up = idempotency.made_with
    calls = []

    def not_yet_there(model, k):  # the first look-up ran before the winner committed
        calls.append(k)
        return None if len(calls) == 1 else looked_up(model, k)

    monkeypatch.setattr(idempotency, "made_with", not_yet_there)
    resp = api.post(f"/liaison/activities/{act.id}/items", world.tokens["liaison"],
                    json={"summary": MATTER, "resident_consent": True, "idempotency_key": key})
    assert resp.status_code == 200, resp.json
    assert len(calls) == 2 and [i["id"] for i in resp.json["items"]] == [winner.id]
    assert _items_and_audits(db) == (1, 1)


def test_two_requests_racing_with_one_key_record_one_matter(app, db, postgres_only, world):
    from tests.conftest import at_once
    act = _held(world)
    act_id, liaison_id, key = act.id, world.liaison.id, _key()
    db.session.commit()

    def send():
        from backend.accounts.models import StaffUser
        from backend.core.extensions import db as tdb
        item, created = matters.add_item_once(
            tdb.session.get(Activity, act_id), actor=tdb.session.get(StaffUser, liaison_id),
            idempotency_key=key, summary=MATTER, resident_consent=True)
        return item.id, created

    outcomes = at_once(app, send, send, send)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert len({item_id for item_id, _ in outcomes}) == 1
    assert sorted(created for _, created in outcomes) == [False, False, True]
    assert _items_and_audits(db) == (1, 1)


# ---- the organiser's list, page by page ----

def _rows(db, station, starts, status="held"):
    """Activities of `station` starting at each of `starts` (in hours from now), as rows: the
    list reads only their times and states."""
    now = utcnow()
    acts = [Activity(origin="organised", status=status, station_id=station.id, kind="visit",
                     title=f"走访{n}", place="社区", starts_at=now + timedelta(hours=h),
                     ends_at=now + timedelta(hours=h + 1), checkin_code="123456")
            for n, h in enumerate(starts)]
    db.session.add_all(acts)
    db.session.flush()
    return acts


def _walk(page_of):
    """Every page from the first, following next_cursor: [(upcoming ids, recent ids), ...]."""
    pages, cursor = [], None
    while True:
        page = page_of(cursor)
        pages.append(page)
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50, "the cursor never ends"


def test_the_list_comes_in_pages_of_twenty_in_one_stable_order(api, db, world):
    from backend.core.paging import PAGE_SIZE
    # ahead (some at the same moment, so the id breaks the tie), then past ones and a cancel
    ahead = _rows(db, world.station, [5, 3, 3, 40, 3], status="planned")
    past = (_rows(db, world.station, [-h // 2 - 4 for h in range(38)])
            + _rows(db, world.station, [-30], status="cancelled"))
    _rows(db, world.station_b, [2, -2])  # another station's: never listed
    db.session.commit()
    order = ([a.id for a in sorted(ahead, key=lambda a: (a.starts_at, a.id))]
             + [a.id for a in sorted(past, key=lambda a: (a.starts_at, a.id), reverse=True)])

    def page_of(cursor):
        resp = api.get("/liaison/activities" + (f"?cursor={cursor}" if cursor else ""),
                       world.tokens["liaison"])
        assert resp.status_code == 200, resp.json
        return resp.json

    pages = _walk(page_of)
    sizes = [(len(p["upcoming"]), len(p["recent"])) for p in pages]
    assert sizes == [(5, 15), (0, 20), (0, 4)]
    assert PAGE_SIZE == 20
    listed = [a["id"] for p in pages for a in p["upcoming"] + p["recent"]]
    assert listed == order
    # an activity added meanwhile does not shift the pages after it
    first = page_of(None)
    _rows(db, world.station, [-4.5, 6], status="held")
    db.session.commit()
    second = page_of(first["next_cursor"])
    assert [a["id"] for a in second["recent"]] == order[20:40]


@pytest.mark.parametrize("ahead, past, limit", [
    (0, 0, 3), (2, 0, 3), (3, 0, 3), (3, 2, 3), (4, 2, 3), (1, 2, 3), (0, 7, 3), (6, 6, 3),
    (2, 4, 3), (5, 1, 2),
])
def test_page_edges_fall_anywhere_and_lose_nothing(db, world, ahead, past, limit):
    from backend.activities.queries import activity_page
    # every other one shares its time with the next: ties sit on the page edges too
    ahead_rows = _rows(db, world.station, [1 + n // 2 for n in range(ahead)], status="planned")
    past_rows = _rows(db, world.station, [-5 - n // 2 for n in range(past)])
    db.session.commit()
    order = ([a.id for a in sorted(ahead_rows, key=lambda a: (a.starts_at, a.id))]
             + [a.id for a in sorted(past_rows, key=lambda a: (a.starts_at, a.id), reverse=True)])

    def page_of(cursor):
        page = activity_page(world.liaison, utcnow(), cursor=cursor, limit=limit)
        return {"upcoming": [a.id for a in page.upcoming], "recent": [a.id for a in page.recent],
                "next_cursor": page.next_cursor}

    pages = _walk(page_of)
    assert [i for p in pages for i in p["upcoming"] + p["recent"]] == order
    assert all(len(p["upcoming"]) + len(p["recent"]) == limit for p in pages[:-1])
    assert 0 < len(pages[-1]["upcoming"]) + len(pages[-1]["recent"]) <= limit or not order


def _forged(text: str) -> str:
    import base64
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


# Cursors no list of activities takes (the deputy's list is tried with them too).
BAD_CURSORS = [
    ("!!!", "validation_failed"),
    ("a" * 101, "validation_failed"),
    ("not-a-cursor", "cursor_invalid"),
    (_forged("2026-12-03T08:00:00+00:00|12"), "cursor_invalid"),  # the queue's: no part named
    (_forged("later|2026-12-03T08:00:00+00:00|12"), "cursor_invalid"),
    (_forged("recent|2026-12-03T08:00:00|12"), "cursor_invalid"),  # no time zone
    (_forged("recent|2026-12-03T08:00:00+00:00|2147483648"), "cursor_invalid"),
    (_forged("recent|2026-12-03T08:00:00+00:00|0"), "cursor_invalid"),
    (_forged("recent|yesterday|12"), "cursor_invalid"),
    (_forged("recent|upcoming|2026-12-03T08:00:00+00:00|12"), "cursor_invalid"),
]


@pytest.mark.parametrize("cursor, code", BAD_CURSORS)
def test_a_bad_cursor_is_a_chinese_error_with_a_stable_code(api, db, world, cursor, code):
    _rows(db, world.station, [-2, 3])
    resp = api.get(f"/liaison/activities?cursor={cursor}", world.tokens["liaison"])
    assert resp.status_code == 422 and resp.json["code"] == code, resp.json
    assert _chinese(resp.json["message"])
    if code == "validation_failed":
        assert resp.json["errors"]["cursor"] == ["翻页参数无效，请回到第一页"]
    else:
        assert resp.json["message"] == "翻页参数无效，请回到第一页"


# ---- inviting more deputies, cancelling: the staff page's operations, from the phone ----

def _notes(db, topic):
    return sorted(db.session.execute(sa.select(Notification.recipient_kind, Notification.recipient_id)
                                     .where(Notification.topic == topic)).all())


def test_the_organiser_invites_more_deputies_who_are_told(api, db, world, make_deputy):
    act = ops.create_activity(
        actor=world.liaison, kind="visit", title="走访幸福社区", place="幸福社区居委会",
        starts_at=utcnow() + timedelta(days=2), ends_at=utcnow() + timedelta(days=2, hours=2),
        station_id=world.station.id, deputy_ids=[world.deputy.id])
    retired = make_deputy(stations=[world.station], is_active=False)
    make_deputy(stations=[world.station_b])  # another station's: not theirs to invite
    ops.answer_invitation(act.attendance_of(world.deputy.id), actor=world.deputy_user,
                          answer="accept")
    db.session.commit()
    url = f"/liaison/activities/{act.id}"
    page = api.get(url, world.tokens["liaison"]).json
    assert page["invitable"] == [{"id": world.deputy_b.id, "name": world.deputy_b.name}]
    assert retired.id not in [d["id"] for d in page["invitable"]]
    invited_before = _notes(db, "activity.invited")
    # the one already invited is left as they were (their answer stands)
    resp = api.post(f"{url}/invite", world.tokens["liaison"],
                    json={"deputy_ids": [world.deputy_b.id, world.deputy.id]})
    assert resp.status_code == 200, resp.json
    answers = {a["deputy_id"]: a["status"] for a in resp.json["attendances"]}
    assert answers == {world.deputy.id: "accepted", world.deputy_b.id: "invited"}
    assert resp.json["invitable"] == []
    assert _notes(db, "activity.invited") == sorted(
        invited_before + [("deputy", world.deputy_b.id)])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "activity.invite")) == 2  # at creation, and now
    mine = api.get(f"/deputy/activities/{act.id}", world.tokens["other_deputy"])
    assert mine.status_code == 200 and mine.json["my_status"] == "invited"


@pytest.mark.parametrize("deputy_ids, field_words", [
    (["{other_station}"], "只能邀请本站在任的代表"),
    (["{retired}"], "只能邀请本站在任的代表"),
    (["{deputy}"], "请选择要邀请的代表"),  # already invited: nobody new
    ([], "请选择 1 到 200 位"),
    ([2**31], "编号无效"),
    ("{deputy}", "请以列表形式提交"),
])
def test_inviting_whom_the_rules_do_not_allow_is_a_field_error(api, db, world, make_deputy,
                                                               deputy_ids, field_words):
    act = _activity(world, starts_in=timedelta(hours=3))
    names = {"{other_station}": make_deputy(stations=[world.station_b]).id,
             "{retired}": make_deputy(stations=[world.station], is_active=False).id,
             "{deputy}": world.deputy.id}
    body = ([names.get(i, i) for i in deputy_ids] if isinstance(deputy_ids, list)
            else names[deputy_ids])
    db.session.commit()
    before = _footprint(db, act)
    resp = api.post(f"/liaison/activities/{act.id}/invite", world.tokens["liaison"],
                    json={"deputy_ids": body})
    assert resp.status_code == 422 and resp.json["code"] == "validation_failed", resp.json
    assert field_words in str(resp.json["errors"]["deputy_ids"]), resp.json["errors"]
    assert _footprint(db, act) == before


def test_the_organiser_cancels_and_the_invited_hear_why(api, db, world):
    act = _activity(world, starts_in=timedelta(hours=3))
    ops.answer_invitation(act.attendance_of(world.deputy_b.id), actor=world.deputy_b_user,
                          answer="excuse", reason="外出开会")
    db.session.commit()
    resp = api.post(f"/liaison/activities/{act.id}/cancel", world.tokens["liaison"],
                    json={"reason": "  场地临时有变，改期另行通知  "})
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert (body["status"], body["status_note"], body["actions"], body["checkin_code"],
            body["invitable"]) == ("cancelled", "场地临时有变，改期另行通知", [], None, [])
    # the excused deputy is not disturbed again, as on the staff page
    assert _notes(db, "activity.cancelled") == [("deputy", world.deputy.id)]
    note = db.session.scalar(sa.select(Notification).where(
        Notification.topic == "activity.cancelled"))
    assert note.body == "场地临时有变，改期另行通知" and _chinese(note.title)
    audit = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "activity.cancel"))
    assert audit.actor_id == world.liaison.id
    seen = api.get(f"/deputy/activities/{act.id}", world.tokens["deputy"]).json
    assert (seen["status"], seen["status_note"]) == ("cancelled", "场地临时有变，改期另行通知")
    # cancelled once: a second press, or an invitation, changes nothing
    before = _footprint(db, act)
    for path, body in (("cancel", {"reason": "再取消一次"}),
                       ("invite", {"deputy_ids": [world.deputy.id]})):
        again = api.post(f"/liaison/activities/{act.id}/{path}", world.tokens["liaison"], json=body)
        assert again.status_code == 409 and again.json["code"] == "invalid_state", again.json
        assert _chinese(again.json["message"])
    assert _footprint(db, act) == before


@pytest.mark.parametrize("body, words", [
    ({}, "此项必填"),
    ({"reason": "   "}, "此项不能为空"),
    ({"reason": "改" * 201}, "不能超过 200 个字"),
])
def test_cancelling_needs_a_reason(api, db, world, body, words):
    act = _activity(world, starts_in=timedelta(hours=3))
    db.session.commit()
    before = _footprint(db, act)
    resp = api.post(f"/liaison/activities/{act.id}/cancel", world.tokens["liaison"], json=body)
    assert resp.status_code == 422 and words in resp.json["errors"]["reason"][0], resp.json
    assert _footprint(db, act) == before


def test_a_held_activity_can_no_longer_be_cancelled_or_grow(api, db, world):
    act = _held(world)
    db.session.commit()
    before = _footprint(db, act)
    for path, body in (("cancel", {"reason": "场地临时有变"}),
                       ("invite", {"deputy_ids": [world.deputy_b.id]})):
        resp = api.post(f"/liaison/activities/{act.id}/{path}", world.tokens["liaison"], json=body)
        assert resp.status_code == 409 and resp.json["code"] == "invalid_state", resp.json
    assert _footprint(db, act) == before
    assert api.get(f"/liaison/activities/{act.id}", world.tokens["liaison"]).json["invitable"] == []


def test_two_organisers_inviting_one_deputy_at_once_invite_them_once(app, db, postgres_only, world):
    from backend.accounts.models import StaffUser
    from backend.core.errors import ValidationFailed
    from tests.conftest import at_once
    act = ops.create_activity(
        actor=world.liaison, kind="visit", title="走访幸福社区", place="幸福社区居委会",
        starts_at=utcnow() + timedelta(days=2), ends_at=utcnow() + timedelta(days=2, hours=2),
        station_id=world.station.id, deputy_ids=[world.deputy.id])
    act_id, liaison_id, deputy_b = act.id, world.liaison.id, world.deputy_b.id
    db.session.commit()

    def invite():
        from backend.core.extensions import db as tdb
        return ops.invite_deputies(tdb.session.get(Activity, act_id),
                                   actor=tdb.session.get(StaffUser, liaison_id),
                                   deputy_ids=[deputy_b])

    outcomes = at_once(app, invite, invite)
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], ValidationFailed), outcomes
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ActivityAttendance).where(
        ActivityAttendance.activity_id == act_id, ActivityAttendance.deputy_id == deputy_b)) == 1
    assert _notes(db, "activity.invited").count(("deputy", deputy_b)) == 1


def test_an_invitation_racing_the_cancel_is_told_of_it_or_refused(app, db, postgres_only, world):
    from backend.accounts.models import StaffUser
    from backend.core.errors import InvalidState
    from tests.conftest import at_once
    act = ops.create_activity(
        actor=world.liaison, kind="visit", title="走访幸福社区", place="幸福社区居委会",
        starts_at=utcnow() + timedelta(days=2), ends_at=utcnow() + timedelta(days=2, hours=2),
        station_id=world.station.id, deputy_ids=[world.deputy.id])
    act_id, liaison_id, extra = act.id, world.liaison.id, world.deputy_b.id
    db.session.commit()

    def loaded():
        from backend.core.extensions import db as tdb
        return tdb.session.get(Activity, act_id), tdb.session.get(StaffUser, liaison_id)

    def invite():
        act, liaison = loaded()
        return ops.invite_deputies(act, actor=liaison, deputy_ids=[extra])

    def cancel():
        act, liaison = loaded()
        return ops.cancel_activity(act, actor=liaison, reason="场地临时有变")

    outcomes = at_once(app, invite, cancel)
    assert not isinstance(outcomes[1], Exception), outcomes
    db.session.expire_all()
    invited = db.session.scalar(sa.select(ActivityAttendance).filter_by(
        activity_id=act_id, deputy_id=extra))
    if isinstance(outcomes[0], InvalidState):
        assert invited is None  # cancelled first: nobody invited to a cancelled activity
    else:
        assert not isinstance(outcomes[0], Exception), outcomes
        assert ("deputy", extra) in _notes(db, "activity.cancelled")  # invited, then told
