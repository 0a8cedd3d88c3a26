"""The liaison's queue and the deputy's inbox: filtered lists that page by keyset, so page 500
costs what page 1 costs, at a million messages."""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from backend.core.errors import Forbidden, ValidationFailed
from backend.core.extensions import db
from backend.messages.models import OPEN_STATUSES, STATUSES, Message, MessageEvent
from backend.messages.models import QUEUE_STATUSES
from backend.messages.search import match_clause, query_terms
from backend.core.paging import PAGE_SIZE, decode_cursor, decode_id_cursor, encode_cursor
from backend.core.protect import phone_index
from backend.core.timeutil import LOCAL_TZ, utcnow



@dataclass
class QueueFilters:
    station_ids: list[int] = field(default_factory=list)  # empty: all the user's stations
    status: str = "todo"  # "todo" (held + open), "all", or one status
    deputy_id: int | None = None
    category: str = ""
    date_from: date | None = None
    date_to: date | None = None
    overdue: bool = False
    held: bool = False
    q: str = ""


@dataclass
class Page:
    items: list[Message]
    next_cursor: str | None


def liaison_queue(user, filters: QueueFilters, *, cursor: str | None = None,
                  limit: int = PAGE_SIZE, now: datetime | None = None) -> Page:
    """Oldest due first, so what is overdue leads; paged by (answer_due_at, id). A text search
    lists newest first instead, paged by id: what was typed is most often a recent case."""
    now = now or utcnow()
    stmt = _in_stations(db.select(Message), user, filters.station_ids)
    stmt = _apply_filters(stmt, filters, now)
    if filters.q.strip():
        return _newest_first(stmt, cursor, limit)
    stmt = stmt.order_by(Message.answer_due_at, Message.id)
    if cursor:
        _, due, last_id = decode_cursor(cursor)
        stmt = stmt.where(sa.tuple_(Message.answer_due_at, Message.id) > sa.tuple_(
            sa.literal(due, Message.answer_due_at.type), sa.literal(last_id)))
    rows = list(db.session.scalars(stmt.limit(limit + 1)))
    items = rows[:limit]
    more = len(rows) > limit
    return Page(items, encode_cursor(items[-1].answer_due_at, items[-1].id) if more else None)


def _newest_first(stmt, cursor: str | None, limit: int) -> Page:
    if cursor:
        stmt = stmt.where(Message.id < decode_id_cursor(cursor))
    rows = list(db.session.scalars(stmt.order_by(Message.id.desc()).limit(limit + 1)))
    items = rows[:limit]
    return Page(items, str(items[-1].id) if len(rows) > limit else None)


def deputy_inbox(deputy_id: int, *, cursor: str | None = None, limit: int = PAGE_SIZE,
                 status: str = "all") -> Page:
    """Newest first: written to the deputy or assigned to them."""
    stmt = db.select(Message).where(
        sa.or_(Message.deputy_id == deputy_id, Message.assigned_deputy_id == deputy_id),
        Message.status != "held")
    if status == "todo":
        stmt = stmt.where(Message.status.in_(OPEN_STATUSES),
                          Message.assigned_deputy_id == deputy_id)
    return _newest_first(stmt, cursor, limit)


def resident_messages(resident_id: int, *, cursor: int | None = None,
                      limit: int = PAGE_SIZE) -> Page:
    """A resident's own messages, newest first, paged by id."""
    stmt = db.select(Message).filter_by(resident_id=resident_id)
    if cursor:
        stmt = stmt.where(Message.id < cursor)
    rows = list(db.session.scalars(stmt.order_by(Message.id.desc()).limit(limit + 1)))
    items = rows[:limit]
    return Page(items, str(items[-1].id) if len(rows) > limit else None)


def deputy_unread_count(deputy_id: int) -> int:
    return db.session.scalar(
        db.select(sa.func.count()).select_from(Message).where(
            Message.assigned_deputy_id == deputy_id, Message.deputy_read_at.is_(None),
            Message.status.in_(OPEN_STATUSES)))


def queue_counts(user, now: datetime | None = None) -> dict[str, int]:
    """The numbers a liaison sees on top of the queue."""
    now = now or utcnow()
    base = _in_stations(db.select(sa.func.count()).select_from(Message), user, [])
    return {
        "todo": db.session.scalar(base.where(Message.status.in_(QUEUE_STATUSES))),
        "held": db.session.scalar(base.where(Message.status == "held")),
        "new": db.session.scalar(base.where(Message.status == "new")),
        "overdue": db.session.scalar(base.where(overdue_clause(now))),
    }


def overdue_clause(now: datetime):
    """Open and past one of its clocks: not acknowledged in time, or not answered in time."""
    return sa.and_(
        Message.status.in_(OPEN_STATUSES),
        sa.or_(Message.answer_due_at < now,
               sa.and_(Message.acknowledged_at.is_(None), Message.ack_due_at < now)))


def is_overdue(message: Message, now: datetime | None = None) -> bool:
    now = now or utcnow()
    if message.status not in OPEN_STATUSES:
        return False
    return message.answer_due_at < now or (message.acknowledged_at is None
                                           and message.ack_due_at < now)


def overdue_messages(now: datetime | None = None, limit: int = 1000) -> list[Message]:
    """For the scheduler's chase job."""
    return list(db.session.scalars(
        db.select(Message).where(overdue_clause(now or utcnow()))
        .order_by(Message.answer_due_at, Message.id).limit(limit)))


def similar_open_messages(message: Message, limit: int = 5) -> list[Message]:
    """Candidates to merge: open messages of the same station on the same deputy or category."""
    stmt = db.select(Message).where(
        Message.station_id == message.station_id, Message.id != message.id,
        Message.status.in_(("new", "acknowledged", "reopened", "answered")))
    if message.assigned_deputy_id:
        stmt = stmt.where(Message.assigned_deputy_id == message.assigned_deputy_id)
    elif message.category:
        stmt = stmt.where(Message.category == message.category)
    return list(db.session.scalars(stmt.order_by(Message.id.desc()).limit(limit)))


def last_public_event(message_ids: list[int]) -> dict[int, MessageEvent]:
    if not message_ids:
        return {}
    latest = (db.select(sa.func.max(MessageEvent.id))
              .where(MessageEvent.message_id.in_(message_ids), MessageEvent.is_internal.is_(False))
              .group_by(MessageEvent.message_id))
    events = db.session.scalars(db.select(MessageEvent).where(MessageEvent.id.in_(latest)))
    return {e.message_id: e for e in events}


# ---- internals ----

def _in_stations(stmt, user, wanted: list[int]):
    """Admins see every station (or those asked for); a liaison only their own."""
    if user.role == "admin":
        return stmt.where(Message.station_id.in_(wanted)) if wanted else stmt
    if user.role != "liaison":
        raise Forbidden("只有联络员可以查看联络站的留言", code="queue_forbidden")
    mine = user.station_ids
    if any(s not in mine for s in wanted):
        raise Forbidden("只能查看您所在联络站的留言", code="station_forbidden")
    return stmt.where(Message.station_id.in_(wanted or sorted(mine)))


def _apply_filters(stmt, f: QueueFilters, now: datetime):
    if f.held:
        stmt = stmt.where(Message.status == "held")
    elif f.status == "todo":
        stmt = stmt.where(Message.status.in_(QUEUE_STATUSES))
    elif f.status in STATUSES:
        stmt = stmt.where(Message.status == f.status)
    elif f.status != "all":
        raise ValidationFailed("状态筛选无效", code="status_invalid")
    if f.deputy_id:
        stmt = stmt.where(Message.assigned_deputy_id == f.deputy_id)
    if f.category:
        stmt = stmt.where(Message.category == f.category)
    if f.date_from:
        stmt = stmt.where(Message.created_at >= _local_start(f.date_from))
    if f.date_to:
        stmt = stmt.where(Message.created_at < _local_start(f.date_to, next_day=True))
    if f.overdue:
        stmt = stmt.where(overdue_clause(now))
    if f.q.strip() and (index := phone_index(f.q)) is not None:
        # A phone number: one indexed equality on its keyed hash, no row decrypted.
        stmt = stmt.where(Message.phone_index == index)
    elif f.q.strip():
        stmt = stmt.where(match_clause(query_terms(f.q)))
    return stmt


def _local_start(d: date, next_day: bool = False) -> datetime:
    return datetime.combine(d + timedelta(days=1) if next_day else d, time(0), tzinfo=LOCAL_TZ)
