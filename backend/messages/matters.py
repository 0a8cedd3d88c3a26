"""Matters residents raised in person (on a reception day, at an activity) and staff wrote down:
the same length rule as a message, and the one way such a matter becomes a message — only with
the resident's consent, once per matter, however often (or concurrently) the button is pressed.
Reception and activities keep their own rows; the rule lives here, below both."""
from collections.abc import Callable

import sqlalchemy as sa

from backend.accounts.resident_model import Resident
from backend.core.errors import InvalidState
from backend.core.extensions import db
from backend.core.textcount import clean_text, visible_length
from backend.messages.models import Message
from backend.messages.operations import BODY_MAX, BODY_MIN, submit_message


def checked_summary(summary: str | None, errors: dict) -> str:
    """The matter in the resident's words, cleaned; its error under `summary` when too short
    or too long for a message."""
    summary = clean_text(summary or "")
    if not BODY_MIN <= visible_length(summary) <= BODY_MAX:
        errors["summary"] = [f"请用 {BODY_MIN} 到 {BODY_MAX} 个字写明群众反映的问题"]
    return summary


def matter_to_message(item, *, key: str, station, channel: str, deputy=None, phone: str = "",
                      resident_for: Callable[[], Resident] | None = None
                      ) -> tuple[Message, bool]:
    """The item's message and whether it was made now. `item` is a row with `summary`,
    `resident_consent` and `message_id`; it is locked first, so two staff pressing at once
    queue (PostgreSQL) and the second gets the first one's message."""
    model = type(item)
    item = db.session.scalars(sa.select(model).where(model.id == item.id).with_for_update()
                              .execution_options(populate_existing=True)).one()
    if item.message_id:
        return db.session.get(Message, item.message_id), False
    if not item.resident_consent:
        raise InvalidState("群众没有同意将此事转为留言，不能转交", code="consent_missing")
    submission = submit_message(
        resident=resident_for() if resident_for else unnamed_resident(), body=item.summary,
        idempotency_key=key, deputy=deputy, station=station, phone=phone, channel=channel)
    item.message_id = submission.message.id
    db.session.flush()
    return submission.message, True


def unnamed_resident() -> Resident:
    """Someone who spoke in person and has no account: the message is theirs all the same."""
    resident = Resident()
    db.session.add(resident)
    db.session.flush()
    return resident
