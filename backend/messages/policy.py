"""Who may see and do what with a message: the object checks shared by handlers, templates and
operations. Residents see their own; deputies theirs; liaisons their stations'; departments none."""
from backend.messages.models import Message
from backend.accounts.resident_model import Resident


def _staff(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and hasattr(user, "role")


def can_view(user, message: Message) -> bool:
    if isinstance(user, Resident):
        return message.resident_id == user.id
    if not _staff(user):
        return False
    if user.role == "admin":
        return True
    if user.role == "liaison":
        return message.station_id in user.station_ids
    if user.role == "deputy":
        # Held content waits for a liaison's look before any deputy sees it.
        return (message.status != "held" and user.deputy_id is not None
                and user.deputy_id in (message.deputy_id, message.assigned_deputy_id))
    return False


def can_triage(user, message: Message) -> bool:
    """Acknowledge, classify, assign, merge, forward, reject, release, notes."""
    if not _staff(user):
        return False
    return user.role == "admin" or (user.role == "liaison" and message.station_id in user.station_ids)


def can_answer(user, message: Message) -> bool:
    """Only the deputy the case is assigned to answers it, asks for more, or hands it back."""
    return (_staff(user) and user.role == "deputy" and user.deputy_id is not None
            and message.assigned_deputy_id == user.deputy_id)


def can_see_phone(user, message: Message) -> bool:
    return can_triage(user, message) or can_answer(user, message)


def can_rate(resident, message: Message) -> bool:
    return isinstance(resident, Resident) and message.resident_id == resident.id


def can_note(user, message) -> bool:
    """An internal note: whoever triages or answers the message."""
    return can_triage(user, message) or can_answer(user, message)


def answer_search_stations(user, message: Message) -> set[int] | None:
    """Whose earlier answers `user` may read while handling `message` (answers only, never who
    wrote in): a deputy their own stations' and the message's, a liaison their stations', an
    admin every station (None). Empty: none, the user does not handle this message."""
    if not can_note(user, message):
        return set()
    if user.role == "admin":
        return None
    if user.role == "deputy":
        return {s.id for s in user.deputy.stations} | {message.station_id}
    return set(user.station_ids)
