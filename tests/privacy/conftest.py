"""Fixtures for personal data: messages with phones and real photo files, written at a given
time, and the reception fixtures for bookings."""
import io
import uuid
from datetime import datetime

import pytest
from PIL import Image

from tests.reception.conftest import appt_at, appt_book, appt_make_day, appt_world  # noqa: F401


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 80, 40)).save(out, format="JPEG")
    return out.getvalue()


@pytest.fixture
def pd_deputy(district, make_deputy):
    return make_deputy(name="王建国", stations=[district.station_a])


@pytest.fixture
def pd_write(db, pd_deputy, make_resident):
    """A message with a phone and one real photo file, written at `at` (aware); returns it."""
    from backend.core.adapters import get_storage
    from backend.messages import operations as ops

    def write(at: datetime | None = None, *, resident=None, phone="13800138000", photo=True,
              status=None):
        resident = resident or make_resident()
        photo_ids = []
        if photo:
            key = get_storage().save(jpeg(), "messages", "jpg")
            photo_ids.append(ops.add_photo(resident=resident, storage_key=key, width=40,
                                           height=30, size_bytes=1).id)
        message = ops.submit_message(resident=resident, deputy=pd_deputy, phone=phone,
                                     body="小区门口的路灯坏了一个多月，晚上很不安全。",
                                     photo_ids=photo_ids, idempotency_key=uuid.uuid4().hex,
                                     now=at).message
        if status:
            message.status = status
        db.session.flush()
        return message
    return write


@pytest.fixture
def photo_files():
    """The storage keys of a message's photos (hidden ones too) and whether each file exists."""
    def files(message_ids):
        import sqlalchemy as sa

        from backend.core.adapters import get_storage
        from backend.core.extensions import db
        from backend.messages.models import MessagePhoto
        keys = list(db.session.scalars(sa.select(MessagePhoto.storage_key)
                                       .where(MessagePhoto.message_id.in_(message_ids))))
        return keys, [get_storage().exists(k) for k in keys]
    return files
