"""Rate limits on what residents send, counted in Redis when REDIS_URL is set so every worker
shares them; without Redis, or while Redis is unreachable, each process counts on its own (in
memory), so with N workers a resident may get up to N times the limit. A limit never turns a
Redis outage into refused submissions: requests go through, and the log says so.

Submissions (`submission_limits`: messages, bookings) are charged *before* the work, with one
atomic increment per limit (Redis INCR with expiry), and refused when that increment passes
the limit: twenty submissions at once from one resident let exactly the limit through. The
charge is given back when the request turns out not to be a new submission: a form sent back
for correction, or an idempotent replay, which is never refused either. Messages and bookings
have separate budgets per resident; the per-address limit covers both.

Other limits (photo uploads, lookups, binding, sign-in) use Flask-Limiter's decorators directly;
failed sign-ins of usernames that have no account are counted in the same store."""
import hashlib
import logging
import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import wraps
from typing import Callable

from flask import Flask, current_app, g, make_response, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from backend.core.errors import RateLimited

log = logging.getLogger("lianxin.ratelimit")

RESIDENT_COOKIE = "lx_resident"
REPLAYED = "submission_replayed"  # g flag: this request answered with an earlier result
STORE_RETRY_SECONDS = 30  # after a failure, how long we count in memory before trying Redis again

# No X-RateLimit-* headers: each costs a storage read per limit on every answer, and no client
# reads them (a refusal is a 429 with a Chinese message).
limiter = Limiter(key_func=get_remote_address, headers_enabled=False,
                  default_limits_exempt_when=lambda: True)

# What each kind of submission is limited by, per resident (config keys).
RESIDENT_LIMITS = {"message": "SUBMIT_RATE_PER_RESIDENT",
                   "booking": "BOOKING_RATE_PER_RESIDENT"}


def init_app(app: Flask) -> None:
    limiter.init_app(app)
    app.extensions["lianxin_budget"] = SubmissionBudget(
        app.config["RATELIMIT_STORAGE_URI"], app.config.get("RATELIMIT_KEY_PREFIX") or "lianxin")


def reset() -> None:
    """Forget every count (tests: counters are per test)."""
    limiter.reset()
    current_app.extensions["lianxin_budget"].reset()


def resident_key() -> str:
    """Who is sending, as each channel knows them: the mini-program's openid, the portal's
    cookie, or at worst the address."""
    return (g.get("resident_rate_key") or request.cookies.get(RESIDENT_COOKIE)
            or get_remote_address())


def replayed() -> None:
    """Called by a handler that answered with the result of an earlier submission."""
    g.setdefault(REPLAYED, True)


def wait_words(seconds: int) -> str:
    """How long to wait, as a person says it: 「3分钟」, 「2小时」."""
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes}分钟" if minutes < 60 else f"{math.ceil(minutes / 60)}小时"


def refusal(retry_after: int) -> RateLimited:
    retry_after = max(1, int(retry_after))
    return RateLimited(f"提交太频繁了，请{wait_words(retry_after)}后再试", retry_after=retry_after)


def submission_limits(kind: str, *, replay: Callable[[], bool] | None = None):
    """Charge one `kind` submission to the resident and to the address before the view runs;
    429 (RateLimited, with how long to wait) when either budget is spent, unless `replay()` says
    the request repeats an earlier submission, which is answered but never charged."""
    config_key = RESIDENT_LIMITS[kind]

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            budget: SubmissionBudget = current_app.extensions["lianxin_budget"]
            charge = budget.charge([
                (current_app.config["SUBMIT_RATE_PER_IP"], "submit-ip", get_remote_address()),
                (current_app.config[config_key], f"submit-{kind}", resident_key()),
            ])
            if charge.refused_for is not None:
                charge.refund()
                if not (replay is not None and replay()):
                    raise refusal(charge.refused_for)
                charge = _Charge(budget)  # a replay past the limit: nothing to give back
            try:
                response = make_response(view(*args, **kwargs))
            except BaseException:
                charge.refund()
                raise
            if response.status_code >= 400 or g.get(REPLAYED):
                charge.refund()
            return response
        return wrapped
    return decorator


@dataclass
class _Charge:
    budget: "SubmissionBudget"
    hits: list = field(default_factory=list)  # (limiter, item, identifiers)
    refused_for: int | None = None  # seconds to wait when a limit refused

    def refund(self) -> None:
        hits, self.hits = self.hits, []
        for strategy, item, ids in hits:
            try:
                strategy.storage.incr(item.key_for(*ids), item.get_expiry(), amount=-1)
            except Exception:  # noqa: BLE001 - a lost refund only errs towards strictness
                log.warning("限流计数未能退回（存储不可用）")


class SubmissionBudget:
    """Fixed-window counters in the configured store, with a per-process fallback in memory
    while the store is unreachable."""

    def __init__(self, uri: str, prefix: str):
        options = {"key_prefix": prefix}
        if uri.startswith(("redis://", "rediss://", "redis+")):
            # An unreachable Redis must cost a request little, not a hung worker.
            options.update(socket_connect_timeout=0.5, socket_timeout=0.5)
        self.store = FixedWindowRateLimiter(storage_from_string(uri, **options))
        self.memory = FixedWindowRateLimiter(MemoryStorage())
        self._store_down_until = 0.0

    def reset(self) -> None:
        self.memory.storage.reset()
        if self.store.storage is not self.memory.storage:
            self.store.storage.reset()

    def charge(self, limits: list[tuple[str, str, str]]) -> _Charge:
        """Hit every (limit text, scope, who); refused_for is set if any refused."""
        items = [(item, (scope, who)) for text, scope, who in limits
                 for item in parse_many(text)]
        strategy = self._strategy()
        try:
            return self._hit(strategy, items)
        except Exception as err:  # noqa: BLE001 - an unreachable store must not refuse anyone
            if strategy is self.memory:
                raise
            self._store_down_until = time.monotonic() + STORE_RETRY_SECONDS
            log.warning("限流存储不可用，本进程暂时改用内存计数（%s 秒后重试）：%s",
                        STORE_RETRY_SECONDS, err)
            return self._hit(self.memory, items)

    def _strategy(self) -> FixedWindowRateLimiter:
        return self.memory if time.monotonic() < self._store_down_until else self.store

    def _hit(self, strategy, items: list[tuple[RateLimitItem, tuple]]) -> _Charge:
        charge = _Charge(self)
        waits = []
        for item, ids in items:
            charge.hits.append((strategy, item, ids))
            if not strategy.hit(item, *ids):
                reset_at = strategy.get_window_stats(item, *ids).reset_time
                waits.append(reset_at - time.time())
        if waits:
            charge.refused_for = max(1, math.ceil(max(waits)))
        return charge


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
