"""Protecting residents' data: phone numbers encrypted at rest (under a rotatable list of keys),
found again through a keyed blind index, masked on screen; and the secret lookup code that
lets a resident follow their message."""
import base64
import hashlib
import hmac
import re

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
LOOKUP_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def field_keys(config) -> list[str]:
    """FIELD_ENCRYPTION_KEY as a list, newest first (comma-separated while a rotation runs)."""
    raw = config.get("FIELD_ENCRYPTION_KEY") or ""
    return [k.strip() for k in raw.split(",") if k.strip()]


def _fernets() -> list[Fernet]:
    keys = field_keys(current_app.config)
    if not keys:
        # Development only: derive a stable key so demo data survives restarts.
        keys = [base64.urlsafe_b64encode(
            hashlib.sha256(current_app.config["SECRET_KEY"].encode()).digest())]
    return [Fernet(k) for k in keys]


def _fernet() -> MultiFernet:
    return MultiFernet(_fernets())


def normalise_phone(raw: str) -> str:
    return re.sub(r"[\s\-]", "", raw or "").removeprefix("+86")


def encrypt_phone(phone: str) -> str:
    return _fernet().encrypt(phone.encode()).decode()


def decrypt_phone(token: str) -> str | None:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return None


def under_newest_key(token: str) -> bool:
    """Whether the newest key alone opens it: what a rotation can skip."""
    try:
        _fernets()[0].decrypt(token.encode())
        return True
    except InvalidToken:
        return False


def reencrypt(token: str) -> str:
    """The same value under the newest key (InvalidToken if no key opens it)."""
    return _fernet().rotate(token.encode()).decode()


def _index_key() -> bytes:
    key = current_app.config.get("PHONE_INDEX_KEY")
    if key:
        return key.encode()
    # Development and tests only (production refuses to start without it): derived, but apart
    # from every other use of SECRET_KEY.
    return hmac.new(current_app.config["SECRET_KEY"].encode(), b"phone-index",
                    hashlib.sha256).digest()


def phone_index(raw: str) -> str | None:
    """The blind index of a phone number: a keyed hash of its normalised form, so a search by
    phone is one indexed equality and no row is decrypted. None for what is not a phone."""
    phone = normalise_phone(raw)
    if not PHONE_RE.match(phone):
        return None
    return hmac.new(_index_key(), phone.encode(), hashlib.sha256).hexdigest()


def phone_fields(phone: str) -> dict:
    """The columns a row holding a (valid, normalised or empty) phone number stores."""
    if not phone:
        return {"phone_encrypted": None, "phone_prefix": "", "phone_last4": "", "phone_index": None}
    return {"phone_encrypted": encrypt_phone(phone), "phone_prefix": phone[:3],
            "phone_last4": phone[-4:], "phone_index": phone_index(phone)}


def mask_phone(prefix: str, last4: str) -> str:
    return f"{prefix}****{last4}" if prefix and last4 else ""


def lookup_code(message_id: int) -> str:
    """Derived, not stored: the same message always gives the same code, so a retried
    submission shows the resident the code they may already have written down."""
    key = (current_app.config.get("LOOKUP_CODE_KEY") or current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(key, f"lookup:{message_id}".encode(), hashlib.sha256).digest()
    return "".join(LOOKUP_ALPHABET[b % len(LOOKUP_ALPHABET)] for b in digest[:6])


def lookup_code_matches(message_id: int, given: str) -> bool:
    return hmac.compare_digest(lookup_code(message_id), (given or "").strip().upper())
