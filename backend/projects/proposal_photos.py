"""Residents' photos on their proposals. Proposals are public, residents' photos are not (#15):
a photo is seen by its proposer and by the office and liaisons who screen, and by everyone
else only once the office has marked it 可公开 after checking it for faces, number plates and
house numbers. Every photo is cleaned on the way in (no EXIF/GPS, core/images.py), with the
message photos' limits: MAX_PHOTOS per proposal, one image's size and pixels."""
from backend.accounts.resident_model import Resident
from backend.core import audit
from backend.core.errors import Forbidden, InvalidState, NotFound, ValidationFailed
from backend.core.extensions import db
from backend.core.timeutil import utcnow
from backend.messages.operations import MAX_PHOTOS
from backend.projects import core, photo_files, policy
from backend.projects.models import ProjectProposal, ProjectProposalPhoto

FOLDER = photo_files.FOLDERS["proposal"]
PRIVACY_CHECK = "公开前请逐张确认：照片中没有可辨认的人脸、车牌号、门牌号和其他个人信息"


def _rows(stored, resident_id: int, proposal_id: int | None) -> list[ProjectProposalPhoto]:
    rows = [ProjectProposalPhoto(proposal_id=proposal_id, resident_id=resident_id,
                                 storage_key=i.key, width=i.width, height=i.height,
                                 size_bytes=i.size_bytes) for i in stored]
    db.session.add_all(rows)
    db.session.flush()
    return rows


def check_count(n: int, errors: dict, field: str = "photos") -> None:
    if n > MAX_PHOTOS:
        errors[field] = [f"最多上传{MAX_PHOTOS}张照片"]


def attach_uploads(proposal: ProjectProposal, uploads, *, resident) -> list[ProjectProposalPhoto]:
    """The portal's photos, sent with the proposal form (bytes, already counted)."""
    stored = photo_files.store_all(uploads, FOLDER, field="photos", code="proposal_invalid")
    return _rows(stored, resident.id, proposal.id)


def store_upload(upload: bytes, *, resident) -> ProjectProposalPhoto:
    """The mini-program's photo, uploaded alone before the proposal that claims it (photo_ids);
    one never claimed is removed by the daily sweep (photo_files)."""
    (stored,) = photo_files.store_all([upload], FOLDER, field="photo", code="image_invalid")
    (row,) = _rows([stored], resident.id, None)
    return row


def claim(proposal: ProjectProposal, photo_ids, *, resident) -> list[ProjectProposalPhoto]:
    """The resident's own unclaimed uploads become the proposal's; anything else refuses all."""
    ids = list(dict.fromkeys(photo_ids or ()))
    if not ids:
        return []
    rows = list(db.session.scalars(db.select(ProjectProposalPhoto).where(
        ProjectProposalPhoto.id.in_(ids)).with_for_update()))
    if len(rows) != len(ids) or any(r.resident_id != resident.id or r.proposal_id is not None
                                    for r in rows):
        raise ValidationFailed(errors={"photo_ids": ["照片无效或已被使用，请重新上传"]},
                               code="proposal_invalid")
    for row in rows:
        row.proposal_id = proposal.id
    db.session.flush()
    return rows


def can_see(user, photo: ProjectProposalPhoto) -> bool:
    proposal = photo.proposal
    if proposal is None:  # not sent yet: its uploader only
        return isinstance(user, Resident) and user.id == photo.resident_id
    if not policy.can_view(user, proposal):
        return False
    if policy.is_proposer(user, proposal) or policy.can_screen_photos(user):
        return True
    return photo.public_at is not None


def visible(user, proposal: ProjectProposal) -> list[ProjectProposalPhoto]:
    return [p for p in proposal.photos if can_see(user, p)]


def get_for(user, proposal: ProjectProposal, photo_id: int) -> ProjectProposalPhoto:
    """A photo of this proposal the user may see; 404 alike for missing and not theirs."""
    photo = db.session.get(ProjectProposalPhoto, photo_id)
    if photo is None or photo.proposal_id != proposal.id or not can_see(user, photo):
        raise NotFound("照片不存在", code="photo_not_found")
    return photo


def set_public(photo: ProjectProposalPhoto, public: bool, *, actor) -> ProjectProposalPhoto:
    """The office marks a photo 可公开 (or withdraws it) while the round is being screened."""
    proposal = photo.proposal
    core.lock(proposal)
    if not policy.is_office(actor):
        raise Forbidden("只有代工委可以公开群众上传的照片", code="project_forbidden")
    if proposal.round.status not in ("collecting", "screening"):
        raise InvalidState("初选结束后不能再更改照片是否公开", code="photo_cannot_publish")
    db.session.refresh(photo)
    if public == (photo.public_at is not None):
        return photo
    photo.public_at, photo.approved_by_id = (utcnow(), actor.id) if public else (None, None)
    db.session.flush()
    audit.record("project.photo_public" if public else "project.photo_private", proposal,
                 actor=actor, after={"photo": photo.id})
    return photo
