"""Deputy QR codes: issue, revoke, reissue, and render the image a poster carries."""
import secrets

from sqlalchemy.orm import joinedload

from backend.core.adapters import get_storage, get_wechat, public_url
from backend.core.errors import InvalidState, NotFound
from backend.core.extensions import db
from backend.org.models import Deputy
from backend.org.code_model import DeputyCode
from backend.core.audit import record
from backend.core.timeutil import utcnow
from qr.codes import qr_png, qr_svg

# No 0/o, 1/l/i: a liaison may have to read a token aloud over the phone.
TOKEN_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
TOKEN_LENGTH = 10


def new_token() -> str:
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


def active_code(deputy) -> DeputyCode | None:
    return db.session.scalar(
        db.select(DeputyCode).filter_by(deputy_id=deputy.id, revoked_at=None))


def issue_code(deputy, *, actor=None) -> DeputyCode:
    if active_code(deputy) is not None:
        raise InvalidState("该代表已有在用的二维码，请先作废", code="code_exists")
    code = DeputyCode(deputy_id=deputy.id, token=new_token(), created_by_id=getattr(actor, "id", None))
    db.session.add(code)
    db.session.flush()
    record("code.issue", code, actor=actor, after={"deputy_id": deputy.id})
    return code


def ensure_code(deputy, *, actor=None) -> DeputyCode:
    return active_code(deputy) or issue_code(deputy, actor=actor)


def revoke_code(deputy, *, actor, reason: str = "") -> DeputyCode:
    code = active_code(deputy)
    if code is None:
        raise InvalidState("该代表没有在用的二维码", code="no_active_code")
    code.revoked_at = utcnow()
    code.revoked_by_id = getattr(actor, "id", None)
    code.revoke_reason = reason.strip()[:200]
    db.session.flush()
    record("code.revoke", code, actor=actor, before={"active": True},
           after={"active": False, "reason": code.revoke_reason})
    return code


def reissue_code(deputy, *, actor, reason: str = "") -> DeputyCode:
    if active_code(deputy) is not None:
        revoke_code(deputy, actor=actor, reason=reason or "重新生成二维码")
    return issue_code(deputy, actor=actor)


def find_code(token: str) -> DeputyCode:
    # The deputy and their stations come along: every caller needs them next.
    code = db.session.scalars(
        db.select(DeputyCode).filter_by(token=token)
        .options(joinedload(DeputyCode.deputy).joinedload(Deputy.stations))).unique().first()
    if code is None:
        raise NotFound("二维码无效，请核对后重新扫码", code="code_unknown")
    return code


def code_url(code: DeputyCode) -> str:
    return public_url(f"/d/{code.token}")


def code_image(code: DeputyCode, fmt: str = "png") -> tuple[bytes, str]:
    """The image for a code: plain QR (png/svg), or the mini-program code when WeChat is set up."""
    if fmt == "svg":
        return qr_svg(code_url(code)), "image/svg+xml"
    if fmt == "wxacode":
        image = mini_program_code(code)
        if image is not None:
            return image, "image/png"
    return qr_png(code_url(code)), "image/png"


def mini_program_code(code: DeputyCode) -> bytes | None:
    """Fetched once from wxacode.getUnlimited and cached; None when WeChat is not configured."""
    wechat = get_wechat()
    if not wechat.configured:
        return None
    storage = get_storage()
    if storage.exists(code.wxacode_path):
        return storage.read(code.wxacode_path)
    image = wechat.get_unlimited_code(scene=code.token)
    code.wxacode_path = storage.save(image, "wxacode", "png")
    db.session.flush()
    return image


def poster_code_image(code: DeputyCode) -> bytes:
    return code_image(code, "wxacode")[0]
