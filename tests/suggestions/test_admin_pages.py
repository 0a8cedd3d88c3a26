"""The admin office's suggestion pages: the review page's tabs, the admin part of the suggestion
page, and every admin POST action — done by the admin, refused (403, nothing changed) for a
deputy, a liaison and a department, and a domain error flashed with nothing changed."""
from datetime import timedelta

import pytest
from flask_login import login_user

from backend.suggestions import policy
from backend.core.extensions import db
from backend.org.models import Department
from backend.notifications.models import Notification
from backend.suggestions.models import (
    Suggestion, SuggestionAssignment, SuggestionEvent, SuggestionExtension,
)
from backend.core.timeutil import local_today
from tests.conftest import form_keys, post_form

NON_ADMINS = ("author", "liaison_own", "dept_lead")


@pytest.fixture
def w(suggestion_world):
    return suggestion_world


@pytest.fixture
def cases(w, make_suggestion):
    """One suggestion in each state an admin action starts from, plus a pending extension and
    a pending reassign request on the in_progress one."""
    submitted = make_suggestion("submitted")
    target = make_suggestion("assigned", title="关于城关街道照明改造的建议")
    handling = make_suggestion("in_progress", deadline_on=local_today() - timedelta(days=5))
    ext = SuggestionExtension(suggestion_id=handling.id, department_id=w.lead.id,
                              requested_until=local_today() + timedelta(days=60),
                              reason="需要协调资金")
    db.session.add(ext)
    request = handling.lead_assignment
    request.status, request.reassign_reason = "reassign_requested", "不属于我局职责范围"
    db.session.commit()
    return {"submitted": submitted, "target": target, "handling": handling, "ext": ext,
            "request": request}


def action_requests(w, c):
    """(name, URL, form data, suggestion it acts on, what the admin's success looks like)."""
    s, t, h = c["submitted"], c["target"], c["handling"]
    later = (h.deadline_on + timedelta(days=60)).isoformat()
    return {
        "assign": (f"/staff/suggestions/{s.id}/assign",
                   {"lead_id": w.lead.id, "assisting_ids": [w.assist.id], "is_complex": "1"}, s,
                   lambda: db.session.get(Suggestion, s.id).status == "assigned"),
        "return": (f"/staff/suggestions/{s.id}/return", {"comment": "请补充具体位置"}, s,
                   lambda: db.session.get(Suggestion, s.id).status == "returned"),
        "merge": (f"/staff/suggestions/{s.id}/merge", {"into": t.number}, s,
                  lambda: db.session.get(Suggestion, s.id).merged_into_id == t.id),
        "deadline": (f"/staff/suggestions/{h.id}/deadline",
                     {"deadline_on": later, "reason": "涉及多部门"}, h,
                     lambda: db.session.get(Suggestion, h.id).deadline_on.isoformat() == later),
        "supervision": (f"/staff/suggestions/{h.id}/supervision",
                        {"level": "key", "note": "主任会议确定"}, h,
                        lambda: db.session.get(Suggestion, h.id).supervision == "key"),
        "reassign": (f"/staff/suggestions/{h.id}/reassign",
                     {"department_id": w.other.id, "reason": "属于水务局职责"}, h,
                     lambda: db.session.get(Suggestion, h.id).lead_assignment.department_id
                     == w.other.id),
        "chase": (f"/staff/suggestions/{h.id}/chase", {"note": "请尽快答复"}, h,
                  lambda: _count(SuggestionEvent, kind="chase") == 1),
        "note": (f"/staff/suggestions/{h.id}/note",
                 {"text": "已电话督促", "idempotency_key": "admin-pages-note"}, h,
                 lambda: _count(SuggestionEvent, kind="note") == 1),
        "decide": (f"/staff/suggestions/{h.id}/extensions/{c['ext'].id}/decide",
                   {"decision": "approve", "note": ""}, h,
                   lambda: db.session.get(SuggestionExtension, c["ext"].id).status
                   == "approved"),
        "refuse_reassign": (
            f"/staff/suggestions/{h.id}/assignments/{c['request'].id}/refuse-reassign",
            {"note": "请继续办理"}, h,
            lambda: db.session.get(SuggestionAssignment, c["request"].id).status
            == "accepted"),
    }


ACTIONS = ("assign", "return", "merge", "deadline", "supervision", "reassign", "chase", "note",
           "decide", "refuse_reassign")


def _count(model, **filters):
    return db.session.scalar(db.select(db.func.count()).select_from(model).filter_by(**filters))


def state(s_id):
    """Everything an admin action could change."""
    db.session.expire_all()
    s = db.session.get(Suggestion, s_id)
    return (s.status, s.deadline_on, s.is_complex, s.review_comment, s.merged_into_id,
            s.supervision, sorted((a.department_id, a.role, a.status) for a in s.assignments),
            sorted((e.id, e.status) for e in db.session.scalars(db.select(SuggestionExtension))),
            _count(SuggestionEvent), _count(Notification))


# ---- the review page ----

def test_review_page_lists_each_tab_with_counts(client, login, w, cases, make_suggestion):
    make_suggestion("reanswering", flagged_unsatisfied=True, supervision="important")
    make_suggestion("in_progress", supervision="key")
    login(w.users["admin"])
    page = client.get("/staff/suggestions/review")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'href="/staff/suggestions/{cases["submitted"].id}"' in html
    expected = {"review": 1, "extensions": 1, "reassign": 1, "overdue": 1, "unsatisfied": 1,
                "key": 1, "important": 1}
    for tab, n in expected.items():
        assert f'data-testid="tab-{tab}"' in html
        html_tab = client.get(f"/staff/suggestions/review?tab={tab}").get_data(as_text=True)
        assert html_tab.count('data-testid="suggestion-item"') == n, tab
    overdue = client.get("/staff/suggestions/review?tab=overdue").get_data(as_text=True)
    assert "超期5天" in overdue and f'href="/staff/suggestions/{cases["handling"].id}"' in overdue
    ext = client.get("/staff/suggestions/review?tab=extensions").get_data(as_text=True)
    assert "区住房和城乡建设局申请延期至" in ext
    # An unknown tab falls back to the review queue.
    assert client.get("/staff/suggestions/review?tab=nope").status_code == 200


def test_review_page_is_empty_but_friendly(client, login, w):
    login(w.users["admin"])
    html = client.get("/staff/suggestions/review").get_data(as_text=True)
    assert "没有待审核的建议" in html


@pytest.mark.parametrize("role", NON_ADMINS + ("liaison_other", "dept_other", "colleague"))
def test_review_page_is_for_the_admin_office_only(client, login, w, role):
    login(w.users[role])
    assert client.get("/staff/suggestions/review").status_code == 403


def test_review_page_needs_a_sign_in(client):
    resp = client.get("/staff/suggestions/review")
    assert resp.status_code == 302 and "/staff/login" in resp.headers["Location"]


# ---- POST actions ----

@pytest.mark.parametrize("name", ACTIONS)
def test_each_admin_action(client, login, w, cases, name):
    url, data, s, done = action_requests(w, cases)[name]
    login(w.users["admin"])
    resp = post_form(client, url, data, form_url=f"/staff/suggestions/{s.id}")
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/staff/suggestions/{s.id}")
    db.session.expire_all()
    assert done(), name
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "lx-flash--success" in page


@pytest.mark.parametrize("role", NON_ADMINS)
@pytest.mark.parametrize("name", ACTIONS)
def test_non_admins_are_refused_every_action(client, login, w, cases, name, role):
    url, data, s, _ = action_requests(w, cases)[name]
    login(w.users[role])
    before = state(s.id)
    resp = post_form(client, url, data, form_url="/staff/")
    assert resp.status_code == 403
    assert state(s.id) == before


def test_unknown_suggestion_or_request_is_404(client, login, w, cases):
    login(w.users["admin"])
    h = cases["handling"]
    other = cases["target"]
    ext = cases["ext"]
    for url in ("/staff/suggestions/999999/assign",
                f"/staff/suggestions/{other.id}/extensions/{ext.id}/decide",
                f"/staff/suggestions/{h.id}/extensions/999999/decide",
                f"/staff/suggestions/{other.id}/assignments/{cases['request'].id}/refuse-reassign"):
        assert post_form(client, url, {"decision": "approve", "note": "好的"},
                         form_url="/staff/").status_code == 404, url


@pytest.mark.parametrize("url_of,data,flash", [
    (lambda c, w: f"/staff/suggestions/{c['submitted'].id}/assign",
     lambda c, w: {"lead_id": w.lead.id, "assisting_ids": [w.lead.id]},
     "主办单位不能同时作为协办单位"),
    (lambda c, w: f"/staff/suggestions/{c['submitted'].id}/assign",
     lambda c, w: {"lead_id": w.lead.id, "deadline_on": "2020-01-01"}, "办理期限须晚于今天"),
    (lambda c, w: f"/staff/suggestions/{c['submitted'].id}/assign",
     lambda c, w: {"lead_id": "abc"}, "请选择在用的主办单位"),
    (lambda c, w: f"/staff/suggestions/{c['submitted'].id}/assign",
     lambda c, w: {"lead_id": w.lead.id, "deadline_on": "明天"}, "日期格式不正确"),
    (lambda c, w: f"/staff/suggestions/{c['target'].id}/assign",
     lambda c, w: {"lead_id": w.other.id}, "不能交办"),
    (lambda c, w: f"/staff/suggestions/{c['target'].id}/return",
     lambda c, w: {"comment": "请补充"}, "不能退回修改"),
    (lambda c, w: f"/staff/suggestions/{c['submitted'].id}/merge",
     lambda c, w: {"into": c["submitted"].number}, "不能并入建议本身"),
    (lambda c, w: f"/staff/suggestions/{c['submitted'].id}/merge",
     lambda c, w: {"into": "JY2026-99999"}, "没有找到编号为JY2026-99999的建议"),
    (lambda c, w: f"/staff/suggestions/{c['handling'].id}/reassign",
     lambda c, w: {"department_id": w.lead.id, "reason": "调整"}, "与当前主办单位相同"),
    (lambda c, w: f"/staff/suggestions/{c['handling'].id}/deadline",
     lambda c, w: {"deadline_on": "", "reason": "调整"}, "请填写新的办理期限"),
    (lambda c, w: f"/staff/suggestions/{c['handling'].id}/extensions/{c['ext'].id}/decide",
     lambda c, w: {"decision": "refuse", "note": ""}, "不同意的理由"),
    (lambda c, w: f"/staff/suggestions/{c['handling'].id}/extensions/{c['ext'].id}/decide",
     lambda c, w: {"decision": "maybe"}, "请选择同意或不同意"),
    (lambda c, w: f"/staff/suggestions/{c['submitted'].id}/chase",
     lambda c, w: {}, "不需要催办"),
])
def test_domain_errors_flash_and_change_nothing(client, login, w, cases, url_of, data, flash):
    login(w.users["admin"])
    url = url_of(cases, w)
    s_id = int(url.split("/")[3])
    before = state(s_id)
    resp = post_form(client, url, data(cases, w), form_url="/staff/")
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/staff/suggestions/{s_id}")
    assert state(s_id) == before
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert flash in page and "lx-flash--error" in page


def test_deciding_an_extension_twice_through_the_page(client, login, w, cases):
    h, ext = cases["handling"], cases["ext"]
    url = f"/staff/suggestions/{h.id}/extensions/{ext.id}/decide"
    login(w.users["admin"])
    post_form(client, url, {"decision": "approve"}, form_url="/staff/")
    before = state(h.id)
    resp = post_form(client, url, {"decision": "refuse", "note": "改主意了"}, form_url="/staff/")
    assert state(h.id) == before
    assert "不能再次审批" in client.get(resp.headers["Location"]).get_data(as_text=True)


def test_assign_through_the_page_tells_residents_the_departments(client, login, w, cases):
    s = cases["submitted"]
    login(w.users["admin"])
    post_form(client, f"/staff/suggestions/{s.id}/assign",
              {"lead_id": w.lead.id, "assisting_ids": [w.assist.id], "is_complex": "0"},
              form_url="/staff/")
    told = list(db.session.scalars(db.select(Notification).filter_by(
        recipient_kind="resident", topic="suggestion.assigned")))
    assert sorted(n.recipient_id for n in told) == sorted(r.id for r in w.residents[:2])
    assert all("区住房和城乡建设局（主办）" in n.body for n in told)


# ---- the admin part of the suggestion page ----

def render_partial(app, user, suggestion):
    from flask import render_template
    today = local_today()
    with app.test_request_context("/staff/suggestions/%d" % suggestion.id):
        login_user(user)
        return render_template(
            "staff/suggestion_actions_admin.html", suggestion=suggestion, today=today,
            overdue=suggestion.deadline_on is not None and today > suggestion.deadline_on
            and suggestion.status in ("assigned", "in_progress", "reanswering"),
            departments=list(db.session.scalars(
                db.select(Department).filter_by(is_active=True).order_by(Department.name))),
            policy=policy)


def forms_in(html):
    return {name for name in ("assign", "return", "merge", "deadline", "reassign", "chase",
                              "supervision", "note")
            if f'data-testid="{name}"' in html}


def test_partial_shows_the_forms_each_status_allows(app, w, cases, make_suggestion):
    admin = w.users["admin"]
    submitted = render_partial(app, admin, cases["submitted"])
    assert forms_in(submitted) == {"assign", "return", "merge", "supervision", "note"}
    assert cases["target"].number in submitted  # offered as a merge target
    handling = render_partial(app, admin, cases["handling"])
    assert forms_in(handling) == {"deadline", "reassign", "chase", "supervision", "note"}
    assert f'data-testid="extension-{cases["ext"].id}"' in handling
    assert f'data-testid="reassign-request-{cases["request"].id}"' in handling
    assert "不属于我局职责范围" in handling and "已超过办理期限5天" in handling
    answered = render_partial(app, admin, make_suggestion("answered"))
    assert forms_in(answered) == {"supervision", "note"}
    # Not the admin's part: nothing for anyone else, even if it were included.
    assert forms_in(render_partial(app, w.users["author"], cases["submitted"])) == set()


def test_detail_page_carries_the_admin_forms_for_the_admin_only(app, client, login, w, cases):
    s = cases["submitted"]
    login(w.users["admin"])
    html = client.get(f"/staff/suggestions/{s.id}").get_data(as_text=True)
    assert f'action="/staff/suggestions/{s.id}/assign"' in html
    post_form(client, "/staff/logout", {}, form_url="/staff/")
    login(w.users["author"])
    html = client.get(f"/staff/suggestions/{s.id}").get_data(as_text=True)
    assert f'action="/staff/suggestions/{s.id}/assign"' not in html


def test_the_note_form_posted_twice_writes_one_note(client, login, w, cases):
    """A double click or a browser resubmit sends the page's key again: one note, and the page
    says it was added already, as a success."""
    s = cases["handling"]
    login(w.users["admin"])
    page_url = f"/staff/suggestions/{s.id}"
    token, key = form_keys(client, page_url)
    form = {"text": "已电话督促，承办单位本周答复", "csrf_token": token, "idempotency_key": key}
    first = client.post(page_url + "/note", data=form)
    again = client.post(page_url + "/note", data=form)
    assert first.status_code == again.status_code == 302 and first.location == again.location
    assert "这条备注已经添加过了，没有重复添加" in client.get(page_url).get_data(as_text=True)
    db.session.expire_all()
    assert _count(SuggestionEvent, kind="note") == 1

    # The same key with other words is another note: refused, nothing written.
    client.post(page_url + "/note", data={**form, "text": "另一条：请法工委把关"})
    assert "该提交编号已用于另一条备注" in client.get(page_url).get_data(as_text=True)
    # A fresh render has a new key: the same words again are a second note, on purpose.
    fresh = form_keys(client, page_url)[1]
    assert fresh != key
    client.post(page_url + "/note", data={**form, "idempotency_key": fresh})
    db.session.expire_all()
    assert _count(SuggestionEvent, kind="note") == 2


def test_the_note_form_without_its_key_is_refused_and_writes_nothing(client, login, w, cases):
    s = cases["handling"]
    login(w.users["admin"])
    page_url = f"/staff/suggestions/{s.id}"
    post_form(client, page_url + "/note", {"text": "已电话督促，承办单位本周答复"},
              form_url=page_url)
    assert "缺少有效的提交编号，请刷新页面后重试" in client.get(page_url).get_data(as_text=True)
    db.session.expire_all()
    assert _count(SuggestionEvent, kind="note") == 0
