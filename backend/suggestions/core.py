"""The state machine every suggestion operation goes through, and who hears of what.

Each operation (backend/suggestions/drafting.py for deputies and liaisons,
suggestion_review.py for the admin office, suggestion_handling.py for departments,
suggestion_residents.py for residents) calls `guard` first, then changes the row, then
`transition` (the status change and its event row), and queues notifications with the
`notify_*` helpers, all in the caller's transaction.
"""
from datetime import date, datetime

from dateutil.relativedelta import relativedelta
from flask import current_app

from backend.suggestions import policy
from backend.core.errors import Forbidden, InvalidState, NotFound
from backend.core.extensions import db
from backend.core.loading import load_for
from backend.suggestions.models import (
    HANDLING_STATUSES, Suggestion, SuggestionAssignment, SuggestionEvent,
)
from backend.accounts.resident_model import Resident
from backend.accounts.models import StaffUser
from backend.notifications.places import Place
from backend.notifications.notify import notify
from backend.core.timeutil import local

# verb: (statuses it may start from, status it leads to; None keeps the status)
TRANSITIONS = {
    # the deputy (or a liaison for them)
    "update": ({"draft", "returned"}, None),
    "submit": ({"draft", "returned"}, "submitted"),
    "cosign": ({"draft", "submitted", "returned"}, None),
    # the admin office
    "return": ({"submitted"}, "returned"),
    "merge": ({"submitted"}, "merged"),
    "assign": ({"submitted"}, "assigned"),
    # a new lead department must sign for it again
    "reassign": ({"assigned", "in_progress"}, "assigned"),
    # an assisting department let go (and perhaps replaced): the lead's work goes on
    "release_assisting": (set(HANDLING_STATUSES), None),
    "set_deadline": (set(HANDLING_STATUSES), None),
    "decide_extension": (set(HANDLING_STATUSES), None),
    # 催办: only while the department's clock runs (an event, not a status change)
    "chase": (set(HANDLING_STATUSES), None),
    "supervise": ({"submitted", "assigned", "in_progress", "answered", "reanswering", "closed"},
                  None),
    "note": ({"submitted", "returned", "assigned", "in_progress", "answered", "reanswering",
              "closed"}, None),
    # departments
    "accept": ({"assigned"}, "in_progress"),  # the lead department signs for it (签收)
    "accept_assisting": (set(HANDLING_STATUSES), None),
    "request_reassign": ({"assigned", "in_progress"}, None),
    "request_extension": (set(HANDLING_STATUSES), None),
    "opinion": (set(HANDLING_STATUSES), None),
    "answer": ({"in_progress", "reanswering"}, "answered"),
    "followup": ({"answered", "closed"}, None),
    # the deputy rates the answer
    "rate": ({"answered"}, None),
    "close": ({"answered"}, "closed"),
    "send_back": ({"answered"}, "reanswering"),
    # residents rate the outcome
    "resident_rate": ({"answered", "reanswering", "closed"}, None),
}
VERB_LABELS = {
    "update": "修改", "submit": "提交", "cosign": "附议", "return": "退回修改", "merge": "并案",
    "assign": "交办", "reassign": "调整承办单位", "release_assisting": "调整协办单位", "set_deadline": "调整办理期限",
    "decide_extension": "审批延期", "supervise": "设置督办", "note": "添加备注", "accept": "签收",
    "accept_assisting": "签收", "request_reassign": "申请调整承办单位", "request_extension": "申请延期",
    "opinion": "提出协办意见", "answer": "答复", "followup": "回头看", "rate": "评价",
    "close": "办结", "send_back": "退回重新办理", "resident_rate": "评价", "chase": "催办",
}
# Every event kind a timeline may show: the verbs, and the events that are not transitions.
EVENT_LABELS = {**VERB_LABELS, "create": "起草", "merged_in": "同类建议并入",
                "refuse_reassign": "不同意调整承办单位"}
# Events residents may read, in plain words; the rest stay between staff and departments.
PUBLIC_EVENTS = {"submit", "merge", "assign", "reassign", "answer", "close", "send_back",
                 "followup"}


def get_for(user, suggestion_id: int) -> Suggestion:
    return load_for(user, Suggestion, suggestion_id, policy.can_view,
                    missing=NotFound("建议不存在", code="suggestion_not_found"),
                    refused=Forbidden("您无权查看这件建议", code="suggestion_forbidden"))


def lock(*suggestions: Suggestion) -> None:
    """Row-lock the suggestions (in id order, so two operations never wait on each other in a
    circle) and re-read them with their assignments: the checks that follow see what is
    current, and two people acting at once take turns. The rows must be fetched (`.all()`):
    populate_existing refreshes only what is actually read."""
    ids = sorted({s.id for s in suggestions})
    db.session.execute(db.select(Suggestion).where(Suggestion.id.in_(ids)).order_by(Suggestion.id)
                       .with_for_update().execution_options(populate_existing=True)).all()
    db.session.execute(db.select(SuggestionAssignment)
                       .where(SuggestionAssignment.suggestion_id.in_(ids))
                       .execution_options(populate_existing=True)).all()
    for s in suggestions:
        db.session.expire(s, ["assignments", "replies"])


def guard(suggestion: Suggestion, verb: str, allowed: bool) -> None:
    """Permission first (403), then the status (409): nothing changes when either fails."""
    if not allowed:
        raise Forbidden("您无权对这件建议进行此操作", code="suggestion_forbidden")
    sources, _ = TRANSITIONS[verb]
    if suggestion.status not in sources:
        raise InvalidState(f"建议当前为「{suggestion.status_label}」，不能{VERB_LABELS[verb]}",
                           code=f"suggestion_cannot_{verb}")


def transition(suggestion: Suggestion, verb: str, actor, *, text: str = "",
               data: dict | None = None, public: bool | None = None) -> SuggestionEvent:
    """Apply the verb's target status (if any) and write its event row."""
    before = suggestion.status
    target = TRANSITIONS[verb][1]
    if target is not None:
        suggestion.status = target
    return event(suggestion, verb, actor, before, suggestion.status, text=text, data=data,
                 public=verb in PUBLIC_EVENTS if public is None else public)


def event(suggestion, kind, actor, from_status, to_status, *, text="", data=None,
          public=False) -> SuggestionEvent:
    row = event_row(suggestion, kind, actor, from_status, to_status, text=text, data=data,
                    public=public)
    db.session.add(row)
    return row


def event_row(suggestion, kind, actor, from_status, to_status, *, text="", data=None,
              public=False, idempotency_key=None) -> SuggestionEvent:
    """The unsaved event (idempotency.add_once adds a keyed one under its savepoint)."""
    actor_kind, label = _actor(actor)
    return SuggestionEvent(suggestion_id=suggestion.id, kind=kind, actor_kind=actor_kind,
                           actor_id=getattr(actor, "id", None), actor_label=label,
                           from_status=from_status, to_status=to_status, is_public=public,
                           text=text, data=data, idempotency_key=idempotency_key)


def _actor(actor) -> tuple[str, str]:
    if isinstance(actor, Resident):
        return "resident", "留言人"
    if actor is None:
        return "system", "系统"
    if actor.role == "deputy" and actor.deputy:
        return "staff", f"{actor.deputy.name}代表"
    if actor.role == "department" and actor.department:
        return "staff", actor.department.name
    return "staff", "联络员" if actor.role == "liaison" else "代工委"


# ---- deadlines ----

def deadline_for(assigned_on: date, *, is_complex: bool) -> date:
    """Three months from 交办 (six for a complex suggestion), the same day of the month, or the
    month's last day when it has none (30 November + 3 months = 28 February)."""
    months = current_app.config["SUGGESTION_COMPLEX_DEADLINE_MONTHS" if is_complex
                                else "SUGGESTION_DEADLINE_MONTHS"]
    return assigned_on + relativedelta(months=months)


def is_overdue(suggestion: Suggestion, today: date) -> bool:
    return (suggestion.status in HANDLING_STATUSES and suggestion.deadline_on is not None
            and today > suggestion.deadline_on)


def local_date(moment: datetime) -> date:
    return local(moment).date()


# ---- who hears of it ----

def suggestion_place(suggestion: Suggestion) -> Place:
    return Place("suggestion", suggestion.id)


def notify_deputy(suggestion: Suggestion, topic: str, title: str, body: str = "") -> None:
    notify("deputy", suggestion.deputy_id, topic, title, body=body or suggestion.title,
           place=suggestion_place(suggestion), subject=suggestion)


def notify_admins(suggestion: Suggestion, topic: str, title: str, body: str = "") -> None:
    for staff_id in db.session.scalars(db.select(StaffUser.id).filter_by(
            role="admin", is_active=True)):
        notify("staff", staff_id, topic, title, body=body or suggestion.title,
               place=suggestion_place(suggestion), subject=suggestion)


def notify_department(suggestion: Suggestion, department_id: int, topic: str, title: str,
                      body: str = "") -> None:
    for staff_id in db.session.scalars(db.select(StaffUser.id).filter_by(
            role="department", department_id=department_id, is_active=True)):
        notify("staff", staff_id, topic, title, body=body or suggestion.title,
               place=suggestion_place(suggestion), subject=suggestion)


def notify_lead(suggestion: Suggestion, topic: str, title: str, body: str = "") -> None:
    """The users of the lead department now handling it, if it has been assigned."""
    lead = suggestion.lead_assignment
    if lead is not None:
        notify_department(suggestion, lead.department_id, topic, title, body)


def notify_residents(suggestion: Suggestion, topic: str, title: str, body: str = "", *,
                     only_message_ids=None) -> int:
    """Every resident behind the suggestion (or behind `only_message_ids` and the messages
    merged into them), once each, linked to their own message (where the outcome shows). Plain
    words only: never internal notes, never other residents."""
    told: set[int] = set()
    for message in policy.source_messages(suggestion):
        if only_message_ids is not None and not (
                message.id in only_message_ids or message.merged_into_id in only_message_ids):
            continue
        if message.resident_id is None or message.resident_id in told:
            continue
        told.add(message.resident_id)
        notify("resident", message.resident_id, topic, title, body=body or suggestion.title,
               place=Place("resident_message", message.id), subject=suggestion)
    return len(told)


def excerpt(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[:n] + "…"
