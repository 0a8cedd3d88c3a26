"""What residents see of the suggestions their messages fed, and their rating of the outcome.

A resident reaches a suggestion only through their own message. What they see is built here,
in plain words, from the suggestion's columns, its current assignments, its latest answer and
its public events: never event texts, review comments, notes, assisting opinions, extension
requests, supervision, staff names, other residents or their messages.

A resident's rating is an internal event (the staff timeline shows it, residents' timelines do
not). Only an unsatisfied rating is heard of, by the deputy who made the suggestion: it is the
deputy who rates the department and may ask for a second answer, and a resident's 不满意 is
what they should weigh before doing so. Other ratings only count in the figures.
"""
from dataclasses import dataclass, field
from datetime import date, datetime

from backend.suggestions import policy
from backend.core.errors import InvalidState, ValidationFailed
from backend.core.extensions import db
from backend.messages.models import RATING_LABELS, Message
from backend.suggestions.models import (
    RESOLUTION_LABELS, Suggestion, SuggestionEvent, SuggestionFollowUp, SuggestionResidentRating,
    suggestion_messages,
)
from backend.accounts.resident_model import Resident
from backend.suggestions.models import SUGGESTION_RATINGS
from backend.suggestions import core
from backend.core.textcount import clean_text

COMMENT_MAX = 500
# Statuses a resident sees: the deputy has made the suggestion (a returned one was submitted
# and is being revised). Drafts are not made yet.
VISIBLE_STATUSES = ("submitted", "returned", "merged", "assigned", "in_progress", "answered",
                    "reanswering", "closed")
ASSIGNED_STATUSES = ("assigned", "in_progress", "answered", "reanswering", "closed")
ANSWERED_STATUSES = ("answered", "reanswering", "closed")
MERGE_DEPTH_MAX = 10  # a merge chain longer than this is a data error: stop following it

# The resident's stage of a suggestion: a coarser word than the staff status.
STAGES = {
    "submitted": "submitted", "returned": "revising", "assigned": "handling",
    "in_progress": "handling", "answered": "answered", "reanswering": "reanswering",
    "closed": "closed",
}
CONGRESS = "区人大常委会"


class AlreadyRated(InvalidState):
    code = "suggestion_already_rated"
    message = "您已经评价过这件建议的办理结果"


@dataclass
class AnswerView:
    department: str
    resolution: str  # A / B / C
    resolution_label: str
    body: str
    answered_at: datetime
    promised_by: date | None = None  # B
    milestones: list[dict] = field(default_factory=list)  # B: [{"date": "...", "text": "..."}]
    reason: str = ""  # C


@dataclass
class FollowUpView:
    """回头看, once it is done: was the B-class promise kept."""
    kept: bool | None
    kept_label: str
    result: str
    done_at: datetime | None


@dataclass
class TimelineItem:
    at: datetime
    line: str


@dataclass
class ResidentSuggestionView:
    id: int
    number: str
    title: str
    deputy_name: str  # "王建国代表"
    stage: str  # submitted / revising / handling / answered / reanswering / closed
    status_phrase: str
    merged_from: str | None  # the number of the resident's own suggestion, merged into this
    lead_department: str | None
    assisting_departments: list[str]
    deadline: date | None
    answer: AnswerView | None
    followup: FollowUpView | None
    timeline: list[TimelineItem]
    can_rate: bool
    my_rating: str | None  # satisfied / basically_satisfied / dissatisfied
    my_rating_label: str | None


# ---- what a resident sees ----

def suggestions_for_message(message: Message) -> list[ResidentSuggestionView]:
    """The suggestions this message fed, as its writer may see them, oldest first."""
    found = _suggestions_of(message)
    resident = message.resident
    return [_view(target, origin, resident) for target, origin in found]


def suggestion_for_message(message: Message, suggestion_id: int) -> Suggestion | None:
    """The suggestion (as shown: a merge target, not the merged one) if this message fed it."""
    return next((target for target, _ in _suggestions_of(message) if target.id == suggestion_id),
                None)


def _suggestions_of(message: Message) -> list[tuple[Suggestion, Suggestion | None]]:
    """(the suggestion shown, the resident's own one when that was merged into it)."""
    # A message merged into another one is handled as that one: its suggestions count.
    message_ids = [message.id] + ([message.merged_into_id] if message.merged_into_id else [])
    direct = db.session.scalars(
        db.select(Suggestion)
        .join(suggestion_messages, suggestion_messages.c.suggestion_id == Suggestion.id)
        .where(suggestion_messages.c.message_id.in_(message_ids),
               Suggestion.status.in_(VISIBLE_STATUSES))
        .order_by(Suggestion.id))
    found: dict[int, tuple[Suggestion, Suggestion | None]] = {}
    for suggestion in direct:
        target = _merge_target(suggestion)
        if target is None or target.status not in VISIBLE_STATUSES or target.status == "merged":
            continue
        origin = suggestion if target.id != suggestion.id else None
        # Reached directly beats reached through a merge: no "merged from" note then.
        if target.id not in found or found[target.id][1] is not None and origin is None:
            found[target.id] = (target, origin)
    return sorted(found.values(), key=lambda pair: pair[0].id)


def _merge_target(suggestion: Suggestion) -> Suggestion | None:
    """The suggestion that is handled: follow merges to the end."""
    seen = set()
    while suggestion.status == "merged" and suggestion.merged_into_id is not None:
        if suggestion.id in seen or len(seen) >= MERGE_DEPTH_MAX:
            return None
        seen.add(suggestion.id)
        suggestion = suggestion.merged_into
    return suggestion


def _view(s: Suggestion, origin: Suggestion | None, resident: Resident | None
          ) -> ResidentSuggestionView:
    assigned = s.status in ASSIGNED_STATUSES
    lead = s.lead_assignment
    lead_name = lead.department.name if assigned and lead else None
    assisting = [a.department.name for a in s.current_assignments
                 if assigned and a.role == "assisting"]
    rating = my_rating(s, resident) if resident is not None else None
    rateable = (s.status in core.TRANSITIONS["resident_rate"][0] and rating is None
                and policy.resident_can_view(resident, s))
    return ResidentSuggestionView(
        id=s.id, number=s.number, title=s.title, deputy_name=f"{s.deputy.name}代表",
        stage=STAGES[s.status], status_phrase=status_phrase(s, lead_name),
        merged_from=origin.number if origin is not None else None,
        lead_department=lead_name, assisting_departments=assisting,
        deadline=s.deadline_on if assigned else None,
        answer=_answer(s) if s.status in ANSWERED_STATUSES else None,
        followup=_followup(s) if s.status in ANSWERED_STATUSES else None,
        timeline=public_timeline(s, origin), can_rate=rateable,
        my_rating=rating.value if rating else None,
        my_rating_label=RATING_LABELS[rating.value] if rating else None)


def status_phrase(s: Suggestion, lead_name: str | None = None) -> str:
    if s.status == "submitted":
        return f"已提交{CONGRESS}，等待交办"
    if s.status == "returned":
        return "建议修改中，修改后将重新提交"
    if s.status in ("assigned", "in_progress"):
        return f"已交办{lead_name or '承办单位'}办理"
    if s.status == "answered":
        return "承办单位已答复"
    if s.status == "reanswering":
        return "代表对答复不满意，正在重新办理"
    if s.status == "closed":
        return "承办单位已答复，建议已办结"
    return "建议正在办理中"


def _answer(s: Suggestion) -> AnswerView | None:
    reply = s.latest_reply
    if reply is None:
        return None
    b, c = reply.resolution == "B", reply.resolution == "C"
    return AnswerView(
        department=reply.department.name, resolution=reply.resolution,
        resolution_label=RESOLUTION_LABELS[reply.resolution], body=reply.body,
        answered_at=reply.created_at, promised_by=reply.promised_by if b else None,
        milestones=_milestones(reply.milestones) if b else [], reason=reply.reason if c else "")


def _milestones(raw) -> list[dict]:
    items = []
    for item in raw or []:
        if isinstance(item, dict) and item.get("text"):
            items.append({"date": str(item.get("date") or ""), "text": str(item["text"])})
    return items


def _followup(s: Suggestion) -> FollowUpView | None:
    done = db.session.scalar(
        db.select(SuggestionFollowUp).filter_by(suggestion_id=s.id, status="done")
        .order_by(SuggestionFollowUp.id.desc()).limit(1))
    if done is None:
        return None
    label = {True: "承诺事项已落实", False: "承诺事项尚未落实"}.get(done.kept, "已完成回头看")
    return FollowUpView(kept=done.kept, kept_label=label, result=done.result,
                        done_at=done.done_at)


# ---- the timeline, in plain words ----

def public_timeline(s: Suggestion, origin: Suggestion | None = None) -> list[TimelineItem]:
    """Only events marked public, each as a sentence built here: an event's own text may be a
    staff note and is never shown. A merged suggestion's own steps come first."""
    items = []
    if origin is not None:
        items += [(e, origin) for e in _public_events(origin)]
    items += [(e, s) for e in _public_events(s)
              if not (origin is not None and e.kind == "submit")]  # someone else's submission
    items.sort(key=lambda pair: (pair[0].created_at, pair[0].id))
    leads, replies = {}, {}
    for sug in (origin, s):
        if sug is not None:
            leads.update(_lead_by_event(sug))
            replies.update(_reply_by_event(sug))
    return [TimelineItem(at=e.created_at, line=_line(e, sug, leads, replies))
            for e, sug in items]


def _public_events(s: Suggestion) -> list[SuggestionEvent]:
    return list(db.session.scalars(
        db.select(SuggestionEvent).filter_by(suggestion_id=s.id, is_public=True)
        .order_by(SuggestionEvent.id)))


def _lead_by_event(s: Suggestion) -> dict[int, str]:
    """Each assign/reassign event's lead department: the one its data names (lead_id,
    to_department_id), else by order, since every such step makes one new lead row."""
    steps = list(db.session.scalars(
        db.select(SuggestionEvent).filter(
            SuggestionEvent.suggestion_id == s.id,
            SuggestionEvent.kind.in_(("assign", "reassign"))).order_by(SuggestionEvent.id)))
    leads = [a for a in s.assignments if a.role == "lead"]
    names = {a.department_id: a.department.name for a in s.assignments}
    found = {}
    for n, e in enumerate(steps):
        data = e.data or {}
        named = names.get(data.get("lead_id") or data.get("to_department_id"))
        if named is None and n < len(leads):
            named = leads[n].department.name
        if named is not None:
            found[e.id] = named
    return found


def _reply_by_event(s: Suggestion) -> dict[int, object]:
    """Each answer event's reply: the one its data names (reply_id), else by order, one reply
    row per answer round."""
    steps = list(db.session.scalars(
        db.select(SuggestionEvent).filter_by(suggestion_id=s.id, kind="answer")
        .order_by(SuggestionEvent.id)))
    by_id = {r.id: r for r in s.replies}
    found = {}
    for n, e in enumerate(steps):
        reply = by_id.get((e.data or {}).get("reply_id"))
        if reply is None and n < len(s.replies):
            reply = s.replies[n]
        if reply is not None:
            found[e.id] = reply
    return found


def _line(e: SuggestionEvent, s: Suggestion, leads: dict, replies: dict) -> str:
    if e.kind == "submit":
        again = "修改后重新" if (e.data or {}).get("resubmission") else ""
        return f"{s.deputy.name}代表{again}向{CONGRESS}提交了建议"
    if e.kind == "merge":
        return "建议与内容相近的建议合并办理"
    if e.kind == "assign":
        lead = leads.get(e.id)
        return f"{CONGRESS}将建议交办{lead}办理" if lead else f"{CONGRESS}将建议交办承办单位办理"
    if e.kind == "reassign":
        lead = leads.get(e.id)
        return f"承办单位调整为{lead}" if lead else "承办单位作了调整"
    if e.kind == "answer":
        reply = replies.get(e.id)
        if reply is None:
            return "承办单位答复了建议"
        return f"{reply.department.name}答复了建议，答复为{RESOLUTION_LABELS[reply.resolution]}"
    if e.kind == "send_back":
        return "代表对答复不满意，建议退回承办单位重新办理"
    if e.kind == "close":
        return "建议已办结"
    if e.kind == "followup":  # opened by the scheduler, then done by the department
        kept = (e.data or {}).get("kept")
        if kept is None:
            return "答复中承诺的期限已到，开始回头看" if e.actor_kind == "system" else "完成了回头看"
        return "回头看：承诺事项已落实" if kept else "回头看：承诺事项尚未落实"
    return "建议办理有了新进展"


# ---- the resident's rating ----

def my_rating(s: Suggestion, resident: Resident | None) -> SuggestionResidentRating | None:
    if resident is None:
        return None
    return db.session.scalar(db.select(SuggestionResidentRating).filter_by(
        suggestion_id=s.id, resident_id=resident.id))


def rate_outcome(suggestion: Suggestion, value: str, comment: str = "", *,
                 resident: Resident) -> SuggestionResidentRating:
    """A resident behind the suggestion rates its outcome, once. An unsatisfied rating tells
    the deputy who made it (see the module docstring)."""
    try:
        core.guard(suggestion, "resident_rate", policy.resident_can_view(resident, suggestion))
    except InvalidState as err:  # same code; the staff wording names a staff status
        raise InvalidState("承办单位答复后才能评价办理结果", code=err.code) from err
    errors = {}
    if value not in SUGGESTION_RATINGS:
        errors["value"] = ["请选择满意、基本满意或不满意"]
    comment = clean_text(comment)
    if len(comment) > COMMENT_MAX:
        errors["comment"] = [f"不能超过 {COMMENT_MAX} 个字"]
    if errors:
        raise ValidationFailed(errors=errors)
    # Checked first for a clear answer; the unique constraint holds it under a race (the
    # handlers turn that IntegrityError into this same error).
    if my_rating(suggestion, resident) is not None:
        raise AlreadyRated()
    rating = SuggestionResidentRating(suggestion_id=suggestion.id, resident_id=resident.id,
                                      value=value, comment=comment)
    db.session.add(rating)
    label = RATING_LABELS[value]
    core.event(suggestion, "resident_rate", resident, suggestion.status, suggestion.status,
               text=f"留言人评价：{label}", data={"rating": value}, public=False)
    if value == "dissatisfied":
        core.notify_deputy(suggestion, "suggestion.resident_dissatisfied",
                           "留言人对建议的办理结果不满意",
                           body=core.excerpt(comment or suggestion.title, 200))
    return rating
