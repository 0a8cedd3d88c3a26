"""Deployment settings. Secrets come only from the environment; everything a station can
change lives in the database instead."""
import json
import os
from datetime import timedelta


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEV_SECRET_KEY = "dev-only-not-secret"  # public: in this file; production refuses it


class MissingSecret(RuntimeError):
    """Production cannot start without its own keys (see check_secrets)."""


class BaseConfig:
    LIANXIN_ENV = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
    # Encrypts residents' phone numbers at rest (Fernet key, urlsafe base64 of 32 bytes).
    FIELD_ENCRYPTION_KEY = os.environ.get("FIELD_ENCRYPTION_KEY")
    # Keys the blind index of phone numbers (staff find a resident's messages by phone without
    # decrypting); apart from the encryption key, so rotating that one keeps every index valid.
    PHONE_INDEX_KEY = os.environ.get("PHONE_INDEX_KEY")
    # 个人信息保护: months after which messages never turned into a suggestion lose the
    # writer's phone, photos and link (text kept for figures), and idle residents their ids.
    RETENTION_MONTHS = int(os.environ.get("RETENTION_MONTHS", "24"))
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL")  # None → SQLite in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # Unset: derived when the app is built from the address the server is started on
    # (PUBLIC_HOST, FLASK_RUN_PORT), so `scripts/start 5101` prints QR codes for port 5101.
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL")
    # The number the residents' home page gives for help; unset: the 代表之家's phone.
    HELP_PHONE = os.environ.get("HELP_PHONE", "")
    REDIS_URL = os.environ.get("REDIS_URL")
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR")  # None → <instance>/uploads
    # "s3": photos and cached codes in an S3-compatible bucket shared by every web machine
    # (backend/core/storage_s3.py); credentials from the AWS_* variables, read by boto3.
    STORAGE_BACKEND = os.environ.get("STORAGE_BACKEND", "local")
    S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL")  # unset: AWS itself
    S3_BUCKET = os.environ.get("S3_BUCKET")
    S3_REGION = os.environ.get("S3_REGION")
    S3_PREFIX = os.environ.get("S3_PREFIX", "")
    S3_ADDRESSING_STYLE = os.environ.get("S3_ADDRESSING_STYLE")  # path / virtual / auto

    PERMANENT_SESSION_LIFETIME = timedelta(hours=int(os.environ.get("SESSION_HOURS", "8")))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    REMEMBER_COOKIE_HTTPONLY = True
    WTF_CSRF_TIME_LIMIT = None  # the session lifetime bounds the token already

    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCKOUT_MINUTES = 15
    # Failed sign-ins one address may make, whatever usernames it tries (beside the per-account
    # lock-out); a station office behind one NAT address stays far below it.
    LOGIN_RATE_PER_IP = os.environ.get("LOGIN_RATE_PER_IP", "30 per 10 minutes")
    # How many reverse proxies in front of the app set X-Forwarded-For/-Proto (0: none, the
    # headers are ignored). Without it, behind nginx every per-address limit sees one address;
    # with too high a number, a client could forge its address.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))

    WECHAT_APPID = os.environ.get("WECHAT_APPID")
    WECHAT_SECRET = os.environ.get("WECHAT_SECRET")
    # Message push (消息推送, safe mode): the Token and EncodingAESKey set in WeChat's console,
    # and how old (seconds) a push's timestamp may be; 0 turns the age check off.
    WECHAT_PUSH_TOKEN = os.environ.get("WECHAT_PUSH_TOKEN")
    WECHAT_PUSH_AES_KEY = os.environ.get("WECHAT_PUSH_AES_KEY")
    WECHAT_PUSH_MAX_AGE_SECONDS = int(os.environ.get("WECHAT_PUSH_MAX_AGE_SECONDS", "300"))
    WECHAT_API_BASE = os.environ.get("WECHAT_API_BASE", "https://api.weixin.qq.com/")
    WECHAT_MP_PAGE = os.environ.get("WECHAT_MP_PAGE", "pages/deputy/index")
    WECHAT_ENV_VERSION = os.environ.get("WECHAT_ENV_VERSION", "release")
    # Subscribe-message template per notification topic, as JSON:
    # {"message.answered": "<template id>", ...}. A topic without one goes to the in-app inbox;
    # backend/delivery/outbox.py says which keys (thing1, time4 …) each template must have.
    WECHAT_TEMPLATES = json.loads(os.environ.get("WECHAT_TEMPLATES") or "{}")

    # A reception day puts many residents behind one station Wi-Fi: the per-IP limit is generous.
    SUBMIT_RATE_PER_IP = os.environ.get("SUBMIT_RATE_PER_IP", "120 per hour")
    # Messages and bookings are counted apart: a resident who wrote several messages can still book.
    SUBMIT_RATE_PER_RESIDENT = os.environ.get("SUBMIT_RATE_PER_RESIDENT", "5 per 10 minutes;20 per day")
    BOOKING_RATE_PER_RESIDENT = os.environ.get("BOOKING_RATE_PER_RESIDENT", "5 per 10 minutes;20 per day")
    # A resident's full phone number: looks per staff user per hour (portal and mini-program).
    PHONE_REVEALS_PER_HOUR = int(os.environ.get("PHONE_REVEALS_PER_HOUR", "20"))
    RATELIMIT_STORAGE_URI = os.environ.get("REDIS_URL") or "memory://"
    RATELIMIT_KEY_PREFIX = "lianxin"
    # Redis down must not refuse residents: count in this process's memory meanwhile (logged).
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}

    # Suggestions (代表建议): months a department has to answer after 交办, and how many times an
    # unsatisfied deputy may send an answer back for a second one.
    SUGGESTION_DEADLINE_MONTHS = int(os.environ.get("SUGGESTION_DEADLINE_MONTHS", "3"))
    SUGGESTION_COMPLEX_DEADLINE_MONTHS = int(os.environ.get("SUGGESTION_COMPLEX_DEADLINE_MONTHS", "6"))
    SUGGESTION_MAX_REANSWERS = int(os.environ.get("SUGGESTION_MAX_REANSWERS", "1"))

    # The scheduler process (backend/jobs/scheduler.py): the holder renews its lease well before it
    # lapses; a second process, checking every SCHEDULER_RENEW_SECONDS, takes over within
    # SCHEDULER_LEASE_SECONDS + SCHEDULER_RENEW_SECONDS (80 s by default) of the first dying.
    SCHEDULER_LEASE_SECONDS = float(os.environ.get("SCHEDULER_LEASE_SECONDS", "60"))
    SCHEDULER_RENEW_SECONDS = float(os.environ.get("SCHEDULER_RENEW_SECONDS", "20"))
    SCHEDULER_OUTBOX_SECONDS = int(os.environ.get("SCHEDULER_OUTBOX_SECONDS", "30"))
    # How often the scheduler stores the category model's suggestions for new messages.
    TRIAGE_SUGGEST_SECONDS = int(os.environ.get("TRIAGE_SUGGEST_SECONDS", "60"))
    # "module:function(config)" returning another job list; empty: the standard jobs. For tests.
    SCHEDULER_JOBS = os.environ.get("SCHEDULER_JOBS", "")

    MAX_CONTENT_LENGTH = 40 * 1024 * 1024
    # The app answers a coded 414 past this; keep it under gunicorn's --limit-request-line
    # (4094 by default), which answers longer request lines with its own English page.
    MAX_URL_LENGTH = int(os.environ.get("MAX_URL_LENGTH", "2048"))
    TIMEZONE = "Asia/Shanghai"
    # "json": log lines as JSON objects with the request id (backend/core/observability.py).
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "")


class DevelopmentConfig(BaseConfig):
    DEBUG = True


class TestingConfig(BaseConfig):
    LIANXIN_ENV = "testing"
    TESTING = True
    SECRET_KEY = "test-secret"
    FIELD_ENCRYPTION_KEY = "x7Yq0V3m1pS8bX5oQk2nR9tW4uZ6cA0eD3fG7hJ1kL8="
    PHONE_INDEX_KEY = "test-phone-index-key"
    WTF_CSRF_ENABLED = True
    PUBLIC_BASE_URL = "http://testserver"
    WECHAT_APPID = None
    WECHAT_SECRET = None
    WECHAT_TEMPLATES = {}
    WECHAT_PUSH_TOKEN = None
    WECHAT_PUSH_AES_KEY = None


class ProductionConfig(BaseConfig):
    LIANXIN_ENV = "production"
    # Every cookie we set (session, resident, text size) follows this: HTTPS only.
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_for(name: str | None):
    return CONFIGS[name or os.environ.get("LIANXIN_ENV", "development")]


def check_secrets(config) -> None:
    """In production, refuse to start on the public development key or without a key of its
    own for phone numbers: tokens and sessions signed with a key anyone can read can be
    forged, and the phone key would otherwise be derived from that same key."""
    if config.get("LIANXIN_ENV") != "production":
        return
    secret = config.get("SECRET_KEY")
    if not secret or secret == DEV_SECRET_KEY:
        raise MissingSecret(
            "生产环境必须设置环境变量 SECRET_KEY（会话和小程序登录令牌的签名密钥，请用随机生成的长字符串）。"
            " SECRET_KEY must be set to a random secret in production"
            " (e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))').")
    keys = [k.strip() for k in (config.get("FIELD_ENCRYPTION_KEY") or "").split(",") if k.strip()]
    if not keys:
        raise MissingSecret(
            "生产环境必须设置环境变量 FIELD_ENCRYPTION_KEY（居民手机号的加密密钥）。"
            " FIELD_ENCRYPTION_KEY must be set in production"
            " (python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())').")
    from cryptography.fernet import Fernet
    try:
        for key in keys:
            Fernet(key)
    except ValueError:
        raise MissingSecret(
            "环境变量 FIELD_ENCRYPTION_KEY 不是有效的 Fernet 密钥（应为 32 字节的 urlsafe base64，"
            "轮换期间可以是逗号分隔的多个，新的在前）。"
            " FIELD_ENCRYPTION_KEY is not a valid Fernet key or comma-separated list of them"
            " (urlsafe base64 of 32 bytes).") from None
    if not config.get("PHONE_INDEX_KEY"):
        raise MissingSecret(
            "生产环境必须设置环境变量 PHONE_INDEX_KEY（按手机号查找留言用的索引密钥，请用随机生成的长字符串）。"
            " PHONE_INDEX_KEY must be set in production"
            " (e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))').")
