"""What helps a deputy write an answer, never stops one being sent:
- earlier answers on the same subject, found with the message search and shown as the answer
  text only (the resident's letter, name and phone stay out), to reuse one as a starting point;
- plain hints on the draft (backend/triage/hints.py), with the message's deadline on its
  station's working-day clock."""
import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from backend.core.errors import Forbidden
from backend.core.extensions import db
from backend.messages import policy
from backend.messages.models import Message, MessageReply
from backend.messages.search import match_clause, query_terms
from backend.core.timeutil import utcnow
from backend.triage.hints import Hint, answer_hints, subject_words

LIMIT = 8
# Seven or more digits in a row are a phone or an id number: not carried into another answer.
_LONG_NUMBER = re.compile(r"\d[\d\- ]{5,}\d")


@dataclass(frozen=True)
class EarlierAnswer:
    reply_id: int
    message_id: int
    category: str
    answered_at: datetime
    deputy_name: str
    text: str


def key_words(message: Message, n: int = 3) -> str:
    """What to search for first: the message's leading content words."""
    return " ".join(list(dict.fromkeys(subject_words("", message.body)))[:n])


def earlier_answers(user, message: Message, q: str, *, limit: int = LIMIT) -> list[EarlierAnswer]:
    """The latest answer of each other message matching every word of `q`, newest message
    first, within the stations `user` may draw on (policy.answer_search_stations)."""
    stations = policy.answer_search_stations(user, message)
    if stations is not None and not stations:
        raise Forbidden("您无权办理这条留言", code="message_forbidden")
    answered = sa.exists().where(MessageReply.message_id == Message.id,
                                 MessageReply.kind == "answer")
    stmt = (sa.select(Message.id, Message.category)
            .where(match_clause(query_terms(q)), answered, Message.id != message.id)
            .order_by(Message.id.desc()).limit(limit))
    if stations is not None:
        stmt = stmt.where(Message.station_id.in_(sorted(stations)))
    found = dict(db.session.execute(stmt).all())
    if not found:
        return []
    latest = {}
    for reply in db.session.scalars(
            db.select(MessageReply).where(MessageReply.message_id.in_(found),
                                          MessageReply.kind == "answer")
            .order_by(MessageReply.id)):
        latest[reply.message_id] = reply
    return [EarlierAnswer(r.id, r.message_id, found[r.message_id] or "", r.created_at,
                          r.deputy.name if r.deputy else "", masked(r.body))
            for r in sorted(latest.values(), key=lambda r: -r.message_id)]


def masked(text: str) -> str:
    return _LONG_NUMBER.sub(lambda m: "*" * len(m.group()), text)


def draft_hints(message: Message, draft: str, *, now: datetime | None = None) -> list[Hint]:
    """Hints for `draft` as an answer to `message`, if it were sent `now`."""
    if not (draft or "").strip():
        return []
    return answer_hints("", message.body, draft, due_at=message.answer_due_at,
                        answered_at=now or utcnow())
