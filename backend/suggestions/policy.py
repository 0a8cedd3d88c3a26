"""Who may see and do what with a deputy suggestion: the object checks shared by handlers,
templates and operations. Admins see all; a deputy the ones they lead or co-signed, and their
station colleagues' submitted ones (to co-sign); a liaison those led by their stations'
deputies; a department only what is assigned to it now. Residents reach a suggestion only
through their own message, and never see internal events."""
from backend.core.extensions import db
from backend.messages.models import Message
from backend.accounts.resident_model import Resident
from backend.suggestions.models import Suggestion, suggestion_messages

# Statuses in which other deputies may still sign on (附议).
COSIGN_STATUSES = ("draft", "submitted", "returned")


def _staff(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and hasattr(user, "role")


def _role(user) -> str | None:
    return user.role if _staff(user) else None


def _deputy_station_ids(suggestion: Suggestion) -> set[int]:
    return {s.id for s in suggestion.deputy.stations}


def is_author(user, suggestion: Suggestion) -> bool:
    return _role(user) == "deputy" and user.deputy_id == suggestion.deputy_id


def is_cosigner(user, suggestion: Suggestion) -> bool:
    return (_role(user) == "deputy"
            and any(c.deputy_id == user.deputy_id for c in suggestion.cosigners))


def department_assignment(user, suggestion: Suggestion):
    """The user's department's live assignment on this suggestion, or None."""
    if _role(user) != "department":
        return None
    return next((a for a in suggestion.current_assignments
                 if a.department_id == user.department_id), None)


def can_view(user, suggestion: Suggestion) -> bool:
    role = _role(user)
    if role == "admin":
        return True
    if role == "deputy":
        if is_author(user, suggestion) or is_cosigner(user, suggestion):
            return True
        # Colleagues see a submitted one so they can co-sign it; a draft stays the author's.
        mine = {s.id for s in user.deputy.stations} if user.deputy else set()
        return suggestion.status != "draft" and bool(mine & _deputy_station_ids(suggestion))
    if role == "liaison":
        return bool(user.station_ids & _deputy_station_ids(suggestion)) or (
            suggestion.drafted_by_id == user.id)
    if role == "department":
        return department_assignment(user, suggestion) is not None
    return False


def can_edit(user, suggestion: Suggestion) -> bool:
    """Write, change and submit a draft (or a returned one): its deputy, or a liaison of the
    deputy's stations drafting on their behalf."""
    if suggestion.status not in ("draft", "returned"):
        return False
    if is_author(user, suggestion):
        return True
    return _role(user) == "liaison" and bool(user.station_ids & _deputy_station_ids(suggestion))


def can_cosign(user, suggestion: Suggestion) -> bool:
    return (_role(user) == "deputy" and suggestion.status in COSIGN_STATUSES
            and not is_author(user, suggestion) and user.deputy is not None
            and user.deputy.is_active and can_view(user, suggestion))


def can_review(user, suggestion: Suggestion | None = None) -> bool:
    """Accept and assign, return, merge, deadlines, extensions, reassignment, supervision."""
    return _role(user) == "admin"


def can_rate(user, suggestion: Suggestion) -> bool:
    """Only the deputy who made it rates the department's answer."""
    return is_author(user, suggestion)


def can_handle(user, suggestion: Suggestion) -> bool:
    """A department acting on its own live assignment."""
    return department_assignment(user, suggestion) is not None


def can_answer(user, suggestion: Suggestion) -> bool:
    """Only the lead department answers."""
    assignment = department_assignment(user, suggestion)
    return assignment is not None and assignment.role == "lead"


def resident_can_view(resident, suggestion: Suggestion) -> bool:
    """A resident whose message (or a message merged into it) fed the suggestion, or one it
    was merged into."""
    return isinstance(resident, Resident) and resident.id in resident_ids(suggestion)


def source_messages(suggestion: Suggestion) -> list[Message]:
    """Every message behind the suggestion: its own, those merged into them, and those of the
    suggestions merged into it. Their residents hear of each step."""
    suggestion_ids = [suggestion.id, *db.session.scalars(
        db.select(Suggestion.id).filter_by(merged_into_id=suggestion.id))]
    direct = db.select(suggestion_messages.c.message_id).where(
        suggestion_messages.c.suggestion_id.in_(suggestion_ids))
    return list(db.session.scalars(
        db.select(Message).where(db.or_(Message.id.in_(direct), Message.merged_into_id.in_(direct)))
        .order_by(Message.id)))


def resident_ids(suggestion: Suggestion) -> set[int]:
    return {m.resident_id for m in source_messages(suggestion) if m.resident_id is not None}
