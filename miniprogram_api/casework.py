"""What deputy and liaison mode share: the `case_action` wrapper every action on one message
goes through, and the phone reveal both need."""
from functools import wraps

from backend.core.extensions import db
from backend.messages import operations as ops
from miniprogram_api import bp
from miniprogram_api.auth import current_staff
from miniprogram_api.endpoint import endpoint
from miniprogram_api.schemas_staff import PhoneOut, RevealIn, StaffMessageOut


def case_action(rule: str, audience, body=None, out=StaffMessageOut, name: str | None = None,
                **spec):
    """Register POST `rule` on one message: the audience decorator checks the channel,
    `get_for` loads the message (404, or 403 unless the user may view it), the view calls one
    operation as `view(message, data, actor)`, one commit, and the message (or what the view
    returned) is dumped with `out`."""
    def decorator(view):
        @bp.post(rule, endpoint=name or view.__name__)
        @audience
        @endpoint(body=body, out=out, **spec)
        @wraps(view)
        def wrapped(message_id: int, data=None):
            actor = current_staff()
            message = ops.get_for(actor, message_id)
            result = view(message, data or {}, actor)
            db.session.commit()
            return message if result is None else result
        return wrapped
    return decorator


def reveal_phone(message, data, actor) -> dict:
    """查看居民的完整手机号：须填写原因，每次查看连同原因记入审计日志；每人每小时有次数上限（超出返回 429）"""
    return {"phone": ops.reveal_phone(message, reason=data["reason"], actor=actor)}


def phone_action(rule: str, audience, name: str):
    """The phone reveal, for each audience whose work needs it."""
    return case_action(rule, audience, RevealIn, out=PhoneOut, name=name)(reveal_phone)
