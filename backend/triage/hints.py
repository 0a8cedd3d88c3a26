"""Plain hints shown before an answer is sent; they never block it.

- `off_topic`: the answer shares almost none of the message's subject words;
- `no_action` / `no_body` / `no_date`: it names no action taken or planned, no responsible
  organisation, no date or time frame;
- `late`: it goes out after the message's answer deadline (the caller passes that deadline,
  computed on the station's working-day clock).

Thresholds and word lists were calibrated on real answers (bench/hints_calibrate.py).
"""
import re
from dataclasses import dataclass
from datetime import datetime

from backend.triage.text import compact, normalise, words

RELEVANCE_BELOW = 0.15  # share of the subject's content words/bigrams found in the answer

# Words that say little about *what* a message is about.
_STOP = set("""
问题 咨询 关于 反映 请求 建议 投诉 举报 希望 要求 领导 政府 相关 部门 情况 请问 能否 是否 什么 怎么
如何 为什么 一下 我们 你们 他们 还是 没有 一个 这个 那个 已经 可以 进行 现在 目前 解决 处理 严重 一直
市民 居民 网友 您好 谢谢 尽快 及时 存在 导致 造成 出现 影响 恳请 强烈 多次 再次 有关 给予 予以
""".split())
_ADMIN_PLACE = re.compile(r"^[a-z]?\d*[省市区县]$|^[a-z]\d+[区县市]?$")

# Verbs of something done or to be done; "已收悉" / "已受理" only acknowledge, so 已 and 受理 alone are not.
_ACTION = re.compile(
    r"(组织|安排|派员|派出|责令|责成|督促|要求|约谈|整改|处理|处置|查处|核实|核查|调查|"
    r"查看|检查|拆除|清理|维修|修复|更换|安装|疏通|协调|落实|办理|解决|纳入|启动|实施|开展|加强|规范|"
    r"补发|发放|退还|立案|处罚|取缔|关停|整治|回访|经查|经核实|经调查|调整|迁移|搬迁|改造|建设|修建)"
)
# Named organisations; "相关部门" / "有关单位" name nobody, so 部门 and 单位 are not on the list.
_BODY = re.compile(
    r"(局|厅|委员会|管委会|[卫健住建发改教工商环]委|办公室|办事处|中心|公司|政府|街道|社区|居委会|村委会?|"
    r"派出所|[大中支]队|[^\W\d]镇|[^\W\d]乡|物业|学校|医院|法院|检察院|银行|集团)"
)
_DATE = re.compile(
    r"(\d{4}年|\d{1,2}月|\d{1,2}日|\d{1,2}号|\d+(个)?(工作日|天|周|星期|月|年)内|年底|月底|年内|近期|"
    r"近日|本周|下周|本月|下月|今年|明年|上半年|下半年|春节前|节后|目前|现已|日前|届时|\d{4}[-/.]\d{1,2})"
)


@dataclass(frozen=True)
class Hint:
    code: str
    message: str


def subject_words(subject: str, body: str) -> list[str]:
    """The content words of what a message is about: its subject, else its opening."""
    about = subject or (body or "")[:60]
    return [w for w in words(about) if len(w) >= 2 and w not in _STOP and not _ADMIN_PLACE.match(w)]


def relevance(subject: str, body: str, answer: str) -> float:
    """Share of the message's content words (and, for words jieba splits differently, character
    bigrams) that the answer repeats: 1.0 touches every one, 0.0 none."""
    terms = subject_words(subject, body)
    if not terms:
        return 1.0  # nothing to check against: say nothing rather than a false alarm
    ans = normalise(answer)
    word_share = sum(1 for w in terms if w in ans) / len(terms)
    grams = {t[i:i + 2] for t in terms for i in range(len(t) - 1)}
    ans_c = compact(answer)
    gram_share = sum(1 for g in grams if g in ans_c) / len(grams)
    return max(word_share, gram_share)


def answer_hints(subject: str, body: str, answer: str, *, due_at: datetime | None = None,
                 answered_at: datetime | None = None) -> list[Hint]:
    """Hints for a draft `answer` to a message (`subject`, `body`). `due_at` and `answered_at`
    must be both aware or both naive; `answered_at` defaults to now."""
    hints = []
    text = normalise(answer)
    if relevance(subject, body, answer) < RELEVANCE_BELOW:
        hints.append(Hint("off_topic", "答复似乎没有回应留言反映的问题，请核对是否答复对了留言。"))
    if not _ACTION.search(text):
        hints.append(Hint("no_action", "答复没有说明已经或将要采取什么措施。"))
    if not _BODY.search(text):
        hints.append(Hint("no_body", "答复没有说明由哪个部门或单位负责办理。"))
    if not _DATE.search(text):
        hints.append(Hint("no_date", "答复没有给出办理时间或完成期限。"))
    if due_at is not None:
        now = answered_at or datetime.now(due_at.tzinfo)
        if now > due_at:
            days = (now - due_at).days
            late = f"已超过答复期限 {days} 天" if days >= 1 else "已超过答复期限"
            hints.append(Hint("late", f"{late}，建议在答复中说明延误原因。"))
    return hints
