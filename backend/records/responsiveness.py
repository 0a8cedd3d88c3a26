"""Responsiveness counted honestly, the way mySociety's WriteToThem does it: two weeks after a
deputy answers, the resident is asked whether the answer dealt with what they raised (已解决 /
答复了但没解决 / 只是收到 / 没有答复), reminded once a week later, and may answer once.
A message left unanswered is asked about too, with the same answers: 14 days after it became
the deputy's to answer (the latest assignment to them, or its receipt when written to them), or
when the station's answer deadline passed, whichever comes first; otherwise the silent cases
would drop out and the rate would flatter exactly the deputies who do not answer.

The rate of a deputy for a year (the answers given in that Beijing year; for an unanswered
message, the Beijing year it fell due) is 已解决 ÷ all responses. A rate from fewer than MIN_SAMPLE responses is shown as 样本太少 and never ranked;
a ranked rate carries its 95 % Wilson interval, because ten answers say much less than a
hundred. Counted: messages delivered to the deputy (not held, rejected, merged or forwarded)
and answered by them; the judgement stays with the deputy who answered."""
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from backend.core.errors import Forbidden, InvalidState, ValidationFailed
from backend.core.extensions import db
from backend.core.timeutil import utcnow
from backend.messages.models import Message, MessageEvent
from backend.notifications.notify import notify
from backend.notifications.places import Place
from backend.org.models import Deputy
from backend.records.responsiveness_model import RESPONSE_LABELS, FollowUp
from backend.suggestions.figures import year_bounds

ASK_AFTER = timedelta(days=14)
REMIND_AFTER = timedelta(days=7)
MIN_SAMPLE = 10
Z95 = 1.959964
# Answered cases whose answer stands (a reopened case has no answer until it is answered again).
ANSWERED = ("answered", "closed")
# Open cases still waiting for the deputy (not held for review, not waiting on the resident).
UNANSWERED = ("new", "acknowledged", "reopened")
QUESTION = "您的留言得到答复已经两周了，这个答复解决了您反映的问题吗？"
QUESTION_UNANSWERED = "您的留言已过答复期限，您反映的问题得到答复或解决了吗？"


def ask_and_remind(now: datetime | None = None) -> tuple[int, int]:
    """The daily job: ask about answers two weeks old, remind once those asked a week ago.
    Idempotent: a message is asked once (unique row) and reminded once (reminded_at)."""
    now = now or utcnow()
    due = db.session.execute(
        sa.select(Message.id, Message.assigned_deputy_id, Message.resident_id,
                  Message.answered_at)
        .where(Message.status.in_(ANSWERED), Message.answered_at <= now - ASK_AFTER,
               Message.assigned_deputy_id.is_not(None), Message.resident_id.is_not(None),
               ~sa.exists().where(FollowUp.message_id == Message.id))
        .order_by(Message.id)).all()
    for message_id, deputy_id, resident_id, answered_at in due:
        db.session.add(FollowUp(message_id=message_id, deputy_id=deputy_id,
                                resident_id=resident_id, answered_at=answered_at, asked_at=now))
        _tell(resident_id, message_id, "followup.ask", "留言回访：答复解决了您的问题吗？")
    silent = _ask_unanswered(now)
    reminders = list(db.session.scalars(
        sa.select(FollowUp).where(FollowUp.response.is_(None), FollowUp.reminded_at.is_(None),
                                  FollowUp.asked_at <= now - REMIND_AFTER)))
    for f in reminders:
        f.reminded_at = now
        _tell(f.resident_id, f.message_id, "followup.remind", "提醒：请告诉我们答复是否解决了问题",
              question=question_for(f))
    db.session.flush()
    return len(due) + silent, len(reminders)


def _ask_unanswered(now: datetime) -> int:
    """Ask about messages still unanswered 14 days after they became the deputy's, or past the
    station's deadline. Returns how many were asked."""
    candidates = db.session.execute(
        sa.select(Message.id, Message.assigned_deputy_id, Message.resident_id,
                  Message.created_at, Message.answer_due_at)
        .where(Message.status.in_(UNANSWERED), Message.answered_at.is_(None),
               Message.assigned_deputy_id.is_not(None), Message.resident_id.is_not(None),
               # created_at is the earliest it can have become theirs: a cheap first cut
               sa.or_(Message.answer_due_at <= now, Message.created_at <= now - ASK_AFTER),
               ~sa.exists().where(FollowUp.message_id == Message.id))
        .order_by(Message.id)).all()
    assigned = dict(db.session.execute(
        sa.select(MessageEvent.message_id, sa.func.max(MessageEvent.created_at))
        .where(MessageEvent.kind == "assign",
               MessageEvent.message_id.in_([c.id for c in candidates] or [-1]))
        .group_by(MessageEvent.message_id)).all())
    asked = 0
    for message_id, deputy_id, resident_id, created_at, answer_due_at in candidates:
        theirs_since = max(created_at, assigned.get(message_id) or created_at)
        due_at = min(theirs_since + ASK_AFTER, answer_due_at)
        if due_at > now:
            continue
        db.session.add(FollowUp(message_id=message_id, deputy_id=deputy_id, kind="unanswered",
                                resident_id=resident_id, due_at=due_at, asked_at=now))
        _tell(resident_id, message_id, "followup.ask", "留言回访：您反映的问题得到答复了吗？",
              question=QUESTION_UNANSWERED)
        asked += 1
    return asked


def _tell(resident_id: int, message_id: int, topic: str, title: str, *,
          question: str = QUESTION) -> None:
    notify("resident", resident_id, topic, title, body=question,
           place=Place("resident_message", message_id), subject=db.session.get(Message, message_id))


def question_for(followup: FollowUp) -> str:
    return QUESTION if followup.kind == "answered" else QUESTION_UNANSWERED


def open_followup(message: Message, resident) -> FollowUp | None:
    """The question this resident has yet to answer about this message, if any."""
    if resident is None:
        return None
    return db.session.scalar(sa.select(FollowUp).where(
        FollowUp.message_id == message.id, FollowUp.resident_id == resident.id,
        FollowUp.response.is_(None)))


def answer_followup(message: Message, value: str, *, resident) -> FollowUp:
    """The resident's one answer about one message."""
    followup = db.session.scalar(sa.select(FollowUp).where(FollowUp.message_id == message.id))
    if followup is None or resident is None or followup.resident_id != resident.id:
        raise Forbidden("这条留言没有需要您回答的回访", code="followup_not_yours")
    if followup.response is not None:
        raise InvalidState("您已经回答过这条留言的回访，每条留言只能回答一次",
                           code="followup_already_answered")
    if value not in RESPONSE_LABELS:
        raise ValidationFailed("请选择一项：已解决、答复了但没解决、只是收到或没有答复",
                               code="followup_bad_response",
                               errors={"response": ["请选择一项"]})
    followup.response, followup.responded_at = value, utcnow()
    db.session.flush()
    return followup


# ---- the rates ----

def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for k successes in n trials."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # At k = 0 and k = n the bound is exactly 0 or 1; floating point would say 1e-17 off.
    return (0.0 if k == 0 else centre - half, 1.0 if k == n else centre + half)


@dataclass
class DeputyResponsiveness:
    deputy_id: int
    name: str
    asked: int = 0
    asked_unanswered: int = 0  # of those, about messages that got no answer
    solved: int = 0
    unsolved: int = 0
    acknowledged: int = 0
    no_answer: int = 0
    rank: int | None = None

    @property
    def responses(self) -> int:
        return self.solved + self.unsolved + self.acknowledged + self.no_answer

    @property
    def enough(self) -> bool:
        return self.responses >= MIN_SAMPLE

    @property
    def rate(self) -> float | None:
        return self.solved / self.responses if self.enough else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson(self.solved, self.responses) if self.enough else None


CAVEAT = (f"解决率 = 回答“已解决”的群众 ÷ 回答回访的群众，按答复所在年度统计；过了答复期限仍未答复的留言"
          "同样回访，按到期所在年度统计。回答少于 {MIN_SAMPLE} "
          "人的代表只显示“样本太少”，不参加排名。括号里是 95% 置信区间：回答的人越少，区间越宽；"
          "两位代表的区间重叠时，排名先后并不说明谁做得更好。回答回访的群众是自愿的，不一定代表"
          "所有写信的群众。")


def year_responsiveness(year: int, deputy_ids: list[int] | None = None
                        ) -> list[DeputyResponsiveness]:
    """Per deputy, for answers given in the Beijing year: the ranked first (by rate, then by
    the interval's lower bound), then those with too few responses, by name. Two queries."""
    start, end = year_bounds(year)
    dated = sa.func.coalesce(FollowUp.answered_at, FollowUp.due_at)
    stmt = (sa.select(FollowUp.deputy_id, Deputy.name, FollowUp.kind, FollowUp.response,
                      sa.func.count())
            .join(Deputy, Deputy.id == FollowUp.deputy_id)
            .where(dated >= start, dated < end)
            .group_by(FollowUp.deputy_id, Deputy.name, FollowUp.kind, FollowUp.response))
    if deputy_ids is not None:
        stmt = stmt.where(FollowUp.deputy_id.in_(deputy_ids or [-1]))
    rows: dict[int, DeputyResponsiveness] = {}
    for deputy_id, name, kind, response, n in db.session.execute(stmt):
        r = rows.setdefault(deputy_id, DeputyResponsiveness(deputy_id, name))
        r.asked += n
        if kind == "unanswered":
            r.asked_unanswered += n
        if response is not None:
            setattr(r, response, getattr(r, response) + n)
    ranked = sorted((r for r in rows.values() if r.enough),
                    key=lambda r: (-r.rate, -r.interval[0], r.name))
    for i, r in enumerate(ranked, start=1):
        r.rank = i
    rest = sorted((r for r in rows.values() if not r.enough), key=lambda r: (r.name, r.deputy_id))
    return ranked + rest


def describe(r: DeputyResponsiveness) -> str:
    """One line for a deputy's record: never a bare rate."""
    silent = f"（其中留言未获答复的 {r.asked_unanswered} 人）" if r.asked_unanswered else ""
    counts = (f"回访 {r.asked} 人{silent}，回答 {r.responses} 人：已解决 {r.solved}、答复了但没解决 "
              f"{r.unsolved}、只是收到 {r.acknowledged}、没有答复 {r.no_answer}")
    if not r.enough:
        return f"{counts}（样本太少，不计算解决率）"
    low, high = r.interval
    return (f"{counts}（解决率 {r.rate * 100:.1f}%，95% 置信区间 {low * 100:.1f}%–"
            f"{high * 100:.1f}%）")
