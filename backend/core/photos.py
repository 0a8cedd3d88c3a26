"""Storing an uploaded photo: judged and cleaned (images.clean_image), written through the
storage adapter, measured. Shared by residents' message photos and projects' progress photos;
the caller adds its own row and removes the file (`key`) if its transaction does not commit."""
import io
from dataclasses import dataclass

from PIL import Image

from backend.core.adapters import get_storage
from backend.core.images import clean_image


@dataclass(frozen=True)
class StoredImage:
    key: str
    width: int
    height: int
    size_bytes: int


def store_image(upload: bytes, folder: str) -> StoredImage:
    data, ext = clean_image(upload)
    storage = get_storage()
    key = storage.save(data, folder, ext)
    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
    except BaseException:
        storage.delete(key)
        raise
    return StoredImage(key, width, height, len(data))
