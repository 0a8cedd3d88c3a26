"""Locate and load a Simplified-Chinese font for the posters.

Lookup order: the ``LIANXIN_CJK_FONT`` override, well-known paths of
Noto Sans CJK (fonts-noto-cjk) and WenQuanYi Micro Hei (fonts-wqy-microhei),
then whatever ``fc-match`` suggests for ``zh-cn``. Every candidate is checked
for real CJK glyphs, because fontconfig happily answers with DejaVu.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Literal

from PIL import Image, ImageChops, ImageDraw, ImageFont

ENV_VAR = "LIANXIN_CJK_FONT"

Weight = Literal["regular", "bold"]
WEIGHTS: tuple[Weight, ...] = ("regular", "bold")

_NOTO_DIRS = (
    "/usr/share/fonts/opentype/noto",  # Debian / Ubuntu
    "/usr/share/fonts/noto-cjk",  # Fedora, Arch
    "/usr/share/fonts/google-noto-cjk",
)
_WQY = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)

# Two glyphs that look nothing alike: tofu boxes would render identically.
_PROBE = ("国", "留")


class FontNotFound(RuntimeError):
    """No usable Chinese font on this machine."""


@dataclass(frozen=True)
class FontFace:
    path: str
    index: int = 0  # face index inside a .ttc collection


def default_candidates(weight: Weight = "regular") -> list[str]:
    stem = "Bold" if weight == "bold" else "Regular"
    noto = [f"{d}/NotoSansCJK-{stem}.ttc" for d in _NOTO_DIRS]
    noto += [f"{d}/NotoSansCJKsc-{stem}.otf" for d in _NOTO_DIRS]
    return noto + list(_WQY)


def _faces(path: str) -> list[tuple[int, str]]:
    """(index, family name) of every face in a font file or collection."""
    faces = []
    for index in range(64):
        try:
            family, _style = ImageFont.truetype(path, 16, index=index).getname()
        except OSError:
            break
        faces.append((index, family or ""))
    return faces


def _pick_face(path: str) -> FontFace | None:
    """The Simplified-Chinese face of a collection, proportional over Mono."""
    faces = _faces(path)
    if not faces:
        return None

    def rank(face: tuple[int, str]) -> tuple[bool, bool, int]:
        index, family = face
        return (" SC" not in family, "Mono" in family, index)

    for index, _family in sorted(faces, key=rank):
        face = FontFace(path, index)
        if has_cjk_glyphs(face):
            return face
    return None


def has_cjk_glyphs(face: FontFace) -> bool:
    """True if two distinct Han characters rasterise to distinct, inked glyphs."""
    font = ImageFont.truetype(face.path, 48, index=face.index)
    bitmaps = []
    for char in _PROBE:
        image = Image.new("L", (64, 64), 0)
        ImageDraw.Draw(image).text((8, 4), char, font=font, fill=255)
        if image.getbbox() is None:
            return False
        bitmaps.append(image)
    return ImageChops.difference(*bitmaps).getbbox() is not None


def _fc_match(weight: Weight) -> list[str]:
    if shutil.which("fc-match") is None:
        return []
    style = "bold" if weight == "bold" else "regular"
    try:
        out = subprocess.run(
            ["fc-match", "-f", "%{file}\n", f"sans-serif:lang=zh-cn:style={style}"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line for line in out.splitlines() if line.strip()]


def find_cjk_font(
    weight: Weight = "regular",
    *,
    candidates: Iterable[str | os.PathLike] | None = None,
    use_fc_match: bool | None = None,
) -> FontFace:
    """Return the best Chinese font face for ``weight``.

    ``candidates`` replaces the built-in path list; when given, fc-match is
    skipped too unless ``use_fc_match=True`` (so tests can disable every
    fallback with ``candidates=[]``).
    """
    override = os.environ.get(ENV_VAR, "").strip()
    if override:
        # An explicit setting that does not work is a configuration error,
        # not something to paper over with a different font.
        face = _pick_face(override) if Path(override).is_file() else None
        if face is None:
            raise FontNotFound(
                f"环境变量 {ENV_VAR} 指定的字体不可用或不含中文字形：{override}。"
                f"请修正该路径，或删除此变量并安装 fonts-noto-cjk"
                f"（apt-get install fonts-noto-cjk）。"
                f" / {ENV_VAR}={override!r} is missing or has no CJK glyphs."
            )
        return face

    if use_fc_match is None:
        use_fc_match = candidates is None
    paths = [os.fspath(p) for p in (default_candidates(weight) if candidates is None else candidates)]
    if use_fc_match:
        paths += _fc_match(weight)

    for path in dict.fromkeys(paths):  # keep order, drop duplicates
        if Path(path).is_file():
            face = _pick_face(path)
            if face is not None:
                return face
    raise FontNotFound(
        "未找到可用的中文字体，无法生成海报。请安装 fonts-noto-cjk"
        "（Debian/Ubuntu：sudo apt-get install fonts-noto-cjk），"
        f"或用环境变量 {ENV_VAR} 指定一个中文字体文件。"
        " / No CJK font found: install the fonts-noto-cjk package"
        f" or set {ENV_VAR} to a .ttc/.otf/.ttf file."
    )


@functools.lru_cache(maxsize=None)
def cjk_face(weight: Weight = "regular") -> FontFace:
    return find_cjk_font(weight)


@functools.lru_cache(maxsize=512)
def get_font(size: int, weight: Weight = "regular") -> ImageFont.FreeTypeFont:
    """Cached FreeType font; ``size`` is in pixels."""
    if weight not in WEIGHTS:
        raise ValueError(f"unknown weight {weight!r}")
    face = cjk_face(weight)
    return ImageFont.truetype(face.path, max(1, int(size)), index=face.index)


def clear_cache() -> None:
    """Forget the chosen font (after changing ``LIANXIN_CJK_FONT``)."""
    cjk_face.cache_clear()
    get_font.cache_clear()
