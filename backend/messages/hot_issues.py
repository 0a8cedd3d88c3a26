"""热点问题 from the stored clusters (kept by the scheduler: backend/messages/hot_clusters.py),
ranked by heat at read time: distinct residents within the window, halved per week since the
last message. One grouped query over the window's memberships, then the messages of the shown
clusters; nothing is clustered here. Messages the liaison refused or still holds are not
residents' issues and stay out (the next run also takes them out of their clusters); merged ones
stay in (each is a resident).
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from backend.core.errors import Forbidden
from backend.core.extensions import db
from backend.core.timeutil import utcnow
from backend.messages.hot_clusters import LEFT_OUT, voice
from backend.messages.models import Message
from backend.messages.triage_model import HotClusterMessage
from backend.triage.hotspots import heat


@dataclass(frozen=True)
class HotIssue:
    cluster_id: int
    title: str  # the start of its first message
    heat: float
    residents: int
    messages: list[Message]  # oldest first
    last_at: datetime


def _stations(user, station_ids) -> list[int] | None:
    """The stations the user asks for and may see (None: every station, for the office)."""
    if user.role == "admin":
        return list(station_ids) or None
    if user.role == "liaison":
        mine = user.station_ids
        if any(s not in mine for s in station_ids):
            raise Forbidden("只能查看您所在联络站的留言", code="station_forbidden")
        return list(station_ids) or sorted(mine)
    raise Forbidden("只有联络员和代工委可以查看热点问题", code="hot_issues_forbidden")


def hot_issues(user, *, days: int = 30, station_ids=(), now: datetime | None = None,
               limit: int = 20, min_residents: int = 2) -> list[HotIssue]:
    """The user's hottest issues: an admin's over every station (or those asked for), a
    liaison's over their own stations."""
    now = now or utcnow()
    stations = _stations(user, station_ids)
    m = HotClusterMessage
    shown = [m.at >= now - timedelta(days=days), m.at <= now, Message.status.not_in(LEFT_OUT)]
    if stations is not None:
        shown.append(m.station_id.in_(stations))  # a message never changes station: the index serves
    residents = sa.func.count(sa.distinct(voice(m)))
    rows = db.session.execute(
        sa.select(m.cluster_id, residents.label("residents"), sa.func.max(m.at).label("last_at"))
        .join(Message, Message.id == m.message_id).where(*shown)
        .group_by(m.cluster_id).having(residents >= min_residents)).all()
    ranked = sorted(((heat(r.residents, 0, r.last_at, now), r) for r in rows),
                    key=lambda pair: (-pair[0], pair[1].cluster_id))[:limit]
    if not ranked:
        return []
    members: dict[int, list[Message]] = {r.cluster_id: [] for _h, r in ranked}
    for message, cluster_id in db.session.execute(
            sa.select(Message, m.cluster_id).join(m, m.message_id == Message.id)
            .where(m.cluster_id.in_(list(members)), *shown).order_by(Message.created_at, Message.id)):
        members[cluster_id].append(message)
    return [HotIssue(cluster_id=r.cluster_id, title=members[r.cluster_id][0].body[:40], heat=round(h, 2),
                     residents=r.residents, messages=members[r.cluster_id], last_at=r.last_at)
            for h, r in ranked]
