"""Staff accounts: sign-in with lock-out, creating and changing accounts."""
import secrets
from datetime import timedelta

from flask import current_app

from backend.core.errors import DomainError, Forbidden, ValidationFailed
from backend.core.extensions import db
from backend.core import ratelimit
from backend.accounts.models import ROLES, StaffUser
from backend.accounts.models import check_dummy_password
from backend.core.audit import record, snapshot
from backend.core.timeutil import format_local, utcnow

PASSWORD_MIN, PASSWORD_MAX = 10, 128
AUDITED = ("username", "display_name", "role", "deputy_id", "department_id", "is_active", "stations")


class LoginFailed(DomainError):
    code = "login_failed"
    message = "用户名或密码不正确"
    status = 401


class AccountLocked(DomainError):
    code = "account_locked"
    status = 423


def authenticate(username: str, password: str) -> StaffUser:
    """The user, or LoginFailed/AccountLocked. Unknown and inactive names get the same answers
    as a real account, after the same work (one password hash) and with the same lock-out, so
    neither the answer nor its time tells which names exist. The caller commits either way."""
    name = username.strip()
    user = db.session.scalar(db.select(StaffUser).filter_by(username=name))
    now = utcnow()
    config = current_app.config
    if user is None or not user.is_active:
        check_dummy_password(password)
        locked_until = ratelimit.unknown_name_locked_until(name)
        if locked_until:
            raise _locked(locked_until)
        ratelimit.unknown_name_failed(name, max_failures=config["LOGIN_MAX_FAILURES"],
                                      lock_seconds=config["LOGIN_LOCKOUT_MINUTES"] * 60)
        raise LoginFailed()
    password_ok = user.check_password(password)  # even when locked: the same time either way
    if user.locked_until and user.locked_until > now:
        raise _locked(user.locked_until)
    if not password_ok:
        user.failed_logins += 1
        if user.failed_logins >= config["LOGIN_MAX_FAILURES"]:
            user.locked_until = now + timedelta(minutes=config["LOGIN_LOCKOUT_MINUTES"])
            user.failed_logins = 0
            record("staff.locked", user, after={"locked_until": user.locked_until.isoformat()})
        raise LoginFailed()
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    return user


def _locked(until) -> AccountLocked:
    return AccountLocked(f"登录失败次数过多，账号已锁定至 {format_local(until, '%H:%M')}，"
                         "请稍后再试或联系管理员")


def generate_password() -> str:
    return secrets.token_urlsafe(9)


def create_staff(*, username: str, display_name: str, role: str, password: str,
                 deputy=None, department=None, stations=(), actor=None) -> StaffUser:
    _check_role_links(role, deputy, department)
    if db.session.scalar(db.select(StaffUser.id).filter_by(username=username)):
        raise ValidationFailed("该用户名已被使用", code="username_taken",
                               errors={"username": ["该用户名已被使用"]})
    user = StaffUser(username=username, display_name=display_name, role=role, deputy=deputy,
                     department=department, stations=list(stations))
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    record("staff.create", user, actor=actor, after=snapshot(user, AUDITED))
    return user


def update_staff(user: StaffUser, *, actor, display_name: str, role: str, deputy=None,
                 department=None, stations=(), is_active: bool = True) -> StaffUser:
    _check_role_links(role, deputy, department)
    if user.id == getattr(actor, "id", None) and (role != "admin" or not is_active):
        raise Forbidden("不能取消自己的管理员权限或停用自己的账号", code="self_demotion")
    before = snapshot(user, AUDITED)
    user.display_name = display_name
    user.role = role
    user.deputy = deputy if role == "deputy" else None
    user.department = department if role == "department" else None
    user.stations = list(stations) if role == "liaison" else []
    user.is_active = is_active
    db.session.flush()
    record("staff.update", user, actor=actor, before=before, after=snapshot(user, AUDITED))
    return user


def set_staff_active(user: StaffUser, active: bool, *, actor) -> StaffUser:
    """Deactivated accounts cannot sign in and their open sessions stop working; rows stay."""
    if not active and user.id == getattr(actor, "id", None):
        raise Forbidden("不能停用自己的账号", code="self_deactivation")
    if user.is_active == active:
        return user
    user.is_active = active
    db.session.flush()
    record("staff.activate" if active else "staff.deactivate", user, actor=actor,
           before={"is_active": not active}, after={"is_active": active})
    return user


def reset_password(user: StaffUser, *, actor, password: str | None = None) -> str:
    """A new password for someone else; whoever was signed in as them is signed out."""
    password = password or generate_password()
    user.set_password(password)
    user.failed_logins = 0
    user.locked_until = None
    end_sessions(user)
    record("staff.reset_password", user, actor=actor)
    return password


def end_sessions(user: StaffUser) -> None:
    """Every session signed in as `user` so far stops working at its next request (the loader
    compares the version its cookie carries); a caller that keeps one signs it in again."""
    user.session_version = (user.session_version or 1) + 1


def change_own_password(user: StaffUser, *, old: str, new: str, confirm: str) -> StaffUser:
    """The user's own change: the old password proves it is them; their other sessions end
    (the handler signs the current one in again)."""
    errors = {}
    if not user.check_password(old or ""):
        errors["old_password"] = ["原密码不正确"]
    elif len(new or "") < PASSWORD_MIN:
        errors["new_password"] = [f"新密码至少 {PASSWORD_MIN} 个字符"]
    elif len(new) > PASSWORD_MAX:
        errors["new_password"] = [f"新密码最多 {PASSWORD_MAX} 个字符"]
    elif new == old:
        errors["new_password"] = ["新密码不能与原密码相同"]
    elif new.strip().lower() == user.username.lower():
        errors["new_password"] = ["新密码不能与用户名相同"]
    elif new != confirm:
        errors["confirm"] = ["两次输入的新密码不一致"]
    if errors:
        message = next(iter(errors.values()))[0]
        raise ValidationFailed(message, code="password_change_invalid", errors=errors)
    user.set_password(new)
    end_sessions(user)
    record("staff.change_password", user, actor=user)
    return user


def _check_role_links(role, deputy, department) -> None:
    if role not in ROLES:
        raise ValidationFailed("角色无效", code="role_invalid")
    if role == "deputy" and deputy is None:
        raise ValidationFailed("代表账号必须关联一位代表", code="deputy_required",
                               errors={"deputy_id": ["请选择代表"]})
    if role == "department" and department is None:
        raise ValidationFailed("承办单位账号必须关联一个单位", code="department_required",
                               errors={"department_id": ["请选择承办单位"]})
