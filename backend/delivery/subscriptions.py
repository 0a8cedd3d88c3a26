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


def push_counts_grants() -> bool:
    """With WeChat's message push configured, WeChat itself tells us each acceptance
    (subscribe_msg_popup_event, signed): the mini-program's own report would count it twice."""
    config = current_app.config
    return bool(config.get("WECHAT_PUSH_TOKEN") and config.get("WECHAT_PUSH_AES_KEY"))


def record_reported_grants(resident: Resident, accepted_template_ids) -> list[str]:
    """What the mini-program says the resident accepted: counted unless the push counts it."""
    return [] if push_counts_grants() else record_grants(resident, accepted_template_ids)


def apply_subscribe_changes(resident: Resident, changes) -> list[str]:
    """WeChat's word on the resident's choices, [(template_id, status, from_popup)]: 'accept'
    in the popup is one more send; 'reject' (in the popup, or later in the settings: a cancel)
    leaves no send to spend, as WeChat would refuse it (43101). Returns the template ids
    changed."""
    accepted = [t for t, status, popup in changes if status == "accept" and popup]
    changed = record_grants(resident, accepted)
    refused = sorted({t for t, status, _ in changes if status == "reject"}
                     & set(_templates().values()))
    for template_id in refused:
        db.session.execute(sa.update(SubscribeGrant)
                           .filter_by(resident_id=resident.id, template_id=template_id)
                           .values(remaining=0))
    return sorted(set(changed) | set(refused))


def _templates() -> dict[str, str]:
    return current_app.config.get("WECHAT_TEMPLATES") or {}


def _bump(resident_id: int, template_id: str) -> bool:
    # One UPDATE, so two acceptances counted at once both count.
    return db.session.execute(
        sa.update(SubscribeGrant).filter_by(resident_id=resident_id, template_id=template_id)
        .values(remaining=SubscribeGrant.remaining + 1)).rowcount > 0
