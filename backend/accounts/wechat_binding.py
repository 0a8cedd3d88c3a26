"""WeChat accounts and ours: the resident a mini-program openid is, and the one-time code with
which a deputy or liaison binds their WeChat to their staff account (deputy / liaison mode).

A binding code is six digits, valid ten minutes; only its keyed hash is stored, and a used code
is cleared. Every change is audited; nothing here commits."""
import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from backend.core.errors import Forbidden, InvalidState, ValidationFailed
from backend.core.extensions import db
from backend.accounts.resident_model import Resident
from backend.accounts.models import StaffUser
from backend.accounts.policy import bindable, can_bind
from backend.core.audit import record
from backend.core.timeutil import utcnow

BIND_CODE_TTL = timedelta(minutes=10)
_CODE_RE = re.compile(r"^\d{6}$")


# ---- residents ----

def resident_for_openid(openid: str, unionid: str | None = None, *,
                        now: datetime | None = None) -> Resident:
    """The resident this WeChat user is, created on their first login."""
    resident = _resident_by_openid(openid)
    if resident is None:
        try:
            with db.session.begin_nested():
                resident = Resident(openid=openid)
                db.session.add(resident)
                db.session.flush()
        except sa.exc.IntegrityError:
            # A parallel first login (a double tap) created it first.
            resident = _resident_by_openid(openid)
            if resident is None:
                raise
    if unionid:
        resident.unionid = unionid
    resident.last_seen_at = now or utcnow()
    db.session.flush()
    return resident


def _resident_by_openid(openid: str) -> Resident | None:
    return db.session.scalar(db.select(Resident).filter_by(openid=openid))


def bound_staff(openid: str | None) -> StaffUser | None:
    """The active deputy or liaison this WeChat account is bound to, if any."""
    if not openid:
        return None
    return db.session.scalar(db.select(StaffUser).where(bound_to(openid)))


def bound_to(openid) -> sa.ColumnElement[bool]:
    """The staff account is bound to `openid` (a value or a column) and may still use the
    binding: the condition bound_staff applies, for a query that joins it on."""
    return sa.and_(StaffUser.wechat_openid == openid, bindable())


# ---- staff binding ----

def issue_bind_code(user: StaffUser, *, now: datetime | None = None) -> str:
    """A fresh code for `user`; it replaces any earlier one. Shown once, never stored."""
    if not can_bind(user):
        raise Forbidden("只有代表和联络员可以绑定微信", code="bind_role")
    now = now or utcnow()
    while True:
        code = f"{secrets.randbelow(1_000_000):06d}"
        # Codes are looked up by hash, so no two live codes may be equal.
        if not any(u.id != user.id for u in _live_holders(_digest(code), now)):
            break
    user.bind_code_hash = _digest(code)
    user.bind_code_expires_at = now + BIND_CODE_TTL
    db.session.flush()
    record("staff.wechat_bind_code", user, actor=user,
           after={"expires_at": user.bind_code_expires_at.isoformat()})
    return code


def bind_wechat(code: str, openid: str | None, *, now: datetime | None = None) -> StaffUser:
    """Bind the WeChat account `openid` to the staff user who holds `code`."""
    if not openid:
        raise ValidationFailed("请在微信小程序中绑定", code="bind_openid_missing")
    code = (code or "").strip()
    if not _CODE_RE.match(code):
        raise ValidationFailed(errors={"code": ["请输入6位数字绑定码"]})
    now = now or utcnow()
    holders = list(db.session.scalars(
        db.select(StaffUser).filter_by(bind_code_hash=_digest(code))))
    live = [u for u in holders if u.bind_code_expires_at and u.bind_code_expires_at > now]
    if not live:
        if holders:
            raise ValidationFailed("绑定码已过期，请在工作台重新生成", code="bind_code_expired",
                                   errors={"code": ["绑定码已过期"]})
        raise ValidationFailed("绑定码不正确或已使用，请核对工作台上的绑定码",
                               code="bind_code_invalid", errors={"code": ["绑定码不正确"]})
    user = live[0]
    if not can_bind(user):
        raise Forbidden("只有在用的代表和联络员账号可以绑定微信", code="bind_role")
    other = db.session.scalar(db.select(StaffUser).where(
        StaffUser.wechat_openid == openid, StaffUser.id != user.id))
    if other is not None:
        raise InvalidState("这个微信已绑定了另一个工作人员账号，请先在原账号的工作台解除绑定",
                           code="wechat_bound_elsewhere")
    before = user.wechat_openid
    user.wechat_openid = openid
    user.bind_code_hash = user.bind_code_expires_at = None
    try:
        with db.session.begin_nested():
            db.session.flush()
    except sa.exc.IntegrityError:
        raise InvalidState("这个微信已绑定了另一个工作人员账号，请先在原账号的工作台解除绑定",
                           code="wechat_bound_elsewhere")
    record("staff.wechat_bind", user, actor=user, before={"wechat_openid": before},
           after={"wechat_openid": openid})
    return user


def unbind_wechat(user: StaffUser, *, actor) -> StaffUser:
    """The user themselves (a new phone) or an admin (a lost one) removes the binding."""
    if actor is None or (actor.id != user.id and actor.role != "admin"):
        raise Forbidden("只能解除自己账号的微信绑定", code="unbind_forbidden")
    if user.wechat_openid is None:
        raise InvalidState("该账号尚未绑定微信", code="wechat_not_bound")
    before = user.wechat_openid
    user.wechat_openid = None
    db.session.flush()
    record("staff.wechat_unbind", user, actor=actor, before={"wechat_openid": before},
           after={"wechat_openid": None})
    return user


def _live_holders(digest: str, now: datetime) -> list[StaffUser]:
    return list(db.session.scalars(db.select(StaffUser).where(
        StaffUser.bind_code_hash == digest, StaffUser.bind_code_expires_at > now)))


def _digest(code: str) -> str:
    # Keyed: a copy of the database alone does not turn the hashes back into codes.
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"wechat-bind:{code}".encode(), hashlib.sha256).hexdigest()
