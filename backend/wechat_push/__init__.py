"""WeChat's message push (消息推送): the URL WeChat's console is given. A channel of its own:
WeChat is the caller, identified by signatures, not by a cookie or a token."""
from flask import Blueprint

bp = Blueprint("wechat_push", __name__)

from backend.wechat_push import views  # noqa: E402,F401  (routes register on bp)
