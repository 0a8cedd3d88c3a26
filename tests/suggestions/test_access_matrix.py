"""Who may reach which suggestion page or action: every page and POST action × every role.

Staff side: one row per page or action (and per state or tab where that matters), each with a
form that really succeeds for an allowed role (a 200 page, or a redirect to the suggestion with
a success flash and a new event row); a refused role gets 403 (anonymous: the login page; an
object under another suggestion's URL: 404; someone else's message in the form: 422; a writer
acting in the wrong state: back to the suggestion with an error flash) and nothing changes. Resident side: the message page, the mini-program message detail and the two
rating routes × the writer, a co-writer, another resident, a stranger and a department user.

`{name}` in a URL or in form data is the id of that object in `matrix_world` (one suggestion
per state, built with direct rows), or a date (`{in90}`: 90 days from today)."""
from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from itsdangerous import URLSafeTimedSerializer

from backend.core.extensions import db
from backend.core.audit_model import AuditEvent
from backend.suggestions.models import (
    DepartmentReply, Suggestion, SuggestionAssignment, SuggestionCosigner, SuggestionEvent,
    SuggestionExtension, SuggestionFollowUp, SuggestionRating, SuggestionResidentRating,
    suggestion_messages,
)
from backend.notifications.models import Notification
from backend.accounts.resident_model import Resident
from backend.core.timeutil import local_today, utcnow
from miniprogram_api.auth import session_for

STAFF_MODULES = {"backend.staff.suggestions", "backend.staff.suggestion_admin",
                 "backend.staff.suggestion_department", "backend.staff.suggestion_figures"}
ROLES = ("admin", "dept_lead", "dept_assist", "dept_other", "author", "colleague", "outsider",
         "liaison_own", "liaison_other")
OK = "ok"  # GET: 200; POST: redirected to the suggestion with a success flash, something done
# Allowed in, but not in this state: back to the suggestion with an error flash, nothing done.
BOUNCED = "bounced"
OPINION = "建议结合道路改造同步更换路灯线路，交通局可配合占道审批。"
ANSWER = "经实地排查，已更换损坏路灯23盏，并将该路段纳入每周夜间巡查范围。"
# One suggestion per state, each with its own title marker for the list checks.
STATES = ("draft", "submitted", "returned", "merged", "assigned", "in_progress", "answered",
          "closed", "followup", "extension", "reassign", "moved")


def allow(*roles, refused=403, **special):
    """Expected outcome per role: OK for `roles`, `refused` for the rest, `special` overrides."""
    return {role: special.get(role, OK if role in roles else refused) for role in ROLES}


NOBODY = allow()
ADMIN = allow("admin")
DEPARTMENTS = allow("dept_lead", "dept_assist", "dept_other")
LISTERS = allow("admin", "author", "colleague", "outsider", "liaison_own", "liaison_other")
DRAFTERS = allow("author", "colleague", "outsider", "liaison_own", "liaison_other")
WRITERS = allow("author", "liaison_own")  # the author, or station A's liaison on their behalf
# Detail pages: a draft stays with its writers; submitted-and-later ones show to the station
# (colleagues co-sign them); assigned ones also to the departments assigned now.
SEE_DRAFT = allow("admin", "author", "liaison_own")
SEE_SUBMITTED = allow("admin", "author", "colleague", "liaison_own")
SEE_ASSIGNED = allow("admin", "author", "colleague", "liaison_own", "dept_lead", "dept_assist")
# `moved`: admin moved the lead from 住建局 to 水务局; 住建局 sees it no more.
SEE_MOVED = allow("admin", "author", "colleague", "liaison_own", "dept_assist", "dept_other")
BOTH_DEPARTMENTS = allow("dept_lead", "dept_assist")
LEAD = allow("dept_lead")
ASSISTING = allow("dept_assist")

S = "/staff/suggestions/{%s}"
FORM = {"title": "关于修复城关街道路灯的建议", "category": "城乡建设",
        "problem": "城关街道多处路灯损坏，居民夜间出行不便。",
        "proposal": "请区住建局尽快排查修复，并建立巡查机制。"}
REVIEW_TABS = ("review", "extensions", "reassign", "overdue", "unsatisfied", "key", "important")
DEPARTMENT_TABS = ("pending", "handling", "answered", "followup")

# (method, URL, form data for a POST, expected outcome by role)
MATRIX = [
    # ---- pages ----
    ("GET", "/staff/suggestions", None, LISTERS),
    *(("GET", f"/staff/suggestions?tab={tab}", None, LISTERS)
      for tab in ("led", "cosigned", "cosignable", "stations", "all")),
    ("GET", "/staff/suggestions?status=submitted", None, LISTERS),
    ("GET", "/staff/suggestions/new", None, DRAFTERS),
    ("GET", "/staff/suggestions/new?message={m0}", None, DRAFTERS),
    *(("GET", S % state, None,
       SEE_DRAFT if state == "draft" else
       SEE_SUBMITTED if state in ("submitted", "returned", "merged") else
       SEE_MOVED if state == "moved" else SEE_ASSIGNED)
      for state in STATES),
    ("GET", S % "draft" + "/edit", None, WRITERS),
    ("GET", S % "returned" + "/edit", None, WRITERS),
    ("GET", S % "in_progress" + "/edit", None,
     allow(author=BOUNCED, liaison_own=BOUNCED)),
    ("GET", "/staff/suggestions/review", None, ADMIN),
    *(("GET", f"/staff/suggestions/review?tab={tab}", None, ADMIN) for tab in REVIEW_TABS),
    ("GET", "/staff/assignments", None, DEPARTMENTS),
    *(("GET", f"/staff/assignments?tab={tab}", None, DEPARTMENTS) for tab in DEPARTMENT_TABS),
    ("GET", "/staff/suggestions/figures", None, ADMIN),
    ("GET", "/staff/suggestions/figures?year={year}", None, ADMIN),
    ("GET", "/staff/suggestions/figures.xlsx", None, ADMIN),
    # ---- the deputy's side (and a liaison's on their behalf) ----
    ("POST", "/staff/suggestions/new",
     {**FORM, "idempotency_key": "matrix-suggestion-new", "deputy_id": "{author}", "message_ids": ["{m0}"]}, WRITERS),
    # a deputy of station B (or B's liaison for them) from B's message; nobody else
    ("POST", "/staff/suggestions/new",
     {**FORM, "idempotency_key": "matrix-suggestion-new", "deputy_id": "{outsider}", "message_ids": ["{m2}"]},
     allow("outsider", "liaison_other")),
    # someone else's message is refused with the form again (422), and nothing is written
    ("POST", "/staff/suggestions/new",
     {**FORM, "idempotency_key": "matrix-suggestion-new", "deputy_id": "{author}", "message_ids": ["{m2}"]},
     allow(author=422, liaison_own=422)),
    ("POST", S % "draft" + "/edit", {**FORM, "message_ids": ["{m0}", "{m1}"]}, WRITERS),
    ("POST", S % "draft" + "/edit", {**FORM, "message_ids": ["{m0}", "{m2}"]},
     allow(author=422, liaison_own=422)),
    ("POST", S % "draft" + "/submit", {}, WRITERS),
    ("POST", S % "returned" + "/submit", {}, WRITERS),
    # permission first: only the writers hear that it cannot be submitted again
    ("POST", S % "submitted" + "/submit", {}, allow(author=BOUNCED, liaison_own=BOUNCED)),
    ("POST", S % "submitted" + "/cosign", {}, allow("colleague")),
    ("POST", S % "draft" + "/cosign", {}, NOBODY),  # a draft is not shown to colleagues yet
    ("POST", S % "answered" + "/rate", {"value": "satisfied", "comment": "修得很及时"},
     allow("author")),
    # ---- the admin office ----
    ("POST", S % "submitted" + "/assign",
     {"lead_id": "{lead_dept}", "assisting_ids": ["{assist_dept}"], "is_complex": "0"}, ADMIN),
    ("POST", S % "submitted" + "/return", {"comment": "请补充调研数据"}, ADMIN),
    ("POST", S % "submitted" + "/merge", {"into_id": "{assigned}"}, ADMIN),
    ("POST", S % "in_progress" + "/deadline", {"deadline_on": "{in120}", "reason": "工程量大"},
     ADMIN),
    ("POST", S % "in_progress" + "/supervision", {"level": "key", "note": "分管领导关注"}, ADMIN),
    ("POST", S % "reassign" + "/reassign",
     {"department_id": "{other_dept}", "reason": "职责属于水务局"}, ADMIN),
    ("POST", S % "in_progress" + "/chase", {"note": "请本周内报送进展"}, ADMIN),
    ("POST", S % "submitted" + "/note",
     {"text": "此件需领导过目", "idempotency_key": "matrix-suggestion-note"}, ADMIN),
    ("POST", S % "extension" + "/extensions/{ext}/decide",
     {"decision": "approve", "note": "同意"}, ADMIN),
    # an extension of another suggestion under this one's URL: not found, even for admin
    ("POST", S % "in_progress" + "/extensions/{ext}/decide",
     {"decision": "approve", "note": "同意"}, allow(admin=404)),
    ("POST", S % "reassign" + "/assignments/{reassign_aid}/refuse-reassign",
     {"note": "仍由住建局办理"}, ADMIN),
    ("POST", S % "in_progress" + "/assignments/{reassign_aid}/refuse-reassign",
     {"note": "仍由住建局办理"}, allow(admin=404)),
    ("POST", S % "extension" + "/assignments/{release_aid}/release",
     {"department_id": "{other_dept}", "note": "改由水务局协办"}, ADMIN),
    ("POST", S % "reassign" + "/assignments/{release_aid}/release",
     {"note": "改由水务局协办"}, allow(admin=404)),
    # ---- departments: only on what is assigned to them now ----
    ("POST", S % "assigned" + "/accept", {}, BOTH_DEPARTMENTS),
    ("POST", S % "moved" + "/accept", {}, allow("dept_other", "dept_assist")),
    ("POST", S % "in_progress" + "/request-reassign", {"reason": "不属于本单位职责"},
     BOTH_DEPARTMENTS),
    ("POST", S % "in_progress" + "/request-extension",
     {"until": "{in90}", "reason": "需等待年度预算批复"}, LEAD),
    ("POST", S % "in_progress" + "/opinion", {"text": OPINION}, ASSISTING),
    ("POST", S % "in_progress" + "/answer", {"resolution": "A", "body": ANSWER}, LEAD),
    ("POST", S % "submitted" + "/answer", {"resolution": "A", "body": ANSWER}, NOBODY),
    ("POST", S % "followup" + "/followups/{fid}",
     {"kept": "yes", "result": "路灯已全部修复并投入使用。"}, LEAD),
    ("POST", S % "answered" + "/followups/{fid}",
     {"kept": "yes", "result": "路灯已全部修复并投入使用。"}, allow(dept_lead=404, dept_assist=404)),
]
CASES = [pytest.param(method, url, data, role, rules.get(role), id=f"{method} {url} {role}")
         for method, url, data, rules in MATRIX for role in ("anonymous", *ROLES)]


# ---- the world ----

@pytest.fixture
def matrix_world(db, suggestion_world, make_suggestion):
    """suggestion_world plus one suggestion by 王建国 (from messages 1 and 2) in each state of
    STATES: the in_progress one has its assisting opinion (so the lead may answer), `extension`
    a pending extension, `followup` a closed B answer with an open 回头看, `reassign` a lead
    assignment asking to be reassigned, `merged` is merged into `assigned`, `moved` (assigned)
    had its lead moved from 住建局 to 水务局 (the old row replaced, the new one pending)."""
    w = suggestion_world
    today = local_today()

    def make(state, status=None, **kw):
        s = make_suggestion(status or state, title=f"关于城关街道路灯的建议【{state}】", **kw)
        setattr(w, state, s)
        return s

    make("draft")
    make("submitted")
    make("returned", review_comment="请补充调研数据")
    make("assigned")
    make("merged", merged_into_id=w.assigned.id)
    in_progress = make("in_progress")
    assisting = _assignment(in_progress, "assisting")
    assisting.opinion, assisting.opinion_at = OPINION, utcnow()
    make("answered", resolution="B")
    make("closed")
    followup = make("followup", "closed", resolution="B")
    w.followup_row = SuggestionFollowUp(suggestion_id=followup.id,
                                        reply_id=followup.latest_reply.id,
                                        due_on=followup.latest_reply.promised_by)
    extension = make("extension", "in_progress")
    w.extension_row = SuggestionExtension(suggestion_id=extension.id, department_id=w.lead.id,
                                          requested_until=extension.deadline_on
                                          + timedelta(days=30), reason="需等待年度预算批复")
    # its assisting department (交通局) asks to be let go, too
    assisting = _assignment(extension, "assisting")
    assisting.status, assisting.reassign_reason = "reassign_requested", "与本单位职责无关"
    w.release_aid = assisting.id
    reassign = make("reassign", "in_progress")
    lead = _assignment(reassign, "lead")
    lead.status, lead.reassign_reason = "reassign_requested", "职责属于水务局"
    w.reassign_aid = lead.id
    moved = make("moved", "assigned")
    _assignment(moved, "lead").status = "replaced"
    db.session.flush()  # the old lead stops being live before the new one is written
    db.session.add(SuggestionAssignment(suggestion_id=moved.id, department_id=w.other.id,
                                        role="lead", status="pending", assigned_at=utcnow()))
    db.session.add_all([w.followup_row, w.extension_row])
    db.session.commit()
    w.ids = {state: getattr(w, state).id for state in STATES}
    w.ids.update(
        ext=w.extension_row.id, fid=w.followup_row.id, reassign_aid=w.reassign_aid,
        release_aid=w.release_aid,
        m0=w.messages[0].id, m1=w.messages[1].id, m2=w.messages[2].id, author=w.author.id,
        outsider=w.outsider.id,
        lead_dept=w.lead.id, assist_dept=w.assist.id, other_dept=w.other.id,
        year=today.year,
        **{f"in{n}": (today + timedelta(days=n)).isoformat() for n in (90, 120)})
    return w


def _assignment(s, role) -> SuggestionAssignment:
    return next(a for a in s.current_assignments if a.role == role)


def fill(value, world):
    if isinstance(value, list):
        return [fill(v, world) for v in value]
    return value.format(**world.ids)


def state() -> tuple:
    """Everything a suggestion page or action could change."""
    db.session.rollback()
    db.session.expire_all()

    def rows(*columns):
        return [tuple(r) for r in db.session.execute(
            sa.select(*columns).order_by(columns[0])).all()]

    def count(table) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(table))

    return (
        rows(Suggestion.id, Suggestion.status, Suggestion.title, Suggestion.problem,
             Suggestion.proposal, Suggestion.category, Suggestion.is_complex,
             Suggestion.review_comment, Suggestion.merged_into_id, Suggestion.supervision,
             Suggestion.supervision_note, Suggestion.deadline_on, Suggestion.reanswers,
             Suggestion.flagged_unsatisfied, Suggestion.submitted_at, Suggestion.closed_at),
        rows(SuggestionAssignment.id, SuggestionAssignment.department_id,
             SuggestionAssignment.role, SuggestionAssignment.status,
             SuggestionAssignment.opinion, SuggestionAssignment.accepted_at),
        rows(SuggestionExtension.id, SuggestionExtension.status),
        rows(SuggestionFollowUp.id, SuggestionFollowUp.status),
        rows(suggestion_messages.c.suggestion_id, suggestion_messages.c.message_id),
        {model.__name__: count(model) for model in (
            DepartmentReply, SuggestionRating, SuggestionResidentRating, SuggestionEvent,
            SuggestionCosigner, Notification, AuditEvent)},
    )


def events() -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(SuggestionEvent))


def csrf(app, client) -> str:
    """The browser's CSRF token, signed from the one its session holds (what Flask-WTF puts in
    every form); a session without one first opens the login page, as a browser would."""
    with client.session_transaction() as session:
        raw = session.get("csrf_token")
    if raw is None:
        client.get("/staff/login")
        with client.session_transaction() as session:
            raw = session["csrf_token"]
    secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
    return URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps(raw)


def flashes(client) -> list:
    with client.session_transaction() as session:
        return list(session.get("_flashes", []))


# ---- the staff matrix ----

def test_every_suggestion_page_is_in_the_matrix(app, matrix_world):
    """A new suggestion page or action in the staff modules without a row fails this test."""
    adapter = app.url_map.bind("localhost")
    covered = {(adapter.match(fill(url, matrix_world).split("?")[0], method=method)[0], method)
               for method, url, _, _ in MATRIX}
    found = set()
    for rule in app.url_map.iter_rules():
        if app.view_functions[rule.endpoint].__module__ not in STAFF_MODULES:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            found.add(rule.endpoint)
            assert (rule.endpoint, method) in covered, f"{method} {rule.rule} has no row"
    # The guard itself works: it saw the pages of every module.
    assert {"staff.suggestions", "staff.suggestion_review", "staff.department_suggestions",
            "staff.suggestion_figures"} <= found


@pytest.mark.parametrize("method,url,data,role,expected", CASES)
def test_access(app, client, login, matrix_world, method, url, data, role, expected):
    w = matrix_world
    url = fill(url, w)
    if role != "anonymous":
        login(w.users[role])
    before = state()
    if method == "GET":
        resp = client.get(url)
    else:
        form = {key: fill(value, w) for key, value in data.items()}
        resp = client.post(url, data={**form, "csrf_token": csrf(app, client)})
    location = resp.headers.get("Location", "")
    body = resp.get_data(as_text=True)[:2000] if resp.mimetype.startswith("text") else ""

    if role == "anonymous":
        assert resp.status_code == 302 and "/staff/login" in location, (resp.status_code,
                                                                         location)
    elif expected == OK and method == "GET":
        assert resp.status_code == 200, body
        if role.startswith("dept_"):  # departments never learn who the residents were
            html = resp.get_data(as_text=True)
            for message in w.messages:
                assert message.body not in html and message.tracking_no not in html
    elif expected == OK:
        assert resp.status_code == 302, body
        assert "/staff/suggestions/" in location and "/staff/login" not in location, location
        assert {category for category, _ in flashes(client)} == {"success"}, flashes(client)
        assert events() > before[-1]["SuggestionEvent"]  # done, with its event row
    elif expected == BOUNCED:
        assert resp.status_code == 302, body
        assert location.endswith("/staff/suggestions/" + url.split("/")[3]), location
        assert {category for category, _ in flashes(client)} == {"error"}, flashes(client)
    else:
        assert resp.status_code == expected, body
    if role == "anonymous" or expected != OK or method == "GET":
        assert state() == before


# ---- what each role's lists show ----

LISTED = {
    "admin": set(STATES),
    "author": set(STATES),
    "liaison_own": set(STATES),
    "colleague": {"submitted", "returned"},  # offered to co-sign
    "outsider": set(),
    "liaison_other": set(),
}
ASSIGNED_STATES = {"assigned", "in_progress", "answered", "closed", "followup", "extension",
                   "reassign"}
ASSIGNED_TO = {"dept_lead": ASSIGNED_STATES, "dept_assist": ASSIGNED_STATES | {"moved"},
               "dept_other": {"moved"}}


def _shown(html: str) -> set[str]:
    return {state for state in STATES if f"【{state}】" in html}


@pytest.mark.parametrize("role", sorted(LISTED))
def test_the_list_shows_only_what_the_role_may_see(client, login, matrix_world, role):
    login(matrix_world.users[role])
    shown = set()
    for tab in ("", "led", "cosigned", "cosignable", "stations", "all"):
        resp = client.get(f"/staff/suggestions?tab={tab}")
        assert resp.status_code == 200
        shown |= _shown(resp.get_data(as_text=True))
    assert shown == LISTED[role]


@pytest.mark.parametrize("role", sorted(ASSIGNED_TO))
def test_a_department_lists_only_its_assignments(client, login, matrix_world, role):
    login(matrix_world.users[role])
    shown = set()
    for tab in DEPARTMENT_TABS:
        resp = client.get(f"/staff/assignments?tab={tab}")
        assert resp.status_code == 200
        html = resp.get_data(as_text=True)
        shown |= _shown(html)
        for message in matrix_world.messages:  # never who the residents were
            assert message.body not in html and message.tracking_no not in html
    assert shown == ASSIGNED_TO[role]


# what the drafting form offers: (role, message in the URL) → whose words show
OFFERED = {"author": {0, 1}, "liaison_own": {0, 1}, "colleague": set(), "outsider": {2},
           "liaison_other": {2}}


@pytest.mark.parametrize("role", sorted(OFFERED))
@pytest.mark.parametrize("n", [0, 2])
def test_the_drafting_form_offers_only_usable_messages(client, login, matrix_world, role, n):
    """?message= names any message id; the form shows a message's words only to whom may
    put it into a suggestion."""
    w = matrix_world
    login(w.users[role])
    resp = client.get(f"/staff/suggestions/new?message={w.messages[n].id}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    shown = {i for i, m in enumerate(w.messages) if m.body in html or m.tracking_no in html}
    # (a liaison of two deputies' station picks the deputy first when the message is not theirs)
    assert shown <= OFFERED[role] and (n in shown) == (n in OFFERED[role])


# ---- the resident side ----

RESIDENT_ROLES = ("writer", "co_writer", "other_resident", "stranger", "department")


def resident_allow(*roles, refused=404, **special):
    return {role: special.get(role, OK if role in roles else refused) for role in RESIDENT_ROLES}


WRITER = resident_allow("writer")
WRITER_API = resident_allow("writer", stranger=401)
CO_WRITER = resident_allow("co_writer")
CO_WRITER_API = resident_allow("co_writer", stranger=401)
NO_RESIDENT = resident_allow()
NO_RESIDENT_API = resident_allow(stranger=401)
RATE = {"value": "satisfied", "comment": "路灯修好了"}
API = "/api/mp/v1"

# (channel, method, URL, body, expected by role); the writer wrote message 1, the co-writer
# message 2 (both fed every suggestion of the world), the other resident message 3 (which fed
# none).
RESIDENT_MATRIX = [
    ("portal", "GET", "/m/{m0}", None, WRITER),
    ("portal", "GET", "/m/{m1}", None, CO_WRITER),
    ("portal", "POST", "/m/{m0}/suggestions/{answered}/rate", RATE, WRITER),
    ("portal", "POST", "/m/{m1}/suggestions/{answered}/rate", RATE, CO_WRITER),
    ("portal", "POST", "/m/{m0}/suggestions/{closed}/rate", RATE, WRITER),
    # a draft is not made yet, and message 3 fed nothing: neither is a way in
    ("portal", "POST", "/m/{m0}/suggestions/{draft}/rate", RATE, NO_RESIDENT),
    ("portal", "POST", "/m/{m2}/suggestions/{answered}/rate", RATE, NO_RESIDENT),
    # the merged one is shown (and rated) as the one it was merged into
    ("portal", "POST", "/m/{m0}/suggestions/{merged}/rate", RATE, NO_RESIDENT),
    ("api", "GET", "/messages/{m0}", None, WRITER_API),
    ("api", "GET", "/messages/{m1}", None, CO_WRITER_API),
    ("api", "POST", "/messages/{m0}/suggestions/{answered}/rating", RATE, WRITER_API),
    ("api", "POST", "/messages/{m1}/suggestions/{answered}/rating", RATE, CO_WRITER_API),
    ("api", "POST", "/messages/{m0}/suggestions/{closed}/rating", RATE, WRITER_API),
    ("api", "POST", "/messages/{m0}/suggestions/{draft}/rating", RATE, NO_RESIDENT_API),
    ("api", "POST", "/messages/{m2}/suggestions/{answered}/rating", RATE, NO_RESIDENT_API),
    ("api", "POST", "/messages/{m0}/suggestions/{merged}/rating", RATE, NO_RESIDENT_API),
]
RESIDENT_CASES = [
    pytest.param(channel, method, url, body, role, rules[role],
                 id=f"{channel} {method} {url} {role}")
    for channel, method, url, body, rules in RESIDENT_MATRIX for role in RESIDENT_ROLES]


@pytest.fixture
def residents(app, db, matrix_world):
    """For each resident role: a portal browser and a mini-program token (None: no session).
    The department: 住建局's user signed in to the staff pages in that browser, and bound to a
    WeChat account of its own for the mini-program."""
    w = matrix_world
    browsers, tokens = {}, {}
    for role, resident in (("writer", w.residents[0]), ("co_writer", w.residents[1]),
                           ("other_resident", w.residents[2])):
        resident.web_key = f"{role}-key-".ljust(43, "x")  # the portal cookie's 43 characters
        browsers[role] = app.test_client()
        browsers[role].set_cookie("lx_resident", resident.web_key)
        tokens[role] = session_for(resident)["token"]
    browsers["stranger"], tokens["stranger"] = app.test_client(), None
    wechat = Resident(openid="openid-department-lead")
    db.session.add(wechat)
    db.session.flush()
    w.users["dept_lead"].wechat_openid = wechat.openid
    tokens["department"] = session_for(wechat, w.users["dept_lead"])["token"]
    db.session.commit()
    department = app.test_client()
    resp = department.post("/staff/login", data={
        "username": w.users["dept_lead"].username, "password": "correct-horse-9",
        "csrf_token": csrf(app, department)})
    assert resp.status_code == 302
    browsers["department"] = department
    return SimpleNamespace(browsers=browsers, tokens=tokens)


def test_every_resident_suggestion_route_is_in_the_matrix(app, matrix_world):
    """A new resident route on suggestions (portal or mini-program) without a row fails."""
    adapter = app.url_map.bind("localhost")
    covered = set()
    for channel, method, url, _, _ in RESIDENT_MATRIX:
        path = fill(url, matrix_world) if channel == "portal" else API + fill(url, matrix_world)
        covered.add((adapter.match(path, method=method)[0], method))
    for rule in app.url_map.iter_rules():
        # deputy mode's routes are staff ones: tests/api/test_access_matrix.py has their rows
        if ("suggestion" in rule.rule and not rule.rule.startswith("/staff/")
                and "/deputy/" not in rule.rule):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (rule.endpoint, method) in covered, f"{method} {rule.rule} has no row"


@pytest.mark.parametrize("channel,method,url,body,role,expected", RESIDENT_CASES)
def test_resident_access(app, matrix_world, residents, channel, method, url, body, role,
                         expected):
    w = matrix_world
    url = fill(url, w)
    client = residents.browsers[role]
    before = state()
    if channel == "portal":
        data = None if method == "GET" else {**body, "csrf_token": csrf(app, client)}
        resp = client.open(url, method=method, data=data)
    else:
        token = residents.tokens[role]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        resp = client.open(API + url, method=method, headers=headers, json=body)
    text = resp.get_data(as_text=True)[:2000]

    if expected == OK and method == "GET":
        assert resp.status_code == 200, text
        assert state() == before
    elif expected == OK:
        assert resp.status_code == (302 if channel == "portal" else 201), text
        db.session.expire_all()
        resident = w.residents[0 if role == "writer" else 1]
        suggestion_id = int(url.split("/suggestions/")[1].split("/")[0])
        assert db.session.scalar(sa.select(SuggestionResidentRating.value).filter_by(
            suggestion_id=suggestion_id, resident_id=resident.id)) == "satisfied"
    else:
        assert resp.status_code == expected, text
        assert state() == before


def test_the_writer_sees_only_made_suggestions_on_the_message(app, matrix_world, residents):
    """The message detail's suggestions: every one made from it (a merged one as its target),
    never the draft; the same on the portal page."""
    w = matrix_world
    shown = {s for s in STATES if s not in ("draft", "merged")}
    resp = residents.browsers["stranger"].get(
        f"{API}/messages/{w.messages[0].id}",
        headers={"Authorization": f"Bearer {residents.tokens['writer']}"})
    assert resp.status_code == 200
    assert {item["id"] for item in resp.json["suggestions"]} == {w.ids[s] for s in shown}
    html = residents.browsers["writer"].get(f"/m/{w.messages[0].id}").get_data(as_text=True)
    assert _shown(html) == shown
    # Message 3's writer: their own message fed none of them.
    resp = residents.browsers["stranger"].get(
        f"{API}/messages/{w.messages[2].id}",
        headers={"Authorization": f"Bearer {residents.tokens['other_resident']}"})
    assert resp.status_code == 200 and resp.json["suggestions"] == []
