"""What a push from WeChat changes: a photo's asynchronous content verdict (wxa_media_check)
and a resident's subscribe-message choices. Other events are acknowledged and ignored."""
import logging

from backend.accounts.resident_model import Resident
from backend.core.extensions import db
from backend.delivery.subscriptions import apply_subscribe_changes
from backend.messages import operations as messages
from backend.messages.moderation import WECHAT_LABELS

log = logging.getLogger("lianxin.wechat_push")
SUBSCRIBE_EVENTS = {"subscribe_msg_popup_event": "SubscribeMsgPopupEvent",
                    "subscribe_msg_change_event": "SubscribeMsgChangeEvent"}


def handle_push(message: dict) -> None:
    event = message.get("Event") if message.get("MsgType") == "event" else None
    if event == "wxa_media_check":
        _media_check(message)
    elif event in SUBSCRIBE_EVENTS:
        _subscribe_choices(message, event)
    else:
        log.info("WeChat push ignored: MsgType=%s Event=%s", message.get("MsgType"), event)


def _media_check(message: dict) -> None:
    result = message.get("result") if isinstance(message.get("result"), dict) else {}
    trace_id = str(message.get("trace_id") or "")
    if str(message.get("errcode") or "0") != "0" or result.get("suggest") != "risky":
        return  # passed, or only "review" (a person looks at held messages anyway), or failed
    photo = messages.photo_by_trace_id(trace_id) if trace_id else None
    if photo is None:
        log.warning("wxa_media_check for an unknown trace_id %r", trace_id)
        return
    try:
        label = WECHAT_LABELS.get(int(result.get("label")), "其他")
    except (TypeError, ValueError):
        label = "其他"
    messages.hide_risky_photo(photo, label_text=label)


def _subscribe_choices(message: dict, event: str) -> None:
    openid = message.get("FromUserName")
    resident = db.session.scalar(db.select(Resident).filter_by(openid=openid)) if openid else None
    if resident is None:
        return
    # XML nests the list in SubscribeMsgPopupEvent/…ChangeEvent; JSON puts List at the top.
    holder = message.get(SUBSCRIBE_EVENTS[event])
    items = (holder if isinstance(holder, dict) else message).get("List") or []
    if isinstance(items, dict):
        items = [items]  # one template: a single element, not a list
    apply_subscribe_changes(resident, [
        (str(item.get("TemplateId") or ""), str(item.get("SubscribeStatusString") or ""),
         event == "subscribe_msg_popup_event")
        for item in items if isinstance(item, dict)])
