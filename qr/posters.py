"""Printable "给Ta留言" posters for a deputy liaison station.

Everything is laid out in fractions of the page width (``w``) and height
(``h``) so A4 and A5 posters are the same design at two scales. Pages are
rasterised with Pillow and wrapped into PDF as images, which sidesteps CJK
font embedding (reportlab cannot embed the CFF-based Noto CJK fonts).

Kept whole (past 400 lines): one layout in page fractions, drawn at two scales.
"""

from __future__ import annotations

import functools
import io
import os
import re
import zipfile
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Sequence

from PIL import Image, ImageDraw, ImageOps

from .fonts import Weight, get_font
from .pdf import pngs_to_pdf
from .text import Fitted, draw_centred, draw_fitted, fit_text

PAPER_MM: dict[str, tuple[int, int]] = {"A4": (210, 297), "A5": (148, 210)}
PRINT_DPI = 300

Progress = Callable[[int, int], None]
RGB = tuple[int, int, int]

RED: RGB = (183, 28, 28)  # #B71C1C
RED_DEEP: RGB = (132, 14, 16)
RED_GLOW: RGB = (206, 46, 40)
GOLD: RGB = (232, 191, 106)  # on red
GOLD_LINE: RGB = (201, 157, 72)  # on paper, needs a little more weight
PAPER: RGB = (255, 251, 244)
WHITE: RGB = (255, 255, 255)
MUTED: RGB = (110, 96, 86)
CREAM: RGB = (250, 236, 206)

INSTRUCTION = "微信扫一扫，给代表留言"
BRAND = "连心桥"

# Most common two-character surnames; others fall back to one character.
COMPOUND_SURNAMES = frozenset(
    "欧阳 上官 司马 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 司空 令狐 夏侯"
    " 端木 西门 南宫 轩辕 独孤 钟离 澹台 太史 申屠 公羊 呼延 赫连 万俟 闻人 濮阳"
    " 淳于 单于 拓跋 百里 东郭 左丘 第五 鲜于 闾丘 梁丘 宗政 公冶 仲孙 太叔 谷梁".split()
)


@dataclass(frozen=True)
class PosterInfo:
    deputy_name: str
    level_label: str  # e.g. "区人大代表"
    station_name: str
    code_png: bytes  # QR or mini-program code image (any format Pillow reads)
    photo: bytes | None = None
    occupation: str = ""
    caption: str = "给Ta留言"
    footer: str = ""  # e.g. "每月15日 代表接待选民日"


def surname(name: str) -> str:
    name = name.strip()
    return name[:2] if name[:2] in COMPOUND_SURNAMES else name[:1]


def _paper_mm(size: str) -> tuple[int, int]:
    try:
        return PAPER_MM[size]
    except (KeyError, TypeError):
        raise ValueError(f"unsupported paper size {size!r}; use one of {sorted(PAPER_MM)}") from None


def page_pixels(size: str, dpi: int) -> tuple[int, int]:
    width_mm, height_mm = _paper_mm(size)
    if dpi < 50:
        raise ValueError("dpi must be at least 50")
    return round(width_mm / 25.4 * dpi), round(height_mm / 25.4 * dpi)


# --------------------------------------------------------------------------
# Layout: every box is (left, top, right, bottom) as fractions of (w, h, w, h).

HERO_BOTTOM = 0.392
BRAND_BOX = (0.10, 0.018, 0.90, 0.046)
PROFILE_TOP, PROFILE_BOTTOM = 0.058, 0.384  # photo + name + label + occupation
PHOTO_D, PHOTO_RING, PHOTO_GOLD = 0.21, 0.010, 0.005  # of w
NAME_H, LABEL_H, OCCUPATION_H = 0.058, 0.032, 0.028  # of h
PROFILE_GAP = 0.009  # of h
CAPTION_BOX = (0.08, 0.403, 0.92, 0.449)
QR_CARD_TOP, QR_CARD_W = 0.458, 0.58  # card is a square of QR_CARD_W * w
# White margin inside the card, of w: leaves the code 46 % of the page width
# and about four modules of quiet zone for the usual 29-33 module codes.
QR_QUIET = 0.06
INSTRUCTION_BOX = (0.08, 0.876, 0.92, 0.902)
BAND_TOP = 0.913
STATION_BOX = (0.06, 0.920, 0.94, 0.964)
FOOTER_BOX = (0.06, 0.966, 0.94, 0.992)


class _Page:
    """Pixel geometry for one paper size at one resolution."""

    def __init__(self, size: str, dpi: int) -> None:
        self.size, self.dpi = size, dpi
        self.w, self.h = page_pixels(size, dpi)

    def box(self, frac: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
        l, t, r, b = frac
        return round(l * self.w), round(t * self.h), round(r * self.w), round(b * self.h)

    def px(self, frac_w: float) -> int:
        return max(1, round(frac_w * self.w))

    def text(
        self,
        draw: ImageDraw.ImageDraw,
        text: str,
        frac: tuple[float, float, float, float],
        *,
        fill: RGB,
        weight: Weight = "regular",
        max_em: float,
        min_em: float,
        max_lines: int = 1,
        leading: float = 1.25,
    ) -> Fitted | None:
        """Shrink-to-fit text; ``*_em`` sizes are fractions of the page width."""
        if not text.strip():
            return None
        l, t, r, b = self.box(frac)
        fitted = fit_text(
            text,
            r - l,
            b - t,
            weight=weight,
            max_size=max_em * self.w,
            min_size=min_em * self.w,
            max_lines=max_lines,
            leading=leading,
        )
        draw_fitted(draw, fitted, (l + r) / 2, t, b - t, fill)
        return fitted


# --------------------------------------------------------------------------
# Anti-aliased shapes: Pillow's primitives are aliased, so draw big and shrink.

_SS = 4


def _supersampled(size: tuple[int, int], draw: Callable[[ImageDraw.ImageDraw, int], None], factor: int = _SS) -> Image.Image:
    """An "L" mask drawn by ``draw(drawer, factor)`` at ``factor`` x and shrunk."""
    big = Image.new("L", (size[0] * factor, size[1] * factor), 0)
    draw(ImageDraw.Draw(big), factor)
    return big.resize(size, Image.Resampling.LANCZOS)


@functools.lru_cache(maxsize=64)
def _disc_mask(diameter: int) -> Image.Image:
    return _supersampled(
        (diameter, diameter), lambda d, k: d.ellipse((0, 0, diameter * k - 1, diameter * k - 1), fill=255)
    )


@functools.lru_cache(maxsize=64)
def _rounded_mask(width: int, height: int, radius: int) -> Image.Image:
    return _supersampled(
        (width, height),
        lambda d, k: d.rounded_rectangle((0, 0, width * k - 1, height * k - 1), radius=radius * k, fill=255),
    )


def _scaled(box: tuple[float, ...], k: int) -> tuple[float, ...]:
    return tuple(v * k for v in box)


def _paint(canvas: Image.Image, colour: RGB, mask: Image.Image, xy: tuple[int, int]) -> None:
    canvas.paste(colour, (*xy, xy[0] + mask.width, xy[1] + mask.height), mask)


def _disc(canvas: Image.Image, colour: RGB, centre: tuple[float, float], diameter: int) -> None:
    _paint(canvas, colour, _disc_mask(diameter), (round(centre[0] - diameter / 2), round(centre[1] - diameter / 2)))


def _rounded(canvas: Image.Image, colour: RGB, box: tuple[int, int, int, int], radius: int) -> None:
    l, t, r, b = box
    _paint(canvas, colour, _rounded_mask(r - l, b - t, radius), (l, t))


def _gradient(size: tuple[int, int], top: RGB, bottom: RGB) -> Image.Image:
    ramp = Image.linear_gradient("L").resize(size, Image.Resampling.BILINEAR)
    return Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), ramp)


# --------------------------------------------------------------------------
# The parts that are the same on every poster, drawn once per (size, dpi).


def _photo_geometry(page: _Page, has_occupation: bool) -> tuple[float, list[tuple[str, float, float]]]:
    """Vertical centre of the photo and (slot, top, height) of the text rows,
    as fractions of h; the stack is centred in the profile area."""
    rows = [("name", NAME_H), ("label", LABEL_H)] + ([("occupation", OCCUPATION_H)] if has_occupation else [])
    photo_h = (PHOTO_D + 2 * (PHOTO_RING + PHOTO_GOLD)) * page.w / page.h
    total = photo_h + sum(PROFILE_GAP + height for _, height in rows)
    top = PROFILE_TOP + (PROFILE_BOTTOM - PROFILE_TOP - total) / 2
    centre = top + photo_h / 2
    y = top + photo_h
    slots = []
    for slot, height in rows:
        y += PROFILE_GAP
        slots.append((slot, y, height))
        y += height
    return centre, slots


@functools.lru_cache(maxsize=8)
def _background(size: str, dpi: int) -> Image.Image:
    page = _Page(size, dpi)
    w, h = page.w, page.h
    canvas = Image.new("RGB", (w, h), PAPER)
    draw = ImageDraw.Draw(canvas)

    # Hero: deep red with a soft glow behind the portrait.
    hero_h = round(HERO_BOTTOM * h)
    hero = _gradient((w, hero_h), RED, RED_DEEP)
    glow = Image.radial_gradient("L").resize((round(1.3 * w), round(1.3 * w)), Image.Resampling.BILINEAR)
    glow = ImageOps.invert(glow).point(lambda v: v * 0.55)
    glow_box = (round(w / 2 - glow.width / 2), round(0.19 * h - glow.height / 2))
    hero.paste(RED_GLOW, (*glow_box, glow_box[0] + glow.width, glow_box[1] + glow.height), glow)

    # Faint rings in the corners keep the wide red field from looking flat.
    def rings(draw: ImageDraw.ImageDraw, k: int) -> None:
        for cx, cy in ((-0.05 * w, 1.02 * hero_h), (1.05 * w, 0.02 * hero_h)):
            for step in range(4):
                r = (0.16 + 0.075 * step) * w
                draw.ellipse(_scaled((cx - r, cy - r, cx + r, cy + r), k), outline=255, width=page.px(0.0035) * k)

    ring_mask = _supersampled(hero.size, rings, factor=2).point(lambda v: v * 36 // 255)
    hero.paste(GOLD, (0, 0), ring_mask)
    canvas.paste(hero, (0, 0))

    rule = page.px(0.006)
    draw.rectangle((0, hero_h, w, hero_h + rule), fill=GOLD_LINE)

    # Brand line flanked by short gold rules.
    brand = page.text(draw, BRAND, BRAND_BOX, fill=GOLD, weight="bold", max_em=0.036, min_em=0.03)
    _, t, _, b = page.box(BRAND_BOX)
    mid_y = (t + b) / 2 + page.px(0.002)
    half = brand.font.getlength(BRAND) / 2 + page.px(0.03)
    stroke = max(1, page.px(0.0025))
    for sign in (-1, 1):
        x0 = w / 2 + sign * half
        draw.line((x0, mid_y, x0 + sign * page.px(0.11), mid_y), fill=GOLD, width=stroke)

    # QR card: white square in a thin gold frame.
    card = page.px(QR_CARD_W)
    cl = (w - card) // 2
    ct = round(QR_CARD_TOP * h)
    radius = page.px(0.025)
    frame = max(1, page.px(0.003))
    _rounded(canvas, GOLD_LINE, (cl - frame, ct - frame, cl + card + frame, ct + card + frame), radius + frame)
    _rounded(canvas, WHITE, (cl, ct, cl + card, ct + card), radius)

    page.text(draw, INSTRUCTION, INSTRUCTION_BOX, fill=MUTED, max_em=0.036, min_em=0.025)

    # Bottom band for the station and its reception hours.
    band_top = round(BAND_TOP * h)
    draw.rectangle((0, band_top, w, h), fill=RED)
    draw.rectangle((0, band_top, w, band_top + rule), fill=GOLD_LINE)
    return canvas


# --------------------------------------------------------------------------
# Per-deputy parts.


def _open_image(data: bytes, what: str, target: int) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
        # Let JPEG decode at reduced scale: phone photos are 12 MP+.
        image.draft("RGB", (target, target))
        image = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValueError(f"{what} is not a readable image: {exc}") from exc
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        flat = Image.new("RGB", image.size, WHITE)
        flat.paste(image.convert("RGBA"), mask=image.convert("RGBA"))
        return flat
    return image.convert("RGB")


def _portrait(info: PosterInfo, diameter: int) -> Image.Image:
    if info.photo:
        photo = _open_image(info.photo, f"photo of {info.deputy_name}", diameter)
        # Faces sit in the upper part of ID-style photos.
        return ImageOps.fit(photo, (diameter, diameter), Image.Resampling.LANCZOS, centering=(0.5, 0.4))
    placeholder = _gradient((diameter, diameter), CREAM, (240, 214, 168))
    initials = surname(info.deputy_name) or "?"
    scale = 0.46 if len(initials) == 1 else 0.32
    font = get_font(round(diameter * scale), "bold")
    draw_centred(ImageDraw.Draw(placeholder), (diameter / 2, diameter / 2), initials, font, RED)
    return placeholder


def _code_image(data: bytes, side: int) -> Image.Image:
    """The code, trimmed of its own margin and scaled to ``side`` px."""
    code = _open_image(data, "QR code image", side)
    ink = ImageOps.invert(code.convert("L")).point(lambda v: 255 if v > 64 else 0)
    bbox = ink.getbbox()
    if bbox is None:
        raise ValueError("QR code image is blank")
    code = code.crop(bbox)
    # Enlarging a plain black-and-white grid: nearest keeps module edges sharp
    # for scanners. Anything else (mini-program codes, shrinking) is resampled.
    two_tone = code.getcolors(2) is not None
    resample = Image.Resampling.NEAREST if two_tone and side >= max(code.size) else Image.Resampling.LANCZOS
    return code.resize(_fit_size(code.size, side), resample)


def _fit_size(size: tuple[int, int], side: int) -> tuple[int, int]:
    w, h = size
    scale = side / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def render_poster_image(info: PosterInfo, size: str = "A5", dpi: int = 150) -> Image.Image:
    """The poster as a Pillow RGB image (for callers that post-process)."""
    return _draw_poster(info, size, dpi, _background(size, dpi).copy())


def _draw_poster(info: PosterInfo, size: str, dpi: int, canvas: Image.Image) -> Image.Image:
    """Draw the deputy's parts onto ``canvas``, which holds the background."""
    if not info.deputy_name.strip():
        raise ValueError("deputy_name must not be empty")
    page = _Page(size, dpi)
    w, h = page.w, page.h
    draw = ImageDraw.Draw(canvas)

    # Portrait with white and gold rings.
    diameter = page.px(PHOTO_D)
    centre_y, rows = _photo_geometry(page, bool(info.occupation.strip()))
    centre = (w / 2, centre_y * h)
    ring, gold = page.px(PHOTO_RING), page.px(PHOTO_GOLD)
    _disc(canvas, GOLD, centre, diameter + 2 * (ring + gold))
    _disc(canvas, WHITE, centre, diameter + 2 * ring)
    x0, y0 = round(centre[0] - diameter / 2), round(centre[1] - diameter / 2)
    canvas.paste(_portrait(info, diameter), (x0, y0), _disc_mask(diameter))

    for slot, top, height in rows:
        box = (0.08, top, 0.92, top + height)
        if slot == "name":
            page.text(draw, info.deputy_name, box, fill=WHITE, weight="bold", max_em=0.085, min_em=0.04)
        elif slot == "label":
            _label(canvas, draw, page, info.level_label, box)
        else:
            page.text(draw, info.occupation, box, fill=CREAM, max_em=0.034, min_em=0.024)

    page.text(draw, info.caption, CAPTION_BOX, fill=RED, weight="bold", max_em=0.075, min_em=0.04)

    card = page.px(QR_CARD_W)
    inner = card - 2 * page.px(QR_QUIET)
    code = _code_image(info.code_png, inner)
    ct = round(QR_CARD_TOP * h)
    canvas.paste(code, ((w - code.width) // 2, ct + (card - code.height) // 2))

    page.text(draw, info.station_name, STATION_BOX, fill=WHITE, weight="bold", max_em=0.042, min_em=0.024, max_lines=2, leading=1.18)
    page.text(draw, info.footer, FOOTER_BOX, fill=GOLD, max_em=0.03, min_em=0.022)
    return canvas


def _label(
    canvas: Image.Image, draw: ImageDraw.ImageDraw, page: _Page, text: str, frac: tuple[float, float, float, float]
) -> None:
    """The level label as a gold pill, sized to its text."""
    if not text.strip():
        return
    l, t, r, b = page.box(frac)
    height = b - t
    fitted = fit_text(text, (r - l) * 0.9, height * 0.8, weight="bold", max_size=height * 0.62, min_size=height * 0.4)
    width = min(r - l, round(max(fitted.font.getlength(x) for x in fitted.lines) + 1.6 * height))
    pill_l = (page.w - width) // 2
    _rounded(canvas, GOLD, (pill_l, t, pill_l + width, b), height // 2)
    draw_fitted(draw, fitted, page.w / 2, t, height, RED_DEEP)


# --------------------------------------------------------------------------
# Output formats.


def _png_bytes(image: Image.Image, dpi: int) -> bytes:
    buf = io.BytesIO()
    # Run-length deflate suits flat poster colours: a third faster than the
    # default strategy for files about 10 % larger.
    image.save(buf, format="PNG", dpi=(dpi, dpi), compress_type=zlib.Z_RLE)
    return buf.getvalue()


def render_poster_png(info: PosterInfo, size: str = "A5", dpi: int = 150) -> bytes:
    return _png_bytes(render_poster_image(info, size, dpi), dpi)


def render_poster_pdf(info: PosterInfo, size: str = "A5", *, dpi: int = PRINT_DPI) -> bytes:
    return render_station_pdf([info], size, dpi=dpi)


def _encoded_pages(
    infos: Sequence[PosterInfo], size: str, dpi: int, progress: Progress | None
) -> Iterator[bytes]:
    """PNG bytes per poster, in order.

    Drawing holds the GIL, so it stays on this thread (and so do the progress
    calls); PNG deflate releases the GIL and is most of the cost, so it runs
    on a small pool. Only a few uncompressed pages (13 MB each at 300-dpi A5)
    are in flight at once.
    """
    if not infos:
        raise ValueError("no posters to render")
    page_pixels(size, dpi)  # fail fast on a bad size
    background = _background(size, dpi)
    workers = max(1, min(4, os.cpu_count() or 1))
    pending: deque[tuple[Future[bytes], Image.Image]] = deque()
    # Canvases are recycled: a fresh 13 MB copy per page costs more in page
    # faults than repainting the background over a used one.
    spare: list[Image.Image] = []
    done = 0

    def collect() -> bytes:
        nonlocal done
        future, canvas = pending.popleft()
        png = future.result()
        spare.append(canvas)
        done += 1
        if progress is not None:
            progress(done, len(infos))
        return png

    with ThreadPoolExecutor(workers, thread_name_prefix="poster-png") as pool:
        for info in infos:
            if spare:
                canvas = spare.pop()
                canvas.paste(background, (0, 0))
            else:
                canvas = background.copy()
            _draw_poster(info, size, dpi, canvas)
            pending.append((pool.submit(_png_bytes, canvas, dpi), canvas))
            if len(pending) > workers:
                yield collect()
        while pending:
            yield collect()


def render_station_pdf(
    infos: Iterable[PosterInfo],
    size: str = "A5",
    progress: Progress | None = None,
    *,
    dpi: int = PRINT_DPI,
) -> bytes:
    """One page per deputy; ``progress(done, total)`` after each page."""
    infos = list(infos)
    return pngs_to_pdf(_encoded_pages(infos, size, dpi, progress), _paper_mm(size))


_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')


def poster_filename(number: int, total: int, name: str) -> str:
    """``01-张三.png``: sortable, and safe on Windows, macOS and Linux."""
    clean = _UNSAFE.sub("", " ".join(name.split())).strip(" .")[:40] or "代表"
    return f"{number:0{max(2, len(str(total)))}d}-{clean}.png"


def render_station_zip(
    infos: Iterable[PosterInfo],
    size: str = "A5",
    progress: Progress | None = None,
    *,
    dpi: int = PRINT_DPI,
) -> bytes:
    """A ZIP of one PNG per deputy, named ``01-张三.png`` and so on."""
    infos = list(infos)
    buf = io.BytesIO()
    # PNG is already deflated; storing avoids compressing twice for nothing.
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as archive:
        for number, (info, png) in enumerate(zip(infos, _encoded_pages(infos, size, dpi, progress)), 1):
            archive.writestr(poster_filename(number, len(infos), info.deputy_name), png)
    return buf.getvalue()
