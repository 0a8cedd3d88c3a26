"""Fit Chinese text into a box: shrink, wrap (with line-breaking rules), ellipsise."""

from __future__ import annotations

import re
from dataclasses import dataclass

from PIL import ImageDraw, ImageFont

from .fonts import Weight, get_font

# Chinese line-breaking rules (禁则): these never start / end a line.
_NO_LINE_START = frozenset("，。、；：？！）》」』】〉〕…—·,.;:?!)]}%’”")
_NO_LINE_END = frozenset("（《「『【〈〔([{‘“")
_ELLIPSIS = "…"
# Latin words and numbers stay whole; everything else may break per character.
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’\-./:]*|\s+|.", re.S)

# The baseline sits this far (in em) below the visual centre of a Han glyph
# in Noto Sans CJK / WenQuanYi, so lines look centred in their slot.
_CENTRE_TO_BASELINE = 0.36


@dataclass(frozen=True)
class Fitted:
    font: ImageFont.FreeTypeFont
    lines: tuple[str, ...]
    line_height: float

    @property
    def height(self) -> float:
        # A Han glyph fills about one em; leading only goes between lines.
        return self.font.size + self.line_height * (len(self.lines) - 1)


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    for token in _TOKEN.findall(text):
        glue_left = tokens and (token[0] in _NO_LINE_START or tokens[-1][-1] in _NO_LINE_END)
        if glue_left and not token.isspace() and not tokens[-1].isspace():
            tokens[-1] += token
        else:
            tokens.append(token)
    return tokens


def _greedy(tokens: list[str], font: ImageFont.FreeTypeFont, width: float) -> list[str] | None:
    """Lines of at most ``width`` px, or None if one token alone is too wide."""
    lines: list[str] = []
    line = ""
    for token in tokens:
        candidate = line + token
        if font.getlength(candidate.strip()) <= width:
            line = candidate
            continue
        if token.isspace():
            continue
        if font.getlength(token) > width:
            return None
        lines.append(line.strip())
        line = token
    if line.strip():
        lines.append(line.strip())
    return [line for line in lines if line]


def _balanced(tokens: list[str], font: ImageFont.FreeTypeFont, width: float) -> list[str] | None:
    """Greedy wrap, then narrowed so the lines come out of similar length."""
    lines = _greedy(tokens, font, width)
    if lines is None or len(lines) < 2:
        return lines
    lo, hi = width / len(lines), width
    while hi - lo > 1:
        mid = (lo + hi) / 2
        trial = _greedy(tokens, font, mid)
        if trial is not None and len(trial) == len(lines):
            hi = mid
        else:
            lo = mid
    return _greedy(tokens, font, hi)


def _ellipsise(text: str, font: ImageFont.FreeTypeFont, width: float) -> str:
    while text and font.getlength(text + _ELLIPSIS) > width:
        text = text[:-1]
    return text.rstrip() + _ELLIPSIS


def fit_text(
    text: str,
    width: float,
    height: float,
    *,
    weight: Weight = "regular",
    max_size: float,
    min_size: float,
    max_lines: int = 1,
    leading: float = 1.25,
) -> Fitted:
    """Largest font size (down to ``min_size``) whose wrapped text fits the box.

    If even ``min_size`` is too big the text is cut with an ellipsis; the
    result never exceeds ``width`` x ``height``.
    """
    text = " ".join(text.split())
    tokens = _tokens(text)
    size = max(int(max_size), 1)
    floor = max(int(min_size), 1)
    while True:
        font = get_font(size, weight)
        line_height = size * leading
        lines_allowed = min(max_lines, max(1, int((height - size) // line_height) + 1))
        lines = _balanced(tokens, font, width)
        if lines is not None and len(lines) <= lines_allowed and size <= height:
            return Fitted(font, tuple(lines), line_height)
        if size <= floor:
            break
        size = max(floor, int(size * 0.94))

    # Still too long at the smallest size: break anywhere, keep what fits
    # and mark the cut.
    lines = _greedy(list(text), font, width) or [""]
    if len(lines) > lines_allowed:
        lines = lines[:lines_allowed]
        lines[-1] = _ellipsise(lines[-1], font, width)
    return Fitted(font, tuple(lines), line_height)


def draw_fitted(
    draw: ImageDraw.ImageDraw,
    fitted: Fitted,
    centre_x: float,
    top: float,
    height: float,
    fill: tuple[int, int, int],
) -> None:
    """Draw the lines centred horizontally and vertically in the slot."""
    centre_y = top + (height - fitted.height) / 2 + fitted.font.size / 2
    for line in fitted.lines:
        draw_centred(draw, (centre_x, centre_y), line, fitted.font, fill)
        centre_y += fitted.line_height


def draw_centred(
    draw: ImageDraw.ImageDraw,
    centre: tuple[float, float],
    text: str,
    font: ImageFont.FreeTypeFont,
    fill: tuple[int, int, int],
) -> None:
    """One line whose Han glyphs are optically centred on ``centre``."""
    x, y = centre
    draw.text((x, y + _CENTRE_TO_BASELINE * font.size), text, font=font, fill=fill, anchor="ms")
