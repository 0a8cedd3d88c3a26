"""Who is calling: WeChat login, our own bearer token, and one decorator per audience.

The token is signed (itsdangerous, the app's SECRET_KEY and a salt of its own), lives seven
days and carries the resident id and openid and, for a bound deputy or liaison, their staff id.
Both are checked against the database on every request: a resident who deleted their data is
refused at once (token_revoked), in every mode; unbinding or deactivating a staff account ends
deputy/liaison mode at once, and the token then still works as a resident's."""
from functools import wraps

import sqlalchemy as sa
from flask import current_app, g, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import make_transient_to_detached

from backend.core.adapters import get_wechat
from backend.core.errors import DomainError, Forbidden
from backend.core.extensions import db
from backend.accounts.resident_model import Resident
from backend.accounts.models import StaffUser
from backend.accounts import wechat_binding as binding
from backend.core.ratelimit import limiter, resident_key
from backend.core.wechat import WeChatError
from miniprogram_api import bp
from miniprogram_api.endpoint import endpoint
from miniprogram_api.errors import api_error
from miniprogram_api.schemas_auth import BindIn, LoginIn, SessionOut

TOKEN_SALT = "lianxin.mp.login"
TOKEN_MAX_AGE = 7 * 86400
# Resident mode's one read, to know the token still names someone. A Core statement: loading
# the whole row as an object would double the cost (README: the figures).
_OPENID = sa.select(Resident.openid).where(Resident.id == sa.bindparam("id"))
# Staff mode's one read: the same row, with the token's staff account joined on only while it is
# still bound to this openid and may use the binding (else None: resident mode).
_OPENID_AND_STAFF = (
    sa.select(Resident.openid, StaffUser)
    .outerjoin(StaffUser, sa.and_(StaffUser.id == sa.bindparam("staff"),
                                  binding.bound_to(Resident.openid)))
    .where(Resident.id == sa.bindparam("id")))

# WeChat's login errors, as stable codes of ours; the Chinese text comes from the adapter.
WECHAT_LOGIN_ERRORS = {
    40029: ("wechat_code_invalid", 401),
    40163: ("wechat_code_invalid", 401),  # the code was used already
    45011: ("wechat_rate_limited", 429),
    40226: ("wechat_user_risky", 403),
}
AUDIENCE_REFUSALS = {
    "deputy": "此功能仅供已绑定微信的代表使用",
    "liaison": "此功能仅供已绑定微信的联络员使用",
}


class NotLoggedIn(DomainError):
    code = "unauthorized"
    message = "请先登录"
    status = 401


class WeChatUnavailable(DomainError):
    code = "wechat_not_configured"
    message = "小程序登录暂未开通，请使用网页版留言"
    status = 503


# ---- tokens ----

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)


def session_for(resident: Resident, staff: StaffUser | None = None) -> dict:
    """What login and bind answer: a new token and the mode it opens."""
    token = _serializer().dumps({"r": resident.id, "o": resident.openid,
                                 "s": staff.id if staff else None})
    return {"token": token, "token_type": "Bearer", "expires_in": TOKEN_MAX_AGE,
            "mode": staff.role if staff else "resident", "staff": staff}


def _authenticate() -> None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotLoggedIn(code="token_missing")
    try:
        claims = _serializer().loads(token.strip(), max_age=TOKEN_MAX_AGE)
    except SignatureExpired:
        raise NotLoggedIn("登录已过期，请重新进入小程序", code="token_expired")
    except BadSignature:
        raise NotLoggedIn("登录信息无效，请重新进入小程序", code="token_invalid")
    resident, staff = _token_holder(claims)
    g.mp_resident, g.mp_staff = resident, staff
    g.resident_rate_key = resident.openid  # the per-resident rate limits count this WeChat user


def _token_holder(claims: dict) -> tuple[Resident, StaffUser | None]:
    """The resident a token names, while their row still holds the token's openid, and in
    staff mode the deputy or liaison account, while still bound to that openid and active:
    one read by primary key per request, in either mode. A resident who deleted their data (or
    whom retention anonymised) keeps a tombstone row without openid, so tokens issued before are
    refused (token_revoked) in resident and staff mode alike; logging in again makes a fresh
    resident. A staff account unbound or deactivated since leaves the token a resident's.
    The rows decide, not a revocation list or a cache: the change commits there, so every
    worker and the scheduler see it at once. Of the resident only id and openid are loaded; any
    other column loads when first read. (Tokens from before the openid was added carry only the
    id.)"""
    params = {"id": claims.get("r") or 0}
    if claims.get("s"):
        # ORM, not Core: the staff account is used as a loaded object by the views.
        row = db.session.execute(_OPENID_AND_STAFF, {**params, "staff": claims["s"]}).first()
    else:
        row = db.session.connection().execute(_OPENID, params).first()
    if row is None:
        raise NotLoggedIn("登录信息无效，请重新进入小程序", code="token_invalid")
    if not row.openid or row.openid != claims.get("o", row.openid):
        raise NotLoggedIn("您的个人信息已删除，原来的登录已失效，请重新进入小程序",
                          code="token_revoked")
    staff = row[1] if claims.get("s") else None
    return _resident(claims["r"], row.openid), staff


def _resident(resident_id: int, openid: str) -> Resident:
    """The resident as if loaded, from the two columns read (or the one the session holds)."""
    held = db.session.identity_map.get(db.session.identity_key(Resident, resident_id))
    if held is not None:
        return held
    resident = Resident(id=resident_id, openid=openid)
    make_transient_to_detached(resident)  # as if loaded, with only these two columns
    db.session.add(resident)
    return resident


def current_resident() -> Resident:
    return g.mp_resident


def current_staff() -> StaffUser | None:
    """The deputy or liaison this request acts as (None in resident mode)."""
    return g.get("mp_staff")


def _audience(role: str | None):
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            _authenticate()
            if role is not None and getattr(current_staff(), "role", None) != role:
                raise Forbidden(AUDIENCE_REFUSALS[role], code=f"{role}_only")
            return view(*args, **kwargs)
        wrapped.mp_audience = role or "resident"
        return wrapped
    return decorator


resident_required = _audience(None)  # any logged-in WeChat user, staff included
deputy_required = _audience("deputy")
liaison_required = _audience("liaison")


# ---- login and binding ----

LOGIN_ERRORS = {
    "401": "code 无效或已用过（wechat_code_invalid）",
    "403": "微信认为该用户有风险（wechat_user_risky）",
    "429": "登录太频繁（wechat_rate_limited）",
    "502": "微信接口暂时出错（wechat_unavailable），可稍后重试",
    "503": "本服务未配置小程序的 AppID 和密钥（wechat_not_configured）：小程序应提示居民改用网页版留言",
}


@bp.post("/auth/login")
@endpoint(body=LoginIn, out=SessionOut, errors=LOGIN_ERRORS)
def login(data):
    """用 wx.login() 的 code 登录，换取本系统的登录令牌"""
    identity = _wechat_identity(data["code"])
    resident = binding.resident_for_openid(identity["openid"], identity["unionid"])
    staff = binding.bound_staff(resident.openid)
    db.session.commit()
    return session_for(resident, staff)


def _bind_rate() -> str:
    # Six digits are guessable at speed: few tries per WeChat user and per address.
    return current_app.config.get("BIND_RATE", "10 per 10 minutes")


@bp.post("/auth/bind")
@resident_required
@limiter.limit(_bind_rate, key_func=resident_key, scope="mp-bind-resident")
@limiter.limit(_bind_rate, scope="mp-bind-ip")
@endpoint(body=BindIn, out=SessionOut)
def bind(data):
    """用工作台的绑定码把当前微信绑定到代表或联络员账号，返回新的登录令牌"""
    resident = current_resident()
    staff = binding.bind_wechat(data["code"], resident.openid)
    db.session.commit()
    return session_for(resident, staff)


def _wechat_identity(code: str) -> dict:
    wechat = get_wechat()
    if not wechat.configured:
        raise WeChatUnavailable()
    try:
        return wechat.code_to_session(code)
    except WeChatError as err:
        code, status = WECHAT_LOGIN_ERRORS.get(err.errcode, ("wechat_unavailable", 502))
        raise api_error(code, err.message, status) from err
