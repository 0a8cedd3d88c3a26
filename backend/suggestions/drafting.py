"""The deputy's side of a suggestion (and a liaison's on their behalf): draft it from messages,
edit, co-sign, submit, rate the department's answer. Built on backend/suggestions/core.py.

Every operation: `guard` first (permission, then status), then the input, then the rows, then
`transition` (status and event row), then the outbox; all in the caller's transaction.

Kept whole (past 400 lines): it is one side of the suggestion, the deputy's; the
admin's and the department's are review.py and handling.py.
"""
import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from flask import current_app

from backend.messages import policy as message_policy
from backend.suggestions import policy
from backend.core.errors import Forbidden, InvalidState, ValidationFailed
from backend.core import idempotency
from backend.core.extensions import db
from backend.suggestions.models import (
    DepartmentReply, Suggestion, SuggestionCosigner, SuggestionEvent, SuggestionRating,
)
from backend.org.models import Deputy, deputy_stations
from backend.messages.models import Message
from backend.messages import operations as messages_ops
from backend.suggestions import core
from backend.messages.operations import CATEGORIES, TRACKING_RE
from backend.notifications.notify import notify
from backend.core.textcount import clean_text, visible_length
from backend.core.timeutil import utcnow

TITLE_MIN, TITLE_MAX = 5, 60
TEXT_MIN, TEXT_MAX = 10, 5000
COMMENT_MAX = 500
# The columns count code points, not what a person sees.
TITLE_STORED_MAX = Suggestion.title.type.length
COMMENT_STORED_MAX = SuggestionRating.comment.type.length
MESSAGES_MAX = 50
SELECTABLE_LIMIT = 50
PER_PAGE = 20
RATING_LABELS = {"satisfied": "满意", "basically_satisfied": "基本满意", "dissatisfied": "不满意"}
# A source message in these states cannot feed a suggestion: not yet checked, or refused.
UNUSABLE_MESSAGE_STATUSES = ("held", "rejected")
# List tabs per role: key → label (the first is the default).
TABS = {
    "deputy": {"led": "我领衔的", "cosigned": "我附议的", "cosignable": "可附议"},
    "liaison": {"stations": "本站代表的建议"},
    "admin": {"all": "全部建议"},
}
# Statuses in which a colleague is offered a suggestion to co-sign; a draft stays the author's.
COSIGNABLE_LIST_STATUSES = ("submitted", "returned")


# ---- who may draft for whom ----

def _station_ids(deputy: Deputy) -> set[int]:
    return {s.id for s in deputy.stations}


def may_draft_for(user, deputy: Deputy | None) -> bool:
    """The deputy themself, or a liaison of one of the deputy's stations."""
    if deputy is None or getattr(user, "role", None) not in ("deputy", "liaison"):
        return False
    if user.role == "deputy":
        return user.deputy_id == deputy.id
    return bool(user.station_ids & _station_ids(deputy))


def draftable_deputies(user) -> list[Deputy]:
    """Whom the user may draft for: a deputy themself; a liaison their stations' active deputies."""
    role = getattr(user, "role", None)
    if role == "deputy":
        return [user.deputy] if user.deputy is not None and user.deputy.is_active else []
    if role != "liaison" or not user.station_ids:
        return []
    return list(db.session.scalars(
        db.select(Deputy).join(deputy_stations, deputy_stations.c.deputy_id == Deputy.id)
        .where(deputy_stations.c.station_id.in_(user.station_ids), Deputy.is_active.is_(True))
        .distinct().order_by(Deputy.name, Deputy.id)))


def is_drafter(user, suggestion: Suggestion) -> bool:
    """can_edit without its status check: who may write this suggestion at all."""
    return may_draft_for(user, suggestion.deputy)


def _may_write(user, suggestion: Suggestion) -> bool:
    # can_edit, with the status left to `guard`, so a drafter who tries to submit twice hears
    # "cannot submit now" (409) rather than "not yours" (403).
    return policy.can_edit(user, suggestion) or is_drafter(user, suggestion)


def _is_deputys(message: Message, deputy: Deputy) -> bool:
    return (deputy.id in (message.deputy_id, message.assigned_deputy_id)
            and message.station_id in _station_ids(deputy))


def message_usable(user, message: Message, deputy: Deputy) -> bool:
    """May `user` put `message` into a suggestion by `deputy`? The message (or the case it was
    merged into) must be the deputy's, from one of their stations, visible to the user, and
    neither held nor rejected."""
    case = case_of(message)
    return (case.status not in UNUSABLE_MESSAGE_STATUSES and _is_deputys(case, deputy)
            and message_policy.can_view(user, message) and message_policy.can_view(user, case))


def can_draft_from(user, message: Message) -> bool:
    """For the message page's 形成代表建议 link."""
    deputy = draft_deputy_for(user, message)
    return deputy is not None and message_usable(user, message, deputy)


def draft_deputy_for(user, message: Message) -> Deputy | None:
    """The deputy a suggestion from this message would be by: the user when a deputy; for a
    liaison, the deputy handling the case (else the one it was written to)."""
    case = case_of(message)
    if getattr(user, "role", None) == "deputy":
        deputy = user.deputy
        return deputy if deputy is not None and deputy.is_active else None
    for deputy in (case.assigned_deputy, case.deputy):
        if deputy is not None and deputy.is_active and may_draft_for(user, deputy):
            return deputy
    return None


def case_of(message: Message) -> Message:
    """A merged message is handled as the case it was merged into."""
    seen = set()
    while message.merged_into is not None and message.id not in seen:
        seen.add(message.id)
        message = message.merged_into
    return message


# ---- drafting ----

def _clean_fields(title, category, problem, proposal) -> tuple[dict, dict]:
    values = {"title": clean_text(title), "category": (category or "").strip(),
              "problem": clean_text(problem), "proposal": clean_text(proposal)}
    errors: dict[str, list[str]] = {}
    n = visible_length(values["title"])
    if n < TITLE_MIN:
        errors["title"] = [f"标题至少 {TITLE_MIN} 个字"]
    elif n > TITLE_MAX:
        errors["title"] = [f"标题不能超过 {TITLE_MAX} 个字（现在 {n} 个字）"]
    elif len(values["title"]) > TITLE_STORED_MAX:
        # Emoji made of several code points: within 60 as seen, beyond what the column holds.
        errors["title"] = ["标题中的表情符号太多，请删减"]
    if values["category"] not in CATEGORIES:
        errors["category"] = ["请选择建议的分类"]
    for field, label in (("problem", "案由"), ("proposal", "建议内容")):
        n = visible_length(values[field])
        if n < TEXT_MIN:
            errors[field] = [f"{label}至少 {TEXT_MIN} 个字"]
        elif n > TEXT_MAX:
            errors[field] = [f"{label}不能超过 {TEXT_MAX} 个字（现在 {n} 个字）"]
    return values, errors


def _resolve_messages(actor, deputy: Deputy, message_ids, errors: dict, *,
                      already: set[int] = frozenset()) -> list[Message]:
    """The messages behind the suggestion, merged ones replaced by their case, each once.
    Ones already in the suggestion stay without a fresh view check: a liaison of one station
    may edit a draft whose deputy added a message from another."""
    ids = []
    for raw in message_ids or ():
        try:
            ids.append(int(raw))
        except (TypeError, ValueError):
            errors["message_ids"] = ["所选留言无效，请刷新页面后重试"]
            return []
    ids = list(dict.fromkeys(ids))
    if not ids:
        errors["message_ids"] = ["请至少选择一条留言"]
        return []
    if len(ids) > MESSAGES_MAX:
        errors["message_ids"] = [f"一件建议最多关联 {MESSAGES_MAX} 条留言"]
        return []
    found = {m.id: m for m in db.session.scalars(db.select(Message).where(Message.id.in_(ids)))}
    chosen: dict[int, Message] = {}
    problems = []
    for message_id in ids:
        message = found.get(message_id)
        if message is None:
            problems.append("所选留言不存在")
            continue
        case = case_of(message)
        if case.status in UNUSABLE_MESSAGE_STATUSES:
            problems.append(f"留言 {case.tracking_no} {'待审核' if case.status == 'held' else '已不予受理'}，"
                            "不能形成建议")
        elif message_id in already or case.id in already:
            chosen[case.id] = case
        elif not (message_policy.can_view(actor, message) and message_policy.can_view(actor, case)):
            # No tracking number here: it would tell the user about a message they cannot see.
            problems.append("所选留言中有您无权查看的留言，不能选用")
        elif not _is_deputys(case, deputy):
            problems.append(f"留言 {case.tracking_no} 不是{deputy.name}代表的留言，不能选用")
        else:
            chosen[case.id] = case
    if problems:
        errors["message_ids"] = list(dict.fromkeys(problems))
    return sorted(chosen.values(), key=lambda m: m.id)


def create_draft(*, actor, deputy: Deputy, title: str, category: str, problem: str,
                 proposal: str, message_ids, is_complex: bool = False) -> Suggestion:
    suggestion = _new_draft(actor, deputy, title, category, problem, proposal, message_ids,
                            is_complex)
    db.session.add(suggestion)
    db.session.flush()
    _drafted(suggestion, actor)
    return suggestion


def create_draft_once(*, actor, deputy: Deputy, idempotency_key, title: str, category: str,
                      problem: str, proposal: str, message_ids,
                      is_complex: bool = False) -> tuple[Suggestion, bool]:
    """create_draft from the staff form, which a double click or a resubmit posts twice: (the
    draft, whether it was made now); the same key again makes nothing
    (backend/core/idempotency.py). The words and the lead deputy decide whether a retry is the
    same draft; the chosen messages are the form's too and are not compared."""
    _check_may_draft(actor, deputy)
    sent = dict(_clean_fields(title, category, problem, proposal)[0], deputy_id=deputy.id,
                is_complex=bool(is_complex))

    def make(key):
        suggestion = _new_draft(actor, deputy, title, category, problem, proposal, message_ids,
                                is_complex)
        suggestion.idempotency_key = key
        return suggestion
    suggestion, created = idempotency.record_once(
        Suggestion, idempotency_key, what="件建议", make=make,
        same=lambda s: {k: getattr(s, k) for k in sent} == sent)
    if created:
        _drafted(suggestion, actor)
    return suggestion, created


def _new_draft(actor, deputy, title, category, problem, proposal, message_ids,
               is_complex) -> Suggestion:
    """The unsaved draft with its messages, its input checked."""
    _check_may_draft(actor, deputy)
    values, errors = _clean_fields(title, category, problem, proposal)
    if not deputy.is_active:
        errors["deputy_id"] = ["该代表已停用，不能提出建议"]
    messages = _resolve_messages(actor, deputy, message_ids, errors)
    if errors:
        raise ValidationFailed(errors=errors)
    suggestion = Suggestion(deputy_id=deputy.id, status="draft", is_complex=bool(is_complex),
                            drafted_by_id=actor.id if actor.role == "liaison" else None,
                            **values)
    suggestion.deputy = deputy
    suggestion.messages = messages
    return suggestion


def _check_may_draft(actor, deputy: Deputy) -> None:
    if not may_draft_for(actor, deputy):
        raise Forbidden("您不能为这位代表起草建议", code="suggestion_forbidden")


def _drafted(suggestion: Suggestion, actor) -> None:
    # "create" has no source status, so it is not a TRANSITIONS verb: an internal event row.
    core.event(suggestion, "create", actor, None, "draft",
               data={"message_ids": [m.id for m in suggestion.messages]})


def update_draft(suggestion: Suggestion, *, actor, title: str, category: str, problem: str,
                 proposal: str, message_ids, is_complex: bool = False) -> Suggestion:
    core.lock(suggestion)
    core.guard(suggestion, "update", _may_write(actor, suggestion))
    values, errors = _clean_fields(title, category, problem, proposal)
    messages = _resolve_messages(actor, suggestion.deputy, message_ids, errors,
                                 already={m.id for m in suggestion.messages})
    if errors:
        raise ValidationFailed(errors=errors)
    values["is_complex"] = bool(is_complex)
    changed = sorted(k for k, v in values.items() if getattr(suggestion, k) != v)
    for key, value in values.items():
        setattr(suggestion, key, value)
    before_ids = [m.id for m in suggestion.messages]
    after_ids = [m.id for m in messages]
    if before_ids != after_ids:
        suggestion.messages = messages
        changed.append("messages")
    core.transition(suggestion, "update", actor,
                    data={"changed": changed, "message_ids": after_ids})
    return suggestion


def submit(suggestion: Suggestion, *, actor) -> Suggestion:
    core.lock(suggestion)
    core.guard(suggestion, "submit", _may_write(actor, suggestion))
    if not suggestion.messages:
        raise ValidationFailed(errors={"message_ids": ["请至少选择一条留言"]})
    first = suggestion.submitted_at is None
    if first:
        suggestion.submitted_at = utcnow()  # a returned one keeps the date it was first made
    # Messages added since the last submission (all of them the first time): their residents
    # hear of the suggestion now, and their timelines record it.
    message_ids = [m.id for m in suggestion.messages]
    new_ids = set(message_ids) if first else set(message_ids) - _told_message_ids(suggestion)
    comment = suggestion.review_comment
    suggestion.review_comment = ""
    data = {"message_ids": message_ids}
    if not first:
        data.update(resubmission=True, review_comment=comment)
    core.transition(suggestion, "submit", actor, data=data)
    name = suggestion.deputy.name
    for message in suggestion.messages:
        if message.id in new_ids:
            messages_ops.record_suggestion(message, suggestion.title, actor=actor)
    if new_ids:
        core.notify_residents(
            suggestion, "suggestion.submitted", "您反映的问题已形成代表建议",
            f"{name}代表将您反映的问题写入建议《{suggestion.title}》，已提交区人大常委会",
            only_message_ids=new_ids)
    if first:
        core.notify_admins(suggestion, "suggestion.submitted", "有新的代表建议待审核",
                           f"{name}代表：{suggestion.title}")
    else:
        core.notify_admins(suggestion, "suggestion.resubmitted", "退回的代表建议已修改并重新提交",
                           f"{name}代表：{suggestion.title}")
    if actor.role == "liaison":
        core.notify_deputy(suggestion, "suggestion.submitted", "联络员已代您提交建议",
                           suggestion.title)
    for cosigner in suggestion.cosigners:
        notify("deputy", cosigner.deputy_id, "suggestion.submitted",
               "您附议的建议已提交" if first else "您附议的建议已修改并重新提交",
               body=f"{name}代表：{suggestion.title}", place=core.suggestion_place(suggestion),
               subject=suggestion)
    return suggestion


def _told_message_ids(suggestion: Suggestion) -> set[int]:
    """The messages whose residents earlier submissions told. A submission recorded before
    submissions listed their messages counts as having told them all."""
    told: set[int] = set()
    for data in db.session.scalars(db.select(SuggestionEvent.data).filter_by(
            suggestion_id=suggestion.id, kind="submit")):
        if not data or "message_ids" not in data:
            return {m.id for m in suggestion.messages}
        told.update(data["message_ids"])
    return told if told else {m.id for m in suggestion.messages}


def cosign(suggestion: Suggestion, *, actor) -> SuggestionCosigner:
    core.lock(suggestion)
    core.guard(suggestion, "cosign", policy.can_cosign(actor, suggestion))
    already = InvalidState("您已附议过这件建议", code="already_cosigned")
    if policy.is_cosigner(actor, suggestion):
        raise already
    row = SuggestionCosigner(suggestion_id=suggestion.id, deputy_id=actor.deputy_id)
    try:
        # Two clicks racing past the check above: the unique constraint decides.
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except sa.exc.IntegrityError:
        raise already from None
    db.session.refresh(suggestion, ["cosigners"])
    core.transition(suggestion, "cosign", actor, data={"deputy_id": actor.deputy_id})
    core.notify_deputy(suggestion, "suggestion.cosigned",
                       f"{actor.deputy.name}代表附议了您的建议", suggestion.title)
    return row


# ---- the deputy rates the answer ----

def rate(suggestion: Suggestion, value: str, comment: str = "", *, actor) -> SuggestionRating:
    core.lock(suggestion)
    core.guard(suggestion, "rate", policy.can_rate(actor, suggestion))
    comment = clean_text(comment)
    errors = {}
    if value not in RATING_LABELS:
        errors["value"] = ["请选择满意、基本满意或不满意"]
    if visible_length(comment) > COMMENT_MAX or len(comment) > COMMENT_STORED_MAX:
        errors["comment"] = [f"评价意见不能超过 {COMMENT_MAX} 个字"]
    if errors:
        raise ValidationFailed(errors=errors)
    round_ = db.session.scalar(db.select(sa.func.count()).select_from(DepartmentReply)
                               .filter_by(suggestion_id=suggestion.id))
    if round_ == 0:
        raise InvalidState("承办单位尚未答复，不能评价", code="suggestion_cannot_rate")
    if db.session.scalar(db.select(SuggestionRating.id).filter_by(
            suggestion_id=suggestion.id, round=round_)) is not None:
        raise InvalidState("这一轮答复已经评价过了", code="already_rated")
    rating = SuggestionRating(suggestion_id=suggestion.id, round=round_,
                              deputy_id=suggestion.deputy_id, value=value, comment=comment)
    db.session.add(rating)
    label = RATING_LABELS[value]
    core.transition(suggestion, "rate", actor, text=comment,
                    data={"value": value, "round": round_})
    limit = current_app.config["SUGGESTION_MAX_REANSWERS"]
    if value != "dissatisfied":
        suggestion.closed_at = utcnow()
        core.transition(suggestion, "close", actor, data={"value": value, "round": round_})
        core.notify_lead(suggestion, "suggestion.closed", f"代表对答复的评价：{label}，建议已办结",
                     suggestion.title)
    elif suggestion.reanswers < limit:
        suggestion.reanswers += 1
        suggestion.flagged_unsatisfied = True
        # send_back is a public event: the deputy's words stay on the internal rate event.
        core.transition(suggestion, "send_back", actor, data={"value": value, "round": round_})
        core.notify_lead(suggestion, "suggestion.sent_back", "代表对答复不满意，请重新办理",
                     suggestion.title + (f"（代表意见：{comment}）" if comment else ""))
        core.notify_admins(suggestion, "suggestion.sent_back",
                           "代表对答复不满意，已退回承办单位重新办理",
                           f"{suggestion.deputy.name}代表：{suggestion.title}")
    else:
        # No further second answer: it closes, and the flag keeps it on the chase list.
        suggestion.flagged_unsatisfied = True
        suggestion.closed_at = utcnow()
        core.transition(suggestion, "close", actor,
                        data={"value": value, "round": round_, "unsatisfied": True})
        core.notify_admins(suggestion, "suggestion.closed_unsatisfied",
                           "代表对答复仍不满意，建议已办结，请督办",
                           f"{suggestion.deputy.name}代表：{suggestion.title}")
        core.notify_lead(suggestion, "suggestion.closed", "代表对答复不满意，建议已办结并列入督办",
                     suggestion.title)
    return rating


# ---- lists ----

def tabs_for(user) -> dict[str, str]:
    return TABS.get(getattr(user, "role", None), {})


def list_for(user, *, tab: str | None = None, status: str | None = None, page: int = 1,
             per_page: int = PER_PAGE):
    """(the page of suggestions, the tab used). Newest first."""
    tabs = tabs_for(user)
    if not tabs:
        raise Forbidden()
    tab = tab if tab in tabs else next(iter(tabs))
    stmt = db.select(Suggestion)
    if user.role == "deputy":
        stmt = _deputy_tab(stmt, user, tab)
    elif user.role == "liaison":
        in_stations = db.select(deputy_stations.c.deputy_id).where(
            deputy_stations.c.station_id.in_(user.station_ids or {0}))
        stmt = stmt.where(sa.or_(Suggestion.deputy_id.in_(in_stations),
                                 Suggestion.drafted_by_id == user.id))
    if status:
        stmt = stmt.where(Suggestion.status == status)
    stmt = stmt.options(selectinload(Suggestion.deputy))  # each row names its deputy
    page = db.paginate(stmt.order_by(Suggestion.id.desc()), page=page, per_page=per_page,
                       error_out=False)
    return page, tab


def deputy_page(user, tab: str, *, before_id: int | None = None, limit: int = PER_PAGE):
    """A deputy's tab newest first, paged by id (the mini-program's lists): a suggestion made
    while the deputy scrolls neither repeats nor hides one. Up to `limit` + 1 rows, so the
    caller knows whether there is more."""
    stmt = _deputy_tab(db.select(Suggestion), user, tab)
    if before_id is not None:
        stmt = stmt.where(Suggestion.id < before_id)
    return list(db.session.scalars(stmt.order_by(Suggestion.id.desc()).limit(limit + 1)))


def _deputy_tab(stmt, user, tab: str):
    mine = user.deputy_id or 0
    cosigned = db.select(SuggestionCosigner.suggestion_id).filter_by(deputy_id=mine)
    if tab == "led":
        return stmt.where(Suggestion.deputy_id == mine)
    if tab == "cosigned":
        return stmt.where(Suggestion.id.in_(cosigned))
    my_stations = db.select(deputy_stations.c.station_id).where(
        deputy_stations.c.deputy_id == mine)
    colleagues = db.select(deputy_stations.c.deputy_id).where(
        deputy_stations.c.station_id.in_(my_stations))
    return stmt.where(Suggestion.deputy_id.in_(colleagues), Suggestion.deputy_id != mine,
                      Suggestion.status.in_(COSIGNABLE_LIST_STATUSES),
                      Suggestion.id.not_in(cosigned))


def selectable_messages(user, deputy: Deputy | None, *, q: str = "",
                        limit: int = SELECTABLE_LIMIT) -> list[Message]:
    """What the drafting form offers: the deputy's messages from their stations (for a liaison,
    only those in the liaison's stations too), held, rejected and merged ones left out (a
    merged one's case is listed), newest first; `q` searches the text or a tracking number."""
    if deputy is None or not may_draft_for(user, deputy):
        return []
    stations = _station_ids(deputy)
    if user.role == "liaison":
        stations &= user.station_ids
    if not stations:
        return []
    stmt = db.select(Message).where(
        sa.or_(Message.deputy_id == deputy.id, Message.assigned_deputy_id == deputy.id),
        Message.station_id.in_(stations),
        Message.status.not_in((*UNUSABLE_MESSAGE_STATUSES, "merged")))
    q = (q or "").strip()[:50]
    if q:
        match = TRACKING_RE.match(q.upper())
        stmt = stmt.where(Message.id == int(match.group(2)) if match
                          else Message.body.contains(q, autoescape=True))
    return list(db.session.scalars(stmt.order_by(Message.id.desc()).limit(limit)))


def messages_by_id(ids) -> list[Message]:
    ids = [i for i in ids if isinstance(i, int)]
    if not ids:
        return []
    return list(db.session.scalars(db.select(Message).where(Message.id.in_(ids))
                                   .order_by(Message.id.desc())))
