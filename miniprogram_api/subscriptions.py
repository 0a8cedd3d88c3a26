"""Subscribe-message grants over HTTP; the counting is in backend/delivery/subscriptions.py."""
from backend.core.extensions import db
from backend.delivery import subscriptions as ops
from miniprogram_api import bp
from miniprogram_api.auth import current_resident, resident_required
from miniprogram_api.endpoint import endpoint
from miniprogram_api.schemas import SubscriptionsIn, SubscriptionsOut


@bp.get("/subscriptions")
@resident_required
@endpoint(out=SubscriptionsOut)
def subscriptions():
    """可订阅的通知模板，以及每个模板还能给我发送几次"""
    return {"templates": ops.grants_for(current_resident())}


@bp.post("/subscriptions")
@resident_required
@endpoint(body=SubscriptionsIn, out=SubscriptionsOut)
def subscribe(data):
    """记录用户允许的订阅消息模板（每个模板 +1 次）；不认识的模板忽略"""
    resident = current_resident()
    ops.record_reported_grants(resident, data["template_ids"])
    db.session.commit()
    return {"templates": ops.grants_for(resident)}
