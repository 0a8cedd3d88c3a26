"""Read-only helpers the staff message pages need beside the operations: which actions a user
may take now, merge and assignment candidates, filter choices, and batch loading for lists.
Nothing here changes a message; every rule it reads comes from `message_policy` and
`operations.messages.TRANSITIONS`."""
from backend.messages import policy
from backend.core.errors import NotFound, ValidationFailed
from backend.core.extensions import db
from backend.messages.models import OPEN_STATUSES, Message
from backend.org.models import Deputy, Station, deputy_stations
from backend.messages.operations import TRANSITIONS, VERB_LABELS, message_by_tracking_no
from backend.messages.queue import deputy_unread_count, queue_counts

TRIAGE_VERBS = ("release", "acknowledge", "assign", "set_category", "reject", "forward", "merge")
ANSWER_VERBS = ("reply", "request_info", "hand_back")


def allowed_actions(user, message: Message) -> set[str]:
    """The verbs `user` may apply to `message` in its current status; templates show exactly
    these forms, and the operations enforce the same checks again."""
    def permitted(verb: str, allowed: bool) -> bool:
        return allowed and message.status in TRANSITIONS[verb][0]

    triage, answer = policy.can_triage(user, message), policy.can_answer(user, message)
    verbs = {v for v in TRIAGE_VERBS if permitted(v, triage)}
    verbs |= {v for v in ANSWER_VERBS if permitted(v, answer)}
    if permitted("note", triage or answer):
        verbs.add("note")
    if message.phone_encrypted and policy.can_see_phone(user, message):
        verbs.add("reveal_phone")
    return verbs


def is_unread(message: Message, deputy_id: int | None) -> bool:
    """The row-level twin of `deputy_unread_count`: open, assigned to this deputy, not opened."""
    return (deputy_id is not None and message.assigned_deputy_id == deputy_id
            and message.deputy_read_at is None and message.status in OPEN_STATUSES)


def assignable_deputies(message: Message) -> list[Deputy]:
    """Who `assign` accepts: the active deputies of the message's station."""
    return list(db.session.scalars(
        db.select(Deputy).join(deputy_stations)
        .where(deputy_stations.c.station_id == message.station_id, Deputy.is_active.is_(True))
        .order_by(Deputy.name, Deputy.id)))


def merge_target(into_id: int | None, tracking_no: str) -> Message:
    """The message to merge into, picked from the suggestions (`into_id`) or typed by its
    tracking number; staff need no lookup code, `merge` itself checks they may triage it."""
    if into_id:
        target = db.session.get(Message, into_id)
    elif (tracking_no or "").strip():
        target = message_by_tracking_no(tracking_no)
    else:
        raise ValidationFailed("请选择或填写要合并到的留言", code="merge_target_missing")
    if target is None:
        raise NotFound("没有找到这个编号的留言，请核对后重试", code="merge_target_not_found")
    return target


def queue_stations(user) -> list[Station]:
    """The stations a user may filter the queue by: all for an admin, their own for a liaison."""
    if user.role == "admin":
        return list(db.session.scalars(
            db.select(Station).order_by(Station.is_active.desc(), Station.name)))
    return list(user.stations)


def queue_deputies(station_ids: list[int]) -> list[Deputy]:
    """Deputies to filter by, limited to the given stations so the list stays short."""
    if not station_ids:
        return []
    return list(db.session.scalars(
        db.select(Deputy).where(Deputy.stations.any(Station.id.in_(station_ids)))
        .order_by(Deputy.is_active.desc(), Deputy.name, Deputy.id)))


def preload(messages: list[Message]) -> list[Message]:
    """Load the deputies and stations a page of messages shows in two queries; the lazy
    many-to-one loads then find them in the session instead of querying once per row."""
    deputy_ids = {m.assigned_deputy_id for m in messages} | {m.deputy_id for m in messages}
    station_ids = {m.station_id for m in messages}
    deputy_ids.discard(None)
    if deputy_ids:
        db.session.scalars(db.select(Deputy).where(Deputy.id.in_(deputy_ids))).all()
    if station_ids:
        db.session.scalars(db.select(Station).where(Station.id.in_(station_ids))).all()
    return messages


def menu_count(user) -> int | None:
    """The number on the staff home page's message entry: the queue's to-do count for
    liaisons and admins, unread messages for a deputy."""
    if user.role in ("admin", "liaison"):
        return queue_counts(user)["todo"]
    if user.role == "deputy" and user.deputy_id:
        return deputy_unread_count(user.deputy_id)
    return None



def next_deadline(message: Message) -> tuple[str, object] | None:
    """The clock that runs now, as `is_overdue` reads them: acknowledging until the message
    is acknowledged, then answering. None when no clock runs (held, answered, closed ...)."""
    if message.status not in OPEN_STATUSES:
        return None
    if message.acknowledged_at is None:
        return "受理", message.ack_due_at
    return "答复", message.answer_due_at


EVENT_LABELS = {**VERB_LABELS, "submitted": "提交留言", "merged_in": "并入同类留言",
                "suggested": "写入代表建议"}


def event_summary(event) -> str:
    """What a timeline row says beside its label; a category change keeps its text in data."""
    if event.text:
        return event.text
    if event.kind == "set_category" and event.data:
        return f"分类设为「{event.data.get('after', '')}」"
    if event.kind == "submitted" and event.data and event.data.get("hold_reason"):
        return f"待人工审核：{event.data['hold_reason']}"
    return ""
