"""The triage model wired to messages: category suggestions stored beside each message, the
liaison's one-tap accept or correction, the corrections export, and near-duplicates.

The submission never calls the model (backend/messages/insert.py is one SQL statement): a
scheduler job (`fill_suggestions`) stores suggestions for new messages, and the staff read path
computes the few not stored yet in memory. A missing or failing model means no suggestion and
a log line (backend/triage/category.py), never a lost or delayed message.
"""
import functools
import logging
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from backend.core.audit import record, snapshot
from backend.core.extensions import db
from backend.core.timeutil import utcnow
from backend.messages import operations as ops
from backend.messages.models import OPEN_STATUSES, Message
from backend.messages.triage_model import MessageTriage
from backend.triage import category
from backend.triage.duplicates import MIN_SHINGLES, THRESHOLD, DuplicateIndex, similarity

log = logging.getLogger("lianxin.triage")

DECISION_FIELDS = ("decision", "decided_label", "decided_by_id")
# Statuses a message may be merged into that a liaison would call "still being handled".
DUPLICATE_STATUSES = (*OPEN_STATUSES, "answered")
# How far back a duplicate is looked for: the station's latest cases, not its whole history.
DUPLICATE_WINDOW = 2000


# ---- suggestions ----

def _model_dir():
    return current_app.config.get("TRIAGE_MODEL_DIR")


def compute(message: Message) -> MessageTriage | None:
    """A fresh, unsaved suggestion for `message`, or None when the model cannot give one."""
    found = category.suggest(None, message.body, model_dir=_model_dir())
    if found is None:
        return None
    return MessageTriage(message_id=message.id, label=found.label, confidence=found.confidence,
                         top3=[[label, p] for label, p in found.top3],
                         is_uncertain=found.uncertain, decided_label="", created_at=utcnow())


def suggestions_for(messages) -> dict[int, MessageTriage]:
    """Each message's suggestion: the stored one, else computed now (not saved: a GET page
    writes nothing; the job stores it). Messages the model cannot judge are absent."""
    ids = [m.id for m in messages]
    if not ids:
        return {}
    stored = {t.message_id: t for t in db.session.scalars(
        sa.select(MessageTriage).where(MessageTriage.message_id.in_(ids)))}
    for m in messages:
        if m.id not in stored:
            fresh = compute(m)
            if fresh is not None:
                stored[m.id] = fresh
    return stored


def suggestion_for(message: Message) -> MessageTriage | None:
    return suggestions_for([message]).get(message.id)


def _insert_ignoring_taken(rows: list[dict]) -> None:
    """Insert suggestion rows; one already there (the job and a liaison at once) is kept."""
    if not rows:
        return
    dialect = db.session.get_bind(mapper=sa.inspect(MessageTriage)).dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(MessageTriage.__table__)
    db.session.execute(insert.on_conflict_do_nothing(index_elements=["message_id"]), rows)


def _row_values(t: MessageTriage) -> dict:
    return dict(message_id=t.message_id, label=t.label, confidence=t.confidence, top3=t.top3,
                is_uncertain=t.is_uncertain, decision=None, decided_label="", decided_by_id=None,
                decided_at=None, created_at=t.created_at)


# The job looks at the latest messages only, so a run costs the same on a million-row table;
# an older message without a stored suggestion is computed when a page shows it.
FILL_LOOKBACK = 2000


def fill_suggestions(limit: int = 500) -> int:
    """The scheduler's step: store suggestions for the latest messages that have none. Returns
    how many were stored (0 when the model is missing: the next run tries again)."""
    latest = sa.select(Message.id).order_by(Message.id.desc()).limit(FILL_LOOKBACK).scalar_subquery()
    missing = db.session.scalars(
        sa.select(Message).outerjoin(MessageTriage, MessageTriage.message_id == Message.id)
        .where(Message.id.in_(latest), MessageTriage.message_id.is_(None))
        .order_by(Message.id.desc()).limit(limit)).all()
    rows = []
    for message in missing:
        fresh = compute(message)
        if fresh is None:
            break  # the model is missing or failing: it said so in the log, once is enough
        rows.append(_row_values(fresh))
    _insert_ignoring_taken(rows)
    return len(rows)


def categorise(message: Message, label: str, *, actor) -> MessageTriage | None:
    """Set the message's category (the messages' own guarded operation and event) and record
    whether it accepts or corrects the model's suggestion, with an audit row. Without a
    suggestion (no model) it is a plain category change."""
    suggestion = suggestion_for(message)
    ops.set_category(message, label, actor=actor)
    if suggestion is None:
        return None
    if sa.inspect(suggestion).transient:
        _insert_ignoring_taken([_row_values(suggestion)])
    row = db.session.get(MessageTriage, message.id, populate_existing=True)
    before = snapshot(row, DECISION_FIELDS)
    row.decision = "accepted" if label == row.label else "corrected"
    row.decided_label, row.decided_by_id, row.decided_at = label, actor.id, utcnow()
    db.session.flush()
    record("message.category_" + row.decision, row, actor=actor, before=before,
           after=snapshot(row, DECISION_FIELDS))
    return row


@dataclass(frozen=True)
class Correction:
    message_id: int
    body: str
    label: str
    suggested: str
    decision: str
    decided_at: datetime


def decided_rows(*, since: datetime | None = None, only_known_labels: bool = True) -> list[Correction]:
    """Messages whose category a liaison accepted or corrected, for `flask triage train
    --corrections`. A label the model does not know (its 7 classes are the data set's) is left
    out unless asked: one or two examples would make a class of their own."""
    stmt = (sa.select(MessageTriage, Message.body).join(Message, Message.id == MessageTriage.message_id)
            .where(MessageTriage.decision.is_not(None)).order_by(MessageTriage.message_id))
    if since is not None:
        stmt = stmt.where(MessageTriage.decided_at >= since)
    model = category.get_model(_model_dir())
    known = set(model.labels) if model is not None else None
    out = []
    for t, body in db.session.execute(stmt):
        if only_known_labels and known is not None and t.decided_label not in known:
            continue
        out.append(Correction(t.message_id, body, t.decided_label, t.label, t.decision, t.decided_at))
    return out


# ---- near-duplicates ----

@dataclass(frozen=True)
class Duplicate:
    message: Message
    score: float


@functools.lru_cache(maxsize=8192)
def _shingles(body: str):
    # A message's body never changes after it is sent, so its shingles are cached by the text
    # itself (ids can be reused by a wiped SQLite table; the text cannot lie).
    return DuplicateIndex.shingles(body)


def duplicates_of(message: Message, limit: int = 5) -> list[Duplicate]:
    """Earlier messages of the same station, still being handled, that say the same thing.

    One text against a bounded set: every candidate is scored exactly (the shingle similarity
    the DuplicateIndex verifies with), so nothing hangs on LSH buckets or a cached index going
    stale after a merge or a closure. Only ids and bodies are read; the matches are loaded."""
    mine = _shingles(message.body)
    if len(mine) < MIN_SHINGLES:
        return []
    earlier = db.session.execute(
        sa.select(Message.id, Message.body).where(
            Message.station_id == message.station_id, Message.id < message.id,
            Message.status.in_(DUPLICATE_STATUSES))
        .order_by(Message.id.desc()).limit(DUPLICATE_WINDOW)).all()
    scores = {}
    for other_id, body in earlier:
        score = similarity(mine, _shingles(body))
        if score >= THRESHOLD:
            scores[other_id] = round(score, 3)
    best = sorted(scores, key=lambda i: (-scores[i], -i))[:limit]
    loaded = {m.id: m for m in db.session.scalars(sa.select(Message).where(Message.id.in_(best)))} if best else {}
    return [Duplicate(loaded[i], scores[i]) for i in best if i in loaded]
