"""Delivering the notification outbox: a WeChat subscribe message where a template (and, for a
resident, a one-time grant) allows it, otherwise the in-app inbox. Failures are retried with
backoff; no row is ever lost or sent twice.

The function only flushes: the caller (`flask outbox deliver`, a scheduler job) commits once per
batch, which also releases the row locks taken on PostgreSQL."""
import logging
import re
from collections import Counter
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

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
# A notification's link is a portal path; a subscribe message opens the mini-program's own page
# for the same thing (the mini-program's page paths, agreed with its front end; README lists
# them). A link with no page here opens the mini-program's home page.
MP_PAGES = (
    (re.compile(r"/m/(\d+)"), "pages/message/detail?id={}"),
    (re.compile(r"/my/appointments/(\d+)"), "pages/appointment/detail?id={}"),
    (re.compile(r"/staff/inbox/(\d+)"), "pages/deputy/message?id={}"),
    (re.compile(r"/staff/messages/(\d+)"), "pages/liaison/message?id={}"),
    (re.compile(r"/staff/suggestions/(\d+)"), "pages/deputy/suggestion?id={}"),
    (re.compile(r"/staff/duties"), "pages/deputy/duties"),
    (re.compile(r"/staff/stations/(\d+)/roster"), "pages/liaison/roster?station={}"),
)
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


@dataclass(frozen=True)
class _Target:
    openid: str | None
    resident_id: int | None = None  # residents' one-time grants are counted; staff's are not


def deliver_due(now: datetime | None = None, batch: int = 100) -> DeliveryReport:
    now = now or utcnow()
    notes = db.session.scalars(
        db.select(Notification)
        .where(Notification.status.in_(DUE_STATUSES), Notification.next_attempt_at <= now)
        .order_by(Notification.id).limit(batch)
        # PostgreSQL: rows another worker holds are skipped, so no row goes out twice.
        # SQLite compiles this to nothing: it has a single writer anyway.
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)).all()
    courier = _Courier(now)
    courier.lock_grants(notes)
    outcomes = Counter(courier.deliver(note) for note in notes)
    db.session.flush()
    return DeliveryReport(**outcomes)


def backoff(attempts: int) -> timedelta:
    return min(BACKOFF_FIRST * 2 ** (attempts - 1), BACKOFF_CAP)


def template_data(note: Notification) -> dict[str, str]:
    layout = TEMPLATE_LAYOUTS.get(note.topic, DEFAULT_LAYOUT)
    return {key: _FIELDS[name](note) for key, name in layout.items()}


def mini_program_page(link: str) -> str | None:
    """The mini-program page for a portal link, or None (the home page)."""
    for pattern, page in MP_PAGES:
        match = pattern.fullmatch(link or "")
        if match:
            return page.format(*match.groups())
    return None


def outbox_counts() -> list[tuple[str, str, int]]:
    """(status, channel, count) for every pair present."""
    return db.session.execute(
        db.select(Notification.status, Notification.channel, sa.func.count())
        .group_by(Notification.status, Notification.channel)
        .order_by(Notification.status, Notification.channel)).all()


class _Courier:
    """One batch's delivery: the clock, WeChat, the templates and the locked grants."""

    def __init__(self, now: datetime):
        self.now = now
        self.wechat = get_wechat()
        self.templates = current_app.config.get("WECHAT_TEMPLATES") or {}
        self.grants: dict[tuple[int, str], SubscribeGrant] = {}

    def lock_grants(self, notes: list[Notification]) -> None:
        ids = {n.recipient_id for n in notes if n.recipient_kind == "resident"}
        if not (ids and self.templates and self.wechat.configured):
            return
        self.grants = {(g.resident_id, g.template_id): g for g in db.session.scalars(
            db.select(SubscribeGrant).where(SubscribeGrant.resident_id.in_(ids))
            # One statement in one fixed order: two workers wait for each other, never deadlock.
            .order_by(SubscribeGrant.resident_id, SubscribeGrant.template_id)
            .with_for_update().execution_options(populate_existing=True))}

    def deliver(self, note: Notification) -> str:
        try:
            target = _target(note)
            if target is None:
                note.status, note.last_error = "dead", "收件人已不存在"
                return "skipped"
            if self._send_wechat(note, target):
                return self._sent(note, "wechat")
            log.info("inbox %s → %s %s: %s | %s", note.topic, note.recipient_kind,
                     note.recipient_id, note.title, note.body)
            return self._sent(note, "inbox")
        except sa.exc.SQLAlchemyError:
            raise  # the transaction is broken: the caller rolls back and every row stays due
        except Exception as err:  # noqa: BLE001 - one bad row must not stop the batch
            if not isinstance(err, WeChatError):
                log.exception("notification %s failed", note.id)
            return self._retry_later(note, err)

    def _send_wechat(self, note: Notification, target: _Target) -> bool:
        """True if WeChat took it; False if this recipient can only be told in the inbox."""
        template_id = self.templates.get(note.topic)
        grant = self.grants.get((target.resident_id, template_id))
        has_grant = target.resident_id is None or (grant is not None and grant.remaining > 0)
        if not (template_id and target.openid and self.wechat.configured and has_grant):
            return False
        try:
            self.wechat.send_subscribe_message(target.openid, template_id, template_data(note),
                                               page=mini_program_page(note.link))
        except WeChatError as err:
            if err.errcode != NO_GRANT:
                raise
            if grant is not None:
                grant.remaining = 0  # WeChat's count wins over ours
            return False
        if grant is not None:
            grant.remaining = max(grant.remaining - 1, 0)
        return True

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
