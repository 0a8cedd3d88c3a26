"""A department's side of a suggestion: sign for it, ask for reassignment or more time, assisting
opinions, the A/B/C answer, and the 回头看 re-check of B answers.

Every operation follows suggestion_core: the guard (permission, then status) first, then the
input, then the rows, then `transition` (the event row), then the outbox — all in the caller's
transaction. Each one first locks the suggestion's row (PostgreSQL) and re-reads it, so two
clicks or two department users never both pass a check meant for one.

Kept whole (past 400 lines): it is one side of the suggestion, the department's.
"""
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from backend.suggestions import policy
from backend.core.errors import Forbidden, InvalidState, ValidationFailed
from backend.core.extensions import db
from backend.suggestions.models import (
    HANDLING_STATUSES, RESOLUTION_LABELS, RESOLUTIONS, DepartmentReply, Suggestion,
    SuggestionAssignment, SuggestionExtension, SuggestionFollowUp,
)
from backend.suggestions import core
from backend.core.textcount import clean_text, visible_length
from backend.core.timeutil import format_date_cn, local_today, utcnow

REASON_MIN, REASON_MAX = 4, 500
OPINION_MIN, OPINION_MAX = 10, 2000
BODY_MIN, BODY_MAX = 20, 5000
C_REASON_MIN, C_REASON_MAX = 4, 2000
RESULT_MIN, RESULT_MAX = 10, 2000
MILESTONE_TEXT_MAX = 100
MAX_MILESTONES = 10
# A typo such as 2062 for 2026 should not become an approved deadline.
EXTENSION_MAX_DAYS = 366


def _forbid() -> None:
    raise Forbidden("您无权对这件建议进行此操作", code="suggestion_forbidden")


def _text(value: str | None) -> str:
    return clean_text(value or "")


def _length_error(text: str, label: str, lo: int, hi: int) -> list[str] | None:
    n = visible_length(text)
    if n < lo:
        return [f"{label}至少 {lo} 个字" if n else f"请填写{label}"]
    if n > hi:
        return [f"{label}不能超过 {hi} 个字（现在 {n} 个字）"]
    return None


def _dept_name(assignment: SuggestionAssignment) -> str:
    return assignment.department.name


# ---- 签收 ----

def accept(suggestion: Suggestion, *, actor) -> SuggestionAssignment:
    """签收: the lead's signature starts the work (assigned → in_progress); an assisting
    department's only records that it has taken it on."""
    core.lock(suggestion)
    assignment = policy.department_assignment(actor, suggestion)
    if assignment is None or not policy.can_handle(actor, suggestion):
        _forbid()
    if assignment.status != "pending":
        raise InvalidState(f"您单位的交办状态为「{assignment.status_label}」，不需要再签收",
                           code="assignment_not_pending")
    verb = "accept" if assignment.role == "lead" else "accept_assisting"
    core.guard(suggestion, verb, True)
    assignment.status, assignment.accepted_at = "accepted", utcnow()
    core.transition(suggestion, verb, actor,
                    text=f"{_dept_name(assignment)}签收（{assignment.role_label}）",
                    data={"assignment_id": assignment.id, "role": assignment.role})
    if assignment.role == "assisting":
        lead = suggestion.lead_assignment
        if lead is not None:
            core.notify_department(suggestion, lead.department_id, "suggestion.assist_accepted",
                                   f"协办单位{_dept_name(assignment)}已签收")
    return assignment


# ---- 申请调整承办单位 ----

def request_reassign(suggestion: Suggestion, reason: str, *, actor) -> SuggestionAssignment:
    """Ask the office to move the assignment elsewhere; one open request at a time. The
    assignment keeps its place until the office decides (the event records what it was)."""
    core.lock(suggestion)
    assignment = policy.department_assignment(actor, suggestion)
    core.guard(suggestion, "request_reassign", policy.can_handle(actor, suggestion))
    if assignment.status == "reassign_requested":
        raise InvalidState("您单位已申请调整，请等待代工委处理", code="reassign_pending")
    if assignment.status not in ("pending", "accepted"):
        raise InvalidState(f"您单位的交办状态为「{assignment.status_label}」，不能申请调整",
                           code="assignment_cannot_request_reassign")
    reason = _text(reason)
    error = _length_error(reason, "申请调整的理由", REASON_MIN, REASON_MAX)
    if error:
        raise ValidationFailed(errors={"reason": error})
    previous = assignment.status
    assignment.status, assignment.reassign_reason = "reassign_requested", reason
    core.transition(suggestion, "request_reassign", actor,
                    text=f"{_dept_name(assignment)}申请调整承办单位（{assignment.role_label}）：{reason}",
                    data={"assignment_id": assignment.id, "role": assignment.role,
                          "previous_status": previous, "reason": reason})
    core.notify_admins(suggestion, "suggestion.reassign_requested", "承办单位申请调整",
                       body=f"{_dept_name(assignment)}（{assignment.role_label}）："
                            f"{core.excerpt(reason)}")
    return assignment


# ---- 申请延期 ----

def pending_extension(suggestion: Suggestion) -> SuggestionExtension | None:
    return db.session.scalar(sa.select(SuggestionExtension).filter_by(
        suggestion_id=suggestion.id, status="pending").limit(1))


def request_extension(suggestion: Suggestion, until: date | None, reason: str, *,
                      actor) -> SuggestionExtension:
    """The lead department asks for a later deadline; the office approves or refuses."""
    core.lock(suggestion)
    core.guard(suggestion, "request_extension", policy.can_answer(actor, suggestion))
    assignment = policy.department_assignment(actor, suggestion)
    if pending_extension(suggestion) is not None:
        raise InvalidState("已有一份延期申请在等待审批，请等审批后再申请",
                           code="extension_pending")
    errors = {}
    current = suggestion.deadline_on or local_today()
    if until is None:
        errors["until"] = ["请选择希望延期到的日期"]
    elif until <= local_today():  # an overdue one's deadline is past: so is a date just after it
        errors["until"] = ["延期日期须晚于今天"]
    elif until <= current:
        errors["until"] = [f"延期日期须晚于现在的办理期限（{format_date_cn(current)}）"]
    elif (until - current).days > EXTENSION_MAX_DAYS:
        errors["until"] = ["延期不能超过一年，请检查日期"]
    reason = _text(reason)
    error = _length_error(reason, "延期理由", REASON_MIN, REASON_MAX)
    if error:
        errors["reason"] = error
    if errors:
        raise ValidationFailed(errors=errors)
    ext = SuggestionExtension(suggestion_id=suggestion.id, department_id=assignment.department_id,
                              requested_until=until, reason=reason)
    db.session.add(ext)
    db.session.flush()
    core.transition(suggestion, "request_extension", actor,
                    text=f"{_dept_name(assignment)}申请延期至{format_date_cn(until)}：{reason}",
                    data={"extension_id": ext.id, "until": until.isoformat(),
                          "deadline_on": current.isoformat(), "reason": reason})
    core.notify_admins(suggestion, "suggestion.extension_requested", "承办单位申请延期",
                       body=f"{_dept_name(assignment)}申请延期至{until.month}月{until.day}日："
                            f"{core.excerpt(reason)}")
    return ext


# ---- 协办意见 ----

def send_opinion(suggestion: Suggestion, text: str, *, actor) -> SuggestionAssignment:
    """An assisting department's opinion for the lead. It may be revised until the lead
    answers; every version stays in an event."""
    core.lock(suggestion)
    assignment = policy.department_assignment(actor, suggestion)
    core.guard(suggestion, "opinion",
               assignment is not None and assignment.role == "assisting")
    if assignment.accepted_at is None:
        raise InvalidState("请先签收，再提出协办意见", code="assignment_not_accepted")
    text = _text(text)
    error = _length_error(text, "协办意见", OPINION_MIN, OPINION_MAX)
    if error:
        raise ValidationFailed(errors={"text": error})
    revised = bool(assignment.opinion)
    assignment.opinion, assignment.opinion_at = text, utcnow()
    core.transition(suggestion, "opinion", actor,
                    text=f"{_dept_name(assignment)}{'修改了' if revised else '提出'}协办意见：{text}",
                    data={"assignment_id": assignment.id, "revised": revised, "opinion": text})
    lead = suggestion.lead_assignment
    if lead is not None:
        core.notify_department(suggestion, lead.department_id, "suggestion.opinion",
                               f"协办单位{'修改了' if revised else '提出了'}意见",
                               body=f"{_dept_name(assignment)}：{core.excerpt(text)}")
    return assignment


def missing_opinions(suggestion: Suggestion) -> list[SuggestionAssignment]:
    """Live assisting assignments that have not sent their opinion yet."""
    return [a for a in suggestion.current_assignments
            if a.role == "assisting" and not a.opinion_at]


# ---- 答复 ----

def answer(suggestion: Suggestion, *, actor, resolution: str, body: str,
           promised_by: date | None = None, milestones=(), reason: str = "",
           today: date | None = None) -> DepartmentReply:
    """The lead department's written answer, class A, B (by when, with milestones) or C (why
    not now). The deputy is asked to rate it; residents hear the class and the answer."""
    core.lock(suggestion)
    core.guard(suggestion, "answer", policy.can_answer(actor, suggestion))
    lead = policy.department_assignment(actor, suggestion)
    rounds = db.session.scalar(sa.select(sa.func.count()).select_from(DepartmentReply)
                               .filter_by(suggestion_id=suggestion.id))
    if rounds == 0:
        missing = missing_opinions(suggestion)
        if missing:
            names = "、".join(_dept_name(a) for a in missing)
            raise InvalidState(f"协办单位尚未提出意见：{names}。请等协办意见到齐后再答复",
                               code="assisting_opinion_missing")
    today = today or local_today()
    errors: dict[str, list[str]] = {}
    if resolution not in RESOLUTIONS:
        errors["resolution"] = ["请选择答复类别（A类、B类或C类）"]
    body = _text(body)
    error = _length_error(body, "答复内容", BODY_MIN, BODY_MAX)
    if error:
        errors["body"] = error
    stored_milestones, reason = None, _text(reason)
    if resolution == "B":
        if promised_by is None:
            errors["promised_by"] = ["B类答复须填写计划解决的日期"]
        elif promised_by <= today:
            errors["promised_by"] = ["计划解决的日期须晚于今天"]
        stored_milestones = _milestones(milestones, promised_by, errors)
    else:
        promised_by = None
    if resolution == "C":
        error = _length_error(reason, "暂时难以解决的原因", C_REASON_MIN, C_REASON_MAX)
        if error:
            errors["reason"] = error
    else:
        reason = ""
    if errors:
        raise ValidationFailed(errors=errors)

    if lead.status == "reassign_requested":
        # Answering is the department's own decision to keep it: the request lapses.
        lead.status = "accepted"
    for other in suggestion.current_assignments:
        if other.role == "assisting" and other.status == "reassign_requested":
            # The assisting part ends with the answer: nothing is left to hand elsewhere.
            other.status = "accepted" if other.accepted_at else "pending"
    reply = DepartmentReply(suggestion_id=suggestion.id, department_id=lead.department_id,
                            staff_id=actor.id, round=rounds + 1, resolution=resolution, body=body,
                            promised_by=promised_by, milestones=stored_milestones, reason=reason)
    db.session.add(reply)
    db.session.flush()
    # A new answer replaces the old promise: a 回头看 still open on it has nothing to check.
    for followup in db.session.scalars(sa.select(SuggestionFollowUp).filter_by(
            suggestion_id=suggestion.id, status="open")):
        followup.status, followup.done_at = "done", utcnow()
        followup.result = "承办单位已重新答复，原承诺不再回头看"
    if suggestion.answered_at is None:
        suggestion.answered_at = utcnow()
    label = RESOLUTION_LABELS[resolution]
    core.transition(suggestion, "answer", actor,
                    text=f"{_dept_name(lead)}{'重新' if rounds else ''}答复：{label}",
                    data={"reply_id": reply.id, "round": reply.round, "resolution": resolution})
    core.notify_deputy(suggestion, "suggestion.answered", "承办单位已答复您的建议，请评价",
                       body=f"{suggestion.title}：{label}")
    plan = f"计划{promised_by.year}年{promised_by.month}月{promised_by.day}日前解决。" if promised_by else ""
    core.notify_residents(suggestion, "suggestion.answered", "您反映的问题有了答复",
                          body=f"答复类别：{label}。{plan}{core.excerpt(body, 120)}")
    return reply


def _milestones(milestones, promised_by: date | None, errors: dict) -> list[dict] | None:
    """[(date, text), ...] (or dicts with date/text) → sorted [{"date": iso, "text": ...}]."""
    rows = []
    for item in milestones or ():
        when, text = (item.get("date"), item.get("text")) if isinstance(item, dict) else item
        if isinstance(when, str):
            try:
                when = date.fromisoformat(when)
            except ValueError:
                when = None
        rows.append((when, _text(text)))
    rows = [(d, t) for d, t in rows if d is not None or t]
    problems = []
    if len(rows) > MAX_MILESTONES:
        problems.append(f"阶段安排最多 {MAX_MILESTONES} 项")
    for n, (when, text) in enumerate(rows, 1):
        if when is None or not text:
            problems.append(f"第{n}项阶段安排须同时填写日期和内容")
        elif visible_length(text) > MILESTONE_TEXT_MAX:
            problems.append(f"第{n}项阶段安排的内容不能超过 {MILESTONE_TEXT_MAX} 个字")
        elif promised_by is not None and when > promised_by:
            problems.append(f"第{n}项阶段安排的日期晚于计划解决的日期")
    if problems:
        errors["milestones"] = problems
        return None
    return [{"date": d.isoformat(), "text": t} for d, t in sorted(rows)] or None


# ---- 回头看 ----

def open_due_followups(today: date) -> int:
    """Open a 回头看 for each suggestion whose latest answer is class B and whose promised date
    has come. Safe to run twice, or from two schedulers at once: the unique reply_id decides,
    one savepoint per row."""
    latest = (sa.select(DepartmentReply.suggestion_id,
                        sa.func.max(DepartmentReply.round).label("round"))
              .group_by(DepartmentReply.suggestion_id).subquery())
    due = db.session.execute(
        sa.select(Suggestion, DepartmentReply)
        .join(latest, latest.c.suggestion_id == Suggestion.id)
        .join(DepartmentReply, sa.and_(DepartmentReply.suggestion_id == Suggestion.id,
                                       DepartmentReply.round == latest.c.round))
        .outerjoin(SuggestionFollowUp, SuggestionFollowUp.reply_id == DepartmentReply.id)
        .where(Suggestion.status.in_(("answered", "closed")), DepartmentReply.resolution == "B",
               DepartmentReply.promised_by <= today, SuggestionFollowUp.id.is_(None))
        .order_by(DepartmentReply.promised_by, Suggestion.id)).all()
    opened = 0
    for suggestion, reply in due:
        try:
            with db.session.begin_nested():
                followup = SuggestionFollowUp(suggestion_id=suggestion.id, reply_id=reply.id,
                                              due_on=reply.promised_by)
                db.session.add(followup)
                db.session.flush()
        except sa.exc.IntegrityError:
            continue  # another scheduler opened it first
        opened += 1
        core.transition(suggestion, "followup", None, text="承诺期限已到，开始回头看",
                        data={"followup_id": followup.id, "reply_id": reply.id,
                              "due_on": reply.promised_by.isoformat()})
        lead = suggestion.lead_assignment
        department_id = lead.department_id if lead else reply.department_id
        core.notify_department(suggestion, department_id, "suggestion.followup_opened",
                               "B类答复承诺期限已到，请报告落实情况（回头看）")
        core.notify_admins(suggestion, "suggestion.followup_opened", "建议回头看已开始")
    return opened


def complete_followup(followup: SuggestionFollowUp, *, actor, kept: bool | None,
                      result: str) -> SuggestionFollowUp:
    """The lead department reports whether the B promise was kept; the deputy and the
    residents hear the result."""
    suggestion = db.session.get(Suggestion, followup.suggestion_id)
    core.lock(suggestion)
    db.session.execute(sa.select(SuggestionFollowUp).where(SuggestionFollowUp.id == followup.id)
                       .execution_options(populate_existing=True))
    core.guard(suggestion, "followup", policy.can_answer(actor, suggestion))
    if followup.status != "open":
        raise InvalidState("这次回头看已经报告过了", code="followup_done")
    errors = {}
    if kept not in (True, False):
        errors["kept"] = ["请选择承诺事项是否已落实"]
    result = _text(result)
    error = _length_error(result, "落实情况", RESULT_MIN, RESULT_MAX)
    if error:
        errors["result"] = error
    if errors:
        raise ValidationFailed(errors=errors)
    followup.status, followup.kept, followup.result = "done", kept, result
    followup.done_at, followup.done_by_id = utcnow(), actor.id
    title = "承诺事项已落实" if kept else "承诺事项尚未落实"
    core.transition(suggestion, "followup", actor, text=f"回头看：{title}。{result}",
                    data={"followup_id": followup.id, "kept": kept}, public=True)
    core.notify_deputy(suggestion, "suggestion.followup_done", title,
                       body=f"{suggestion.title}：{core.excerpt(result)}")
    core.notify_residents(suggestion, "suggestion.followup_done", title,
                          body=core.excerpt(result, 120))
    if not kept:
        core.notify_admins(suggestion, "suggestion.followup_done", f"回头看：{title}",
                           body=f"{suggestion.title}：{core.excerpt(result)}")
    return followup


def open_followup(suggestion: Suggestion) -> SuggestionFollowUp | None:
    return db.session.scalar(sa.select(SuggestionFollowUp).filter_by(
        suggestion_id=suggestion.id, status="open").order_by(SuggestionFollowUp.id.desc()).limit(1))


# ---- the department's list ----

TABS = {"pending": "待签收", "handling": "办理中", "answered": "已答复", "followup": "回头看"}


@dataclass(frozen=True)
class DepartmentRow:
    suggestion: Suggestion
    assignment: SuggestionAssignment
    followup: SuggestionFollowUp | None
    deadline_on: date | None
    overdue: bool


def _tab_query(department_id: int, tab: str):
    live = sa.and_(SuggestionAssignment.department_id == department_id,
                   SuggestionAssignment.status != "replaced")
    base = (sa.select(Suggestion, SuggestionAssignment)
            .join(SuggestionAssignment, SuggestionAssignment.suggestion_id == Suggestion.id)
            .where(live))
    if tab == "pending":
        return (base.where(SuggestionAssignment.status == "pending",
                           Suggestion.status.in_(HANDLING_STATUSES))
                .order_by(Suggestion.deadline_on, Suggestion.id))
    if tab == "handling":
        return (base.where(SuggestionAssignment.status.in_(("accepted", "reassign_requested")),
                           Suggestion.status.in_(HANDLING_STATUSES))
                .order_by(Suggestion.deadline_on, Suggestion.id))
    if tab == "answered":
        return (base.where(Suggestion.status.in_(("answered", "closed")))
                .order_by(Suggestion.answered_at.desc(), Suggestion.id.desc()))
    if tab == "followup":
        return (sa.select(Suggestion, SuggestionAssignment, SuggestionFollowUp)
                .join(SuggestionAssignment, SuggestionAssignment.suggestion_id == Suggestion.id)
                .join(SuggestionFollowUp, SuggestionFollowUp.suggestion_id == Suggestion.id)
                .where(live, SuggestionAssignment.role == "lead",
                       SuggestionFollowUp.status == "open")
                .order_by(SuggestionFollowUp.due_on, SuggestionFollowUp.id))
    raise ValueError(tab)


def department_counts(department_id: int) -> dict[str, int]:
    return {tab: db.session.scalar(sa.select(sa.func.count())
                                   .select_from(_tab_query(department_id, tab).order_by(None)
                                                .subquery()))
            for tab in TABS}


def department_list(department_id: int, tab: str, today: date, *, limit: int = 20,
                    offset: int = 0) -> list[DepartmentRow]:
    """One tab of a department's assignments (only its live ones), with deadlines and the
    overdue flag."""
    # The rows show each suggestion's latest answer: loaded with the page, not one query each.
    rows = db.session.execute(_tab_query(department_id, tab).limit(limit).offset(offset)
                              .options(selectinload(Suggestion.replies))).all()
    return [DepartmentRow(suggestion=row[0], assignment=row[1],
                          followup=row[2] if len(row) > 2 else None,
                          deadline_on=row[2].due_on if len(row) > 2 else row[0].deadline_on,
                          overdue=core.is_overdue(row[0], today))
            for row in rows]

