"""Subscribe-message grants: each time a resident taps 「允许」 for a template, WeChat lets us send
exactly one message with it, so we count the acceptances (the outbox spends them). Operations
only flush; the handler commits."""
from collections import defaultdict

import sqlalchemy as sa
from flask import current_app

from backend.core.extensions import db
from backend.accounts.resident_model import Resident, SubscribeGrant


def grants_for(resident: Resident) -> list[dict]:
    """Each template we send with (WECHAT_TEMPLATES), the topics it carries, and how many more
    messages it may bring this resident: [{"template_id", "topics", "remaining"}], by id."""
    topics = defaultdict(list)
    for topic, template_id in sorted(_templates().items()):
        topics[template_id].append(topic)
    remaining = dict(db.session.execute(
        sa.select(SubscribeGrant.template_id, SubscribeGrant.remaining)
        .filter_by(resident_id=resident.id)).all())
    return [{"template_id": t, "topics": names, "remaining": remaining.get(t, 0)}
            for t, names in sorted(topics.items())]


def record_grants(resident: Resident, accepted_template_ids) -> list[str]:
    """One more send per accepted template we use (a template accepted twice in one call counts
    once, as WeChat grants it once); others are no grant of ours to count. Returns the template
    ids counted, sorted."""
    counted = sorted(set(accepted_template_ids) & set(_templates().values()))
    for template_id in counted:
        if not _bump(resident.id, template_id):
            try:
                with db.session.begin_nested():
                    db.session.add(SubscribeGrant(resident_id=resident.id,
                                                  template_id=template_id, remaining=1))
            except sa.exc.IntegrityError:
                _bump(resident.id, template_id)  # a parallel request made the row first
    return counted


def _templates() -> dict[str, str]:
    return current_app.config.get("WECHAT_TEMPLATES") or {}


def _bump(resident_id: int, template_id: str) -> bool:
    # One UPDATE, so two acceptances counted at once both count.
    return db.session.execute(
        sa.update(SubscribeGrant).filter_by(resident_id=resident_id, template_id=template_id)
        .values(remaining=SubscribeGrant.remaining + 1)).rowcount > 0
