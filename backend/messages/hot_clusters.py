"""The hot-issue index kept by the scheduler: each new message joins a cluster of its station (or
opens one), stored in `hot_clusters` / `hot_cluster_messages`; the page (hot_issues.py) only reads.

Arrivals are matched with backend/triage/hotspots.py's HotspotIndex, one per station, kept in
this process between runs: a new message costs a few LSH candidates' similarities, never a pass
over the others, and no stored membership is ever re-decided. The index is a cache of the tables:
it is warmed from the window's members (their clusters restored, nothing recomputed) whenever the
tables differ from what this process last wrote (a restart, `flask triage clusters rebuild`, a
message deleted, a failed run rolled back).

A message refused or put on hold after it was clustered leaves its cluster on the next run (it is
not a resident's issue); one merged into another stays (each is a resident).
"""
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from backend.core.cache import TTLCache
from backend.core.extensions import db
from backend.messages.models import Message
from backend.messages.triage_model import HotCluster, HotClusterMessage
from backend.triage.hotspots import HotspotIndex

LEFT_OUT = ("held", "rejected")
WINDOW_DAYS = 30  # a message joins a cluster when it is like one of its messages of the last 30 days
# One run's work and how far back it looks for messages without a cluster (by id, like the
# category job): a run costs the same on a million-row table.
BATCH = 2000
LOOKBACK = 2000
_RECOUNT_CHUNK = 500


@dataclass
class _State:
    """One database's indexes (by station) and what this process believes its tables hold."""
    indexes: dict = field(default_factory=dict)
    members: int = 0
    max_message_id: int = 0
    next_cluster_id: int = 1
    opened: list = field(default_factory=list)  # clusters opened in this run, inserted in one statement

    def index_for(self, station_id: int) -> HotspotIndex:
        if station_id not in self.indexes:
            self.indexes[station_id] = HotspotIndex(window_days=WINDOW_DAYS,
                                                    new_id=lambda at: self.open_cluster(station_id, at))
        return self.indexes[station_id]

    def open_cluster(self, station_id: int, at: datetime) -> int:
        # Ids are given here, not by the database: one INSERT for a run's new clusters instead
        # of one round trip each (only this module writes the table; a clash fails the run,
        # which then warms again and retries).
        cid, self.next_cluster_id = self.next_cluster_id, self.next_cluster_id + 1
        self.opened.append(dict(id=cid, station_id=station_id, messages=0, residents=0, first_at=at,
                                last_at=at, created_at=at))
        return cid

    @property
    def comparisons(self) -> int:
        return sum(index.comparisons for index in self.indexes.values())


_lock = threading.Lock()
# A TTLCache so that whoever empties the tables behind our back (the tests) drops it too; the
# TTL also re-reads the tables every few hours, which costs one warm-up.
_states = TTLCache(6 * 3600)


def _fingerprint() -> tuple[int, int]:
    count, top = db.session.execute(sa.select(sa.func.count(), sa.func.max(HotClusterMessage.message_id))).one()
    return int(count), int(top or 0)


def _key() -> str:
    return str(db.session.get_bind(mapper=sa.inspect(HotClusterMessage)).url)


def forget() -> None:
    """Drop this process's indexes (tests; after a rebuild in the same process)."""
    _states.clear()


def _state() -> _State:
    """This process's index of the database, warmed again when the tables changed under it."""
    key = _key()
    state = _states.peek(key)
    if state is None or (state.members, state.max_message_id) != _fingerprint():
        state = _warm()
        _states.put(key, state)
    state.opened = []
    state.next_cluster_id = max(state.next_cluster_id,
                                (db.session.scalar(sa.select(sa.func.max(HotCluster.id))) or 0) + 1)
    return state


def _warm() -> _State:
    """Indexes restored from the members of the last window (as of the newest member)."""
    state = _State()
    state.members, state.max_message_id = _fingerprint()
    newest = db.session.scalar(sa.select(sa.func.max(HotClusterMessage.at)))
    if newest is None:
        return state
    rows = db.session.execute(
        sa.select(HotClusterMessage.message_id, HotClusterMessage.cluster_id, HotClusterMessage.station_id,
                  HotClusterMessage.resident_id, HotClusterMessage.at, Message.place, Message.body)
        .join(Message, Message.id == HotClusterMessage.message_id)
        .where(HotClusterMessage.at >= newest - timedelta(days=WINDOW_DAYS))
        .order_by(HotClusterMessage.at, HotClusterMessage.message_id))
    for r in rows:
        state.index_for(r.station_id).restore(r.message_id, r.place or "", r.body, r.at, r.cluster_id,
                                              resident=r.resident_id)
    return state


# What placing a message reads: plain rows, not ORM objects (a rebuild reads every message).
_COLUMNS = (Message.id, Message.station_id, Message.place, Message.body, Message.created_at, Message.resident_id)


def _unclustered(limit: int, lookback: int):
    """The latest messages without a cluster (held and refused ones wait), oldest first."""
    latest = sa.select(Message.id).order_by(Message.id.desc()).limit(lookback).scalar_subquery()
    return db.session.execute(
        sa.select(*_COLUMNS).outerjoin(HotClusterMessage, HotClusterMessage.message_id == Message.id)
        .where(HotClusterMessage.message_id.is_(None), Message.status.not_in(LEFT_OUT), Message.id.in_(latest))
        .order_by(Message.created_at, Message.id).limit(limit)).all()


def _all_after(after_id: int, limit: int):
    """For a rebuild (every membership gone): the next messages in the order they arrived (ids)."""
    return db.session.execute(
        sa.select(*_COLUMNS).where(Message.id > after_id, Message.status.not_in(LEFT_OUT))
        .order_by(Message.id).limit(limit)).all()


def _leave_refused(state: _State) -> set[int]:
    """Members whose message is now held or refused leave their clusters; returns those clusters."""
    gone = db.session.execute(
        sa.select(HotClusterMessage.message_id, HotClusterMessage.cluster_id, HotClusterMessage.station_id)
        .join(Message, Message.id == HotClusterMessage.message_id)
        .where(Message.status.in_(LEFT_OUT))).all()
    if not gone:
        return set()
    ids = [g.message_id for g in gone]
    for chunk in _chunks(ids):
        db.session.execute(sa.delete(HotClusterMessage).where(HotClusterMessage.message_id.in_(chunk)))
    for g in gone:
        if g.station_id in state.indexes:
            state.indexes[g.station_id].discard(g.message_id)
    state.members -= len(ids)
    state.max_message_id = _fingerprint()[1]
    return {g.cluster_id for g in gone}


def voice(m=HotClusterMessage):
    """Who spoke: the resident, or for an anonymous message the message itself (counted once)."""
    return sa.case((m.resident_id.is_(None), -m.message_id), else_=m.resident_id)


def _chunks(ids):
    ids = list(ids)
    for i in range(0, len(ids), _RECOUNT_CHUNK):
        yield ids[i:i + _RECOUNT_CHUNK]


def _recount(cluster_ids) -> None:
    """The touched clusters' counters from their members, in one statement per 500 clusters;
    a cluster left without members is deleted."""
    m = HotClusterMessage

    def of(aggregate):
        return sa.select(aggregate).where(m.cluster_id == HotCluster.id).correlate(HotCluster).scalar_subquery()

    for chunk in _chunks(sorted(cluster_ids)):
        db.session.execute(sa.update(HotCluster).where(HotCluster.id.in_(chunk)).values(
            messages=of(sa.func.count()), residents=of(sa.func.count(sa.distinct(voice(m)))),
            first_at=sa.func.coalesce(of(sa.func.min(m.at)), HotCluster.first_at),
            last_at=sa.func.coalesce(of(sa.func.max(m.at)), HotCluster.last_at)))
        db.session.execute(sa.delete(HotCluster).where(HotCluster.id.in_(chunk), HotCluster.messages == 0))


def _assign(state: _State, messages) -> set[int]:
    rows, touched = [], set()
    for message in messages:
        cluster = state.index_for(message.station_id).add(
            message.id, message.place or "", message.body, message.created_at, resident=message.resident_id)
        touched.add(cluster.id)
        rows.append(dict(message_id=message.id, cluster_id=cluster.id, station_id=message.station_id,
                         resident_id=message.resident_id, at=message.created_at))
    if state.opened:
        db.session.execute(sa.insert(HotCluster), state.opened)
        state.opened = []
    if rows:
        db.session.execute(sa.insert(HotClusterMessage), rows)
        state.members += len(rows)
        state.max_message_id = max(state.max_message_id, max(r["message_id"] for r in rows))
    return touched


def update_clusters(limit: int = BATCH) -> int:
    """The scheduler's step: refused messages leave, new ones join or open clusters, the touched
    clusters' counters are recounted. Never commits; returns how many messages were placed."""
    with _lock:
        state = _state()
        try:
            touched = _leave_refused(state)
            messages = _unclustered(limit, LOOKBACK)
            touched |= _assign(state, messages)
            _recount(touched)
            if messages:
                for index in state.indexes.values():
                    index.prune(messages[-1].created_at)
            db.session.flush()
        except Exception:
            _states.put(_key(), None)  # the tables will roll back: warm again next time
            raise
        return len(messages)


def rebuild(batch: int = 5000, commit=None, progress=None) -> int:
    """`flask triage clusters rebuild`: every cluster dropped and every message placed again, in
    the order the messages arrived. `commit()` is called after each batch (the command commits;
    the tables are then consistent at every step)."""
    with _lock:
        db.session.execute(sa.delete(HotClusterMessage))
        db.session.execute(sa.delete(HotCluster))
        state = _State()
        _states.put(_key(), state)
        done, after = 0, 0
        try:
            while True:
                messages = _all_after(after, batch)
                if not messages:
                    break
                _recount(_assign(state, messages))
                for index in state.indexes.values():
                    index.prune(messages[-1].created_at)
                after = messages[-1].id
                done += len(messages)
                if commit:
                    commit()
                if progress:
                    progress(done)
        except Exception:
            _states.put(_key(), None)
            raise
        return done
