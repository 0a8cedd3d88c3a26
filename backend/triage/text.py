"""Text normalisation and tokens shared by every triage feature."""
import re
import unicodedata
import zlib

import jieba

jieba.setLogLevel(60)  # jieba prints its dictionary loading to stderr otherwise

_SPACE = re.compile(r"\s+")
# Phone numbers, ids and masked digits ("138*****12") vary between copies of the same complaint.
_NUMBER = re.compile(r"[0-9][0-9*＊xX\-]{5,}[0-9*＊]|[*＊]{3,}")
_PUNCT = re.compile(r"[\W_]+", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;\n])")


def normalise(text: str | None) -> str:
    """Full-width to half-width, lower case, collapsed whitespace."""
    if not text:
        return ""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip().lower()


def compact(text: str | None, normalised: bool = False) -> str:
    """Normalised text with long numbers reduced to one mark and punctuation/spaces removed:
    what stays equal when a resident edits a copy."""
    text = _NUMBER.sub("#", text if normalised else normalise(text))
    return _PUNCT.sub("", text)


def sentences(text: str) -> list[str]:
    return [s for s in (p.strip() for p in _SENTENCE_END.split(text or "")) if s]


def words(text: str) -> list[str]:
    """jieba words of the normalised text, without spaces and punctuation."""
    return [w for w in jieba.lcut(normalise(text)) if not _PUNCT.fullmatch(w)]


def char_ngrams(text: str, low: int = 1, high: int = 3) -> list[str]:
    """Character n-grams of the normalised text, punctuation kept as a boundary (never inside).
    Built with map(str.__add__) over shifted runs: the scoring path's main cost, kept in C."""
    grams = []
    for run in _PUNCT.split(normalise(text)):
        for n in range(low, high + 1):
            if n == 1:
                grams.extend(run)
            elif n == 2:
                grams.extend(map(str.__add__, run, run[1:]))
            elif n == 3:
                grams.extend(map(str.__add__, map(str.__add__, run, run[1:]), run[2:]))
            else:
                grams.extend(run[i:i + n] for i in range(len(run) - n + 1))
    return grams


def shingle_hashes(text: str, k: int = 3) -> set[int]:
    """Stable 32-bit hashes of the k-character shingles of the compacted text (crc32: the same
    in every process, unlike hash())."""
    s = compact(text)
    if len(s) <= k:
        return {zlib.crc32(s.encode())} if s else set()
    return {zlib.crc32(s[i:i + k].encode()) for i in range(len(s) - k + 1)}
