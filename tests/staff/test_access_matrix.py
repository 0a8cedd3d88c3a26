"""Who may reach which staff page: every organisation page and action × every role.

One row per page or action; add a row when you add a page. `{name}` in a URL or in form data
is filled with the id of that object from the `org_world` fixture. A refused request must
change nothing, so refusals are also checked against the audit log."""
import re

import pytest

from backend.core.extensions import db
from backend.core.audit_model import AuditEvent
from backend.staff.org import REGISTRIES
from tests.conftest import csrf_token

ROLES = ("admin", "liaison_own", "liaison_other", "deputy", "department")
OK = "ok"  # 200 for a page, a redirect elsewhere than the login page for an action
SHOWN = "shown"  # an action whose answer is a page shown once (a new password), not a redirect


def allow(*roles):
    return {role: OK if role in roles else 403 for role in ROLES}


ADMIN = allow("admin")
ADMIN_SHOWN = {**ADMIN, "admin": SHOWN}
LIAISONS = allow("admin", "liaison_own", "liaison_other")  # each sees their own part
OWN_STATION = allow("admin", "liaison_own")  # station A and its deputy
EVERY_STAFF = allow(*ROLES)

DEPUTY_FORM = {"name": "王建国", "level": "county", "term_id": "0", "group_id": "0",
               "station_ids": "{station_a}"}
ACCOUNT_FORM = {"display_name": "联络员小张", "role": "liaison", "deputy_id": "0",
                "department_id": "0", "station_ids": "{station_a}"}

# (method, URL, form data for a POST, expected status by role)
CLOCKS = {"ack_workdays": "2", "answer_workdays": "15"}  # a station's message clocks
MATRIX = [
    ("GET", "/staff/", None, EVERY_STAFF),
    # terms, deputy groups, departments: one generic set of pages
    ("GET", "/staff/terms", None, ADMIN),
    ("GET", "/staff/terms/new", None, ADMIN),
    ("POST", "/staff/terms/new", {"name": "区第六届", "starts_on": "2026-12-01"}, ADMIN),
    ("GET", "/staff/terms/{term}/edit", None, ADMIN),
    ("POST", "/staff/terms/{term}/edit", {"name": "区第五届", "is_current": "y"}, ADMIN),
    ("GET", "/staff/groups", None, ADMIN),
    ("GET", "/staff/groups/new", None, ADMIN),
    ("POST", "/staff/groups/new", {"name": "第二代表小组"}, ADMIN),
    ("GET", "/staff/groups/{group}/edit", None, ADMIN),
    ("POST", "/staff/groups/{group}/edit", {"name": "第一代表小组（城关）"}, ADMIN),
    ("GET", "/staff/departments", None, ADMIN),
    ("GET", "/staff/departments/new", None, ADMIN),
    ("POST", "/staff/departments/new", {"name": "区交通运输局"}, ADMIN),
    ("GET", "/staff/departments/{department}/edit", None, ADMIN),
    ("POST", "/staff/departments/{department}/edit", {"name": "区住建局", "contact_name": "张三"},
     ADMIN),
    ("POST", "/staff/groups/{group}/deactivate", {}, ADMIN),
    ("POST", "/staff/groups/{group}/activate", {}, ADMIN),
    ("POST", "/staff/departments/{department}/deactivate", {}, ADMIN),
    ("POST", "/staff/departments/{department}/activate", {}, ADMIN),
    # stations: admin creates and deactivates; a liaison edits their own
    ("GET", "/staff/stations", None, LIAISONS),
    ("GET", "/staff/stations/new", None, ADMIN),
    ("POST", "/staff/stations/new", {"name": "洋湖社区代表联系点", "kind": "point", **CLOCKS}, ADMIN),
    ("GET", "/staff/stations/{station_a}/edit", None, OWN_STATION),
    ("POST", "/staff/stations/{station_a}/edit",
     {"name": "城关街道代表联络站", "kind": "station", "heads-0-name": "林红", **CLOCKS},
     OWN_STATION),
    ("POST", "/staff/stations/{station_a}/deactivate", {}, ADMIN),
    ("POST", "/staff/stations/{station_a}/activate", {}, ADMIN),
    # deputies of station A
    ("GET", "/staff/deputies", None, LIAISONS),
    ("GET", "/staff/deputies/new", None, LIAISONS),
    # the liaison of B may open the form but not put a deputy into station A
    ("POST", "/staff/deputies/new", {**DEPUTY_FORM, "name": "新代表"}, OWN_STATION),
    ("GET", "/staff/deputies/{deputy_a}", None, OWN_STATION),
    ("GET", "/staff/deputies/{deputy_a}/edit", None, OWN_STATION),
    ("POST", "/staff/deputies/{deputy_a}/edit", DEPUTY_FORM, OWN_STATION),
    ("POST", "/staff/deputies/{deputy_a}/deactivate", {}, OWN_STATION),
    ("POST", "/staff/deputies/{deputy_a}/activate", {}, OWN_STATION),
    ("GET", "/staff/deputies/{deputy_a}/qr.png", None, OWN_STATION),
    ("GET", "/staff/deputies/{deputy_a}/qr.svg", None, OWN_STATION),
    ("POST", "/staff/deputies/{deputy_a}/code/revoke", {"reason": "海报张贴错误"}, OWN_STATION),
    ("POST", "/staff/deputies/{deputy_a}/code/reissue", {}, OWN_STATION),
    # staff accounts
    ("GET", "/staff/accounts", None, ADMIN),
    ("GET", "/staff/accounts/new", None, ADMIN),
    ("POST", "/staff/accounts/new", {**ACCOUNT_FORM, "username": "zhang"}, ADMIN_SHOWN),
    ("GET", "/staff/accounts/{target}/edit", None, ADMIN),
    ("POST", "/staff/accounts/{target}/edit", ACCOUNT_FORM, ADMIN),
    ("POST", "/staff/accounts/{target}/reset-password", {}, ADMIN_SHOWN),
    ("POST", "/staff/accounts/{target}/deactivate", {}, ADMIN),
    ("POST", "/staff/accounts/{target}/activate", {}, ADMIN),
    # everyone's own password
    ("GET", "/staff/password", None, EVERY_STAFF),
    # 热点问题: the office over every station, a liaison over their own (asking for another's is refused)
    ("GET", "/staff/hot-issues", None, LIAISONS),
    ("GET", "/staff/hot-issues?station={station_a}", None, OWN_STATION),
    # the routing table (分办规则): the admin office's
    ("GET", "/staff/routing", None, ADMIN),
    ("POST", "/staff/routing", {"station_id": "{station_a}", "category": "城乡建设", "keywords": "电梯",
                                "assignee": "deputy:{deputy_a}"}, ADMIN),
    # the retention period (个人信息保护): the office's
    ("GET", "/staff/privacy", None, ADMIN),
    ("POST", "/staff/privacy", {"months": "36"}, ADMIN),
    ("POST", "/staff/password", {"old_password": "correct-horse-9", "new_password": "brand-new-pass-1",
                                 "confirm": "brand-new-pass-1"}, EVERY_STAFF),
]

CASES = [pytest.param(method, url, data, role, rules.get(role), id=f"{method} {url} {role}")
         for method, url, data, rules in MATRIX for role in ("anonymous", *ROLES)]


def _fill(text: str, world) -> str:
    ids = {name: getattr(world, name).id for name in
           ("station_a", "station_b", "deputy_a", "deputy_b", "term", "group", "department",
            "target")}
    return text.format(**ids)


def test_every_page_is_in_the_matrix(app, org_world):
    """A new organisation page without a row here fails this test."""
    mine = {"backend.staff.views", "backend.staff.org", "backend.staff.deputies",
            "backend.staff.accounts", "backend.staff.privacy"}
    adapter = app.url_map.bind("localhost")
    covered = set()
    for method, url, _, _ in MATRIX:
        endpoint, args = adapter.match(_fill(url, org_world).split("?")[0], method=method)
        covered.add((endpoint, method, args.get("kind")))
    for rule in app.url_map.iter_rules():
        if app.view_functions[rule.endpoint].__module__ not in mine:
            continue  # other features' pages have their own matrices
        kinds = ([None] if "kind" not in rule.arguments else
                 [k for k in REGISTRIES if re.fullmatch(rule._converters["kind"].regex, k)])
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            for kind in kinds:
                assert (rule.endpoint, method, kind) in covered, \
                    f"{method} {rule.rule} ({kind}) has no row in MATRIX"


@pytest.mark.parametrize("method,url,data,role,expected", CASES)
def test_access(client, login, org_world, method, url, data, role, expected):
    url = _fill(url, org_world)
    if role != "anonymous":
        login(org_world.users[role])
    audit_before = db.session.scalar(db.select(db.func.count(AuditEvent.id)))
    if method == "GET":
        resp = client.get(url)
    else:
        token = csrf_token(client, "/staff/" if role != "anonymous" else "/staff/login")
        form = {key: _fill(value, org_world) for key, value in data.items()}
        resp = client.post(url, data={**form, "csrf_token": token})
    location = resp.headers.get("Location", "")

    if role == "anonymous":
        assert resp.status_code == 302 and "/staff/login" in location
    elif expected == OK and method == "GET":
        assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    elif expected == SHOWN:
        assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
        assert 'data-testid="one-time-password"' in resp.get_data(as_text=True)
    elif expected == OK:
        assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
        with client.session_transaction() as session:  # done, not bounced (e.g. by CSRF)
            categories = {category for category, _ in session.get("_flashes", [])}
        assert categories & {"success", "secret"}, (location, session.get("_flashes"))
    else:
        assert resp.status_code == expected, resp.get_data(as_text=True)[:2000]
    if role == "anonymous" or expected not in (OK, SHOWN):
        db.session.expire_all()
        assert db.session.scalar(db.select(db.func.count(AuditEvent.id))) == audit_before
