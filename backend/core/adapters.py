"""Where operations find the outside world (storage, WeChat) configured for this app."""
from flask import current_app


def get_storage():
    return current_app.extensions["lianxin_storage"]


def get_wechat():
    return current_app.extensions["lianxin_wechat"]


def public_url(path: str) -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + path
