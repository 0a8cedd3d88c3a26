"""Subscribe-message grants: each time a resident taps 「允许」 for a template, WeChat lets us send
exactly one message with it, so we count the acceptances (the outbox spends them)."""
from collections import defaultdict

import sqlalchemy as sa
from flask import current_app

from backend.extensions import db
from backend.models import Resident, SubscribeGrant
from miniprogram_api import bp
from miniprogram_api.auth import current_resident, resident_required
from miniprogram_api.endpoint import endpoint
from miniprogram_api.schemas import SubscriptionsIn, SubscriptionsOut


@bp.get("/subscriptions")
@resident_required
@endpoint(out=SubscriptionsOut)
def subscriptions():
    """可订阅的通知模板，以及每个模板还能给我发送几次"""
    return templates_for(current_resident())


@bp.post("/subscriptions")
@resident_required
@endpoint(body=SubscriptionsIn, out=SubscriptionsOut)
def subscribe(data):
    """记录用户允许的订阅消息模板（每个模板 +1 次）；不认识的模板忽略"""
    resident = current_resident()
    add_grants(resident, data["template_ids"])
    db.session.commit()
    return templates_for(resident)


def templates_for(resident: Resident) -> dict:
    topics = defaultdict(list)
    for topic, template_id in sorted((current_app.config.get("WECHAT_TEMPLATES") or {}).items()):
        topics[template_id].append(topic)
    remaining = dict(db.session.execute(
        db.select(SubscribeGrant.template_id, SubscribeGrant.remaining)
        .filter_by(resident_id=resident.id)).all())
    return {"templates": [{"template_id": t, "topics": names, "remaining": remaining.get(t, 0)}
                          for t, names in sorted(topics.items())]}


def add_grants(resident: Resident, template_ids) -> None:
    """One more send per accepted template we use; others are no grant of ours to count."""
    known = set((current_app.config.get("WECHAT_TEMPLATES") or {}).values())
    for template_id in sorted(set(template_ids) & known):
        if not _bump(resident.id, template_id):
            try:
                with db.session.begin_nested():
                    db.session.add(SubscribeGrant(resident_id=resident.id,
                                                  template_id=template_id, remaining=1))
            except sa.exc.IntegrityError:
                _bump(resident.id, template_id)  # a parallel request made the row first


def _bump(resident_id: int, template_id: str) -> bool:
    # One UPDATE, so two acceptances counted at once both count.
    return db.session.execute(
        sa.update(SubscribeGrant).filter_by(resident_id=resident_id, template_id=template_id)
        .values(remaining=SubscribeGrant.remaining + 1)).rowcount > 0
