"""Fixtures for the mini-program API: residents and bound staff with their tokens, a client that
sends the bearer header, a small world of two stations, and WeChat's login faked over HTTP."""
import io
import uuid

import pytest
import responses
from PIL import Image

from backend.accounts.resident_model import Resident
from backend.accounts.models import StaffUser
from miniprogram_api.auth import session_for
from tests.conftest import FAKE_WECHAT

API = "/api/mp/v1"


class Api:
    """The test client, speaking JSON to /api/mp/v1 with a bearer token."""

    def __init__(self, client, db):
        self.client, self.db = client, db

    def call(self, method, path, token=None, **kw):
        self.db.session.commit()  # requests run in their own session: let them see the setup
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = self.client.open(API + path, method=method, headers=headers, **kw)
        self.db.session.expire_all()  # and let the test see what the request changed
        return response

    def get(self, path, token=None, **kw):
        return self.call("GET", path, token, **kw)

    def post(self, path, token=None, json=None, **kw):
        if json is not None:
            kw["json"] = json
        return self.call("POST", path, token, **kw)


@pytest.fixture
def api(client, db):
    return Api(client, db)


@pytest.fixture
def make_resident(db):
    def make(**kw):
        resident = Resident(**{"openid": f"o-{uuid.uuid4().hex[:20]}", **kw})
        db.session.add(resident)
        db.session.flush()
        return resident
    return make


@pytest.fixture
def token_for(db):
    def make(resident, staff=None):
        return session_for(resident, staff)["token"]
    return make


@pytest.fixture
def make_bound_staff(db, make_resident):
    """A deputy or liaison whose WeChat is bound already; returns (staff, resident). The
    password hash is a placeholder: these accounts never log in to the portal."""
    counter = iter(range(1, 10_000))

    def make(role, *, deputy=None, stations=()):
        n = next(counter)
        resident = make_resident()
        staff = StaffUser(username=f"mp-{role}{n}", display_name=f"{role}{n}", role=role,
                          password_hash="!", deputy=deputy, stations=list(stations),
                          wechat_openid=resident.openid)
        db.session.add(staff)
        db.session.flush()
        return staff, resident
    return make


@pytest.fixture
def world(db, district, make_deputy, make_resident, make_bound_staff, token_for):
    """Station A with deputies A (the message's) and B; station B with its own liaison; one
    message from `owner` to deputy A with a phone number; a token for every role."""
    class World:
        pass
    w = World()
    w.station, w.station_b = district.station_a, district.station_b
    w.deputy, w.deputy_b = make_deputy(stations=[w.station]), make_deputy(stations=[w.station])
    w.owner, w.other = make_resident(), make_resident()
    w.deputy_user, deputy_resident = make_bound_staff("deputy", deputy=w.deputy)
    w.deputy_b_user, deputy_b_resident = make_bound_staff("deputy", deputy=w.deputy_b)
    w.liaison, liaison_resident = make_bound_staff("liaison", stations=[w.station])
    w.liaison_b, liaison_b_resident = make_bound_staff("liaison", stations=[w.station_b])
    from backend.messages.operations import submit_message
    w.message = submit_message(
        resident=w.owner, deputy=w.deputy, body="小区门口的路灯坏了一个多月，晚上很不安全。",
        phone="13800131234", idempotency_key=uuid.uuid4().hex).message
    w.tokens = {
        "none": None,
        "owner": token_for(w.owner),
        "other_resident": token_for(w.other),
        "deputy": token_for(deputy_resident, w.deputy_user),
        "other_deputy": token_for(deputy_b_resident, w.deputy_b_user),
        "liaison": token_for(liaison_resident, w.liaison),
        "other_liaison": token_for(liaison_b_resident, w.liaison_b),
    }
    return w


def image_bytes(fmt="JPEG", size=(40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(out, format=fmt)
    return out.getvalue()


@pytest.fixture
def fake_wechat(wechat):
    """WeChat on, faked: `login(code, openid)` answers one jscode2session; content checks pass."""
    class Fake:
        mock = wechat

        def login(self, code, openid, unionid=None):
            body = {"openid": openid, "session_key": "SECRET-SESSION-KEY"}
            if unionid:
                body["unionid"] = unionid
            wechat.add(responses.GET, FAKE_WECHAT + "sns/jscode2session", json=body,
                       match=[responses.matchers.query_param_matcher(
                           {"js_code": code}, strict_match=False)])

        def login_error(self, code, errcode, errmsg="invalid code"):
            wechat.add(responses.GET, FAKE_WECHAT + "sns/jscode2session",
                       json={"errcode": errcode, "errmsg": errmsg},
                       match=[responses.matchers.query_param_matcher(
                           {"js_code": code}, strict_match=False)])

    wechat.add(responses.POST, FAKE_WECHAT + "wxa/msg_sec_check",
               json={"errcode": 0, "result": {"suggest": "pass", "label": 100}})
    return Fake()
