"""Who may call which endpoint of /api/mp/v1: every route × every kind of caller.

One row per route; a test fails when a route has no row. `{name}` in a path or a body is
filled from the `world` fixture. A refused request must change nothing, so each refusal is
also checked against the message, its events and the audit log. For lists, "sees" means 200
with the world's message in it, "empty" 200 without it. Two more callers hold a token issued
before its resident deleted their data (the message's writer, and the deputy in deputy mode):
they get what a caller without a token gets, a 401 being token_revoked."""
import io
import re

import pytest

from backend.core.adapters import get_storage
from backend.core.audit_model import AuditEvent
from backend.messages.models import Message, MessageEvent, MessagePhoto
from backend.messages import operations as ops
from backend.notifications.models import Notification
from miniprogram_api import bp
from tests.api.conftest import image_bytes

ROLES = ("none", "owner", "other_resident", "deputy", "other_deputy", "liaison", "other_liaison")
# The token's resident deleted their data after it was issued (whose: the world's role).
ERASED = {"erased_owner": "owner", "erased_deputy": "deputy"}
SEES, EMPTY = "sees", "empty"
PHOTO = object()  # the body is a multipart photo upload


def expect(default, **by_role):
    return {role: by_role.get(role, default) for role in ROLES}


PUBLIC = expect(200)
ANY = expect(200, none=401)
CREATED = expect(201, none=401)
OWNER = expect(404, none=401, owner=200)
DEPUTY = expect(403, none=401, deputy=200)
LIAISON = expect(403, none=401, liaison=200)
VIEWERS = expect(404, none=401, owner=200, deputy=200, liaison=200)
MINE = expect(EMPTY, none=401, owner=SEES)
INBOX = expect(403, none=401, deputy=SEES, other_deputy=EMPTY)
QUEUE = expect(403, none=401, liaison=SEES, other_liaison=EMPTY)
# Deputy-mode suggestions: the world's two deputies share a station, so the other one sees
# (and may co-sign) a submitted suggestion of the first's.
DEPUTIES = expect(403, none=401, deputy=200, other_deputy=200)
COLLEAGUE = expect(403, none=401, other_deputy=200)

M = "/messages/{message}"
D = "/deputy/messages/{message}"
L = "/liaison/messages/{message}"
DS = "/deputy/suggestions/{suggestion}"

# (method, path, JSON body or PHOTO, state the message must be in first, expected by role)
MATRIX = [
    ("POST", "/auth/login", {"code": "x"}, None, expect(503)),  # WeChat is off in tests
    ("POST", "/auth/bind", {"code": "000000"}, None, expect(422, none=401)),
    ("GET", "/deputies/{deputy_token}", None, None, PUBLIC),
    ("GET", "/deputies/by-scene?scene={deputy_token}", None, None, PUBLIC),
    ("GET", "/openapi.json", None, None, PUBLIC),
    ("POST", "/photos", PHOTO, None, CREATED),
    ("GET", "/photos/{photo}", None, "photo", VIEWERS),
    ("POST", "/messages", {"deputy_token": "{deputy_token}", "body": "小区的垃圾好几天没人清运了。",
                           "idempotency_key": "matrix-key-1"}, None, CREATED),
    ("GET", "/messages", None, None, MINE),
    ("GET", M, None, None, OWNER),
    ("POST", M + "/rating", {"value": "satisfied"}, "answered", OWNER),
    ("POST", M + "/info", {"text": "三号楼东门"}, "awaiting_info", OWNER),
    ("POST", M + "/followup", {"response": "solved"}, "followup_asked",
     expect(404, none=401, owner=201)),
    ("POST", M + "/suggestions/{suggestion}/rating", {"value": "satisfied"},
     "suggestion_answered", expect(404, none=401, owner=201)),
    ("GET", "/subscriptions", None, None, ANY),
    # 我的信息: every resident sees and deletes only their own (a refusal to delete without
    # the confirmation changes nothing: tests/privacy/test_own_data.py)
    ("GET", "/me/data", None, None, ANY),
    ("POST", "/me/delete", {"confirm": True}, None, ANY),
    ("POST", "/subscriptions", {"template_ids": ["T1"]}, None, ANY),
    ("GET", "/deputy/inbox", None, None, INBOX),
    ("GET", D, None, None, DEPUTY),
    ("POST", D + "/reply", {"body": "已联系物业，明天修好。"}, None, DEPUTY),
    ("POST", D + "/request-info", {"question": "请问具体在哪一栋？"}, None, DEPUTY),
    ("POST", D + "/hand-back", {"reason": "不属于我的选区"}, None, DEPUTY),
    ("POST", D + "/phone", {"reason": "电话回访居民"}, None, DEPUTY),
    ("GET", D + "/earlier-answers?q=垃圾 清运", None, None, DEPUTY),
    ("POST", D + "/answer-hints", {"body": "已联系物业，明天修好。"}, None, DEPUTY),
    ("GET", "/deputy/suggestions", None, None, DEPUTIES),
    ("GET", "/deputy/record?year=2026", None, None, DEPUTIES),
    ("GET", DS, None, "suggestion_answered", DEPUTIES),
    ("POST", DS + "/rating", {"value": "satisfied"}, "suggestion_replied", DEPUTY),
    ("POST", DS + "/cosign", None, "suggestion_submitted", COLLEAGUE),
    ("GET", "/liaison/queue", None, None, QUEUE),
    ("GET", L, None, None, LIAISON),
    ("GET", "/liaison/hot-issues", None, None, expect(403, none=401, liaison=200, other_liaison=200)),
    ("POST", L + "/acknowledge", None, None, LIAISON),
    ("POST", L + "/category", {"category": "城乡建设"}, None, LIAISON),
    ("POST", L + "/assign", {"deputy_id": "{deputy_b}"}, None, LIAISON),
    ("POST", L + "/merge", {"into_id": "{second}"}, "second", LIAISON),
    ("POST", L + "/forward", {"to": "12345热线"}, None, LIAISON),
    ("POST", L + "/reject", {"reason": "重复留言"}, None, LIAISON),
    ("POST", L + "/release", None, "held", LIAISON),
    ("POST", L + "/note", {"text": "已电话联系"}, None, LIAISON),
    ("POST", L + "/phone", {"reason": "电话回访居民"}, None, LIAISON),
    # livelihood projects: residents (any WeChat user) propose and support; deputies vote
    ("GET", "/projects", None, "project_collecting", ANY),
    ("POST", "/projects", {"title": "增设公交站台座椅", "content": "在人民路公交站增设座椅和遮阳棚",
                           "reason": "老人候车站得累", "category": "交通",
                           "idempotency_key": "matrix-project-1"}, "project_collecting", CREATED),
    ("GET", "/projects/{project}", None, "project_collecting", ANY),
    ("POST", "/projects/photos", PHOTO, None, CREATED),
    # a resident's photo on their proposal: theirs alone until the office makes it public
    ("GET", "/projects/{project}/photos/{proposal_photo}", None, "project_photo",
     expect(404, none=401, owner=200)),
    ("GET", "/projects/{project}/photos/{proposal_photo}", None, "project_photo_public", ANY),
    ("POST", "/projects/{project}/support", None, "project_collecting",
     expect(200, none=401, owner=409)),
    ("POST", "/deputy/projects", {"title": "老街路灯改造", "content": "更换老街两侧损坏的路灯",
                                  "reason": "夜里出行不安全", "category": "交通",
                                  "idempotency_key": "matrix-deputy-project-1"},
     "project_collecting", expect(403, none=401, deputy=201, other_deputy=201)),
    ("GET", "/deputy/projects/ballot", None, "project_voting", DEPUTIES),
    ("POST", "/deputy/projects/ballot", {"candidate_ids": ["{candidate}"]}, "project_voting",
     DEPUTIES),
    # activities: the world's activity invites the deputy only; a report is the deputy's
    ("GET", "/deputy/activities", None, "activity", DEPUTIES),
    ("GET", "/deputy/activities/{activity}", None, "activity", DEPUTY),
    ("POST", "/deputy/activities/{activity}/answer", {"answer": "excuse", "reason": "外出开会"},
     "activity", DEPUTY),
    # the code is text (it may start with 0): the space keeps _fill from making it a number
    ("POST", "/deputy/activities/{activity}/check-in", {"code": " {checkin_code}"}, "activity",
     DEPUTY),
    ("POST", "/deputy/activities", {"kind": "visit", "title": "走访选区居民", "place": "南街",
                                    "date": "2026-01-05", "start": "09:00", "end": "11:00",
                                    "station_id": "{station}", "summary": "听取了居民对停车难的意见"},
     None, expect(403, none=401, deputy=201, other_deputy=201)),
    # liaison mode, the organiser at the activity: the list (each liaison sees their stations'),
    # the page with the code, ticking the deputy present, the record, a resident's matter and
    # its way to a message
    ("GET", "/liaison/activities", None, "activity",
     expect(403, none=401, liaison=200, other_liaison=200)),
    ("GET", "/liaison/activities/{activity}", None, "activity", LIAISON),
    ("POST", "/liaison/activities/{activity}/present", {"deputy_id": "{deputy}"}, "activity",
     LIAISON),
    ("POST", "/liaison/activities/{activity}/record",
     {"summary": "走访了十户居民，听取了对停车难的意见"}, "activity_begun", LIAISON),
    ("POST", "/liaison/activities/{activity}/items",
     {"summary": "小区门口的路灯坏了一个多月", "resident_consent": True,
      "idempotency_key": "matrix-item-1"}, "activity_held",
     expect(403, none=401, liaison=201)),
    ("POST", "/liaison/activities/{activity}/items/{item}/message", None, "activity_item",
     LIAISON),
    # …and, while it is planned, inviting more of the station's deputies or cancelling it
    ("POST", "/liaison/activities/{activity}/invite", {"deputy_ids": ["{deputy_b}"]}, "activity",
     LIAISON),
    ("POST", "/liaison/activities/{activity}/cancel", {"reason": "场地临时有变，改期另行通知"},
     "activity", LIAISON),
    ("POST", "/liaison/activities/{activity}/confirm", None, "activity_reported", LIAISON),
    ("POST", "/liaison/activities/{activity}/reject", {"reason": "与上次报备重复"},
     "activity_reported", LIAISON),
]


def _prepare(world, state) -> dict:
    """Put the world's message in `state`; the names a row may use."""
    names = {"message": world.message.id, "deputy_b": world.deputy_b.id,
             "deputy_token": _code(world.deputy), "station": world.station.id}
    if state == "answered":
        ops.reply(world.message, "已联系物业，明天修好。", actor=world.deputy_user)
    elif state == "followup_asked":  # answered two weeks ago, and the resident asked
        from datetime import timedelta
        from backend.core.timeutil import utcnow
        from backend.records.responsiveness import ask_and_remind
        ops.reply(world.message, "已联系物业，明天修好。", actor=world.deputy_user)
        ask_and_remind(utcnow() + timedelta(days=15))
    elif state == "awaiting_info":
        ops.request_info(world.message, "请问具体在哪一栋？", actor=world.deputy_user)
    elif state == "held":
        world.message.status, world.message.hold_reason = "held", "含有需人工审核的词语"
    elif state == "second":
        names["second"] = ops.submit_message(
            resident=world.other, deputy=world.deputy, body="同一盏路灯，也坏了很久了。",
            idempotency_key="matrix-second").message.id
    elif state == "suggestion_answered":  # a suggestion made from the message, answered
        from backend.core.extensions import db
        from backend.suggestions.models import Suggestion
        suggestion = Suggestion(deputy_id=world.deputy.id, status="answered",
                                title="关于修复小区路灯的建议", messages=[world.message])
        db.session.add(suggestion)
        db.session.flush()
        names["suggestion"] = suggestion.id
    elif state in ("suggestion_submitted", "suggestion_replied"):  # the deputy's, from the message
        from backend.core.extensions import db
        from backend.org.models import Department
        from backend.suggestions.models import DepartmentReply, Suggestion
        from backend.core.timeutil import utcnow
        suggestion = Suggestion(
            deputy_id=world.deputy.id, submitted_at=utcnow(), title="关于修复小区路灯的建议",
            status="submitted" if state == "suggestion_submitted" else "answered",
            messages=[world.message])
        db.session.add(suggestion)
        db.session.flush()
        if state == "suggestion_replied":
            department = Department(name="区住房和城乡建设局")
            db.session.add(department)
            db.session.flush()
            db.session.add(DepartmentReply(suggestion_id=suggestion.id, department_id=department.id,
                                           resolution="A", body="路灯已修复。"))
        names["suggestion"] = suggestion.id
    elif state in ("project_collecting", "project_voting"):
        names.update(_project_round(world, voting=state == "project_voting"))
    elif state in ("activity", "activity_reported"):
        names.update(_activity(world, reported=state == "activity_reported"))
    elif state in ("activity_begun", "activity_held", "activity_item"):
        names.update(_activity(world, begun=True, held=state != "activity_begun",
                               item=state == "activity_item"))
    elif state in ("project_photo", "project_photo_public"):
        names.update(_project_round(world, voting=False))
        names["proposal_photo"] = _proposal_photo(world, names,
                                                  public=state == "project_photo_public")
    elif state == "photo":
        key = get_storage().save(image_bytes(), "messages", "jpg")
        photo = ops.add_photo(resident=world.owner, storage_key=key, width=40, height=30,
                              size_bytes=1)
        photo.message_id = world.message.id
        names["photo"] = photo.id
    return names


def _project_round(world, *, voting: bool) -> dict:
    """A round open for proposals with one of the owner's; or open for the vote, 2 for 1 place."""
    from backend.accounts.models import StaffUser
    from backend.core.extensions import db
    from backend.org.models import Department
    from backend.projects import collection, screening
    office = StaffUser(username="matrix-office", display_name="代工委", role="admin",
                       password_hash="!")
    department = Department(name="区交通运输局")
    db.session.add_all([office, department])
    db.session.flush()
    round_ = collection.open_round(year=2027, theme="办好身边小事", categories=["交通"],
                                   actor=office)
    proposals = [collection.propose_as_resident(
        round_, {"title": f"修缮人民路人行道{n}", "content": "人民路人行道砖松动，雨天溅水",
                 "reason": "行人出行不便", "category": "交通"},
        resident=world.owner, idempotency_key=f"matrix-proposal-{n}")[0] for n in range(2)]
    if not voting:
        return {"project": proposals[0].id, "office": office.id}
    screening.close_collection(round_, actor=office)
    for p in proposals:
        screening.nominate(p, department_id=department.id, estimated_cost=100000,
                           plan="年内完成人行道翻修并通过验收", actor=office)
    screening.open_vote(round_, places=1, session_name="区人大会议",
                        present_ids=[world.deputy.id, world.deputy_b.id], actor=office)
    return {"candidate": proposals[0].id}


def _activity(world, *, reported=False, begun=False, held=False, item=False) -> dict:
    """An activity of the station starting in half an hour with the deputy invited; or begun
    an hour ago; or held, the deputy ticked present, (with a matter the resident agreed to have
    followed up); or the deputy's report of an activity last week, awaiting the station."""
    from datetime import timedelta
    from backend.activities import matters
    from backend.activities import operations as activities
    from backend.core.timeutil import utcnow
    now = utcnow()
    if begun:
        act = activities.create_activity(
            actor=world.liaison, kind="visit", title="走访幸福社区", place="幸福社区",
            starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1),
            station_id=world.station.id, deputy_ids=[world.deputy.id],
            now=now - timedelta(days=1))
        names = {"activity": act.id, "deputy": world.deputy.id}
        if held:
            activities.mark_present(act.attendance_of(world.deputy.id), actor=world.liaison)
            activities.record_activity(act, actor=world.liaison, summary="走访了十户居民")
        if item:
            names["item"] = matters.add_item(act, actor=world.liaison,
                                             summary="小区门口的路灯坏了一个多月",
                                             resident_consent=True).id
        return names
    if reported:
        act = activities.report_activity(
            world.deputy, actor=world.deputy_user, kind="visit", title="走访选区居民", place="南街",
            starts_at=now - timedelta(days=7), ends_at=now - timedelta(days=7, hours=-1),
            station_id=world.station.id, summary="听取了居民对停车难的意见")
    else:
        act = activities.create_activity(
            actor=world.liaison, kind="visit", title="走访幸福社区", place="幸福社区",
            starts_at=now + timedelta(minutes=30), ends_at=now + timedelta(hours=2),
            station_id=world.station.id, deputy_ids=[world.deputy.id])
    return {"activity": act.id, "checkin_code": act.checkin_code, "deputy": world.deputy.id}


def _proposal_photo(world, names, *, public: bool) -> int:
    from backend.core.extensions import db
    from backend.core.timeutil import utcnow
    from backend.projects.models import ProjectProposalPhoto
    photo = ProjectProposalPhoto(
        proposal_id=names["project"], resident_id=world.owner.id, width=40, height=30,
        size_bytes=1, storage_key=get_storage().save(image_bytes(), "proposals", "jpg"),
        public_at=utcnow() if public else None, approved_by_id=names["office"] if public else None)
    db.session.add(photo)
    db.session.flush()
    return photo.id


def _code(deputy) -> str:
    from backend.org.codes import active_code
    return active_code(deputy).token


def _fill(value, names):
    if isinstance(value, str):
        filled = value.format(**names)
        return int(filled) if value.startswith("{") and filled.isdigit() else filled
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    return value


def _footprint(db, world):
    db.session.expire_all()
    def count(model):
        return db.session.scalar(db.select(db.func.count()).select_from(model))
    message = db.session.get(Message, world.message.id)
    return (message.status, message.assigned_deputy_id, message.category, message.deputy_read_at,
            count(Message), count(MessageEvent), count(AuditEvent), count(MessagePhoto),
            count(Notification))


CASES = [pytest.param(method, path, body, state, role,
                      expected["none" if role in ERASED else role],
                      id=f"{method} {path} as {role}")
         for method, path, body, state, expected in MATRIX for role in ROLES + tuple(ERASED)]


def _erase(db, world, role) -> str:
    """The role's resident deletes their data; their token, issued before, is what is sent."""
    from backend.accounts.resident_model import Resident
    from backend.privacy.own_data import delete_own_data
    who = ERASED[role]
    openid = world.owner.openid if who == "owner" else world.deputy_user.wechat_openid
    delete_own_data(db.session.scalar(db.select(Resident).filter_by(openid=openid)),
                    confirmed=True)
    return world.tokens[who]


@pytest.mark.parametrize("method, path, body, state, role, expected", CASES)
def test_access(api, db, world, method, path, body, state, role, expected):
    names = _prepare(world, state)
    kw = {}
    if body is PHOTO:
        kw = {"data": {"photo": (io.BytesIO(image_bytes()), "p.jpg")},
              "content_type": "multipart/form-data"}
    elif body is not None:
        kw = {"json": _fill(body, names)}
    token = _erase(db, world, role) if role in ERASED else world.tokens[role]
    db.session.commit()
    before = _footprint(db, world)

    resp = api.call(method, _fill(path, names), token, **kw)

    if expected in (SEES, EMPTY):
        assert resp.status_code == 200, resp.get_data(as_text=True)
        ids = [item["id"] for item in resp.json["items"]]
        assert (world.message.id in ids) == (expected == SEES), ids
        return
    assert resp.status_code == expected, resp.get_data(as_text=True)
    if resp.status_code >= 400:
        assert set(resp.json) == {"code", "message", "errors"}
        if role in ERASED and resp.status_code == 401:
            assert resp.json["code"] == "token_revoked", resp.json
        assert _footprint(db, world) == before, "a refused request changed something"


def _shape(path: str) -> str:
    return re.sub(r"<[^>]+>|\{[^}]+\}", "*", path.split("?")[0])


def test_every_route_has_a_row(app):
    rows = {(method, _shape(path)) for method, path, *_ in MATRIX}
    routes = {(method, _shape(rule.rule[len(bp.url_prefix):]))
              for rule in app.url_map.iter_rules() if rule.endpoint.startswith(bp.name + ".")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes - rows == set(), "routes without a row in the access matrix"
    assert rows - routes == set(), "rows for routes that do not exist"
