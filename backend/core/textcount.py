"""Counting text as a person counts it: one Chinese character, one letter or one emoji
(however many code points it takes) is one."""
import regex

_GRAPHEME = regex.compile(r"\X")


def visible_length(text: str) -> int:
    return len(_GRAPHEME.findall(text))


def clean_text(text: str) -> str:
    """Trim and drop control characters a phone keyboard can slip in; keep line breaks."""
    text = regex.sub(r"[^\P{Cc}\n\t]", "", text or "")
    return regex.sub(r"\n{3,}", "\n\n", text.replace("\r\n", "\n")).strip()
