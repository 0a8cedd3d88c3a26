"""代表活动 in the mini-program: the deputy's list and one activity, answering 参加/请假,
checking in with the code, reporting an own activity; the liaison's page for an activity
notice. Refusals come in the one error shape, with stable codes and Chinese words, and change
nothing. Every activity notice opens a mini-program page whose endpoint answers its reader."""
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.activities import matters
from backend.activities import operations as ops
from backend.activities.models import Activity, ActivityAttendance
from backend.core.timeutil import utcnow
from backend.notifications.models import Notification

CHINESE = ("\u4e00", "\u9fff")


def _chinese(text: str) -> bool:
    return any(CHINESE[0] <= ch <= CHINESE[1] for ch in text)


def _activity(world, *, starts_in=timedelta(minutes=30), kind="visit", deputies=None):
    now = utcnow()
    return ops.create_activity(
        actor=world.liaison, kind=kind, title="走访幸福社区", place="幸福社区居委会",
        starts_at=now + starts_in, ends_at=now + starts_in + timedelta(hours=2),
        station_id=world.station.id, now=now + starts_in - timedelta(days=1),
        deputy_ids=deputies or [world.deputy.id, world.deputy_b.id])


def _status(db, act, deputy):
    db.session.expire_all()
    return db.session.scalar(sa.select(ActivityAttendance.status).filter_by(
        activity_id=act.id, deputy_id=deputy.id))


def test_the_list_shows_what_is_ahead_and_what_is_past(api, db, world):
    ahead = _activity(world, starts_in=timedelta(days=2))
    past = _activity(world, starts_in=timedelta(days=-2))
    ops.record_activity(past, actor=world.liaison, summary="走访了十户居民")
    not_mine = _activity(world, deputies=[world.deputy_b.id])
    body = api.get("/deputy/activities", world.tokens["deputy"]).json
    assert [a["id"] for a in body["upcoming"]] == [ahead.id]
    assert [a["id"] for a in body["recent"]] == [past.id]
    assert not_mine.id not in {a["id"] for a in body["upcoming"] + body["recent"]}
    first = body["upcoming"][0]
    assert (first["my_status"], first["my_status_label"], first["actions"]) == (
        "invited", "待回复", ["answer"])
    assert first["starts_at"].endswith("+08:00")
    assert body["recent"][0]["my_status"] == "absent" and body["recent"][0]["actions"] == []
    assert [s["id"] for s in body["report_stations"]] == [world.station.id]
    assert {"value": "deliberation", "label": "议事"} in body["kinds"]
    assert "checkin_code" not in str(body)


def test_answer_then_change_the_answer_until_the_start(api, db, world):
    act = _activity(world)
    url = f"/deputy/activities/{act.id}/answer"
    resp = api.post(url, world.tokens["deputy"], json={"answer": "excuse"})
    assert resp.status_code == 422 and resp.json["code"] == "validation_failed"
    assert "原因" in resp.json["errors"]["reason"][0]
    assert _status(db, act, world.deputy) == "invited"
    resp = api.post(url, world.tokens["deputy"], json={"answer": "maybe"})
    assert resp.status_code == 422 and _chinese(resp.json["errors"]["answer"][0])
    resp = api.post(url, world.tokens["deputy"], json={"answer": "excuse", "reason": "外出开会"})
    assert resp.status_code == 200, resp.json
    assert (resp.json["my_status"], resp.json["my_reason"]) == ("excused", "外出开会")
    resp = api.post(url, world.tokens["deputy"], json={"answer": "accept"})
    assert resp.json["my_status"] == "accepted" and _status(db, act, world.deputy) == "accepted"


def test_no_answer_once_it_has_begun(api, db, world):
    act = _activity(world, starts_in=timedelta(minutes=-10))
    resp = api.post(f"/deputy/activities/{act.id}/answer", world.tokens["deputy"],
                    json={"answer": "accept"})
    assert resp.status_code == 409 and resp.json["code"] == "activity_started"
    assert _chinese(resp.json["message"]) and _status(db, act, world.deputy) == "invited"


def test_check_in_with_the_code_and_a_wrong_code_refused(api, db, world):
    act = _activity(world)
    url = f"/deputy/activities/{act.id}/check-in"
    wrong = "000000" if act.checkin_code != "000000" else "111111"
    resp = api.post(url, world.tokens["deputy"], json={"code": wrong})
    assert resp.status_code == 422 and "签到码不对" in resp.json["errors"]["code"][0]
    assert _status(db, act, world.deputy) == "invited"
    resp = api.post(url, world.tokens["deputy"], json={"code": act.checkin_code})
    assert resp.status_code == 200, resp.json
    assert (resp.json["my_status"], resp.json["actions"]) == ("attended", [])
    assert _status(db, act, world.deputy) == "attended"


def test_check_in_outside_its_window_or_uninvited(api, db, world):
    later = _activity(world, starts_in=timedelta(days=1))
    resp = api.post(f"/deputy/activities/{later.id}/check-in", world.tokens["deputy"],
                    json={"code": later.checkin_code})
    assert resp.status_code == 409 and resp.json["code"] == "checkin_closed"
    mine = _activity(world, deputies=[world.deputy_b.id])
    resp = api.post(f"/deputy/activities/{mine.id}/check-in", world.tokens["deputy"],
                    json={"code": mine.checkin_code})
    assert resp.status_code == 403 and resp.json["code"] == "not_invited"
    assert _chinese(resp.json["message"])
    resp = api.post("/deputy/activities/999999/check-in", world.tokens["deputy"],
                    json={"code": "123456"})
    assert resp.status_code == 404 and resp.json["code"] == "activity_not_found"


def test_guessing_codes_is_stopped_after_ten_tries(api, db, world):
    act = _activity(world)
    wrong = "000000" if act.checkin_code != "000000" else "111111"
    url = f"/deputy/activities/{act.id}/check-in"
    for _ in range(10):
        assert api.post(url, world.tokens["deputy"], json={"code": wrong}).status_code == 422
    resp = api.post(url, world.tokens["deputy"], json={"code": act.checkin_code})
    assert resp.status_code == 429 and resp.json["code"] == "rate_limited"
    assert _status(db, act, world.deputy) == "invited"


def test_report_an_own_activity_for_the_station_to_confirm(api, db, world):
    day = (utcnow() - timedelta(days=3)).date().isoformat()
    body = {"kind": "visit", "title": "走访选区居民", "place": "南街", "date": day,
            "start": "09:00", "end": "11:00", "station_id": world.station.id,
            "summary": "听取了居民对停车难的意见"}
    resp = api.post("/deputy/activities", world.tokens["deputy"], json=body)
    assert resp.status_code == 201, resp.json
    assert (resp.json["status"], resp.json["status_label"], resp.json["my_status"]) == (
        "reported", "待确认", "attended")
    act = db.session.get(Activity, resp.json["id"])
    assert (act.origin, act.station_id) == ("reported", world.station.id)
    note = db.session.scalar(sa.select(Notification).filter_by(topic="activity.reported"))
    assert note.recipient_id == world.liaison.id
    assert note.place.mp_page == f"pages/liaison/activity?id={act.id}"
    page = api.get(f"/liaison/activities/{act.id}", world.tokens["liaison"]).json
    assert page["actions"] == ["confirm", "reject"]
    resp = api.post(f"/liaison/activities/{act.id}/confirm", world.tokens["liaison"])
    assert resp.status_code == 200 and resp.json["status"] == "confirmed"
    resp = api.post(f"/liaison/activities/{act.id}/confirm", world.tokens["liaison"])
    assert resp.status_code == 409 and resp.json["code"] == "invalid_state"


@pytest.mark.parametrize("change, field, words", [
    ({"end": "08:00"}, "end", "结束时间应晚于开始时间"),
    ({"start": "九点"}, "start", "时间格式应为 09:00"),
    ({"date": "2099-01-01"}, "end", "只能报备已经结束的活动"),
    ({"station_id": "{other}"}, "station_id", "请选择您所在的联络站"),
    ({"kind": "party"}, "kind", "请选择活动类型"),
    ({"summary": "好"}, "summary", "个字写明活动情况"),
])
def test_a_bad_report_is_refused_by_field_and_stores_nothing(api, db, world, change, field,
                                                            words):
    day = (utcnow() - timedelta(days=3)).date().isoformat()
    body = {"kind": "visit", "title": "走访选区居民", "place": "南街", "date": day,
            "start": "09:00", "end": "11:00", "station_id": world.station.id,
            "summary": "听取了居民对停车难的意见", **change}
    if body["station_id"] == "{other}":
        body["station_id"] = world.station_b.id
    resp = api.post("/deputy/activities", world.tokens["deputy"], json=body)
    assert resp.status_code == 422, resp.json
    assert words in resp.json["errors"][field][0]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 0


def test_a_deliberation_shows_its_details_but_never_the_residents_names(api, db, world):
    act = _activity(world, kind="deliberation", starts_in=timedelta(hours=-3))
    ops.mark_present(act.attendance_of(world.deputy.id), actor=world.liaison)
    ops.record_activity(act, actor=world.liaison, summary="议事顺利进行", details={
        "topic": "加装电梯费用分摊", "resident_count": 18, "resident_names": "张阿姨、李师傅",
        "agreed": "一楼不分摊，其余按楼层分摊"})
    matters.add_item(act, actor=world.liaison, summary="三号楼的电梯井占了自行车棚，放车没地方",
                     resident_name="王大姐", resident_consent=True)
    resp = api.get(f"/deputy/activities/{act.id}", world.tokens["deputy"])
    assert resp.json["deliberation"] == {"topic": "加装电梯费用分摊", "resident_count": 18,
                                         "agreed": "一楼不分摊，其余按楼层分摊"}
    liaison = api.get(f"/liaison/activities/{act.id}", world.tokens["liaison"])
    # Flask's JSON escapes Chinese (\\u5f20…): the names are looked for in the parsed answer
    for text in (json.dumps(resp.json, ensure_ascii=False),
                 json.dumps(liaison.json, ensure_ascii=False)):
        assert "张阿姨" not in text and "王大姐" not in text
    plain = api.get(f"/deputy/activities/{_activity(world).id}", world.tokens["deputy"])
    assert plain.json["deliberation"] is None


def test_every_activity_notice_opens_a_page_its_reader_may_open(api, db, world):
    """Each notice's mini-program page names an endpoint: called with the reader's token, it
    answers 200 about that activity."""
    act = _activity(world, starts_in=timedelta(days=1))
    ops.answer_invitation(act.attendance_of(world.deputy_b.id), actor=world.deputy_b_user,
                          answer="excuse", reason="外出开会")
    ops.cancel_activity(act, actor=world.liaison, reason="暴雨预警")
    db.session.commit()
    notes = db.session.scalars(sa.select(Notification).where(
        Notification.topic.like("activity.%"))).all()
    assert {n.topic for n in notes} == {"activity.invited", "activity.excused",
                                        "activity.cancelled"}
    tokens = {("deputy", world.deputy.id): world.tokens["deputy"],
              ("deputy", world.deputy_b.id): world.tokens["other_deputy"],
              ("staff", world.liaison.id): world.tokens["liaison"]}
    for note in notes:
        page = note.place.mp_page
        assert page == {"deputy": f"pages/deputy/activity?id={act.id}",
                        "staff": f"pages/liaison/activity?id={act.id}"}[note.recipient_kind]
        assert note.place.web_path == f"/staff/activities/{act.id}"
        mode = page.split("/")[1]  # pages/<mode>/activity?id=N → /<mode>/activities/N
        resp = api.get(f"/{mode}/activities/{act.id}",
                       tokens[(note.recipient_kind, note.recipient_id)])
        assert resp.status_code == 200 and resp.json["id"] == act.id, (note.topic, resp.json)


# ---- the list, page by page (activity_page, as the organiser's) ----

def _invited(db, world, starts, *, status="held", deputies=None, station=None):
    """Activities starting at each of `starts` (in hours from now), `deputies` invited (the
    deputy by default): rows, as the list reads only their times, states and answers."""
    now = utcnow()
    acts = [Activity(origin="organised", status=status, station_id=(station or world.station).id,
                     kind="visit", title=f"走访{n}", place="社区",
                     starts_at=now + timedelta(hours=h), ends_at=now + timedelta(hours=h + 1),
                     checkin_code="123456",
                     attendances=[ActivityAttendance(
                         deputy_id=d.id, status="invited" if status == "planned" else "absent")
                         for d in (deputies if deputies is not None else [world.deputy])])
            for n, h in enumerate(starts)]
    db.session.add_all(acts)
    db.session.flush()
    return acts


def _in_list_order(ahead, past):
    return ([a.id for a in sorted(ahead, key=lambda a: (a.starts_at, a.id))]
            + [a.id for a in sorted(past, key=lambda a: (a.starts_at, a.id), reverse=True)])


def test_the_list_comes_in_pages_of_twenty_with_only_the_deputys_own(api, db, world):
    """Every page holds the deputy's own activities only, however many others lie between."""
    from tests.api.test_liaison_activities import _walk
    # ahead (three at one moment: the id breaks the tie), then past ones and a cancel
    ahead = _invited(db, world, [5, 3, 3, 40, 3, 7], status="planned")
    past = (_invited(db, world, [-h // 2 - 4 for h in range(40)])
            + _invited(db, world, [-30], status="cancelled"))
    both = [world.deputy, world.deputy_b]
    shared = (_invited(db, world, [9], status="planned", deputies=both)
              + _invited(db, world, [-9], deputies=both))
    # the same times, not the deputy's: the other deputy's, nobody's, another station's
    _invited(db, world, [3, 5, -4, -9], deputies=[world.deputy_b])
    _invited(db, world, [3, -5], deputies=[])
    _invited(db, world, [3, -5], station=world.station_b, deputies=[world.deputy_b])
    db.session.commit()
    order = _in_list_order(ahead + shared[:1], past + shared[1:])

    def page_of(cursor):
        resp = api.get("/deputy/activities" + (f"?cursor={cursor}" if cursor else ""),
                       world.tokens["deputy"])
        assert resp.status_code == 200, resp.json
        assert [s["id"] for s in resp.json["report_stations"]] == [world.station.id]
        return resp.json

    pages = _walk(page_of)
    sizes = [(len(p["upcoming"]), len(p["recent"])) for p in pages]
    assert sizes == [(7, 13), (0, 20), (0, 9)]
    listed = [a["id"] for p in pages for a in p["upcoming"] + p["recent"]]
    assert listed == order
    assert {a["my_status"] for p in pages for a in p["upcoming"]} == {"invited"}
    # the other deputy's list has what they share and their own, never the deputy's alone
    theirs = _walk(lambda cursor: api.get(
        "/deputy/activities" + (f"?cursor={cursor}" if cursor else ""),
        world.tokens["other_deputy"]).json)
    seen = {a["id"] for p in theirs for a in p["upcoming"] + p["recent"]}
    assert seen & set(order) == {a.id for a in shared}
    # an activity added meanwhile, before the cursor, does not shift the pages after it
    first = page_of(None)
    _invited(db, world, [-4.5, -3.9])
    _invited(db, world, [6], status="planned")
    db.session.commit()
    second = page_of(first["next_cursor"])
    assert [a["id"] for a in second["recent"]] == order[20:40]


@pytest.mark.parametrize("ahead, past, limit", [
    (0, 0, 3), (3, 0, 3), (4, 2, 3), (1, 2, 3), (0, 7, 3), (5, 1, 2),
])
def test_the_deputys_page_edges_fall_anywhere_and_lose_nothing(db, world, ahead, past, limit):
    from backend.activities.queries import activity_page
    from tests.api.test_liaison_activities import _walk
    # ties on the edges; the other deputy's activities at the same times in between
    times_ahead, times_past = [1 + n // 2 for n in range(ahead)], [-5 - n // 2 for n in range(past)]
    mine_ahead = _invited(db, world, times_ahead, status="planned")
    mine_past = _invited(db, world, times_past)
    _invited(db, world, times_ahead, status="planned", deputies=[world.deputy_b])
    _invited(db, world, times_past, deputies=[world.deputy_b])
    db.session.commit()

    def page_of(cursor):
        page = activity_page(world.deputy_user, utcnow(), cursor=cursor, limit=limit)
        return {"upcoming": [a.id for a in page.upcoming], "recent": [a.id for a in page.recent],
                "next_cursor": page.next_cursor}

    pages = _walk(page_of)
    order = _in_list_order(mine_ahead, mine_past)
    assert [i for p in pages for i in p["upcoming"] + p["recent"]] == order
    assert all(len(p["upcoming"]) + len(p["recent"]) == limit for p in pages[:-1])


def _bad_cursors():
    from tests.api.test_liaison_activities import BAD_CURSORS
    return BAD_CURSORS


@pytest.mark.parametrize("cursor, code", _bad_cursors())
def test_a_bad_cursor_on_the_deputys_list_is_a_chinese_error(api, db, world, cursor, code):
    _invited(db, world, [-2, 3])
    db.session.commit()
    resp = api.get(f"/deputy/activities?cursor={cursor}", world.tokens["deputy"])
    assert resp.status_code == 422 and resp.json["code"] == code, resp.json
    if code == "validation_failed":
        assert resp.json["errors"]["cursor"] == ["翻页参数无效，请回到第一页"]
    else:
        assert resp.json["message"] == "翻页参数无效，请回到第一页"
