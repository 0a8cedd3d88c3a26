"""Counting text as a person counts it: one Chinese character, one letter or one emoji
(however many code points it takes) is one."""
import regex

_GRAPHEME = regex.compile(r"\X")


def visible_length(text: str) -> int:
    return len(_GRAPHEME.findall(text))


# Invisible format characters (Unicode Cf: zero-width spaces and joiners, soft hyphens, BOM,
# bidi overrides, tags), except a zero-width joiner inside an emoji sequence (a family emoji).
_INVISIBLE = regex.compile(
    r"(?<![\p{Extended_Pictographic}\p{Emoji_Modifier}\uFE0F])\u200D"
    r"|\u200D(?!\p{Extended_Pictographic})"
    r"|[^\P{Cf}\u200D]")


def clean_text(text: str) -> str:
    """Trim and drop control characters a phone keyboard can slip in and invisible format
    characters (which would hide text from a reader and split words from the word list);
    keep line breaks."""
    text = regex.sub(r"[^\P{Cc}\n\t]", "", text or "")
    text = strip_invisible(text)
    return regex.sub(r"\n{3,}", "\n\n", text.replace("\r\n", "\n")).strip()


def strip_invisible(text: str) -> str:
    return _INVISIBLE.sub("", text)
