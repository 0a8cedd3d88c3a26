from flask import url_for

from backend.errors import Gone
from backend.operations import public
from backend.timeutil import local_today
from miniprogram_api import bp
from miniprogram_api.schemas import DeputyCard


@bp.get("/deputies/<token>")
def deputy_card(token: str):
    """A deputy's public card by code token; the mini-program passes the scanned `scene` here."""
    code, deputy = public.deputy_by_token(token)
    if not code.is_active:
        current = public.current_code_for(deputy)
        raise Gone("此二维码已停止使用", code="code_revoked",
                   errors={"current_token": current.token if current else None})
    return DeputyCard().dump({
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
        "next_reception_date": public.next_reception_date(local_today()),
    })
