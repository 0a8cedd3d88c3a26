"""Deputies' public cards: by code token, or by the scene of a scanned mini-program code."""
import re
from urllib.parse import unquote, urlsplit

from flask import url_for

from backend.core.errors import Gone
from backend.org import public
from backend.reception import days as reception_days
from backend.core.timeutil import local_today
from miniprogram_api import bp
from miniprogram_api.endpoint import endpoint
from miniprogram_api.schemas import DeputyCard, SceneQuery

_CODE_PATH_RE = re.compile(r"/d/([^/?#]+)")


def live_deputy(token: str):
    """The deputy behind a code that is still in use; an old poster says where they are now."""
    code, deputy = public.deputy_by_token(token)
    if not code.is_active:
        current = public.current_code_for(deputy)
        raise Gone("此二维码已停止使用", code="code_revoked",
                   errors={"current_token": current.token if current else None})
    return code, deputy


@bp.get("/deputies/<token>")
@endpoint(out=DeputyCard)
def deputy_card(token: str):
    """代表的公开名片（按二维码 token）"""
    return _card(*live_deputy(token))


@bp.get("/deputies/by-scene")
@endpoint(query=SceneQuery, out=DeputyCard)
def deputy_by_scene(data):
    """代表的公开名片（按小程序码的 scene，或扫普通二维码得到的链接）"""
    return _card(*live_deputy(scene_token(data["scene"])))


def scene_token(scene: str) -> str:
    """The mini-program gets `scene` URL-encoded; a plain QR code opens it with the /d/ URL."""
    scene = unquote(scene).strip()
    match = _CODE_PATH_RE.search(urlsplit(scene).path) if "/" in scene else None
    return match.group(1) if match else scene


def _card(code, deputy) -> dict:
    return {
        "token": code.token,
        "name": deputy.name,
        "level": deputy.level,
        "level_label": deputy.level_label,
        "occupation": deputy.occupation,
        "expertise": deputy.expertise,
        "intro": deputy.intro,
        "photo_url": (url_for("portal.media", key=deputy.photo_path, _external=True)
                      if deputy.photo_path else None),
        "stations": [s for s in deputy.stations if s.is_active],
        "next_reception_date": getattr(
            reception_days.next_day(deputy.primary_station, local_today()), "date", None),
    }
