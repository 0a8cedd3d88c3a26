"""Rate limits on what residents send (Flask-Limiter): per IP and per resident, counted in
Redis when REDIS_URL is set so every worker shares them, in memory otherwise. Also the failed
sign-ins of usernames that have no account, kept in the same store."""
import hashlib
from datetime import datetime, timezone

from flask import current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

RESIDENT_COOKIE = "lx_resident"

# No X-RateLimit-* headers: each costs a storage read per limit on every answer, and no client
# reads them (a refusal is a 429 with a Chinese message).
limiter = Limiter(key_func=get_remote_address, headers_enabled=False,
                  default_limits_exempt_when=lambda: True)


def resident_key() -> str:
    """Who is sending, as each channel knows them: the mini-program's openid, the portal's
    cookie, or at worst the address."""
    return (g.get("resident_rate_key") or request.cookies.get(RESIDENT_COOKIE)
            or get_remote_address())


def _per_ip() -> str:
    return current_app.config["SUBMIT_RATE_PER_IP"]


def _per_resident() -> str:
    return current_app.config["SUBMIT_RATE_PER_RESIDENT"]


def _accepted(response) -> bool:
    # A form sent back for correction is not a submission: an older resident who gets the
    # form wrong a few times must not be locked out for it.
    return response.status_code < 400


def submission_limits(view):
    """Both limits on one view, shared by every channel (a resident has one budget, whether they
    write from the web page or the mini-program); a breach answers 429 in Chinese."""
    view = limiter.shared_limit(_per_resident, scope="submit-resident", key_func=resident_key,
                                deduct_when=_accepted)(view)
    return limiter.shared_limit(_per_ip, scope="submit-ip", deduct_when=_accepted)(view)



def login_rate_per_ip() -> str:
    return current_app.config["LOGIN_RATE_PER_IP"]


def failed_response(response) -> bool:
    return response.status_code >= 400


# ---- sign-in failures for names without an account ----
# A real account counts failures and locks in its row; a name with no row must lock the same
# way, or "locked" would tell a guesser which names exist.

def _name_key(kind: str, username: str) -> str:
    digest = hashlib.sha256(username.encode()).hexdigest()[:32]
    return f"{current_app.config['RATELIMIT_KEY_PREFIX']}/login-{kind}/{digest}"


def unknown_name_locked_until(username: str) -> datetime | None:
    key = _name_key("lock", username)
    if limiter.storage.get(key) <= 0:
        return None
    return datetime.fromtimestamp(limiter.storage.get_expiry(key), tz=timezone.utc)


def unknown_name_failed(username: str, *, max_failures: int, lock_seconds: float) -> None:
    """Count one failure; the max_failures-th locks the name for lock_seconds."""
    failures = limiter.storage.incr(_name_key("fail", username), 86400)
    if failures >= max_failures:
        limiter.storage.clear(_name_key("fail", username))
        limiter.storage.incr(_name_key("lock", username), lock_seconds)
