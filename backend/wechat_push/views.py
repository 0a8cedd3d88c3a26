"""GET /wechat/push answers WeChat's URL check; POST /wechat/push takes a safe-mode push:
checked and opened by backend/core/wechat.py, taken once (backend/core/push_nonces.py), acted
on (events.py), committed, answered `success`. A refused push is a 4xx with a code, and
nothing changes. GET /wechat/media/<signed id> is where WeChat fetches a photo it checks."""
import time

from flask import Flask, Response, current_app, jsonify, request

from backend.core.errors import DomainError
from backend.core.extensions import db
from backend.core.media import image_response
from backend.core.push_nonces import claim_nonce
from backend.core.wechat import PushRefused, check_push_signature, open_push
from backend.messages import operations as messages
from backend.messages.operations import MEDIA_FETCH_PATH
from backend.wechat_push import bp
from backend.wechat_push.events import handle_push

PREFIX = "/wechat/push"


def _refused(code: str, message: str, status: int) -> PushRefused:
    refused = PushRefused(message, code=code)
    refused.status = status
    return refused


def _settings() -> tuple[str, str, str]:
    config = current_app.config
    token, aes_key = config.get("WECHAT_PUSH_TOKEN"), config.get("WECHAT_PUSH_AES_KEY")
    if not (token and aes_key and config.get("WECHAT_APPID")):
        raise _refused("push_not_configured", "未配置微信消息推送", 404)
    return token, aes_key, config["WECHAT_APPID"]


def _signed_args() -> tuple[str, str, str]:
    args = request.args
    signature, timestamp, nonce = (args.get(k, "") for k in ("signature", "timestamp", "nonce"))
    if not (signature and timestamp and nonce) or len(timestamp) > 20 or len(nonce) > 64:
        raise _refused("push_bad_signature", "推送签名参数缺失或无效", 400)
    return signature, timestamp, nonce


@bp.get(PREFIX)
def url_check():
    token, _, _ = _settings()
    signature, timestamp, nonce = _signed_args()
    if not check_push_signature(token, signature, timestamp, nonce):
        raise _refused("push_bad_signature", "推送签名不正确", 403)
    return Response(request.args.get("echostr", ""), mimetype="text/plain")


@bp.post(PREFIX)
def receive():
    token, aes_key, appid = _settings()
    signature, timestamp, nonce = _signed_args()
    if request.args.get("encrypt_type") != "aes":
        raise _refused("push_not_encrypted", "只接受安全模式（加密）的推送", 400)
    max_age = int(current_app.config.get("WECHAT_PUSH_MAX_AGE_SECONDS") or 0)
    message = open_push(token, aes_key, appid, signature=signature, timestamp=timestamp,
                        nonce=nonce, msg_signature=request.args.get("msg_signature", ""),
                        body=request.get_data(), now=time.time(), max_age_seconds=max_age)
    if not claim_nonce(timestamp, nonce, max_age_seconds=max_age):
        raise _refused("push_replayed", "这条推送已经处理过，不再重复处理", 409)
    handle_push(message)
    db.session.commit()
    return Response("success", mimetype="text/plain")


@bp.get(MEDIA_FETCH_PATH + "<token>")
def media_fetch(token: str):
    """Where WeChat's media check fetches a resident's photo: the signed, lapsing id is the key."""
    photo = messages.photo_for_fetch_token(token)
    response = image_response(photo.storage_key) if photo is not None else None
    if response is None:
        raise _refused("media_not_found", "图片不存在或链接已过期", 404)
    return response


def _answer(err: DomainError):
    db.session.rollback()
    return jsonify(code=err.code, message=err.message), err.status


def register_wechat_push(app: Flask) -> None:
    from backend.core.extensions import csrf
    from backend.web import answer_errors_under
    app.register_blueprint(bp)
    csrf.exempt(bp)  # WeChat signs its pushes; it holds no session or CSRF token
    answer_errors_under(app, PREFIX, _answer)
    answer_errors_under(app, MEDIA_FETCH_PATH, _answer)
