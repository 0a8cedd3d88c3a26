"""The admin office's side of a suggestion: review (accept and assign, return, merge), deadlines,
extensions, reassignment, supervision (督办) and the chase lists.

Every operation checks `policy.can_review(actor)` through `core.guard` first, then its input,
then changes rows, writes the event (`core.transition` / `core.event`) and queues notifications,
all in the caller's transaction; the handler commits once.

Decisions worth knowing:
- Reassigning restarts the department's clock from today (three or six months, as on first
  交办) unless the admin gives a date: the new department did not have the old one's months.
  `Suggestion.assigned_at` keeps the first 交办 time (the year's figures count from it); the
  new lead's own `SuggestionAssignment.assigned_at` records the move.
- Reassigning to a department that was assisting promotes it: its assisting row is replaced
  too, so one department never holds two live assignments on one suggestion.
- Merging re-points the suggestions already merged into the merged one at the target, so their
  residents keep following a live suggestion.
- Reasons and comments meant for staff never go into a public event's text (residents read
  those): the reassignment reason sits in the event's `data`.

Kept whole (past 400 lines): it is one side of the suggestion, the admin office's.
"""
import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import selectinload

from backend.suggestions import policy
from backend.core.errors import InvalidState, ValidationFailed
from backend.core import idempotency
from backend.core.extensions import db
from backend.suggestions.models import (
    HANDLING_STATUSES, SUPERVISION_LABELS, SUPERVISIONS, Suggestion, SuggestionAssignment,
    SuggestionEvent, SuggestionExtension, SuggestionRating,
)
from backend.org.models import Department
from backend.suggestions import core
from backend.notifications.notify import notify
from backend.core.parsing import row_id
from backend.core.textcount import clean_text, visible_length
from backend.core.timeutil import local_today, utcnow

# A suggestion may be merged into one that is still alive (not a draft, not returned, not
# itself merged, not closed).
MERGE_TARGET_STATUSES = ("submitted", "assigned", "in_progress", "answered", "reanswering")
# What the supervision lists (unsatisfied, key, important) show: work not yet done.
LIVE_STATUSES = ("submitted", "assigned", "in_progress", "answered", "reanswering")
CHASE_KINDS = ("overdue", "unsatisfied", "key", "important")
LIST_LIMIT = 300  # a page lists at most this many; the tab counts are exact
NUMBER_RE = re.compile(r"^JY(\d{4})-(\d{1,9})$")


def _notify_assigned(suggestion: Suggestion, department_id: int, role: str, detail: str) -> None:
    """A department given a part in the suggestion (主办 or 协办), by 交办 or by a change."""
    core.notify_department(suggestion, department_id, "suggestion.assigned",
                           f"您单位有一件新交办的代表建议（{role}）",
                           f"{suggestion.number}「{suggestion.title}」，{detail}")


def cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


# ---- review: accept and assign, return, merge ----

def accept_and_assign(suggestion: Suggestion, *, actor, lead, assisting=(), is_complex=None,
                      deadline_on: date | None = None) -> list[SuggestionAssignment]:
    """交办: submitted → assigned, to one lead department and any assisting ones, with a
    deadline (three months from today, six when complex, or the admin's own date)."""
    core.lock(suggestion)
    core.guard(suggestion, "assign", policy.can_review(actor, suggestion))
    assisting = list(assisting or ())
    errors = {}
    if not isinstance(lead, Department) or not lead.is_active:
        errors["lead_id"] = ["请选择在用的主办单位"]
    if any(not isinstance(d, Department) or not d.is_active for d in assisting):
        errors.setdefault("assisting_ids", []).append("协办单位须为在用的单位")
    elif len({d.id for d in assisting}) != len(assisting):
        errors.setdefault("assisting_ids", []).append("协办单位不能重复")
    elif isinstance(lead, Department) and any(d.id == lead.id for d in assisting):
        errors.setdefault("assisting_ids", []).append("主办单位不能同时作为协办单位")
    today = local_today()
    if deadline_on is not None and deadline_on <= today:
        errors["deadline_on"] = ["办理期限须晚于今天"]
    if errors:
        raise ValidationFailed(errors=errors, code="assign_invalid")

    if is_complex is not None:
        suggestion.is_complex = bool(is_complex)
    deadline = deadline_on or core.deadline_for(today, is_complex=suggestion.is_complex)
    now = utcnow()
    suggestion.assigned_at = now
    suggestion.deadline_on = deadline
    rows = [SuggestionAssignment(department_id=lead.id, role="lead", status="pending",
                                 assigned_at=now)]
    rows += [SuggestionAssignment(department_id=d.id, role="assisting", status="pending",
                                  assigned_at=now) for d in assisting]
    suggestion.assignments.extend(rows)
    who = "、".join([f"{lead.name}（主办）", *(f"{d.name}（协办）" for d in assisting)])
    core.transition(suggestion, "assign", actor,
                    text=f"交办{who}办理，办理期限至{cn_date(deadline)}",
                    data={"lead_id": lead.id, "assisting_ids": [d.id for d in assisting],
                          "deadline_on": deadline.isoformat(),
                          "is_complex": suggestion.is_complex})

    due = f"办理期限至{cn_date(deadline)}"
    _notify_assigned(suggestion, lead.id, "主办", f"{due}，请及时签收")
    for d in assisting:
        _notify_assigned(suggestion, d.id, "协办", f"请配合{lead.name}办理")
    core.notify_deputy(suggestion, "suggestion.assigned", "您的建议已交办",
                       f"「{suggestion.title}」已交{who}办理，{due}")
    core.notify_residents(suggestion, "suggestion.assigned", "您反映的问题已交办",
                          f"代表根据您反映的问题提出的建议，已交{who}办理，{due}。")
    return rows


def return_for_changes(suggestion: Suggestion, comment: str, *, actor) -> None:
    """退回修改: submitted → returned, with a comment only the deputy (and staff) read."""
    core.lock(suggestion)
    core.guard(suggestion, "return", policy.can_review(actor, suggestion))
    comment = _text(comment, "comment", "退回意见", minimum=2, maximum=500)
    suggestion.review_comment = comment
    core.transition(suggestion, "return", actor, text=comment)
    core.notify_deputy(suggestion, "suggestion.returned", "您的建议被退回修改",
                       f"「{core.excerpt(suggestion.title, 30)}」退回意见：{comment}")
    drafter = suggestion.drafted_by
    if drafter is not None and drafter.role == "liaison" and drafter.is_active:
        notify("staff", drafter.id, "suggestion.returned", "您代拟的建议被退回修改",
               body=f"「{core.excerpt(suggestion.title, 30)}」退回意见：{comment}",
               place=core.suggestion_place(suggestion), subject=suggestion)


def merge(suggestion: Suggestion, into: Suggestion | None, *, actor) -> None:
    """并案: submitted → merged into another live suggestion; its residents follow the target."""
    core.lock(*([suggestion, into] if into is not None else [suggestion]))
    core.guard(suggestion, "merge", policy.can_review(actor, suggestion))
    if into is None:
        raise ValidationFailed(errors={"into": ["请选择要并入的建议"]}, code="merge_target_missing")
    if into.id == suggestion.id:
        raise ValidationFailed(errors={"into": ["不能并入建议本身"]}, code="merge_into_itself")
    if into.status not in MERGE_TARGET_STATUSES:
        raise InvalidState(f"建议{into.number}当前为「{into.status_label}」，不能并入",
                           code="merge_target_state")

    # Residents hear of it before the re-pointing below, so those behind suggestions already
    # merged into this one are told too.
    core.notify_residents(suggestion, "suggestion.merged", "您反映的问题已与同类建议合并办理",
                          f"代表根据您反映的问题提出的建议，已与同类建议「{into.title}」"
                          "合并办理，办理进展会继续告诉您。")
    children = list(db.session.scalars(
        db.select(Suggestion).filter_by(merged_into_id=suggestion.id)))
    for child in children:
        child.merged_into_id = into.id
    suggestion.merged_into_id = into.id
    core.transition(suggestion, "merge", actor,
                    text=f"与同类建议{into.number}「{into.title}」合并办理",
                    data={"into_id": into.id, "moved_ids": [c.id for c in children]})
    core.event(into, "merged_in", actor, into.status, into.status, public=False,
               text=f"建议{suggestion.number}「{suggestion.title}」并入本件办理",
               data={"from_id": suggestion.id})
    core.notify_deputy(suggestion, "suggestion.merged", "您的建议已并案办理",
                       f"「{core.excerpt(suggestion.title, 30)}」已与建议{into.number}"
                       f"「{core.excerpt(into.title, 30)}」合并办理")
    if into.deputy_id != suggestion.deputy_id:
        core.notify_deputy(into, "suggestion.merged_in", "有同类建议并入您的建议",
                           f"建议{suggestion.number}「{core.excerpt(suggestion.title, 30)}」"
                           "已并入您的建议一并办理")


def find_by_number(text: str) -> Suggestion | None:
    """A suggestion by its 建议编号 ("JY2026-00012") or plain id ("12")."""
    text = (text or "").strip().upper()
    if text.isdigit():
        plain = row_id(text)
        return db.session.get(Suggestion, plain) if plain else None
    match = NUMBER_RE.match(text)
    if not match:
        return None
    found = db.session.get(Suggestion, int(match.group(2)))
    return found if found is not None and found.number == text else None


# ---- deadlines and extensions ----

def set_deadline(suggestion: Suggestion, deadline_on, reason: str, *, actor) -> None:
    core.lock(suggestion)
    core.guard(suggestion, "set_deadline", policy.can_review(actor, suggestion))
    errors = {}
    if not isinstance(deadline_on, date):
        errors["deadline_on"] = ["请填写新的办理期限"]
    elif deadline_on <= local_today():
        errors["deadline_on"] = ["办理期限须晚于今天"]
    elif deadline_on == suggestion.deadline_on:
        errors["deadline_on"] = ["新期限与原期限相同"]
    try:
        reason = _text(reason, "reason", "调整理由", minimum=2, maximum=500)
    except ValidationFailed as err:
        errors.update(err.errors)
    if errors:
        raise ValidationFailed(errors=errors, code="deadline_invalid")
    before = suggestion.deadline_on
    suggestion.deadline_on = deadline_on
    core.transition(suggestion, "set_deadline", actor,
                    text=f"办理期限调整为{cn_date(deadline_on)}：{reason}",
                    data={"before": before.isoformat() if before else None,
                          "after": deadline_on.isoformat(), "reason": reason})
    core.notify_lead(suggestion, "suggestion.deadline", "建议办理期限已调整",
                 f"{suggestion.number}办理期限调整为{cn_date(deadline_on)}：{reason}")


def decide_extension(extension: SuggestionExtension, approve: bool, note: str, *,
                     actor) -> None:
    """审批延期: approving moves the deadline to the date the department asked for."""
    suggestion = db.session.get(Suggestion, extension.suggestion_id)
    core.lock(suggestion)
    # Under the suggestion's lock: a decision made meanwhile by another admin shows here.
    db.session.refresh(extension)
    core.guard(suggestion, "decide_extension", policy.can_review(actor, suggestion))
    if extension.status != "pending":
        raise InvalidState(f"该延期申请已{extension.status_label}，不能再次审批",
                           code="extension_decided")
    note = (note or "").strip()
    if not approve:
        note = _text(note, "note", "不同意的理由", minimum=2, maximum=500)
    elif len(note) > 500:
        raise ValidationFailed(errors={"note": ["审批意见不能超过500字"]}, code="note_too_long")
    if approve and extension.requested_until <= local_today():
        raise InvalidState("申请延至的日期已过，请直接调整办理期限", code="extension_expired")
    if approve and suggestion.deadline_on and extension.requested_until <= suggestion.deadline_on:
        raise InvalidState("办理期限已经晚于申请延至的日期，无需再延期；请不同意并说明",
                           code="extension_moot")
    if extension.department_id not in {a.department_id for a in suggestion.current_assignments
                                       if a.role == "lead"}:
        raise InvalidState("申请延期的单位已不再主办这件建议", code="extension_department_replaced")
    before = suggestion.deadline_on
    if approve:
        suggestion.deadline_on = extension.requested_until
    extension.status = "approved" if approve else "refused"
    extension.decided_by_id = actor.id
    extension.decided_at = utcnow()
    extension.decision_note = note
    until = cn_date(extension.requested_until)
    core.transition(suggestion, "decide_extension", actor,
                    text=(f"同意延期至{until}" if approve else f"不同意延期至{until}")
                    + (f"：{note}" if note else ""),
                    data={"extension_id": extension.id, "approved": approve,
                          "before": before.isoformat() if before else None,
                          "after": suggestion.deadline_on.isoformat()
                          if suggestion.deadline_on else None})
    core.notify_department(
        suggestion, extension.department_id, "suggestion.extension_decided",
        "延期申请已同意" if approve else "延期申请未获同意",
        f"{suggestion.number}" + (f"办理期限延至{until}" if approve
                                  else f"申请延期至{until}未获同意：{note}"))


# ---- reassignment ----

def reassign(suggestion: Suggestion, new_lead, reason: str, *, actor,
             deadline_on: date | None = None) -> SuggestionAssignment:
    """调整承办单位: the lead assignment is replaced by a new pending one; the suggestion goes
    back to assigned for the new department to sign for, with a fresh deadline."""
    core.lock(suggestion)
    core.guard(suggestion, "reassign", policy.can_review(actor, suggestion))
    old = suggestion.lead_assignment
    errors = {}
    if not isinstance(new_lead, Department) or not new_lead.is_active:
        errors["department_id"] = ["请选择在用的承办单位"]
    elif old is not None and old.department_id == new_lead.id:
        errors["department_id"] = ["新的承办单位与当前主办单位相同"]
    today = local_today()
    if deadline_on is not None and deadline_on <= today:
        errors["deadline_on"] = ["办理期限须晚于今天"]
    try:
        reason = _text(reason, "reason", "调整理由", minimum=2, maximum=500)
    except ValidationFailed as err:
        errors.update(err.errors)
    if errors:
        raise ValidationFailed(errors=errors, code="reassign_invalid")

    replaced = [a for a in suggestion.current_assignments
                if a is old or a.department_id == new_lead.id]
    for a in replaced:
        a.status = "replaced"
    # The old lead's request for more time goes with it: the new lead asks for its own.
    for ext in db.session.scalars(db.select(SuggestionExtension).filter_by(
            suggestion_id=suggestion.id, status="pending")):
        ext.status, ext.decided_by_id, ext.decided_at = "refused", actor.id, utcnow()
        ext.decision_note = "承办单位已调整，此申请不再审批"
    db.session.flush()  # the old lead stops being live before the new one is written
    before = suggestion.deadline_on
    deadline = deadline_on or core.deadline_for(today, is_complex=suggestion.is_complex)
    suggestion.deadline_on = deadline
    row = SuggestionAssignment(department_id=new_lead.id, role="lead", status="pending",
                               assigned_at=utcnow())
    suggestion.assignments.append(row)
    core.transition(suggestion, "reassign", actor,
                    text=f"承办单位调整为{new_lead.name}，办理期限至{cn_date(deadline)}",
                    data={"from_department_id": old.department_id if old else None,
                          "to_department_id": new_lead.id, "reason": reason,
                          "replaced_assignment_ids": [a.id for a in replaced],
                          "before": before.isoformat() if before else None,
                          "after": deadline.isoformat()})
    if old is not None:
        core.notify_department(suggestion, old.department_id, "suggestion.reassigned",
                               "建议已调整承办单位",
                               f"{suggestion.number}「{core.excerpt(suggestion.title, 30)}」"
                               f"已改由{new_lead.name}主办：{reason}")
    _notify_assigned(suggestion, new_lead.id, "主办", f"办理期限至{cn_date(deadline)}，请及时签收")
    core.notify_deputy(suggestion, "suggestion.reassigned", "您的建议已调整承办单位",
                       f"「{core.excerpt(suggestion.title, 30)}」承办单位调整为{new_lead.name}")
    core.notify_residents(suggestion, "suggestion.reassigned", "您反映的问题承办单位已调整",
                          f"承办单位调整为{new_lead.name}，办理期限至{cn_date(deadline)}。")
    return row


def refuse_reassign(assignment: SuggestionAssignment, note: str, *, actor) -> None:
    """不同意调整: the department keeps it, back to where it stood before asking."""
    suggestion = assignment.suggestion
    core.lock(suggestion)
    db.session.refresh(assignment)
    core.guard(suggestion, "reassign", policy.can_review(actor, suggestion))
    if assignment.status != "reassign_requested":
        raise InvalidState("该承办单位没有申请调整", code="reassign_not_requested")
    note = _text(note, "note", "不同意的理由", minimum=2, maximum=500)
    assignment.status = "accepted" if assignment.accepted_at else "pending"
    core.event(suggestion, "refuse_reassign", actor, suggestion.status, suggestion.status,
               text=f"不同意{assignment.department.name}调整承办单位的申请：{note}",
               data={"assignment_id": assignment.id, "note": note})
    core.notify_department(suggestion, assignment.department_id, "suggestion.reassign_refused",
                           "调整承办单位的申请未获同意",
                           f"{suggestion.number}请继续办理：{note}")


def release_assisting(assignment: SuggestionAssignment, note: str, *, actor,
                      replacement: Department | None = None) -> SuggestionAssignment | None:
    """同意协办单位的调整申请: the assisting department is let go and, if the office names one,
    another takes its place (pending, to sign for). The lead's work and deadline go on."""
    suggestion = assignment.suggestion
    core.lock(suggestion)
    db.session.refresh(assignment)
    core.guard(suggestion, "release_assisting", policy.can_review(actor, suggestion))
    if assignment.status != "reassign_requested" or assignment.role != "assisting":
        raise InvalidState("该协办单位没有申请调整", code="reassign_not_requested")
    errors = {}
    live = {a.department_id for a in suggestion.current_assignments}
    if replacement is not None and (not replacement.is_active or replacement.id in live):
        errors["department_id"] = ["请选择在用、且尚未承办这件建议的单位"]
    try:
        note = _text(note, "note", "调整说明", minimum=2, maximum=500)
    except ValidationFailed as err:
        errors.update(err.errors)
    if errors:
        raise ValidationFailed(errors=errors, code="release_invalid")

    assignment.status = "replaced"
    row = None
    if replacement is not None:
        row = SuggestionAssignment(department_id=replacement.id, role="assisting",
                                   status="pending", assigned_at=utcnow())
        suggestion.assignments.append(row)
    released = assignment.department.name
    text = (f"同意{released}不再协办，改由{replacement.name}协办" if replacement
            else f"同意{released}不再协办")
    core.transition(suggestion, "release_assisting", actor, text=text, public=False,
                    data={"assignment_id": assignment.id, "note": note,
                          "to_department_id": replacement.id if replacement else None})
    core.notify_department(suggestion, assignment.department_id, "suggestion.released",
                           "调整协办的申请已获同意",
                           f"{suggestion.number}「{core.excerpt(suggestion.title, 30)}」不再由您单位协办")
    if replacement is not None:
        _notify_assigned(suggestion, replacement.id, "协办", "请配合主办单位办理")
    core.notify_lead(suggestion, "suggestion.assisting_changed", "协办单位已调整", text)
    return row


# ---- supervision, chasing, notes ----

def set_supervision(suggestion: Suggestion, level: str | None, note: str, *, actor) -> None:
    """督办: key (by congress leaders), important (by a working committee), or None to clear."""
    core.lock(suggestion)
    core.guard(suggestion, "supervise", policy.can_review(actor, suggestion))
    level = level or None
    if level is not None and level not in SUPERVISIONS:
        raise ValidationFailed(errors={"level": ["请选择督办级别"]}, code="supervision_invalid")
    note = _text(note, "note", "督办说明", minimum=0, maximum=200) if level else ""
    if level == suggestion.supervision and note == suggestion.supervision_note:
        raise ValidationFailed(errors={"level": ["督办设置没有变化"]}, code="supervision_unchanged")
    before = suggestion.supervision
    suggestion.supervision = level
    suggestion.supervision_note = note
    label = SUPERVISION_LABELS.get(level or "", "")
    core.transition(suggestion, "supervise", actor,
                    text=(f"列为{label}" + (f"：{note}" if note else "")) if level else "取消督办",
                    data={"before": before, "after": level, "note": note})
    if level:
        core.notify_lead(suggestion, "suggestion.supervised", f"该建议已列为{label}",
                     f"{suggestion.number}「{core.excerpt(suggestion.title, 30)}」"
                     + (f"：{note}" if note else "，请抓紧办理"))


def chase(suggestion: Suggestion, *, actor, note: str = "") -> None:
    """催办: remind the lead department; only while the department's clock runs."""
    core.guard(suggestion, "note", policy.can_review(actor, suggestion))
    if suggestion.status not in core.TRANSITIONS["chase"][0]:
        raise InvalidState(f"建议当前为「{suggestion.status_label}」，不需要催办",
                           code="suggestion_cannot_chase")
    note = _text(note, "note", "催办内容", minimum=0, maximum=500)
    today = local_today()
    days = (today - suggestion.deadline_on).days if core.is_overdue(suggestion, today) else 0
    core.event(suggestion, "chase", actor, suggestion.status, suggestion.status,
               text="催办" + (f"：{note}" if note else ""),
               data={"overdue_days": days, "note": note})
    due = (f"已超期{days}天" if days else
           f"办理期限至{cn_date(suggestion.deadline_on)}" if suggestion.deadline_on else "")
    core.notify_lead(suggestion, "suggestion.chased", "催办：请抓紧办理代表建议",
                 "，".join(p for p in (f"{suggestion.number}「{core.excerpt(suggestion.title, 30)}」",
                                       due, note) if p))


def add_note(suggestion: Suggestion, text: str, *, actor) -> None:
    """内部备注: staff only, never shown to residents or told to anyone."""
    core.guard(suggestion, "note", policy.can_review(actor, suggestion))
    text = _text(text, "text", "备注", minimum=2, maximum=1000)
    core.transition(suggestion, "note", actor, text=text, public=False)


def add_note_once(suggestion: Suggestion, text: str, *, actor,
                  idempotency_key) -> tuple[SuggestionEvent, bool]:
    """add_note from the review page's form, which a double click or a resubmit posts twice:
    (the note, whether it was written now); the same key again writes nothing
    (backend/core/idempotency.py)."""
    core.guard(suggestion, "note", policy.can_review(actor, suggestion))
    return idempotency.record_once(
        SuggestionEvent, idempotency_key, what="条备注",
        make=lambda key: core.event_row(
            suggestion, "note", actor, suggestion.status, suggestion.status,
            text=_text(text, "text", "备注", minimum=2, maximum=1000), idempotency_key=key),
        same=lambda note: (note.suggestion_id, note.kind, note.text) == (
            suggestion.id, "note", clean_text(text or "")))


# ---- the review page's lists ----

@dataclass(frozen=True)
class ChaseItem:
    suggestion: Suggestion
    overdue_days: int  # 0 when not overdue


def _preloaded(stmt):
    return stmt.options(
        selectinload(Suggestion.deputy),
        selectinload(Suggestion.assignments).selectinload(SuggestionAssignment.department))


def review_queue(limit: int = LIST_LIMIT) -> list[Suggestion]:
    """Submitted ones waiting for review, oldest first."""
    return list(db.session.scalars(_preloaded(
        db.select(Suggestion).filter_by(status="submitted")
        .order_by(Suggestion.submitted_at, Suggestion.id).limit(limit))))


def pending_extensions(limit: int = LIST_LIMIT) -> list[tuple[SuggestionExtension, Suggestion]]:
    """Extension requests waiting for a decision on suggestions still being handled."""
    rows = db.session.execute(
        db.select(SuggestionExtension, Suggestion)
        .join(Suggestion, Suggestion.id == SuggestionExtension.suggestion_id)
        .where(SuggestionExtension.status == "pending",
               Suggestion.status.in_(HANDLING_STATUSES))
        .options(selectinload(SuggestionExtension.department))
        .order_by(SuggestionExtension.created_at, SuggestionExtension.id).limit(limit)).all()
    return [(ext, s) for ext, s in rows]


def pending_reassign_requests(limit: int = LIST_LIMIT) -> list[SuggestionAssignment]:
    """Departments asking to hand a suggestion back, on suggestions that may still move."""
    return list(db.session.scalars(
        db.select(SuggestionAssignment)
        .join(Suggestion, Suggestion.id == SuggestionAssignment.suggestion_id)
        .where(SuggestionAssignment.status == "reassign_requested",
               Suggestion.status.in_(core.TRANSITIONS["reassign"][0]))
        .options(selectinload(SuggestionAssignment.department),
                 selectinload(SuggestionAssignment.suggestion).selectinload(Suggestion.deputy))
        .order_by(SuggestionAssignment.id).limit(limit)))


def _chase_where(today: date, kind: str):
    if kind == "overdue":
        # core.is_overdue: a handling status and today past the deadline.
        return (Suggestion.status.in_(HANDLING_STATUSES), Suggestion.deadline_on.is_not(None),
                Suggestion.deadline_on < today)
    if kind == "unsatisfied":
        # Still being handled, or closed with the deputy unsatisfied to the last (the rating
        # limit closed it; it stays here for supervision).
        last_rating = (db.select(SuggestionRating.value)
                       .where(SuggestionRating.suggestion_id == Suggestion.id)
                       .order_by(SuggestionRating.round.desc()).limit(1).scalar_subquery())
        return (Suggestion.flagged_unsatisfied.is_(True),
                db.or_(Suggestion.status.in_(LIVE_STATUSES),
                       db.and_(Suggestion.status == "closed", last_rating == "dissatisfied")))
    if kind in SUPERVISIONS:
        return (Suggestion.status.in_(LIVE_STATUSES), Suggestion.supervision == kind)
    raise ValueError(f"unknown chase list {kind!r}")


def chase_list(today: date, *, kind: str, limit: int = LIST_LIMIT) -> list[ChaseItem]:
    """overdue: oldest deadline first, with the days overdue; unsatisfied / key / important:
    the live ones, nearest deadline first."""
    order = ((Suggestion.deadline_on, Suggestion.id) if kind == "overdue" else
             (Suggestion.deadline_on.is_(None), Suggestion.deadline_on, Suggestion.id))
    rows = db.session.scalars(_preloaded(
        db.select(Suggestion).where(*_chase_where(today, kind)).order_by(*order).limit(limit)))
    return [ChaseItem(s, (today - s.deadline_on).days if core.is_overdue(s, today) else 0)
            for s in rows]


def review_counts(today: date) -> dict[str, int]:
    """Exact counts for the review page's tabs."""
    def count(stmt) -> int:
        return db.session.scalar(db.select(db.func.count()).select_from(stmt.subquery()))
    counts = {
        "review": count(db.select(Suggestion.id).filter_by(status="submitted")),
        "extensions": count(
            db.select(SuggestionExtension.id)
            .join(Suggestion, Suggestion.id == SuggestionExtension.suggestion_id)
            .where(SuggestionExtension.status == "pending",
                   Suggestion.status.in_(HANDLING_STATUSES))),
        "reassign": count(
            db.select(SuggestionAssignment.id)
            .join(Suggestion, Suggestion.id == SuggestionAssignment.suggestion_id)
            .where(SuggestionAssignment.status == "reassign_requested",
                   Suggestion.status.in_(core.TRANSITIONS["reassign"][0]))),
    }
    for kind in CHASE_KINDS:
        counts[kind] = count(db.select(Suggestion.id).where(*_chase_where(today, kind)))
    return counts


def suggestion_requests(suggestion: Suggestion) -> tuple[list[SuggestionExtension],
                                                         list[SuggestionAssignment]]:
    """One suggestion's pending extension and reassignment requests (for its detail page)."""
    extensions = list(db.session.scalars(
        db.select(SuggestionExtension)
        .filter_by(suggestion_id=suggestion.id, status="pending")
        .options(selectinload(SuggestionExtension.department))
        .order_by(SuggestionExtension.id)))
    requests = [a for a in suggestion.current_assignments if a.status == "reassign_requested"]
    return extensions, requests


def merge_candidates(suggestion: Suggestion, limit: int = 10) -> list[Suggestion]:
    """Live suggestions a submitted one could be merged into: same category first, newest."""
    return list(db.session.scalars(
        db.select(Suggestion)
        .where(Suggestion.status.in_(MERGE_TARGET_STATUSES), Suggestion.id != suggestion.id)
        .order_by((Suggestion.category == suggestion.category).desc(), Suggestion.id.desc())
        .limit(limit)))


# ---- helpers ----


def _text(value, field: str, label: str, *, minimum: int, maximum: int) -> str:
    # Cleaned as everywhere else (backend/core/textcount.py), so stray control characters never count
    # towards the minimum; the maximum guards the column, which counts code points.
    value = clean_text(value or "")
    if visible_length(value) < minimum:
        raise ValidationFailed(errors={field: [f"请填写{label}（至少{minimum}个字）"]},
                               code=f"{field}_required")
    if len(value) > maximum:
        raise ValidationFailed(errors={field: [f"{label}不能超过{maximum}字"]},
                               code=f"{field}_too_long")
    return value
