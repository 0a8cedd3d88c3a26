"""Checking and cleaning uploaded images: judged by content, never by file name; metadata
(EXIF, GPS) dropped by re-encoding the pixels only."""
import io

from PIL import Image, ImageOps, UnidentifiedImageError

from backend.core.errors import ValidationFailed

ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
Image.MAX_IMAGE_PIXELS = 40_000_000  # refuse decompression bombs


def clean_image(data: bytes, *, max_bytes: int = 10 * 1024 * 1024,
                max_side: int = 2048) -> tuple[bytes, str]:
    """Return (clean bytes, extension) or raise ValidationFailed with a Chinese reason."""
    if len(data) > max_bytes:
        raise ValidationFailed(f"图片不能超过 {max_bytes // (1024 * 1024)} MB",
                               code="image_too_large")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format
            probe.verify()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError):
        raise ValidationFailed("文件不是有效的图片（支持 JPG、PNG、WebP）", code="image_invalid")
    if fmt not in ALLOWED_FORMATS:
        raise ValidationFailed("只支持 JPG、PNG、WebP 格式的图片", code="image_type")
    with Image.open(io.BytesIO(data)) as img:
        img = ImageOps.exif_transpose(img)  # keep the orientation the phone meant
        img.thumbnail((max_side, max_side))
        if fmt == "JPEG" and img.mode not in ("RGB", "L"):
            img = img.convert("RGB")
        out = io.BytesIO()
        # A fresh save writes no EXIF/XMP/GPS: only what we pass.
        save_args = {"quality": 85} if fmt in ("JPEG", "WEBP") else {"optimize": True}
        img.save(out, format=fmt, **save_args)
    return out.getvalue(), ALLOWED_FORMATS[fmt]
