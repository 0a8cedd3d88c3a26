"""Protecting residents' data: phone numbers encrypted at rest and masked on screen, and the
secret lookup code that lets a resident follow their message."""
import base64
import hashlib
import hmac
import re

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
LOOKUP_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def _fernet() -> Fernet:
    key = current_app.config.get("FIELD_ENCRYPTION_KEY")
    if not key:
        # Development only: derive a stable key so demo data survives restarts.
        key = base64.urlsafe_b64encode(
            hashlib.sha256(current_app.config["SECRET_KEY"].encode()).digest())
    return Fernet(key)


def normalise_phone(raw: str) -> str:
    return re.sub(r"[\s\-]", "", raw or "").removeprefix("+86")


def encrypt_phone(phone: str) -> str:
    return _fernet().encrypt(phone.encode()).decode()


def decrypt_phone(token: str) -> str | None:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return None


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
