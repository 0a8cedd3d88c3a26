"""Security headers on every response (CSP without inline script, frame-ancestors 'none',
nosniff, referrer policy), no inline script or on*= handler left in any template for the CSP
to block, secure cookies in production, and CSRF refusing every POST route sent without a
token, save the token-authenticated mini-program API and WeChat's signed push."""
import itertools
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.routing import AnyConverter

from backend import create_app
from backend.core.headers import SECURITY_HEADERS

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "backend" / "templates"
STATIC = ROOT / "backend" / "static"
FERNET_KEY = "x7Yq0V3m1pS8bX5oQk2nR9tW4uZ6cA0eD3fG7hJ1kL8="
# Token- or signature-authenticated: no cookie to ride on, so no CSRF token to ask for.
CSRF_EXEMPT_PREFIXES = ("/api/mp/v1/", "/wechat/push")
CSRF_REFUSAL = "页面已过期，请刷新后重新提交"


def _assert_secure_headers(resp):
    for name, value in SECURITY_HEADERS.items():
        assert resp.headers.get(name) == value, (name, resp.headers.get(name))
    csp = dict(part.strip().split(" ", 1) for part in resp.headers["Content-Security-Policy"].split(";"))
    assert csp["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval', no other host
    assert csp["frame-ancestors"] == "'none'"
    assert csp["object-src"] == "'none'"


def test_every_kind_of_response_carries_the_headers(client, make_deputy, db):
    from backend.org.codes import active_code
    deputy = make_deputy()
    db.session.commit()
    for url, status in [("/", 200), (f"/d/{active_code(deputy).token}", 200),
                        ("/staff/login", 200), ("/healthz", 200), ("/static/lianxin.css", 200),
                        ("/static/js/common.js", 200), ("/no/such/page", 404),
                        ("/api/mp/v1/messages", 401)]:
        resp = client.get(url)
        assert resp.status_code == status, url
        _assert_secure_headers(resp)
    refused = client.post("/staff/login", data={"username": "x"})  # no CSRF token
    _assert_secure_headers(refused)


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
SCRIPT_FILE = re.compile(r"filename='(js/[^']+)'")


@pytest.mark.parametrize("template", sorted(
    str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html")))
def test_no_template_has_inline_script(template):
    source = (TEMPLATES / template).read_text(encoding="utf-8")
    assert not INLINE_SCRIPT.search(source), "move the script into backend/static/js/"
    assert not INLINE_HANDLER.search(source), "use a data-* attribute read by static/js/common.js"
    for name in SCRIPT_FILE.findall(source):
        assert (STATIC / name).is_file(), name


def test_rendered_pages_run_only_our_script_files(client):
    for url in ("/", "/staff/login", "/track"):
        html = client.get(url).get_data(as_text=True)
        assert not INLINE_SCRIPT.search(html), url
        assert not INLINE_HANDLER.search(html), url


def test_production_cookies_are_https_only(tmp_path):
    app = create_app("production", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'p.sqlite'}",
                     SECRET_KEY="a-real-secret-of-our-own", FIELD_ENCRYPTION_KEY=FERNET_KEY,
                     PHONE_INDEX_KEY="an-index-key-of-our-own")
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    client = app.test_client()
    session_cookie = client.get("/staff/login").headers.getlist("Set-Cookie")
    text_size_cookie = client.get("/text-size?large=1").headers.getlist("Set-Cookie")
    for cookie in session_cookie + text_size_cookie:
        assert "Secure" in cookie and "HttpOnly" in cookie, cookie
    assert session_cookie and text_size_cookie


def test_development_cookies_still_work_over_http(client):
    cookies = client.get("/text-size?large=1").headers.getlist("Set-Cookie")
    assert cookies and all("Secure" not in c for c in cookies)


def _urls(rule) -> list[str]:
    """Every concrete path of a rule: row ids as 1, each alternative of an any(...) segment."""
    choices = []
    for name, converter in rule._converters.items():
        if isinstance(converter, AnyConverter):
            words = converter.regex[3:-1].split("|")
            choices.append([(name, w.replace("\\", "")) for w in words])
        elif converter.regex == r"\d+":
            choices.append([(name, "1")])
        else:
            choices.append([(name, "x")])
    urls = []
    for combo in itertools.product(*choices):
        values = dict(combo)
        urls.append(re.sub(r"<(?:[^:<>]+:)?([^<>:]+)>",
                           lambda m: values[m.group(1)], rule.rule))
    return urls


def _row_counts(db) -> dict:
    return {t.name: db.session.execute(sa.select(sa.func.count()).select_from(t)).scalar()
            for t in db.metadata.sorted_tables}


def test_every_post_route_refuses_a_request_without_csrf_token(app, client, login, make_staff, db):
    login(make_staff("admin"))
    before = _row_counts(db)
    adapter = app.url_map.bind("localhost")
    checked, exempt = [], []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods:
            continue
        for url in _urls(rule):
            assert adapter.match(url, method="POST")[0] == rule.endpoint, url
            resp = client.post(url, data={"body": "没有令牌的提交", "reason": "测试"})
            with client.session_transaction() as session:
                flashes = [text for _, text in session.pop("_flashes", [])]
            if url.startswith(CSRF_EXEMPT_PREFIXES):
                assert CSRF_REFUSAL not in flashes, url
                exempt.append(url)
                continue
            assert resp.status_code == 302 and CSRF_REFUSAL in flashes, (url, resp.status_code)
            checked.append(url)
    assert len(checked) > 100 and exempt  # the walk found the routes it is meant to
    assert _row_counts(db) == before
