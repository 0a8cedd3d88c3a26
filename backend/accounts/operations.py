"""Staff accounts: sign-in with lock-out, creating and changing accounts."""
import secrets
from datetime import timedelta

from flask import current_app

from backend.core.errors import DomainError, Forbidden, ValidationFailed
from backend.core.extensions import db
from backend.accounts.models import ROLES, StaffUser
from backend.core.audit import record, snapshot
from backend.core.timeutil import format_local, utcnow

AUDITED = ("username", "display_name", "role", "deputy_id", "department_id", "is_active", "stations")


class LoginFailed(DomainError):
    code = "login_failed"
    message = "用户名或密码不正确"
    status = 401


class AccountLocked(DomainError):
    code = "account_locked"
    status = 423


def authenticate(username: str, password: str) -> StaffUser:
    """The user, or LoginFailed/AccountLocked. Failures are counted even for a wrong password on
    a locked account, so guessing never helps; the caller commits either way."""
    user = db.session.scalar(db.select(StaffUser).filter_by(username=username.strip()))
    now = utcnow()
    if user is None or not user.is_active:
        raise LoginFailed()
    if user.locked_until and user.locked_until > now:
        raise AccountLocked(f"登录失败次数过多，账号已锁定至 {format_local(user.locked_until, '%H:%M')}，"
                            "请稍后再试或联系管理员")
    if not user.check_password(password):
        user.failed_logins += 1
        if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
            user.locked_until = now + timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
            user.failed_logins = 0
            record("staff.locked", user, after={"locked_until": user.locked_until.isoformat()})
        raise LoginFailed()
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    return user


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
    password = password or generate_password()
    user.set_password(password)
    user.failed_logins = 0
    user.locked_until = None
    record("staff.reset_password", user, actor=actor)
    return password


def _check_role_links(role, deputy, department) -> None:
    if role not in ROLES:
        raise ValidationFailed("角色无效", code="role_invalid")
    if role == "deputy" and deputy is None:
        raise ValidationFailed("代表账号必须关联一位代表", code="deputy_required",
                               errors={"deputy_id": ["请选择代表"]})
    if role == "department" and department is None:
        raise ValidationFailed("承办单位账号必须关联一个单位", code="department_required",
                               errors={"department_id": ["请选择承办单位"]})
