"""A department's pages: its assignments list (only its live ones, never residents), the POST
actions (department only, own assignments only, one change or none) and the action partial
the shared detail page includes."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.suggestions import policy
from backend.suggestions.models import (
    DepartmentReply, SuggestionAssignment, SuggestionEvent, SuggestionExtension,
    SuggestionFollowUp,
)
from backend.notifications.models import Notification
from backend.suggestions import handling as ops
from backend.core.timeutil import local_today
from tests.conftest import post_form

ANSWER = "经实地排查，已更换损坏路灯23盏，并将该路段纳入每周夜间巡查范围。"
OPINION = "建议结合道路改造同步更换路灯线路，交通局可配合占道审批。"


def _assignment(s, department):
    return next(a for a in s.current_assignments if a.department_id == department.id)


def _with_opinion(db, w, s):
    assist = _assignment(s, w.assist)
    assist.opinion, assist.opinion_at = OPINION, assist.accepted_at
    db.session.commit()
    return s


def _count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def state(db, s) -> tuple:
    db.session.rollback()
    db.session.expire_all()
    return (s.status, tuple((a.status, a.opinion) for a in s.assignments),
            *(_count(db, m) for m in (DepartmentReply, SuggestionEvent, Notification,
                                      SuggestionExtension, SuggestionFollowUp)))


def client_for(app, user):
    """A fresh browser signed in as `user` (the `login` fixture's client holds one user)."""
    client = app.test_client()
    resp = post_form(client, "/staff/login", {"username": user.username,
                                              "password": "correct-horse-9"})
    assert resp.status_code == 302
    return client


def _flashes(client) -> str:
    return client.get("/staff/").get_data(as_text=True)


# ---- the list ----

@pytest.fixture
def desk(db, suggestion_world, make_suggestion):
    """One suggestion per tab for 住建局, plus ones it must not see."""
    w = suggestion_world
    today = local_today()
    pending = make_suggestion("assigned", title="待签收的路灯建议")
    late = make_suggestion("in_progress", title="已超期的排水建议", supervision="key",
                           deadline_on=today - timedelta(days=3))
    answered = make_suggestion("answered", title="已答复的绿化建议")
    recheck = make_suggestion("answered", resolution="B", title="回头看的停车建议")
    moved = make_suggestion("assigned", title="已调整走的建议")
    _assignment(moved, w.lead).status = "replaced"
    db.session.add(SuggestionAssignment(suggestion_id=moved.id, department_id=w.other.id,
                                        role="lead", status="pending"))
    db.session.commit()
    ops.open_due_followups(recheck.latest_reply.promised_by)
    db.session.commit()
    return {"pending": pending, "late": late, "answered": answered, "recheck": recheck,
            "moved": moved}


def _items(html: str) -> list[str]:
    import re
    return re.findall(r'data-testid="assignment-item" data-id="(\d+)"', html)


def test_department_list_tabs(db, suggestion_world, desk, login):
    w = suggestion_world
    client = login(w.users["dept_lead"])
    page = client.get("/staff/assignments")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert _items(html) == [str(desk["pending"].id)]  # 待签收 first when there is any
    assert desk["pending"].number in html and "待签收的路灯建议" in html and "主办" in html
    assert 'data-testid="count-pending"' in html

    html = client.get("/staff/assignments?tab=handling").get_data(as_text=True)
    assert _items(html) == [str(desk["late"].id)]
    assert 'data-testid="overdue"' in html and "重点督办" in html and "（已超期）" in html
    assert f'href="/staff/suggestions/{desk["late"].id}"' in html

    html = client.get("/staff/assignments?tab=answered").get_data(as_text=True)
    assert sorted(_items(html)) == sorted([str(desk["answered"].id), str(desk["recheck"].id)])

    html = client.get("/staff/assignments?tab=followup").get_data(as_text=True)
    assert _items(html) == [str(desk["recheck"].id)] and "回头看" in html

    everything = "".join(client.get(f"/staff/assignments?tab={t}").get_data(as_text=True)
                         for t in ops.TABS)
    assert "已调整走的建议" not in everything
    for m in w.messages:  # never the residents' words
        assert m.body[:12] not in everything and m.tracking_no not in everything


def test_each_department_sees_only_its_own(app, db, suggestion_world, desk):
    w = suggestion_world
    client = client_for(app, w.users["dept_assist"])
    html = client.get("/staff/assignments?tab=pending").get_data(as_text=True)
    # 交通局 still assists on the one whose lead moved to 水务局.
    assert _items(html) == [str(desk["pending"].id), str(desk["moved"].id)] and "协办" in html
    assert "主办" not in html
    assert _items(client.get("/staff/assignments?tab=followup").get_data(as_text=True)) == []
    client = client_for(app, w.users["dept_other"])
    html = client.get("/staff/assignments?tab=pending").get_data(as_text=True)
    assert _items(html) == [str(desk["moved"].id)]
    assert _items(client.get("/staff/assignments?tab=handling").get_data(as_text=True)) == []


def test_department_counts_and_rows(db, suggestion_world, desk):
    w = suggestion_world
    assert ops.department_counts(w.lead.id) == {"pending": 1, "handling": 1, "answered": 2,
                                                "followup": 1}
    (row,) = ops.department_list(w.lead.id, "handling", local_today())
    assert row.overdue and row.deadline_on == desk["late"].deadline_on
    assert row.assignment.role == "lead"
    (row,) = ops.department_list(w.lead.id, "followup", local_today())
    assert row.followup is not None and row.deadline_on == row.followup.due_on


@pytest.mark.parametrize("who", ["admin", "author", "liaison_own"])
def test_the_list_is_for_departments_only(suggestion_world, login, who):
    client = login(suggestion_world.users[who])
    assert client.get("/staff/assignments").status_code == 403


def test_the_list_needs_a_login(client, suggestion_world):
    assert client.get("/staff/assignments").status_code == 302


# ---- POST actions ----

def test_accept_by_post(db, suggestion_world, make_suggestion, login):
    w = suggestion_world
    s = make_suggestion("assigned")
    client = login(w.users["dept_lead"])
    resp = post_form(client, f"/staff/suggestions/{s.id}/accept", {}, form_url="/staff/assignments")
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/staff/suggestions/{s.id}")
    db.session.expire_all()
    assert s.status == "in_progress"
    assert "已签收" in _flashes(client)
    # Again: flashed, nothing changes.
    before = state(db, s)
    resp = post_form(client, f"/staff/suggestions/{s.id}/accept", {}, form_url="/staff/assignments")
    assert resp.status_code == 302 and state(db, s) == before
    assert "不需要再签收" in _flashes(client)


@pytest.mark.parametrize("who, url_tail", [
    ("dept_other", "accept"), ("admin", "accept"), ("author", "accept"),
    ("dept_other", "answer"), ("dept_assist", "answer"), ("dept_other", "opinion"),
    ("dept_assist", "request-extension"), ("dept_other", "request-reassign"),
])
def test_posts_by_the_wrong_user_are_403(db, suggestion_world, make_suggestion, login, who,
                                         url_tail):
    w = suggestion_world
    s = _with_opinion(db, w, make_suggestion("in_progress"))
    before = state(db, s)
    client = login(w.users[who])
    data = {"resolution": "A", "body": ANSWER, "text": OPINION, "reason": "不属于本单位职责",
            "until": (s.deadline_on + timedelta(days=30)).isoformat()}
    resp = post_form(client, f"/staff/suggestions/{s.id}/{url_tail}", data, form_url="/staff/")
    assert resp.status_code == 403
    assert state(db, s) == before


def test_answer_b_by_post(db, suggestion_world, make_suggestion, login):
    w = suggestion_world
    s = _with_opinion(db, w, make_suggestion("in_progress"))
    client = login(w.users["dept_lead"])
    promised = local_today() + timedelta(days=90)
    url = f"/staff/suggestions/{s.id}/answer"
    data = {"resolution": "B", "body": ANSWER, "promised_by": "",
            "milestone_date_1": (local_today() + timedelta(days=30)).isoformat(),
            "milestone_text_1": "完成设计", "milestone_date_3": promised.isoformat(),
            "milestone_text_3": "全部完工", "milestone_date_2": "", "milestone_text_2": ""}
    before = state(db, s)
    resp = post_form(client, url, data, form_url="/staff/assignments")
    assert resp.status_code == 302 and state(db, s) == before
    assert "B类答复须填写计划解决的日期" in _flashes(client)

    resp = post_form(client, url, {**data, "promised_by": promised.isoformat()},
                     form_url="/staff/assignments")
    assert resp.status_code == 302
    db.session.expire_all()
    assert s.status == "answered"
    reply = s.latest_reply
    assert (reply.resolution, reply.promised_by) == ("B", promised)
    assert [m["text"] for m in reply.milestones] == ["完成设计", "全部完工"]
    assert "已答复（B类" in _flashes(client)


def test_answer_c_without_reason_by_post_changes_nothing(db, suggestion_world, make_suggestion,
                                                        login):
    w = suggestion_world
    s = _with_opinion(db, w, make_suggestion("in_progress"))
    client = login(w.users["dept_lead"])
    before = state(db, s)
    resp = post_form(client, f"/staff/suggestions/{s.id}/answer",
                     {"resolution": "C", "body": ANSWER, "reason": ""},
                     form_url="/staff/assignments")
    assert resp.status_code == 302 and state(db, s) == before
    assert "请填写暂时难以解决的原因" in _flashes(client)


def test_extension_reassign_and_opinion_by_post(app, db, suggestion_world, make_suggestion):
    w = suggestion_world
    s = make_suggestion("in_progress")
    db.session.commit()
    client = client_for(app, w.users["dept_lead"])
    resp = post_form(client, f"/staff/suggestions/{s.id}/request-extension",
                     {"until": "not-a-date", "reason": "需要等待预算批复"},
                     form_url="/staff/assignments")
    assert resp.status_code == 302 and _count(db, SuggestionExtension) == 0
    until = s.deadline_on + timedelta(days=30)
    post_form(client, f"/staff/suggestions/{s.id}/request-extension",
              {"until": until.isoformat(), "reason": "需要等待预算批复"},
              form_url="/staff/assignments")
    assert db.session.scalar(sa.select(SuggestionExtension.requested_until)) == until
    post_form(client, f"/staff/suggestions/{s.id}/request-reassign",
              {"reason": "路灯归城管局管理"}, form_url="/staff/assignments")
    db.session.expire_all()
    assert _assignment(s, w.lead).status == "reassign_requested"

    client = client_for(app, w.users["dept_assist"])
    post_form(client, f"/staff/suggestions/{s.id}/opinion", {"text": OPINION},
              form_url="/staff/assignments")
    db.session.expire_all()
    assert _assignment(s, w.assist).opinion == OPINION


def test_followup_by_post(db, suggestion_world, make_suggestion, login):
    w = suggestion_world
    s = make_suggestion("answered", resolution="B")
    other = make_suggestion("answered", resolution="B")
    ops.open_due_followups(s.latest_reply.promised_by)
    db.session.commit()
    mine = ops.open_followup(s)
    theirs = ops.open_followup(other)
    client = login(w.users["dept_lead"])
    # A follow-up of another suggestion through this one's URL: not found.
    resp = post_form(client, f"/staff/suggestions/{s.id}/followups/{theirs.id}",
                     {"kept": "yes", "result": "路灯已全部更换完毕，巡查机制已建立。"},
                     form_url="/staff/assignments")
    assert resp.status_code == 404
    resp = post_form(client, f"/staff/suggestions/{s.id}/followups/{mine.id}",
                     {"kept": "maybe", "result": "路灯已全部更换完毕，巡查机制已建立。"},
                     form_url="/staff/assignments")
    db.session.expire_all()
    assert resp.status_code == 302 and mine.status == "open"
    resp = post_form(client, f"/staff/suggestions/{s.id}/followups/{mine.id}",
                     {"kept": "yes", "result": "路灯已全部更换完毕，巡查机制已建立。"},
                     form_url="/staff/assignments")
    db.session.expire_all()
    assert resp.status_code == 302 and (mine.status, mine.kept) == ("done", True)
    assert theirs.status == "open"


# ---- the partial on the detail page ----

def render(app, user, s) -> str:
    from flask import render_template
    from flask_login import login_user

    from backend.suggestions.core import is_overdue
    today = local_today()
    with app.test_request_context(f"/staff/suggestions/{s.id}"):
        login_user(user)
        return render_template("staff/suggestion_actions_department.html", suggestion=s,
                               today=today, overdue=is_overdue(s, today),
                               assignment=policy.department_assignment(user, s), departments=[],
                               policy=policy)


def _forms(html: str) -> set[str]:
    import re
    return set(re.findall(r'action="/staff/suggestions/\d+/([a-z/\-0-9]+)"', html))


def test_partial_offers_what_applies(app, db, suggestion_world, make_suggestion):
    w = suggestion_world
    s = make_suggestion("assigned")
    assert _forms(render(app, w.users["dept_lead"], s)) == {"accept", "request-reassign",
                                                            "request-extension"}
    assert _forms(render(app, w.users["dept_assist"], s)) == {"accept", "request-reassign"}
    assert render(app, w.users["dept_other"], s).strip() == ""
    assert render(app, w.users["admin"], s).strip() == ""

    s = make_suggestion("in_progress")
    html = render(app, w.users["dept_lead"], s)
    assert "还在等协办单位的意见：区交通运输局" in html and "answer" not in _forms(html)
    assert _forms(render(app, w.users["dept_assist"], s)) == {"opinion", "request-reassign"}
    _with_opinion(db, w, s)
    html = render(app, w.users["dept_lead"], s)
    assert {"answer", "request-extension", "request-reassign"} == _forms(html)
    for name in ("promised_by", "reason", *(f"milestone_date_{n}" for n in range(1, 6)),
                 *(f"milestone_text_{n}" for n in range(1, 6))):
        assert f'name="{name}"' in html
    assert html.count('type="radio" name="resolution"') == 3 and "B类（正在解决或列入计划解决）" in html
    assert 'name="csrf_token"' in html

    ops.request_extension(s, s.deadline_on + timedelta(days=10), "需要等待预算批复",
                          actor=w.users["dept_lead"])
    db.session.commit()
    html = render(app, w.users["dept_lead"], s)
    assert "request-extension" not in _forms(html) and "已申请延期至" in html


def test_partial_offers_the_followup(app, db, suggestion_world, make_suggestion):
    w = suggestion_world
    s = make_suggestion("answered", resolution="B")
    assert _forms(render(app, w.users["dept_lead"], s)) == set()
    ops.open_due_followups(s.latest_reply.promised_by)
    db.session.commit()
    f = ops.open_followup(s)
    assert _forms(render(app, w.users["dept_lead"], s)) == {f"followups/{f.id}"}
    assert _forms(render(app, w.users["dept_assist"], s)) == set()
