"""热点问题 from the database: the recent messages a user may see, clustered by
backend/triage/hotspots.py and ranked by heat (distinct residents, recency).

The index is rebuilt per request from a bounded window (the latest HOT_LIMIT messages of the
last `days` days), so it is always consistent with merges, rejections and new messages; at the
bench's ~0.5 ms a message that is about a second at the bound. Messages the liaison refused or
still holds are not residents' issues and stay out; merged ones stay in (each is a resident).
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from backend.core.errors import Forbidden
from backend.core.extensions import db
from backend.core.timeutil import utcnow
from backend.messages.models import Message
from backend.triage.hotspots import HotspotIndex

HOT_LIMIT = 2000
LEFT_OUT = ("held", "rejected")


@dataclass(frozen=True)
class HotIssue:
    title: str  # the start of its first message
    heat: float
    residents: int
    messages: list[Message]  # oldest first
    last_at: datetime


def hot_issues(user, *, days: int = 30, station_ids=(), now: datetime | None = None,
               limit: int = 20) -> list[HotIssue]:
    """The user's hottest issues: an admin's over every station (or those asked for), a
    liaison's over their own stations."""
    now = now or utcnow()
    stmt = sa.select(Message).where(Message.created_at >= now - timedelta(days=days),
                                    Message.status.not_in(LEFT_OUT))
    if user.role == "admin":
        if station_ids:
            stmt = stmt.where(Message.station_id.in_(station_ids))
    elif user.role == "liaison":
        mine = user.station_ids
        if any(s not in mine for s in station_ids):
            raise Forbidden("只能查看您所在联络站的留言", code="station_forbidden")
        stmt = stmt.where(Message.station_id.in_(list(station_ids) or sorted(mine)))
    else:
        raise Forbidden("只有联络员和代工委可以查看热点问题", code="hot_issues_forbidden")
    latest = db.session.scalars(stmt.order_by(Message.id.desc()).limit(HOT_LIMIT)).all()
    index = HotspotIndex(window_days=days)
    by_id = {}
    for m in sorted(latest, key=lambda m: (m.created_at, m.id)):
        by_id[m.id] = m
        index.add(m.id, m.place or "", m.body, m.created_at, resident=m.resident_id)
    out = []
    for cluster, heat in index.ranked(now, limit=limit):
        messages = [by_id[k] for k in cluster.keys]
        out.append(HotIssue(title=messages[0].body[:40],
                            heat=round(heat, 2), residents=len(cluster.residents),
                            messages=messages, last_at=cluster.last_at))
    return out
