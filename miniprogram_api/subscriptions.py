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
    """报告用户在订阅弹窗中允许的模板，返回每个模板当前的可发送次数
    未配置微信消息推送时，每个允许的模板可发送次数 +1（不认识的模板忽略）；配置了消息推送时，次数只按微信推送的订阅事件计算，本接口不再计数，只返回当前次数，以免同一次「允许」记两次。"""
    resident = current_resident()
    ops.record_reported_grants(resident, data["template_ids"])
    db.session.commit()
    return {"templates": ops.grants_for(resident)}
