"""The content check: the local word list always, WeChat's msgSecCheck when configured.
A doubtful message is held for a liaison; it is never dropped. Also the word list itself, which
admins keep: add, remove, bulk add, and the starter list for a new installation."""
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import regex
import zhconv

from backend.core.adapters import get_wechat
from backend.core.cache import TTLCache
from backend.core.errors import ValidationFailed
from backend.core.extensions import db
from backend.messages.moderation_model import ContentRule
from backend.core.audit import record, snapshot
from backend.core.textcount import strip_invisible

log = logging.getLogger("lianxin.moderation")
RULE_LABELS = ("广告", "辱骂", "涉政", "诈骗", "其他")
DEFAULT_LABEL = "其他"
WORD_MIN, WORD_MAX = 2, 40  # one character would hold far too many ordinary messages
LINE_EXAMPLE = "代开发票 广告"
RULE_FIELDS = ("word", "label")
STARTER_WORDS = Path(__file__).resolve().parent.parent / "data" / "content_words.txt"
_LINE_SPLIT = re.compile(r"[\s,，]+")
WECHAT_LABELS = {10001: "广告", 20001: "时政", 20002: "色情", 20003: "辱骂", 20006: "违法犯罪",
                 20008: "欺诈", 20012: "低俗", 20013: "版权", 21000: "其他"}


@dataclass(frozen=True)
class Verdict:
    hold: bool
    reason: str = ""
    source: str = ""  # "words" | "wechat" | ""
    note: str = ""  # e.g. the WeChat check could not run


_rules = TTLCache(ttl_seconds=30)
_SPACE_BETWEEN_HAN = regex.compile(r"(?<=\p{Han})\s+(?=\p{Han})")
_ALL_INVISIBLE = regex.compile(r"\p{Cf}")


def comparable(text: str) -> str:
    """The form text and words are matched in, so that a word cannot be disguised: full-width
    and compatibility forms folded (NFKC), invisible format characters removed, spaces between
    Chinese characters dropped, traditional characters simplified, case folded."""
    text = _ALL_INVISIBLE.sub("", unicodedata.normalize("NFKC", strip_invisible(text or "")))
    text = _SPACE_BETWEEN_HAN.sub("", text)
    return zhconv.convert(text, "zh-hans").casefold()


def _words() -> list[tuple[str, str]]:
    """(comparable word, label) in the table's order; made comparable once, when loaded."""
    return _rules.get("words", lambda: [
        (comparable(w), label) for w, label in db.session.execute(
            db.select(ContentRule.word, ContentRule.label))])


def check_content(text: str, *, openid: str | None = None) -> Verdict:
    lowered = comparable(text)
    for word, label in _words():
        if word and word in lowered:
            return Verdict(True, f"含有需人工审核的词语（{label or '敏感词'}）", "words")
    wechat = get_wechat()
    if not (wechat.configured and openid):
        return Verdict(False)
    from backend.core.wechat import WeChatError
    try:
        result = wechat.msg_sec_check(text, openid)
    except WeChatError as err:
        # WeChat being down must not lose or block a resident's message: record and go on.
        log.warning("msgSecCheck unavailable: %s", err)
        return Verdict(False, note=f"微信内容安全检测暂不可用（{err.errcode}）")
    if result.suggest == "pass":
        return Verdict(False)
    label = WECHAT_LABELS.get(result.label, "其他")
    return Verdict(True, f"微信内容安全检测提示需人工审核（{label}）", "wechat")


@dataclass(frozen=True)
class Imported:
    added: list[ContentRule]
    skipped: list[str] = field(default_factory=list)  # already in the list


def add_rule(word: str, label: str = "", *, actor=None) -> ContentRule:
    word, label = (word or "").strip(), (label or "").strip() or DEFAULT_LABEL
    problem = _problem(word, label)
    if problem:
        name, message = problem
        raise ValidationFailed(message, code="content_rule_invalid", errors={name: [message]})
    if _existing([word]):
        message = f"“{word}”已在词库中"
        raise ValidationFailed(message, code="content_rule_exists", errors={"word": [message]})
    return _create([(word, label)], "content_rule.add", actor)[0]


def remove_rule(rule: ContentRule, *, actor=None) -> None:
    record("content_rule.remove", rule, actor=actor, before=snapshot(rule, RULE_FIELDS))
    db.session.delete(rule)
    db.session.flush()
    _rules.clear()


def import_rules(text: str, *, actor=None) -> Imported:
    """One word per line, optionally followed by its label ("代开发票 广告"); blank lines and
    lines starting with # are skipped, words already in the list too. Any bad line: nothing
    is added."""
    entries, problems, seen = [], [], set()
    for line_no, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = _LINE_SPLIT.split(line, maxsplit=1)
        word, label = parts[0], (parts[1].strip() if len(parts) > 1 else "") or DEFAULT_LABEL
        problem = _problem(word, label)
        if problem:
            problems.append(f"第{line_no}行：{problem[1]}")
        elif word.lower() not in seen:
            seen.add(word.lower())
            entries.append((word, label))
    if problems or not entries:
        lines = problems or [f"没有找到词语，每行写一个，如「{LINE_EXAMPLE}」"]
        raise ValidationFailed("内容有误，未添加任何词语，请修改后重新提交",
                               code="content_rules_invalid", errors={"lines": lines})
    existing = _existing([w for w, _ in entries])
    fresh = [(w, lab) for w, lab in entries if w.lower() not in existing]
    return Imported(_create(fresh, "content_rule.import", actor),
                    [w for w, _ in entries if w.lower() in existing])


def seed_rules() -> int:
    """Load the starter list (backend/data/content_words.txt); words already there are kept.
    Returns how many were added."""
    return len(import_rules(STARTER_WORDS.read_text(encoding="utf-8")).added)


def _problem(word: str, label: str) -> tuple[str, str] | None:
    """(field, message) for what is wrong with one entry on its own."""
    if not word:
        return "word", "请填写词语"
    if any(ch.isspace() for ch in word):
        return "word", "词语中不能有空格"
    if not WORD_MIN <= len(word) <= WORD_MAX:
        return "word", f"词语应为{WORD_MIN}到{WORD_MAX}个字"
    if label not in RULE_LABELS:
        return "label", f"分类只能是{'、'.join(RULE_LABELS)}"
    return None


def _existing(words: list[str]) -> set[str]:
    """Which of the words (lower-cased) the list already has, ignoring case as the check does.
    Compared in Python: SQLite's lower() knows only ASCII."""
    stored = {w.lower() for w in db.session.scalars(db.select(ContentRule.word))}
    return stored & {w.lower() for w in words}


def _create(entries: list[tuple[str, str]], action: str, actor) -> list[ContentRule]:
    rules = [ContentRule(word=word, label=label) for word, label in entries]
    db.session.add_all(rules)
    db.session.flush()
    _rules.clear()
    for rule in rules:
        record(action, rule, actor=actor, after=snapshot(rule, RULE_FIELDS))
    return rules
