"""The content check: the local word list always, WeChat's msgSecCheck when configured.
A doubtful message is held for a liaison; it is never dropped."""
import logging
from dataclasses import dataclass

from backend.adapters import get_wechat
from backend.extensions import db
from backend.models import ContentRule

log = logging.getLogger("lianxin.moderation")
WECHAT_LABELS = {10001: "广告", 20001: "时政", 20002: "色情", 20003: "辱骂", 20006: "违法犯罪",
                 20008: "欺诈", 20012: "低俗", 20013: "版权", 21000: "其他"}


@dataclass(frozen=True)
class Verdict:
    hold: bool
    reason: str = ""
    source: str = ""  # "words" | "wechat" | ""
    note: str = ""  # e.g. the WeChat check could not run


def check_content(text: str, *, openid: str | None = None) -> Verdict:
    words = db.session.execute(db.select(ContentRule.word, ContentRule.label)).all()
    lowered = text.lower()
    for word, label in words:
        if word.lower() in lowered:
            return Verdict(True, f"含有需人工审核的词语（{label or '敏感词'}）", "words")
    wechat = get_wechat()
    if not (wechat.configured and openid):
        return Verdict(False)
    from backend.wechat import WeChatError
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


def add_rule(word: str, label: str = "") -> ContentRule:
    rule = ContentRule(word=word.strip(), label=label.strip())
    db.session.add(rule)
    db.session.flush()
    return rule
