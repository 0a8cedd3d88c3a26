"""The deputy's and liaison's suggestion pages, and the detail page every role shares: drafting
from messages through the form, submitting, co-signing, rating; who gets 403; what a department
must never see."""
import re
import uuid
from datetime import date, timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from backend.messages.models import Message
from backend.notifications.models import Notification
from backend.suggestions.models import Suggestion, SuggestionRating
from backend.messages.operations import submit_message
from tests.conftest import csrf_token, form_keys, post_form

FLASH_RE = re.compile(r'class="lx-flash lx-flash--(\w+)" role="status">([^<]*)<')
ITEM_RE = re.compile(r'data-testid="suggestion-item" data-id="(\d+)"')
GOOD = {"title": "关于修复城关街道路灯的建议", "category": "城乡建设",
        "problem": "城关街道多处路灯损坏一个多月，居民夜间出行很不安全。",
        "proposal": "请区住建局尽快排查修复，并建立路灯日常巡查机制。"}


@pytest.fixture
def as_user(app, db):
    """A browser of its own, logged in as `user`: several people act in one test."""
    def do(user):
        db.session.commit()
        client = app.test_client()
        resp = post_form(client, "/staff/login",
                         {"username": user.username, "password": "correct-horse-9"})
        assert resp.status_code == 302
        return client
    return do


def _html(resp) -> str:
    return unescape(resp.get_data(as_text=True))


def _flashes(html: str) -> list[tuple[str, str]]:
    return FLASH_RE.findall(html)


def _post(client, url, data, form_url):
    return client.post(url, data={**data, "csrf_token": csrf_token(client, form_url)},
                       follow_redirects=True)


def _reload(db, model, obj_id):
    db.session.expire_all()
    return db.session.get(model, obj_id)


def _count(db, model, **filters) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).filter_by(**filters))


# ---- the whole path through the pages ----

def test_draft_submit_cosign_through_the_pages(db, suggestion_world, as_user, make_resident):
    w = suggestion_world
    m1, m2, m3 = w.messages
    with_phone = submit_message(resident=make_resident(openid="openid-phone"), deputy=w.author,
                                body="路口的井盖松动了，踩上去咣当响。", phone="13812345678",
                                idempotency_key=uuid.uuid4().hex).message
    author = as_user(w.users["author"])
    form_url = f"/staff/suggestions/new?message={m1.id}&message={m2.id}"
    page = author.get(form_url)
    html = _html(page)
    assert page.status_code == 200
    assert f'value="{m1.id}" checked' in html and f'value="{m2.id}" checked' in html
    assert with_phone.tracking_no in html and f'value="{with_phone.id}">' in html
    assert "13812345678" not in html and "5678" not in html  # never the resident's phone
    assert m3.tracking_no not in html  # another deputy's message is not offered

    resp = author.post("/staff/suggestions/new", data={
        **GOOD, "deputy_id": w.author.id, "message_ids": [m1.id, m2.id],
        "csrf_token": csrf_token(author, form_url),
        "idempotency_key": uuid.uuid4().hex})
    assert resp.status_code == 302
    s = db.session.scalars(sa.select(Suggestion)).one()
    assert resp.headers["Location"].endswith(f"/staff/suggestions/{s.id}")
    assert s.status == "draft" and [m.id for m in s.messages] == [m1.id, m2.id]

    detail = f"/staff/suggestions/{s.id}"
    html = _html(author.get(detail))
    assert 'data-testid="submit"' in html and 'data-testid="edit"' in html
    assert m1.tracking_no in html and m1.body[:20] in html
    # A draft is the author's: a colleague, an outsider and other people's liaison get 403.
    for who in ("colleague", "outsider", "liaison_other", "dept_lead"):
        assert as_user(w.users[who]).get(detail).status_code == 403, who

    html = _html(_post(author, f"{detail}/submit", {}, detail))
    assert ("success", "建议已提交区人大常委会，反映问题的居民会收到通知") in _flashes(html)
    s = _reload(db, Suggestion, s.id)
    assert s.status == "submitted" and s.submitted_at is not None
    assert {n.recipient_id for n in db.session.scalars(sa.select(Notification).filter_by(
        recipient_kind="resident", topic="suggestion.submitted"))} == {
        m1.resident_id, m2.resident_id}
    assert 'data-testid="submit"' not in html and 'data-testid="edit"' not in html

    # Submitting again through a stale page: flashed, nothing changes.
    html = _html(author.post(f"{detail}/submit", data={"csrf_token": csrf_token(author, detail)},
                             follow_redirects=True))
    assert ("error", "建议当前为「待审核」，不能提交") in _flashes(html)
    assert _count(db, Notification, topic="suggestion.submitted", recipient_kind="staff") == 1

    colleague = as_user(w.users["colleague"])
    assert ITEM_RE.findall(_html(colleague.get("/staff/suggestions?tab=cosignable"))) == [
        str(s.id)]
    html = _html(colleague.get(detail))
    # The colleague reads the residents' words, without a link to a message page not theirs.
    assert m1.body[:20] in html and f'href="/staff/messages/{m1.id}"' not in html
    assert f'href="/staff/messages/{m1.id}"' in _html(author.get(detail))
    html = _html(_post(colleague, f"{detail}/cosign", {}, detail))
    assert ("success", "已附议这件建议") in _flashes(html)
    assert 'data-testid="cosigned"' in html and "刘芳代表" in html
    assert ITEM_RE.findall(_html(colleague.get("/staff/suggestions?tab=cosigned"))) == [
        str(s.id)]
    assert ITEM_RE.findall(_html(colleague.get("/staff/suggestions?tab=cosignable"))) == []
    html = _html(colleague.post(f"{detail}/cosign", data={
        "csrf_token": csrf_token(colleague, detail)}, follow_redirects=True))
    assert ("error", "您已附议过这件建议") in _flashes(html)

    # Still out of reach for the other station and for a department it was not assigned to.
    for who in ("outsider", "liaison_other", "dept_lead", "dept_other"):
        assert as_user(w.users[who]).get(detail).status_code == 403, who
    # The author cannot co-sign their own; a liaison cannot co-sign at all.
    assert author.post(f"{detail}/cosign", data={
        "csrf_token": csrf_token(author, detail)}).status_code == 403
    liaison = as_user(w.users["liaison_own"])
    assert liaison.post(f"{detail}/cosign", data={
        "csrf_token": csrf_token(liaison, detail)}).status_code == 403
    assert len(_reload(db, Suggestion, s.id).cosigners) == 1


def test_bad_input_shows_the_form_again_and_saves_nothing(db, suggestion_world, as_user):
    w = suggestion_world
    author = as_user(w.users["author"])
    form_url = "/staff/suggestions/new"
    resp = author.post(form_url, data={
        "title": "路灯", "category": "城乡建设", "problem": "路灯坏了", "proposal": GOOD["proposal"],
        "deputy_id": w.author.id, "csrf_token": csrf_token(author, form_url),
        "idempotency_key": uuid.uuid4().hex})
    html = _html(resp)
    assert resp.status_code == 422
    assert "标题至少 5 个字" in html and "案由至少 10 个字" in html and "请至少选择一条留言" in html
    assert 'value="路灯"' in html and GOOD["proposal"] in html  # what was typed stays
    # Another deputy's message through a forged form.
    resp = author.post(form_url, data={
        **GOOD, "deputy_id": w.author.id, "message_ids": [w.messages[2].id],
        "csrf_token": csrf_token(author, form_url),
        "idempotency_key": uuid.uuid4().hex})
    assert resp.status_code == 422 and "所选留言中有您无权查看的留言" in _html(resp)
    assert _count(db, Suggestion) == 0


def test_a_liaison_drafts_for_a_deputy_of_their_station(db, suggestion_world, as_user):
    w = suggestion_world
    m1 = w.messages[0]
    liaison = as_user(w.users["liaison_own"])
    html = _html(liaison.get("/staff/suggestions/new"))
    assert 'data-testid="pick-deputy"' in html and "王建国" in html and "刘芳" in html
    assert "陈明" not in html
    # From a message page the deputy is known.
    form_url = f"/staff/suggestions/new?message={m1.id}"
    html = _html(liaison.get(form_url))
    assert f'name="deputy_id" value="{w.author.id}"' in html and f'value="{m1.id}" checked' in html
    resp = liaison.post("/staff/suggestions/new", data={
        **GOOD, "deputy_id": w.author.id, "message_ids": [m1.id],
        "csrf_token": csrf_token(liaison, form_url),
        "idempotency_key": uuid.uuid4().hex})
    assert resp.status_code == 302
    s = db.session.scalars(sa.select(Suggestion)).one()
    assert s.drafted_by_id == w.users["liaison_own"].id and s.deputy_id == w.author.id
    # A deputy outside their stations: refused, nothing saved.
    resp = liaison.post("/staff/suggestions/new", data={
        **GOOD, "deputy_id": w.outsider.id, "message_ids": [w.messages[2].id],
        "csrf_token": csrf_token(liaison, form_url),
        "idempotency_key": uuid.uuid4().hex})
    assert resp.status_code == 403 and _count(db, Suggestion) == 1
    resp = liaison.post("/staff/suggestions/new", data={
        **GOOD, "message_ids": [m1.id], "csrf_token": csrf_token(liaison, form_url),
        "idempotency_key": uuid.uuid4().hex})
    assert resp.status_code == 422 and "请选择领衔代表" in _html(resp)
    # The liaison edits and submits it for the deputy.
    detail = f"/staff/suggestions/{s.id}"
    resp = _post(liaison, f"{detail}/edit", {**GOOD, "title": "关于城关街道路灯的建议",
                                             "message_ids": [m1.id, w.messages[1].id]},
                 f"{detail}/edit")
    assert ("success", "建议已修改") in _flashes(_html(resp))
    _post(liaison, f"{detail}/submit", {}, detail)
    s = _reload(db, Suggestion, s.id)
    assert s.status == "submitted" and s.title == "关于城关街道路灯的建议" and len(s.messages) == 2


def test_nobody_else_drafts(db, suggestion_world, as_user):
    w = suggestion_world
    # A deputy id out of reach in the address is ignored: the liaison picks again, a deputy
    # drafts as themself.
    html = _html(as_user(w.users["liaison_own"]).get(f"/staff/suggestions/new?deputy={w.outsider.id}"))
    assert 'data-testid="pick-deputy"' in html and "陈明" not in html
    html = _html(as_user(w.users["author"]).get(f"/staff/suggestions/new?deputy={w.colleague.id}"))
    assert f'name="deputy_id" value="{w.author.id}"' in html and "刘芳" not in html
    # ... and posting another deputy's id is refused.
    author = as_user(w.users["author"])
    resp = author.post("/staff/suggestions/new", data={
        **GOOD, "deputy_id": w.colleague.id, "message_ids": [w.messages[0].id],
        "csrf_token": csrf_token(author, "/staff/suggestions/new")})
    assert resp.status_code == 403 and _count(db, Suggestion) == 0
    for who in ("admin", "dept_lead"):
        assert as_user(w.users[who]).get("/staff/suggestions/new").status_code == 403
    assert as_user(w.users["dept_lead"]).get("/staff/suggestions").status_code == 403


def test_editing(db, suggestion_world, make_suggestion, as_user):
    w = suggestion_world
    draft, submitted = make_suggestion("draft"), make_suggestion("submitted")
    author = as_user(w.users["author"])
    url = f"/staff/suggestions/{draft.id}/edit"
    html = _html(author.get(url))
    assert 'value="关于修复城关街道路灯的建议"' in html
    assert f'value="{w.messages[0].id}" checked' in html
    resp = author.post(url, data={**GOOD, "title": "短", "message_ids": [w.messages[0].id],
                                  "csrf_token": csrf_token(author, url)})
    assert resp.status_code == 422 and "标题至少 5 个字" in _html(resp)
    assert _reload(db, Suggestion, draft.id).title == "关于修复城关街道路灯的建议"
    # After submission: back to the page with a word why; for others, 403.
    resp = author.get(f"/staff/suggestions/{submitted.id}/edit", follow_redirects=True)
    assert ("error", "建议当前为「待审核」，不能修改") in _flashes(_html(resp))
    resp = author.post(f"/staff/suggestions/{submitted.id}/edit", data={
        **GOOD, "message_ids": [w.messages[0].id], "csrf_token": csrf_token(author, url)})
    assert resp.status_code == 302
    assert _reload(db, Suggestion, submitted.id).title == "关于修复城关街道路灯的建议"
    assert as_user(w.users["colleague"]).get(
        f"/staff/suggestions/{submitted.id}/edit").status_code == 403
    assert as_user(w.users["liaison_other"]).get(url).status_code == 403


# ---- rating through the page ----

def test_the_rating_form_works_only_when_answered(db, suggestion_world, make_suggestion,
                                                  as_user):
    w = suggestion_world
    in_progress = make_suggestion("in_progress")
    answered = make_suggestion("answered", cosigners=[w.colleague])
    author = as_user(w.users["author"])
    url = f"/staff/suggestions/{in_progress.id}"
    assert 'data-testid="rate"' not in _html(author.get(url))
    html = _html(_post(author, f"{url}/rate", {"value": "satisfied"}, url))
    assert ("error", "建议当前为「办理中」，不能评价") in _flashes(html)
    assert _reload(db, Suggestion, in_progress.id).status == "in_progress"
    assert _count(db, SuggestionRating) == 0

    url = f"/staff/suggestions/{answered.id}"
    html = _html(author.get(url))
    assert 'data-testid="rate"' in html and "基本满意" in html
    # The colleague (a co-signer) sees the answer but no form, and may not post one.
    colleague_view = as_user(w.users["colleague"])
    assert 'data-testid="rate"' not in _html(colleague_view.get(url))
    assert colleague_view.post(f"{url}/rate", data={
        "value": "dissatisfied", "csrf_token": csrf_token(colleague_view, url)}).status_code == 403
    html = _html(_post(author, f"{url}/rate", {"value": "bad"}, url))
    assert ("error", "请选择满意、基本满意或不满意") in _flashes(html)
    html = _html(_post(author, f"{url}/rate", {"value": "dissatisfied", "comment": "没修好"},
                       url))
    assert ("success", "已评价为不满意，建议已退回承办单位重新办理") in _flashes(html)
    s = _reload(db, Suggestion, answered.id)
    assert s.status == "reanswering" and s.flagged_unsatisfied
    assert "没修好" in html and 'data-testid="rate"' not in html


# ---- the shared detail page ----

def test_a_department_never_sees_the_residents(db, suggestion_world, make_suggestion, as_user,
                                               make_resident):
    w = suggestion_world
    m1, m2, _ = w.messages
    merged = submit_message(resident=make_resident(openid="openid-m"), deputy=w.author,
                            body="我家楼下的路灯也坏了，晚上看不见路。", phone="13900001111",
                            idempotency_key=uuid.uuid4().hex).message
    merged.status, merged.merged_into_id = "merged", m1.id
    s = make_suggestion("in_progress", resolution="B")
    url = f"/staff/suggestions/{s.id}"

    admin_html = _html(as_user(w.users["admin"]).get(url))
    for m in (m1, m2, merged):
        assert m.tracking_no in admin_html and m.body[:15] in admin_html

    for who in ("dept_lead", "dept_assist"):
        resp = as_user(w.users[who]).get(url)
        html = _html(resp)
        assert resp.status_code == 200, who
        assert s.title in html and s.problem in html and "区住房和城乡建设局" in html
        for m in (m1, m2, merged):
            assert m.tracking_no not in html and m.body[:15] not in html
        assert "13900001111" not in html and "1111" not in html
        assert "/staff/messages/" not in html and 'data-testid="sources"' not in html
    assert as_user(w.users["dept_other"]).get(url).status_code == 403


def test_the_detail_page_shows_the_whole_case(db, suggestion_world, make_suggestion, as_user):
    from backend.suggestions.models import SuggestionEvent, SuggestionExtension, SuggestionFollowUp
    w = suggestion_world
    s = make_suggestion("answered", resolution="B", supervision="key",
                        cosigners=[w.colleague], is_complex=True)
    reply = s.replies[0]
    db.session.add_all([
        SuggestionExtension(suggestion_id=s.id, department_id=w.lead.id,
                            requested_until=date.today() + timedelta(days=90),
                            reason="需要协调资金", status="approved"),
        SuggestionFollowUp(suggestion_id=s.id, reply_id=reply.id, due_on=date.today()),
        SuggestionEvent(suggestion_id=s.id, kind="assign", actor_kind="staff",
                        actor_label="代工委", from_status="submitted", to_status="assigned",
                        is_public=True),
    ])
    s.assignments[1].opinion = "交通局同意配合施工期间交通疏导"
    db.session.commit()
    html = _html(as_user(w.users["author"]).get(f"/staff/suggestions/{s.id}"))
    for text in (s.number, "已答复", "王建国代表", "刘芳代表", "城乡建设", s.problem, s.proposal,
                 "问题较复杂", "重点督办", "区住房和城乡建设局", "主办", "协办", "已签收",
                 "交通局同意配合施工期间交通疏导", "第1次答复", "B类（正在解决或列入计划解决）",
                 "已组织排查", "完成招标", "需要协调资金", "已同意", "回头看", "待回复", "交办",
                 "→ 已交办"):
        assert text in html, text


def test_overdue_marks_on_the_list_and_the_page(db, suggestion_world, make_suggestion, as_user):
    w = suggestion_world
    late = make_suggestion("in_progress", deadline_on=date.today() - timedelta(days=3),
                           supervision="important")
    on_time = make_suggestion("in_progress")
    liaison = as_user(w.users["liaison_own"])
    html = _html(liaison.get("/staff/suggestions"))
    assert ITEM_RE.findall(html) == [str(on_time.id), str(late.id)]  # newest first
    rows = html.split('data-testid="suggestion-item"')[1:]
    assert 'data-testid="overdue"' in rows[1] and 'data-testid="overdue"' not in rows[0]
    assert "重要督办" in rows[1]
    html = _html(liaison.get(f"/staff/suggestions/{late.id}"))
    assert 'data-testid="overdue"' in html and "已超期" in html
    # Filters and the other station's liaison.
    assert ITEM_RE.findall(_html(liaison.get("/staff/suggestions?status=answered"))) == []
    assert ITEM_RE.findall(_html(as_user(w.users["liaison_other"]).get(
        "/staff/suggestions"))) == []
    assert len(ITEM_RE.findall(_html(as_user(w.users["admin"]).get("/staff/suggestions")))) == 2


def test_deputy_tabs(db, suggestion_world, make_suggestion, as_user):
    w = suggestion_world
    mine_draft = make_suggestion("draft")
    mine_submitted = make_suggestion("submitted")
    mine_assigned = make_suggestion("assigned")
    author = as_user(w.users["author"])
    assert ITEM_RE.findall(_html(author.get("/staff/suggestions"))) == [
        str(mine_assigned.id), str(mine_submitted.id), str(mine_draft.id)]
    assert ITEM_RE.findall(_html(author.get("/staff/suggestions?tab=cosignable"))) == []
    colleague = as_user(w.users["colleague"])
    # Only submitted (or returned) ones of colleagues are offered; never a draft.
    assert ITEM_RE.findall(_html(colleague.get("/staff/suggestions?tab=cosignable"))) == [
        str(mine_submitted.id)]
    assert ITEM_RE.findall(_html(colleague.get("/staff/suggestions"))) == []
    assert ITEM_RE.findall(_html(as_user(w.users["outsider"]).get(
        "/staff/suggestions?tab=cosignable"))) == []


def test_missing_suggestion_is_404(db, suggestion_world, as_user):
    client = as_user(suggestion_world.users["admin"])
    assert client.get("/staff/suggestions/999999").status_code == 404
    assert client.post("/staff/suggestions/999999/submit", data={
        "csrf_token": csrf_token(client, "/staff/suggestions")}).status_code == 404


# ---- the message page's 形成代表建议 button ----

def test_the_message_page_offers_drafting_to_who_may_draft(db, suggestion_world, as_user):
    w = suggestion_world
    m1, _, m3 = w.messages
    html = _html(as_user(w.users["author"]).get(f"/staff/inbox/{m1.id}"))
    assert f'href="/staff/suggestions/new?message={m1.id}" data-testid="draft-suggestion"' in html
    html = _html(as_user(w.users["liaison_own"]).get(f"/staff/messages/{m1.id}"))
    assert (f'href="/staff/suggestions/new?message={m1.id}&deputy={w.author.id}" '
            'data-testid="draft-suggestion"') in html
    assert 'data-testid="draft-suggestion"' not in _html(
        as_user(w.users["admin"]).get(f"/staff/messages/{m1.id}"))
    m = db.session.get(Message, m3.id)
    m.status, m.reject_reason = "rejected", "与代表履职无关"
    db.session.commit()
    assert 'data-testid="draft-suggestion"' not in _html(
        as_user(w.users["outsider"]).get(f"/staff/inbox/{m3.id}"))


def test_the_new_draft_form_posted_twice_saves_one_draft(db, suggestion_world, as_user):
    """A double click or a browser resubmit sends the page's key again: one draft, and the page
    says it was saved already, as a success; the key with other words, or none, is refused."""
    w = suggestion_world
    m1 = w.messages[0]
    author = as_user(w.users["author"])
    form_url = f"/staff/suggestions/new?message={m1.id}"
    token, key = form_keys(author, form_url)
    form = {**GOOD, "deputy_id": w.author.id, "message_ids": [m1.id], "csrf_token": token,
            "idempotency_key": key}
    first = author.post("/staff/suggestions/new", data=form)
    again = author.post("/staff/suggestions/new", data=form)
    assert first.status_code == again.status_code == 302 and first.location == again.location
    assert "这份建议草稿已经保存过了，没有重复保存" in _html(author.get(again.location))
    assert _count(db, Suggestion) == 1

    refused = author.post("/staff/suggestions/new", data={**form, "title": "关于增设公交站台的建议"})
    assert refused.status_code == 422 and "该提交编号已用于另一件建议" in _html(refused)
    missing = author.post("/staff/suggestions/new",
                          data={k: v for k, v in form.items() if k != "idempotency_key"})
    assert missing.status_code == 422 and "缺少有效的提交编号，请刷新页面后重试" in _html(missing)
    assert _count(db, Suggestion) == 1
    # A fresh render has a new key: the same words again are a second draft, on purpose.
    fresh = form_keys(author, form_url)[1]
    assert fresh != key
    author.post("/staff/suggestions/new", data={**form, "idempotency_key": fresh})
    assert _count(db, Suggestion) == 2
