"""Photos: uploaded one per request (as wx.uploadFile sends them) before the message that
carries them, and shown only to those who may see that message."""

from flask import current_app

from backend.messages import policy
from backend.core.adapters import get_storage
from backend.core.errors import NotFound
from backend.core.extensions import db
from backend.core.media import image_response
from backend.messages.models import MessagePhoto
from backend.messages import operations as ops
from backend.core.ratelimit import limiter, resident_key
from miniprogram_api import bp
from miniprogram_api.auth import current_resident, current_staff, resident_required
from miniprogram_api.endpoint import endpoint
from miniprogram_api.schemas_messages import PhotoOut, PhotoUploadIn


def _photo_rate() -> str:
    # Photos fill the disk: a resident uploads at most a few messages' worth.
    return current_app.config.get("PHOTO_RATE_PER_RESIDENT", "60 per hour")


@bp.post("/photos")
@resident_required
@limiter.limit(_photo_rate, key_func=resident_key, scope="mp-photo")
@endpoint(form=PhotoUploadIn, out=PhotoOut, status=201)
def upload_photo(data):
    """上传一张照片（multipart，字段名 photo）；把返回的 id 放进留言的 photo_ids"""
    photo = ops.store_photo(data["photo"].read(), resident=current_resident())
    try:
        db.session.commit()
    except BaseException:
        get_storage().delete(photo.storage_key)  # no row, no file
        raise
    return photo


@bp.get("/photos/<int:photo_id>")
@resident_required
@endpoint(file_type="image/*")
def photo_file(photo_id: int):
    """照片文件：上传者、留言人，以及有权查看这条留言的代表和联络员可见"""
    photo = ops.visible_photo(photo_id)
    response = image_response(photo.storage_key) if photo and _may_see(photo) else None
    if response is None:
        raise NotFound("照片不存在", code="photo_not_found")
    return response


def _may_see(photo: MessagePhoto) -> bool:
    if photo.message is None:  # not sent yet: only its uploader
        return photo.resident_id == current_resident().id
    viewers = (current_resident(), current_staff())
    return any(policy.can_view(user, photo.message) for user in viewers)
