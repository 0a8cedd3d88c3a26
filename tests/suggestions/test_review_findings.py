"""Defects a review of the suggestion feature found, fixed since: each test shows one and keeps
it from coming back."""
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.core.errors import InvalidState, ValidationFailed
from backend.suggestions.models import Suggestion
from backend.suggestions import handling
from backend.suggestions import review
from backend.suggestions import drafting as deputy_ops
from backend.core.timeutil import local_today, utcnow
from tests.conftest import post_form

ANSWER = "经实地排查，已更换损坏路灯23盏，并将该路段纳入每周夜间巡查范围。"


class QueryCounter:
    def __init__(self, engine):
        self.engine, self.n = engine, 0

    def _add(self, *args, **kwargs):
        self.n += 1

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._add)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._add)


def _fresh(db, s):
    db.session.expire_all()
    return db.session.get(Suggestion, s.id)


# ---- 1. an old lead's pending extension survives reassignment ----

def test_new_lead_can_request_extension_after_reassignment(db, suggestion_world,
                                                           make_suggestion):
    w = suggestion_world
    s = make_suggestion("in_progress")
    handling.request_extension(s, s.deadline_on + timedelta(days=30), "需要协调资金",
                               actor=w.users["dept_lead"])
    db.session.commit()
    review.reassign(s, w.other, "职责调整，改由水务局办理", actor=w.users["admin"])
    db.session.commit()
    handling.accept(s, actor=w.users["dept_other"])
    db.session.commit()
    s = _fresh(db, s)
    # The new lead's own request: refused today with "已有一份延期申请在等待审批".
    handling.request_extension(s, s.deadline_on + timedelta(days=30), "管网改造需分段施工",
                               actor=w.users["dept_other"])


# ---- 2. approving an extension can shorten the deadline ----

def test_approving_an_extension_never_brings_the_deadline_forward(db, suggestion_world,
                                                                  make_suggestion):
    w = suggestion_world
    today = local_today()
    s = make_suggestion("in_progress", deadline_on=today + timedelta(days=60))
    ext = handling.request_extension(s, today + timedelta(days=90), "需要协调资金",
                                     actor=w.users["dept_lead"])
    db.session.commit()
    review.set_deadline(s, today + timedelta(days=120), "区领导要求统筹安排",
                        actor=w.users["admin"])
    db.session.commit()
    try:
        review.decide_extension(ext, True, "", actor=w.users["admin"])
        db.session.commit()
    except InvalidState:
        db.session.rollback()
    assert _fresh(db, s).deadline_on == today + timedelta(days=120)


# ---- 3. an extension to a date already past is accepted ----

def test_extension_to_a_past_date_is_refused(db, suggestion_world, make_suggestion):
    w = suggestion_world
    today = local_today()
    s = make_suggestion("in_progress", deadline_on=today - timedelta(days=10))
    with pytest.raises(ValidationFailed) as caught:
        handling.request_extension(s, today - timedelta(days=5), "需要协调资金",
                                   actor=w.users["dept_lead"])
    assert "until" in caught.value.errors


# ---- 4. a 回头看 on a superseded B answer stays open ----

def test_reanswer_supersedes_an_open_followup(db, suggestion_world, make_suggestion):
    w = suggestion_world
    s = make_suggestion("answered", resolution="B")
    assert handling.open_due_followups(s.latest_reply.promised_by) == 1
    db.session.commit()
    deputy_ops.rate(s, "dissatisfied", "承诺时间太长", actor=w.users["author"])
    db.session.commit()
    handling.answer(s, actor=w.users["dept_lead"], resolution="A", body=ANSWER)
    db.session.commit()
    s = _fresh(db, s)
    assert s.latest_reply.resolution == "A"
    # The latest answer is class A: there is no promise left to re-check.
    assert handling.open_followup(s) is None


# ---- 5. a closed unsatisfied suggestion is "列入督办" but on no list ----

def test_closed_unsatisfied_suggestion_is_on_the_unsatisfied_list(app, db, suggestion_world,
                                                                  make_suggestion):
    w = suggestion_world
    s = make_suggestion("answered", reanswers=app.config["SUGGESTION_MAX_REANSWERS"])
    deputy_ops.rate(s, "dissatisfied", "问题仍未解决", actor=w.users["author"])
    db.session.commit()
    assert s.status == "closed" and s.flagged_unsatisfied
    listed = [i.suggestion.id for i in review.chase_list(local_today(), kind="unsatisfied")]
    assert s.id in listed


# ---- 6. "²" passes str.isdigit() but not int(): a 500 ----

@pytest.mark.parametrize("path,data,expected", [
    ("assign", {"lead_id": "²"}, 302),
    ("merge", {"into_id": "²"}, 302),
    ("/staff/suggestions/figures?year=²", None, 400),
    ("/staff/suggestions/figures?year=" + "9" * 5000, None, 414),  # past MAX_URL_LENGTH
])
def test_odd_digit_input_is_a_chinese_error(app, db, client, login, suggestion_world,
                                            make_suggestion, path, data, expected):
    s = make_suggestion("submitted")
    login(suggestion_world.users["admin"])
    url = f"/staff/suggestions/{s.id}"
    propagate, app.config["PROPAGATE_EXCEPTIONS"] = app.config["PROPAGATE_EXCEPTIONS"], False
    try:
        resp = (client.get(path) if data is None
                else post_form(client, f"{url}/{path}", data, form_url=url))
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = propagate
    assert resp.status_code == expected
    assert _fresh(db, s).status == "submitted"


# ---- 7. a huge id in a suggestion URL is a 500 on PostgreSQL ----

@pytest.mark.parametrize("who,method,path", [
    ("admin", "get", "/staff/suggestions/99999999999"),
    ("admin", "post", "/staff/suggestions/{id}/extensions/99999999999/decide"),
    ("dept_lead", "post", "/staff/suggestions/{id}/followups/99999999999"),
    ("author", "get", "/staff/suggestions/new?message=99999999999"),
    ("author", "post", "/staff/suggestions/new"),
    ("author", "api", "/deputy/suggestions/99999999999"),
    ("author", "api", "/deputy/suggestions?cursor=99999999999"),
])
def test_huge_ids_are_not_a_500(app, db, client, login, postgres_only, suggestion_world,
                                make_suggestion, make_resident, who, method, path):
    s = make_suggestion("in_progress")
    user = suggestion_world.users[who]
    url = path.format(id=s.id)
    propagate, app.config["PROPAGATE_EXCEPTIONS"] = app.config["PROPAGATE_EXCEPTIONS"], False
    try:
        if method == "api":
            from miniprogram_api.auth import session_for
            resident = make_resident(openid=f"o-{uuid.uuid4().hex[:20]}")
            user.wechat_openid = resident.openid
            token = session_for(resident, user)["token"]
            db.session.commit()
            resp = client.get("/api/mp/v1" + url, headers={"Authorization": f"Bearer {token}"})
        else:
            login(user)
            if method == "get":
                resp = client.get(url)
            else:
                resp = post_form(client, url, {"decision": "approve", "kept": "yes", "deputy_id": "99999999999",
                                               "result": "路灯已全部更换完毕并验收。"},
                                 form_url=f"/staff/suggestions/{s.id}")
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = propagate
    assert resp.status_code in (200, 404, 422), resp.status_code


# ---- 8. residents added to a returned suggestion are never told it was made ----

def test_resubmission_tells_residents_of_newly_added_messages(db, suggestion_world):
    from backend.messages.models import MessageEvent
    from backend.notifications.models import Notification
    from backend.suggestions import review as review_ops
    w = suggestion_world
    author = w.users["author"]
    s = deputy_ops.create_draft(actor=author, deputy=w.author, title="关于修复城关街道路灯的建议",
                                category="城乡建设", message_ids=[w.messages[0].id],
                                problem="城关街道多处路灯损坏，居民夜间出行不便。",
                                proposal="请区住建局尽快排查修复，并建立巡查机制。")
    deputy_ops.submit(s, actor=author)
    review_ops.return_for_changes(s, "请补充数据", actor=w.users["admin"])
    db.session.commit()
    deputy_ops.update_draft(s, actor=author, title=s.title, category=s.category,
                            problem=s.problem, proposal=s.proposal,
                            message_ids=[m.id for m in w.messages[:2]])
    deputy_ops.submit(s, actor=author)
    db.session.commit()
    told = db.session.scalars(sa.select(Notification.recipient_id).filter_by(
        recipient_kind="resident", topic="suggestion.submitted")).all()
    # each resident once: the first at the first submission, the second now
    assert sorted(told) == sorted([w.residents[0].id, w.residents[1].id])
    for message in w.messages[:2]:
        assert db.session.scalars(sa.select(MessageEvent.id).filter_by(
            message_id=message.id, kind="suggested")).all() != []


# ---- 9. N+1 on the list pages ----

def _suggestions_by_new_deputies(db, make_deputy, station, n, **kw):
    for i in range(n):
        deputy = make_deputy(name=f"代表{uuid.uuid4().hex[:4]}", stations=[station])
        db.session.add(Suggestion(deputy_id=deputy.id, status="submitted",
                                  title=f"关于改善第{i}号路段照明的建议", category="城乡建设",
                                  problem="路灯损坏，居民夜间出行不便。" * 2,
                                  proposal="请尽快排查修复，并建立巡查机制。" * 2,
                                  submitted_at=utcnow(), **kw))
    db.session.commit()


def test_the_suggestion_list_does_not_query_per_row(app, db, client, login, suggestion_world,
                                                    make_deputy):
    w = suggestion_world
    login(w.users["admin"])
    _suggestions_by_new_deputies(db, make_deputy, w.station_a, 2)
    client.get("/staff/suggestions")
    with QueryCounter(db.engine) as few:
        assert client.get("/staff/suggestions").status_code == 200
    _suggestions_by_new_deputies(db, make_deputy, w.station_a, 6)
    with QueryCounter(db.engine) as many:
        assert client.get("/staff/suggestions").status_code == 200
    assert many.n == few.n


def test_the_department_answered_tab_does_not_query_per_row(db, client, login,
                                                            suggestion_world, make_suggestion):
    w = suggestion_world
    login(w.users["dept_lead"])
    for _ in range(2):
        make_suggestion("answered")
    client.get("/staff/assignments?tab=answered")
    with QueryCounter(db.engine) as few:
        assert client.get("/staff/assignments?tab=answered").status_code == 200
    for _ in range(4):
        make_suggestion("answered")
    with QueryCounter(db.engine) as many:
        assert client.get("/staff/assignments?tab=answered").status_code == 200
    assert many.n == few.n


def test_the_offices_internal_notes_are_not_shown_to_departments(db, client, login,
                                                                 suggestion_world,
                                                                 make_suggestion):
    w = suggestion_world
    s = make_suggestion("in_progress")
    review.add_note(s, "该局去年同类问题拖延，需重点盯办", actor=w.users["admin"])
    db.session.commit()
    login(w.users["dept_lead"])
    html = client.get(f"/staff/suggestions/{s.id}").get_data(as_text=True)
    assert s.title in html and "需重点盯办" not in html
    assert any(e.kind == "note" for e in s.events)  # it is there, for the office


def test_a_resubmission_reads_as_one_in_the_residents_timeline(db, suggestion_world):
    from backend.suggestions import residents as outcome
    from backend.suggestions import review as review_ops
    w = suggestion_world
    author = w.users["author"]
    s = deputy_ops.create_draft(actor=author, deputy=w.author, title="关于修复城关街道路灯的建议",
                                category="城乡建设", message_ids=[w.messages[0].id],
                                problem="城关街道多处路灯损坏，居民夜间出行不便。",
                                proposal="请区住建局尽快排查修复，并建立巡查机制。")
    deputy_ops.submit(s, actor=author)
    review_ops.return_for_changes(s, "请补充数据", actor=w.users["admin"])
    deputy_ops.submit(s, actor=author)
    db.session.commit()
    [view] = outcome.suggestions_for_message(w.messages[0])
    lines = [item.line for item in view.timeline]
    assert lines.count("王建国代表向区人大常委会提交了建议") == 1
    assert "王建国代表修改后重新向区人大常委会提交了建议" in lines
    assert not any("请补充数据" in line for line in lines)
