"""Checking and cleaning uploaded images: judged by content, never by file name; only the pixels
are kept (re-encoded: no EXIF/GPS, no comment or APPn segment, no text chunk).

Decompression bombs are refused by the size the header declares, before any pixel is decoded,
and what is accepted is decoded in bounded memory:
- JPEG up to 50 megapixels: a 50 MP phone camera (8160 × 6144) must work, and JPEG decodes at
  1/2, 1/4 or 1/8 scale (draft), so a 50 MP photo costs about 12 MP of memory (~40 MB);
- PNG and WebP up to 16 megapixels: they decode at full size (16 MP RGBA is 64 MB); a 12 MP
  photo (4032 × 3024) or any phone screenshot fits, and nobody sends a 16 MP PNG of a pothole.
Pillow's own bomb check (MAX_IMAGE_PIXELS) stays as the backstop for other callers."""
import io
import warnings

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from backend.core.errors import ValidationFailed

ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
INVALID = "文件不是有效的图片（支持 JPG、PNG、WebP）"
MAX_PIXELS = {"JPEG": 50_000_000, "PNG": 16_000_000, "WEBP": 16_000_000}
Image.MAX_IMAGE_PIXELS = max(MAX_PIXELS.values())  # warns above, refuses above twice this
_SRGB = ImageCms.createProfile("sRGB")


def clean_image(data: bytes, *, max_bytes: int = 10 * 1024 * 1024,
                max_side: int = 2048) -> tuple[bytes, str]:
    """Return (clean bytes, extension) or raise ValidationFailed with a Chinese reason."""
    if len(data) > max_bytes:
        raise ValidationFailed(f"图片不能超过 {max_bytes // (1024 * 1024)} MB",
                               code="image_too_large")
    try:
        with warnings.catch_warnings():  # Pillow's own warning: _check_pixels decides
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))  # reads the header only
    except Image.DecompressionBombError:  # past twice Pillow's limit: refused while opening
        raise ValidationFailed(_too_many_pixels(max(MAX_PIXELS.values())),
                               code="image_too_many_pixels")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise ValidationFailed(INVALID, code="image_invalid")
    try:
        with probe as img:
            fmt = img.format
            if fmt not in ALLOWED_FORMATS:
                raise ValidationFailed("只支持 JPG、PNG、WebP 格式的图片", code="image_type")
            _check_pixels(fmt, *img.size)
            img.verify()
        with Image.open(io.BytesIO(data)) as img:
            if fmt == "JPEG":
                img.draft("RGB", (max_side, max_side))  # decode at the smallest scale ≥ max_side
            orientation = img.getexif().get(0x0112)
            icc = img.info.get("icc_profile")
            img.thumbnail((max_side, max_side))
            img = _pixels_only(img, orientation, icc, fmt)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError,
            ValueError, EOFError):
        raise ValidationFailed(INVALID, code="image_invalid")
    out = io.BytesIO()
    save_args = {"quality": 85} if fmt in ("JPEG", "WEBP") else {"optimize": True}
    img.save(out, format=fmt, **save_args)
    return out.getvalue(), ALLOWED_FORMATS[fmt]


def _check_pixels(fmt: str, width: int, height: int) -> None:
    cap = MAX_PIXELS[fmt]
    if width * height > cap:
        raise ValidationFailed(f"图片尺寸过大（{width}×{height} 像素），" + _too_many_pixels(cap),
                               code="image_too_many_pixels")


def _too_many_pixels(cap: int) -> str:
    return f"请上传不超过 {cap // 1_000_000} 百万像素的图片"


def _pixels_only(img: Image.Image, orientation, icc: bytes | None, fmt: str) -> Image.Image:
    """A new image holding only the pixels, turned the way the phone meant and in sRGB, so that
    saving it writes no comment, EXIF, XMP or ICC segment: Pillow would copy `info["comment"]`
    into a JPEG, and a `<script>` there is served back to whoever opens the photo."""
    if icc:
        try:
            img = ImageCms.profileToProfile(img, io.BytesIO(icc), _SRGB,
                                            outputMode=img.mode if img.mode in ("RGB", "RGBA")
                                            else "RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: keep the pixels as they are
    if orientation and orientation != 1:
        exif = Image.Exif()
        exif[0x0112] = orientation
        img.info = {"exif": exif.tobytes()}
        img = ImageOps.exif_transpose(img)
    if fmt == "JPEG" and img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    transparency = img.info.get("transparency")
    clean = img.copy()
    clean.info = {"transparency": transparency} if transparency is not None else {}
    return clean
