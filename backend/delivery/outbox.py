"""Delivering the notification outbox: a WeChat subscribe message where a template (and, for a
resident, a one-time grant) allows it, otherwise the in-app inbox. Failures WeChat reports are
retried with backoff.

At most once per row for WeChat: each row is delivered in its own short transaction, and a row
going to WeChat is marked sent, with its grant spent, in a commit made *before* the call (claim,
then call). A deliverer killed during the call loses that one message instead of sending it
again later; a call WeChat refuses puts the row (and the grant) back in a second transaction.
`deliver_due` therefore commits, row by row, and stops between rows when asked to."""
import logging
import re
import threading
from collections import Counter
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

import requests
import sqlalchemy as sa
from flask import current_app

from backend.core.adapters import get_wechat
from backend.core.extensions import db
from backend.org.models import Deputy
from backend.messages.models import Message
from backend.notifications.models import Notification
from backend.accounts.resident_model import Resident, SubscribeGrant
from backend.accounts.models import StaffUser
from backend.core.timeutil import format_local, utcnow
from backend.core.wechat import WeChatError

log = logging.getLogger("lianxin.outbox")

MAX_ATTEMPTS = 8
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=6)
NO_GRANT = 43101  # WeChat: the user holds no grant for this template
# "failed" = the last try failed and the next one is scheduled; both kinds are picked when due.
DUE_STATUSES = ("pending", "failed")
# A subscribe message opens the mini-program's page for the notification's place
# (backend/notifications/places.py; README lists the pages), or its home page.
THING_MAX = 20  # WeChat's limit for thing values; we end a cut with … rather than mid-word

STATUS_LABELS = {"pending": "待发送", "failed": "待重试", "sent": "已发送", "dead": "已放弃"}
CHANNEL_LABELS = {"wechat": "微信订阅消息", "inbox": "站内通知"}

# The keys of each topic's template as chosen in the WeChat console, and what fills them.
# Every message topic uses one template shape: tracking number, what happened, excerpt, when.
MESSAGE_LAYOUT = {"character_string1": "tracking_no", "thing2": "title", "thing3": "body",
                  "time4": "time"}
DEFAULT_LAYOUT = {"thing1": "title", "thing2": "body", "time3": "time"}
TEMPLATE_LAYOUTS = dict.fromkeys((
    "message.new", "message.held", "message.assigned", "message.info_added",
    "message.handed_back", "message.reopened", "message.acknowledged", "message.answered",
    "message.merged", "message.forwarded", "message.rejected", "message.info_requested",
), MESSAGE_LAYOUT)


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    failed: int = 0  # will be retried
    dead: int = 0  # gave up after MAX_ATTEMPTS
    skipped: int = 0  # the recipient no longer exists; closed as dead

    @property
    def total(self) -> int:
        return self.sent + self.failed + self.dead + self.skipped

    def __add__(self, other: "DeliveryReport") -> "DeliveryReport":
        return DeliveryReport(*(getattr(self, f.name) + getattr(other, f.name)
                                for f in fields(self)))

    def describe(self) -> str:
        if not self.total:
            return "没有需要投递的通知。"
        parts = [f"已发送 {self.sent} 条", f"稍后重试 {self.failed} 条"]
        if self.dead:
            parts.append(f"多次失败已放弃 {self.dead} 条")
        if self.skipped:
            parts.append(f"收件人已不存在 {self.skipped} 条")
        return "，".join(parts) + "。"


def deliver_backlog(batch: int = 100, stop: threading.Event | None = None) -> DeliveryReport:
    """The one outbox loop, for `flask outbox deliver` and the scheduler's job alike: every due
    row, each in its own transaction (deliver_due commits), until none is due or `stop` is set."""
    total = DeliveryReport()
    while True:
        report = deliver_due(batch=batch, stop=stop)
        total += report
        if report.total < batch or (stop is not None and stop.is_set()):
            return total


@dataclass(frozen=True)
class _Target:
    openid: str | None
    resident_id: int | None = None  # residents' one-time grants are counted; staff's are not


def deliver_due(now: datetime | None = None, batch: int = 100,
                stop: threading.Event | None = None) -> DeliveryReport:
    """Up to `batch` due rows, oldest first, one transaction each (this commits); `stop` is
    looked at between rows, so a deliverer told to stop finishes the row in hand first."""
    now = now or utcnow()
    courier = _Courier(now)
    outcomes = Counter()
    for _ in range(batch):
        if stop is not None and stop.is_set():
            break
        note = db.session.scalar(
            db.select(Notification)
            .where(Notification.status.in_(DUE_STATUSES), Notification.next_attempt_at <= now)
            .order_by(Notification.id).limit(1)
            # PostgreSQL: a row another worker holds is skipped, so no row goes out twice.
            # SQLite compiles this to nothing: it has a single writer anyway.
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True))
        if note is None:
            break
        outcomes[courier.deliver(note)] += 1
    return DeliveryReport(**outcomes)


def backoff(attempts: int) -> timedelta:
    return min(BACKOFF_FIRST * 2 ** (attempts - 1), BACKOFF_CAP)


def template_data(note: Notification) -> dict[str, str]:
    layout = TEMPLATE_LAYOUTS.get(note.topic, DEFAULT_LAYOUT)
    return {key: _FIELDS[name](note) for key, name in layout.items()}


def outbox_counts() -> list[tuple[str, str, int]]:
    """(status, channel, count) for every pair present."""
    return db.session.execute(
        db.select(Notification.status, Notification.channel, sa.func.count())
        .group_by(Notification.status, Notification.channel)
        .order_by(Notification.status, Notification.channel)).all()


@dataclass(frozen=True)
class _Call:
    """A subscribe message decided on and committed as sent, not yet made."""
    note_id: int
    grant_key: tuple[int, str] | None
    openid: str
    template_id: str
    data: dict
    page: str | None


class _Courier:
    """Delivers one row at a time, each in its own transaction: the clock, WeChat, templates."""

    def __init__(self, now: datetime):
        self.now = now
        self.wechat = get_wechat()
        self.templates = current_app.config.get("WECHAT_TEMPLATES") or {}

    def deliver(self, note: Notification) -> str:
        note_id = note.id
        try:
            outcome, call = self._decide(note)
            db.session.commit()  # before any call: WeChat is told at most once
        except sa.exc.SQLAlchemyError:
            db.session.rollback()
            raise  # the transaction is broken: the row stays due, the caller decides
        except Exception as err:  # noqa: BLE001 - one bad row must not stop the batch
            # _decide changes nothing before its last, infallible lines: no undo needed.
            log.exception("notification %s failed", note_id)
            outcome, call = self._retry_later(note, err), None
            db.session.commit()
        if call is None:
            return outcome
        try:
            self.wechat.send_subscribe_message(call.openid, call.template_id, call.data,
                                               page=call.page)
        except Exception as err:  # noqa: BLE001 - WeChat did not take it: undo the claim
            if _maybe_taken(err):
                log.warning("notification %s: WeChat did not answer in time; kept as sent, not "
                            "retried (it may have gone out)", note_id)
                return "sent"
            return self._undo(call, err)
        return "sent"

    def _decide(self, note: Notification) -> tuple[str, _Call | None]:
        target = _target(note)
        if target is None:
            note.status, note.last_error = "dead", "收件人已不存在"
            return "skipped", None
        template_id = self.templates.get(note.topic)
        grant = None
        if template_id and target.openid and self.wechat.configured:
            if target.resident_id is not None:
                grant = _locked_grant(target.resident_id, template_id)
                if grant is None or grant.remaining <= 0:
                    template_id = None
        if not (template_id and target.openid and self.wechat.configured):
            _log_inbox(note)
            return self._sent(note, "inbox"), None
        call = _Call(note.id, (grant.resident_id, grant.template_id) if grant else None,
                     target.openid, template_id, template_data(note),
                     note.place.mp_page if note.place is not None else None)
        if grant is not None:
            grant.remaining -= 1  # spent now, with the claim; given back if WeChat refuses
        return self._sent(note, "wechat"), call

    def _undo(self, call: _Call, err: Exception) -> str:
        db.session.rollback()
        note = db.session.get(Notification, call.note_id, with_for_update=True,
                              populate_existing=True)
        grant = _locked_grant(*call.grant_key) if call.grant_key else None
        note.status, note.channel, note.sent_at = "failed", "", None
        if grant is not None:
            grant.remaining += 1
        if isinstance(err, WeChatError) and err.errcode == NO_GRANT:
            if grant is not None:
                grant.remaining = 0  # WeChat's count wins over ours
            _log_inbox(note)
            outcome = self._sent(note, "inbox")
        else:
            if not isinstance(err, WeChatError):
                log.exception("notification %s failed", note.id)
            outcome = self._retry_later(note, err)
        db.session.commit()
        return outcome

    def _sent(self, note: Notification, channel: str) -> str:
        note.status, note.channel, note.sent_at = "sent", channel, self.now
        return "sent"

    def _retry_later(self, note: Notification, err: Exception) -> str:
        note.attempts += 1
        text = str(err) if isinstance(err, WeChatError) else f"{type(err).__name__}: {err}"
        note.last_error = text[:300]
        if note.attempts >= MAX_ATTEMPTS:
            log.error("notification %s dead after %s attempts: %s", note.id, note.attempts, text)
            note.status = "dead"
            return "dead"
        note.status, note.next_attempt_at = "failed", self.now + backoff(note.attempts)
        return "failed"


def _maybe_taken(err: Exception) -> bool:
    """The request reached WeChat but no answer came back: it may have been sent, so a retry
    could send it twice. Refusals, HTTP errors and failures to connect are certain not-sents."""
    return isinstance(err.__cause__, requests.ReadTimeout)


def _locked_grant(resident_id: int, template_id: str) -> SubscribeGrant | None:
    return db.session.get(SubscribeGrant, (resident_id, template_id), with_for_update=True,
                          populate_existing=True)


def _log_inbox(note: Notification) -> None:
    log.info("inbox %s → %s %s: %s | %s", note.topic, note.recipient_kind, note.recipient_id,
             note.title, note.body)


def _target(note: Notification) -> _Target | None:
    """Where WeChat could reach the recipient (openid may be None); None if they are gone."""
    if note.recipient_kind == "resident":
        resident = db.session.get(Resident, note.recipient_id)
        return _Target(resident.openid, resident.id) if resident else None
    if note.recipient_kind == "staff":
        staff = db.session.get(StaffUser, note.recipient_id)
        if staff is None:
            return None
        return _Target(staff.wechat_openid if staff.is_active else None)
    if db.session.get(Deputy, note.recipient_id) is None:
        return None
    # A deputy is reached on the WeChat account bound to their staff login, if any.
    return _Target(db.session.scalar(
        db.select(StaffUser.wechat_openid)
        .where(StaffUser.deputy_id == note.recipient_id, StaffUser.is_active.is_(True),
               StaffUser.wechat_openid.is_not(None))
        .order_by(StaffUser.id).limit(1)))


def _thing(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= THING_MAX else text[:THING_MAX - 1] + "…"


def _tracking_no(note: Notification) -> str:
    if note.subject_type != Message.__tablename__ or note.subject_id is None:
        return ""
    message = db.session.get(Message, note.subject_id)
    return message.tracking_no if message else ""


_FIELDS = {
    "title": lambda note: _thing(note.title),
    "body": lambda note: _thing(note.body or note.title),
    "time": lambda note: format_local(note.created_at),
    "tracking_no": _tracking_no,
}
