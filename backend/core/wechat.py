"""Talking to WeChat: login, mini-program codes, content checks, subscribe messages.

This is the only module that imports wechatpy (1.8.18). Everything else in the project
sees plain Python data and our own exceptions. Every URL, the token's included, is built
from ``WECHAT_API_BASE`` so tests and staging can point the adapter at a fake server.

Kept whole (past 400 lines): it is the one module that talks to WeChat, by design.
"""
from __future__ import annotations

import binascii
import json
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Mapping

import requests
from wechatpy.client import WeChatClient
from wechatpy.crypto import WeChatCrypto, WeChatWxaCrypto
from wechatpy.exceptions import (
    InvalidAppIdException,
    InvalidSignatureException,
    WeChatClientException,
)
from wechatpy.session.memorystorage import MemoryStorage
from wechatpy.session.redisstorage import RedisStorage
from wechatpy.utils import check_signature
from xml.parsers.expat import ExpatError

import xmltodict

from backend.core.errors import DomainError

__all__ = [
    "SecCheckResult",
    "WeChatAdapter",
    "WeChatDecryptError",
    "WeChatError",
    "WeChatNotConfigured",
    "PushRefused",
    "check_push_signature",
    "open_push",
]

DEFAULT_API_BASE = "https://api.weixin.qq.com/"
DEFAULT_MP_PAGE = "pages/deputy/index"
ENV_VERSIONS = ("release", "trial", "develop")
# subscribeMessage.send names the same three versions differently.
_MINIPROGRAM_STATE = {"release": "formal", "trial": "trial", "develop": "developer"}

# Errors after which wechatpy refreshes the token and retries the call.
_TOKEN_ERRORS = frozenset({40001, 40014, 42001})

_SCENE_RE = re.compile(r"[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}")

SEC_CHECK_MAX_CHARS = 2500
# Chunks overlap a little so a word cut at a chunk border is still seen whole once.
SEC_CHECK_OVERLAP = 50
_SUGGEST_RANK = {"pass": 0, "review": 1, "risky": 2}

# WeChat rejects subscribe-message values longer than these (characters).
_VALUE_LIMITS = {"thing": 20, "phrase": 5, "character_string": 32, "name": 10}
_DATA_KEY_RE = re.compile(r"([a-z_]+?)\d*")

_HUMAN_MESSAGES = {
    40029: "登录凭证无效或已过期，请重新进入小程序",
    45011: "操作太频繁，请稍后再试",
    40226: "该微信账号存在风险，暂不能使用",
    43101: "用户未授权接收此类通知",
}


class WeChatError(Exception):
    """WeChat answered with an error code (or could not be reached: errcode -1).

    ``errcode``/``errmsg`` are WeChat's; ``message`` is a Chinese text fit for users.
    """

    def __init__(self, errcode: int, errmsg: str | None = None):
        self.errcode = errcode
        self.errmsg = errmsg or ""
        self.message = _HUMAN_MESSAGES.get(errcode, f"微信服务暂时不可用（错误码 {errcode}）")
        super().__init__(errcode, self.errmsg)

    def __str__(self) -> str:
        return f"WeChat error {self.errcode}: {self.errmsg}"


class WeChatNotConfigured(RuntimeError):
    """WECHAT_APPID / WECHAT_SECRET are not set, so WeChat cannot be called."""


class WeChatDecryptError(ValueError):
    """encryptedData could not be decrypted, or belongs to another appid."""


@dataclass(frozen=True)
class SecCheckResult:
    suggest: str  # 'pass' | 'review' | 'risky'
    label: int | None
    trace_id: str | None


def check_push_signature(token: str, signature: str, timestamp: str, nonce: str) -> bool:
    """Verify the signature WeChat puts on message-push requests."""
    if not all(isinstance(v, str) and v for v in (token, signature, timestamp, nonce)):
        return False
    try:
        check_signature(token, signature, timestamp, nonce)
    except InvalidSignatureException:
        return False
    return True


class PushRefused(DomainError):
    """A message-push request we will not act on: unsigned, tampered, stale or unreadable."""
    status = 403


def _refuse(code: str, message: str, status: int = 403) -> PushRefused:
    refused = PushRefused(message, code=code)
    refused.status = status
    return refused


def open_push(token: str, aes_key: str, appid: str, *, signature: str, timestamp: str,
              nonce: str, msg_signature: str, body: bytes, now: float,
              max_age_seconds: int) -> dict:
    """A safe-mode (AES) push from WeChat, checked and opened: the URL signature (token,
    timestamp, nonce), the timestamp within max_age_seconds of `now` (0: not checked), the
    message signature (…and the Encrypt value), the AES decryption and the appid inside it.
    The body may be XML or JSON and so may the message in it; returns the message as a dict
    (XML as xmltodict reads it: text values, nested dicts, repeated elements as lists)."""
    if not check_push_signature(token, signature, timestamp, nonce):
        raise _refuse("push_bad_signature", "推送签名不正确")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise _refuse("push_bad_timestamp", "推送时间戳无效", 400) from None
    if max_age_seconds and abs(now - sent_at) > max_age_seconds:
        raise _refuse("push_stale", "推送已过期或时间不对，不予处理")
    envelope = _parse(body)
    encrypted = envelope.get("Encrypt") if isinstance(envelope, dict) else None
    if not isinstance(encrypted, str) or not encrypted:
        raise _refuse("push_unreadable", "推送内容无法识别", 400)
    crypto = WeChatCrypto(token, aes_key, appid)
    try:
        plain = crypto.decrypt_message({"Encrypt": encrypted}, msg_signature or "", timestamp,
                                       nonce)
    except InvalidSignatureException:
        raise _refuse("push_bad_signature", "推送签名不正确") from None
    except InvalidAppIdException:
        raise _refuse("push_wrong_app", "推送不属于本小程序") from None
    # A wrong key or tampered ciphertext fails base64, AES padding or UTF-8 decoding.
    except (ValueError, TypeError, IndexError, binascii.Error) as exc:
        raise _refuse("push_undecryptable", "推送内容无法解密", 400) from exc
    message = _parse(plain.encode("utf-8") if isinstance(plain, str) else plain)
    if not isinstance(message, dict):
        raise _refuse("push_unreadable", "推送内容无法识别", 400)
    return message


def _parse(raw: bytes) -> dict | None:
    """An XML (<xml>…</xml>) or JSON document as a dict; None when it is neither."""
    try:
        text = (raw.decode("utf-8") if isinstance(raw, bytes) else raw).strip()
        if text.startswith("<"):
            # No entities at all: a push never needs one, and they are how XML bombs work.
            if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
                return None
            return (xmltodict.parse(text, disable_entities=True) or {}).get("xml")
        return json.loads(text)
    except (ExpatError, ValueError):
        return None


class _ExpiringMemoryStorage(MemoryStorage):
    """wechatpy's MemoryStorage ignores ttl; honour it so the token gets refreshed in time."""

    def __init__(self):
        super().__init__()
        self._expiry: dict[str, float] = {}

    def get(self, key, default=None):
        expires = self._expiry.get(key)
        if expires is not None and time.monotonic() >= expires:
            self.delete(key)
        return super().get(key, default)

    def set(self, key, value, ttl=None):
        if value is None:
            return
        super().set(key, value, ttl)
        if ttl:
            self._expiry[key] = time.monotonic() + ttl
        else:
            self._expiry.pop(key, None)

    def delete(self, key):
        super().delete(key)
        self._expiry.pop(key, None)


class _StableTokenClient(WeChatClient):
    """WeChatClient using getStableAccessToken and a configurable API base.

    The stable token is the same for every caller until it expires, so workers sharing
    the storage (Redis) never invalidate each other's token.
    """

    def __init__(self, appid, secret, api_base, session, timeout):
        super().__init__(appid, secret, session=session, timeout=timeout)
        self.api_base = api_base
        # wechatpy's endpoints carry hard-coded bases; point them at ours.
        self.API_BASE_URL = api_base + "cgi-bin/"
        self.wxa.API_BASE_URL = api_base
        self._local = threading.local()

    @property
    def access_token(self):
        # The storage's ttl (WeChat's remaining expires_in) is the only expiry we trust:
        # a token read from Redis that another worker fetched has no local expires_at.
        token = self.session.get(self.access_token_key)
        if token:
            return token
        self.fetch_access_token()
        return self.session.get(self.access_token_key)

    def fetch_access_token(self):
        # force_refresh stays false: a forced refresh would invalidate the token other
        # workers hold, and is limited to a few calls a day.
        res = self._http.post(
            self.api_base + "cgi-bin/stable_token",
            json={
                "grant_type": "client_credential",
                "appid": self.appid,
                "secret": self.secret,
                "force_refresh": False,
            },
            timeout=self.timeout,
        )
        try:
            res.raise_for_status()
        except requests.RequestException as exc:
            raise WeChatClientException(None, None, client=self, request=exc.request,
                                        response=exc.response)
        result = res.json()
        if int(result.get("errcode") or 0) != 0 or not result.get("access_token"):
            raise WeChatClientException(result.get("errcode", -1),
                                        result.get("errmsg", "no access_token"),
                                        client=self, request=res.request, response=res)
        self.session.set(self.access_token_key, result["access_token"],
                         int(result.get("expires_in") or 7200))
        return result

    def _request(self, method, url_or_endpoint, **kwargs):
        # Track nesting: wechatpy's token retry calls _request again from _handle_result.
        depth = getattr(self._local, "depth", 0)
        self._local.depth = depth + 1
        try:
            return super()._request(method, url_or_endpoint, **kwargs)
        finally:
            self._local.depth = depth

    def _handle_result(self, res, method=None, url=None, result_processor=None, **kwargs):
        # wechatpy retries token errors without limit; one retry is enough.
        if getattr(self._local, "depth", 0) > 1 and isinstance(res, requests.Response):
            result = self._decode_result(res)
            if isinstance(result, dict):
                try:
                    errcode = int(result.get("errcode") or 0)
                except (TypeError, ValueError):
                    errcode = 0
                if errcode in _TOKEN_ERRORS:
                    raise WeChatClientException(errcode, result.get("errmsg", errcode),
                                                client=self, request=res.request, response=res)
        return super()._handle_result(res, method, url, result_processor, **kwargs)


@contextmanager
def _wechat_errors():
    """Turn wechatpy / requests failures into WeChatError."""
    try:
        yield
    except WeChatClientException as exc:
        try:
            errcode = int(exc.errcode)
        except (TypeError, ValueError):
            errcode = -1
        errmsg = exc.errmsg
        if exc.errcode is None and exc.response is not None:
            errmsg = f"HTTP {exc.response.status_code}"
        raise WeChatError(errcode, str(errmsg) if errmsg is not None else "") from exc
    except requests.RequestException as exc:
        raise WeChatError(-1, f"request failed: {exc.__class__.__name__}") from exc


class WeChatAdapter:
    """Mini-program server API calls, returning plain data.

    Build once per app (``WeChatAdapter.from_config(app.config)``); it is thread-safe
    enough for a Flask worker: wechatpy's client only holds a requests.Session.
    """

    def __init__(
        self,
        appid: str | None = None,
        secret: str | None = None,
        *,
        api_base: str = DEFAULT_API_BASE,
        mp_page: str = DEFAULT_MP_PAGE,
        env_version: str = "release",
        redis_url: str | None = None,
        redis_prefix: str = "lianxin:wechat",
        timeout: float = 10,
    ):
        if env_version not in ENV_VERSIONS:
            raise ValueError(f"WECHAT_ENV_VERSION must be one of {ENV_VERSIONS}, not {env_version!r}")
        self.appid = appid or None
        self.secret = secret or None
        self.api_base = (api_base or DEFAULT_API_BASE).rstrip("/") + "/"
        self.mp_page = (mp_page or DEFAULT_MP_PAGE).lstrip("/")
        self.env_version = env_version
        self.redis_url = redis_url or None
        self.redis_prefix = redis_prefix
        self.timeout = timeout
        self._client: _StableTokenClient | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "WeChatAdapter":
        return cls(
            config.get("WECHAT_APPID"),
            config.get("WECHAT_SECRET"),
            api_base=config.get("WECHAT_API_BASE") or DEFAULT_API_BASE,
            mp_page=config.get("WECHAT_MP_PAGE") or DEFAULT_MP_PAGE,
            env_version=config.get("WECHAT_ENV_VERSION") or "release",
            redis_url=config.get("REDIS_URL"),
            redis_prefix=config.get("WECHAT_REDIS_PREFIX") or "lianxin:wechat",
        )

    @property
    def configured(self) -> bool:
        return bool(self.appid and self.secret)

    @property
    def client(self) -> _StableTokenClient:
        if not self.configured:
            raise WeChatNotConfigured("WECHAT_APPID and WECHAT_SECRET must be set")
        if self._client is None:
            if self.redis_url:
                import redis  # only needed when the token is shared

                storage = RedisStorage(redis.Redis.from_url(self.redis_url), prefix=self.redis_prefix)
            else:
                storage = _ExpiringMemoryStorage()
            self._client = _StableTokenClient(self.appid, self.secret, self.api_base,
                                              storage, self.timeout)
        return self._client

    def _url(self, path: str) -> str:
        return self.api_base + path

    # --- login -------------------------------------------------------------

    def code_to_session(self, js_code: str) -> dict:
        """Exchange a wx.login() code; returns openid, unionid (or None), session_key."""
        client = self.client
        with _wechat_errors():
            result = client.wxa.code_to_session(js_code)
        if not result.get("openid") or not result.get("session_key"):
            raise WeChatError(-1, "jscode2session answered without openid/session_key")
        return {
            "openid": result["openid"],
            "unionid": result.get("unionid"),
            "session_key": result["session_key"],
        }

    def get_phone_number(self, code: str) -> str:
        """Phone number for a getPhoneNumber button code (without country code)."""
        client = self.client
        with _wechat_errors():
            result = client.post(self._url("wxa/business/getuserphonenumber"), data={"code": code})
        phone = (result.get("phone_info") or {}).get("purePhoneNumber")
        if not phone:
            raise WeChatError(-1, "getuserphonenumber answered without phone_info")
        return phone

    def decrypt_user_data(self, session_key: str, iv: str, encrypted_data: str) -> dict:
        """Decrypt legacy encryptedData; needs only the appid, not the secret."""
        if not self.appid:
            raise WeChatNotConfigured("WECHAT_APPID must be set")
        try:
            return WeChatWxaCrypto(session_key, iv, self.appid).decrypt_message(encrypted_data)
        except InvalidAppIdException as exc:
            raise WeChatDecryptError("encryptedData belongs to another appid") from exc
        # A wrong key or iv yields garbage that fails base64, AES, UTF-8 or JSON decoding.
        except (ValueError, TypeError, KeyError, IndexError, binascii.Error) as exc:
            raise WeChatDecryptError("encryptedData could not be decrypted") from exc

    # --- mini-program code -------------------------------------------------

    def get_unlimited_code(self, scene: str, page: str | None = None, width: int = 430) -> bytes:
        """Image bytes of a mini-program code opening ``page`` with ``scene``."""
        if not isinstance(scene, str) or not _SCENE_RE.fullmatch(scene):
            raise ValueError("scene must be 1-32 characters from [0-9A-Za-z!#$&'()*+,/:;=?@-._~]")
        client = self.client
        body = {
            "scene": scene,
            "page": (page or self.mp_page).lstrip("/"),
            "width": width,
            # false: the page may not be published yet (trial/develop versions).
            "check_path": False,
            "env_version": self.env_version,
        }
        with _wechat_errors():
            result = client.post(self._url("wxa/getwxacodeunlimit"), data=body)
        # wechatpy returns a dict for JSON answers (errors already raised) and the raw
        # response when the body is not JSON, i.e. the image.
        if isinstance(result, requests.Response):
            content_type = result.headers.get("Content-Type", "").lower()
            if content_type.startswith("image/") or result.content[:8] == b"\x89PNG\r\n\x1a\n" \
                    or result.content[:3] == b"\xff\xd8\xff":
                return result.content
            raise WeChatError(-1, f"getwxacodeunlimit answered {content_type or 'no content type'}")
        raise WeChatError(int(result.get("errcode") or -1), result.get("errmsg") or "no image returned")

    # --- content security --------------------------------------------------

    def msg_sec_check(self, content: str, openid: str, scene: int = 2) -> SecCheckResult:
        """msgSecCheck v2. Scene: 1 profile, 2 comment, 3 forum, 4 social log.

        Text over 2500 characters is checked in chunks; the worst verdict wins.
        """
        if not content or not content.strip():
            return SecCheckResult("pass", None, None)
        client = self.client
        worst: SecCheckResult | None = None
        for chunk in _chunks(content, SEC_CHECK_MAX_CHARS, SEC_CHECK_OVERLAP):
            with _wechat_errors():
                answer = client.post(
                    self._url("wxa/msg_sec_check"),
                    data={"content": chunk, "version": 2, "scene": scene, "openid": openid},
                )
            verdict = answer.get("result") or {}
            suggest = verdict.get("suggest")
            if suggest not in _SUGGEST_RANK:
                raise WeChatError(-1, f"msg_sec_check answered suggest={suggest!r}")
            label = verdict.get("label")
            current = SecCheckResult(suggest, int(label) if label is not None else None,
                                     answer.get("trace_id"))
            if worst is None or _SUGGEST_RANK[suggest] > _SUGGEST_RANK[worst.suggest]:
                worst = current
            if suggest == "risky":  # nothing is worse; spare the quota
                break
        return worst

    def media_check_async(self, media_url: str, openid: str, scene: int = 2) -> str:
        """mediaCheckAsync v2 for an image WeChat fetches from `media_url`; returns the
        trace_id its verdict (a wxa_media_check push, within 30 minutes) will carry."""
        client = self.client
        with _wechat_errors():
            answer = client.post(self._url("wxa/media_check_async"), data={
                "media_url": media_url, "media_type": 2, "version": 2, "scene": scene,
                "openid": openid})
        trace_id = answer.get("trace_id")
        if not trace_id:
            raise WeChatError(-1, "media_check_async answered without trace_id")
        return str(trace_id)

    # --- notifications -----------------------------------------------------

    def send_subscribe_message(self, openid: str, template_id: str, data: Mapping[str, Any],
                               page: str | None = None) -> None:
        """Send one subscribe message. Raises WeChatError 43101 if the user holds no grant."""
        client = self.client
        body = {
            "touser": openid,
            "template_id": template_id,
            "data": _template_data(data),
            "miniprogram_state": _MINIPROGRAM_STATE[self.env_version],
        }
        if page:
            body["page"] = page.lstrip("/")
        with _wechat_errors():
            client.post(self._url("cgi-bin/message/subscribe/send"), data=body)


def _chunks(text: str, size: int, overlap: int) -> list[str]:
    if len(text) <= size:
        return [text]
    step = size - overlap
    return [text[i:i + size] for i in range(0, len(text) - overlap, step)]


def _template_data(data: Mapping[str, Any]) -> dict:
    wrapped = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            value = value.get("value")
        value = "" if value is None else str(value)
        match = _DATA_KEY_RE.fullmatch(key)
        limit = _VALUE_LIMITS.get(match.group(1)) if match else None
        if limit is not None:
            value = value[:limit]
        wrapped[key] = {"value": value}
    return wrapped
