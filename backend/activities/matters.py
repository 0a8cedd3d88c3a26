"""Matters residents raised at an activity, listed by the organiser on its record (the resident's
words, optionally a name and phone, and whether they agreed to have it followed up). With that
consent a matter becomes a message in the station's queue, addressed to a deputy who attended or
to the station, by the same rule as a reception day's matters (backend/messages/matters.py).

Operations flush and audit; the caller commits."""
from backend.activities import policy
from backend.activities.models import Activity, ActivityItem
from backend.core import idempotency
from backend.core.audit import record as audit, snapshot
from backend.core.errors import Forbidden, InvalidState, ValidationFailed
from backend.core.extensions import db
from backend.core.protect import PHONE_RE, decrypt_phone, encrypt_phone, normalise_phone
from backend.core.textcount import clean_text, visible_length
from backend.messages.matters import checked_summary, matter_to_message
from backend.messages.models import Message
from backend.org.models import Deputy

NAME_MAX = 40
# The audit log keeps what was raised and the consent, never the resident's name or phone.
ITEM_FIELDS = ("summary", "deputy_id", "resident_consent")


def attended_deputies(activity: Activity) -> list[Deputy]:
    """Whom a matter may be addressed to: the deputies who were there."""
    return [a.deputy for a in activity.attendances if a.status == "attended"]


def add_item(activity: Activity, *, actor, summary, resident_name="", phone="", deputy_id=None,
             resident_consent: bool) -> ActivityItem:
    _check_manage(actor, activity)
    values = _checked_item(activity, summary, resident_name, phone, deputy_id, resident_consent)
    item = ActivityItem(activity=activity, created_by_id=actor.id, **values)
    db.session.add(item)
    db.session.flush()
    _audit_new(item, actor)
    return item


def add_item_once(activity: Activity, *, actor, idempotency_key, summary, resident_name="",
                  phone="", deputy_id=None, resident_consent: bool) -> tuple[ActivityItem, bool]:
    """add_item from a phone on a bad network: (the item, whether it was recorded now). A retry
    with the same key gets the first item back and records nothing, even once the activity has
    moved on; the key used for another matter is refused (backend/core/idempotency.py)."""
    _check_manage(actor, activity)
    sent = (summary, resident_name, phone, deputy_id, resident_consent)
    item, created = idempotency.record_once(
        ActivityItem, idempotency_key, what="个问题",
        make=lambda key: ActivityItem(activity_id=activity.id, created_by_id=actor.id,
                                      idempotency_key=key, **_checked_item(activity, *sent)),
        same=lambda item: _same_item(item, activity, *sent))
    db.session.expire(activity, ["items"])  # listed in the answer, new or replayed
    if created:
        _audit_new(item, actor)
    return item, created


def _checked_item(activity: Activity, summary, resident_name, phone, deputy_id,
                  resident_consent) -> dict:
    """The item's columns, cleaned; ValidationFailed with every problem at once."""
    if activity.status != "held":
        raise InvalidState("请先保存活动记录，再登记群众反映的问题", code="activity_not_held")
    errors: dict[str, list[str]] = {}
    summary = checked_summary(summary, errors)
    name = clean_text(resident_name or "")
    if visible_length(name) > NAME_MAX:
        errors["resident_name"] = [f"姓名不能超过 {NAME_MAX} 个字"]
    phone = normalise_phone(phone or "")
    if phone and not PHONE_RE.match(phone):
        errors["phone"] = ["请填写11位手机号码，或留空"]
    elif phone and not resident_consent:
        # A phone is kept only to follow the matter up, which needs the resident's consent.
        errors["phone"] = ["群众没有同意转为留言时不登记手机号"]
    deputy_id = deputy_id or None
    if deputy_id is not None and deputy_id not in {d.id for d in attended_deputies(activity)}:
        errors["deputy_id"] = ["只能交给到场的代表，或者不选（交联络站）"]
    elif deputy_id is None and activity.station_id is None:
        errors["deputy_id"] = ["代工委组织的活动没有联络站，请选择一位到场的代表"]
    if errors:
        raise ValidationFailed(errors=errors)
    return {"summary": summary, "resident_name": name,
            "phone_encrypted": encrypt_phone(phone) if phone else None,
            "deputy_id": deputy_id, "resident_consent": bool(resident_consent)}


def _same_item(item: ActivityItem, activity: Activity, summary, resident_name, phone,
               deputy_id, resident_consent) -> bool:
    """Whether a retry sent the matter the key recorded already."""
    kept_phone = decrypt_phone(item.phone_encrypted) if item.phone_encrypted else ""
    return (item.activity_id == activity.id and item.summary == clean_text(summary or "")
            and item.resident_name == clean_text(resident_name or "")
            and kept_phone == normalise_phone(phone or "")
            and item.deputy_id == (deputy_id or None)
            and item.resident_consent == bool(resident_consent))


def _audit_new(item: ActivityItem, actor) -> None:
    audit("activity_item.create", item, actor=actor,
          after={**snapshot(item, ITEM_FIELDS), "named": bool(item.resident_name),
                 "phone": bool(item.phone_encrypted)})


def item_to_message(item: ActivityItem, *, actor) -> Message:
    """Once per item: a second call (or a racing one) returns the same message."""
    activity = item.activity
    _check_manage(actor, activity)
    deputy = db.session.get(Deputy, item.deputy_id) if item.deputy_id else None
    # The activity's station when the deputy sits there (or no deputy); else the deputy's own.
    station = (activity.station if deputy is None or activity.station in deputy.stations
               else None)
    message, made = matter_to_message(
        item, key=f"activity-item-{item.id}", station=station, channel="activity",
        deputy=deputy, phone=decrypt_phone(item.phone_encrypted) if item.phone_encrypted else "")
    if made:
        audit("activity_item.to_message", item, actor=actor, after={"message_id": message.id})
    return message


def source_of(message: Message) -> Activity | None:
    """The activity a message came from, for the message's pages."""
    if message.channel != "activity":
        return None
    return db.session.scalar(db.select(Activity).join(ActivityItem)
                             .where(ActivityItem.message_id == message.id))


def _check_manage(actor, activity: Activity) -> None:
    if not policy.can_manage(actor, activity):
        raise Forbidden("只有活动的组织者（代工委或本站联络员）可以登记和转交群众反映的问题",
                        code="activity_forbidden")
