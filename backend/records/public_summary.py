"""The public summary on a deputy's page (the page a resident reaches by scanning the QR code):
this year's counts from the record of duty, and the published quarters' evaluation. Counts
only, never a resident's name, words or phone; a rate from fewer than MIN_SAMPLE cases is shown
as 样本太少, as the responsiveness figures do.

Kept for five minutes per process: the page is what every scan of a poster opens, and the record
behind it (the year's suggestion figures included) is far more work than the page itself.
Publishing a quarter clears it at once in the process that published."""
from dataclasses import dataclass
from datetime import date

from backend.core.cache import TTLCache
from backend.core.timeutil import local_today
from backend.records.display import pct
from backend.records.dossier import deputy_record
from backend.records.publication import QuarterEvaluation, published_evaluations
from backend.records.responsiveness import MIN_SAMPLE

TOO_FEW = "样本太少"
summaries = TTLCache(ttl_seconds=300)


def rate_text(part: int, whole: int) -> str:
    """A rate shown to the public: with its basis, or 样本太少 below MIN_SAMPLE."""
    if whole < MIN_SAMPLE:
        return f"{TOO_FEW}（{whole} 条）" if whole else "暂无"
    return f"{pct(part / whole)}（{part}/{whole}）"


@dataclass(frozen=True)
class PublicSummary:
    year: int
    rows: list[tuple[str, str]]
    quarters: list[QuarterEvaluation]


def public_summary(deputy, *, today: date | None = None) -> PublicSummary:
    today = today or local_today()
    return summaries.get((deputy.id, today), lambda: _build(deputy, today))


def _build(deputy, today: date) -> PublicSummary:
    r = deputy_record(deputy, today.year, today=today)
    rows = [
        ("收到群众留言", f"{r.received} 条"),
        ("已答复", f"{r.answered} 条（应由本人答复 {r.theirs} 条）"),
        ("答复率", rate_text(r.answered, r.theirs)),
        ("群众满意率", rate_text(r.satisfied + r.basically_satisfied, r.rated)),
        ("接待选民日到岗", f"{r.duties_kept} 次（值班 {r.duties} 次）"),
        ("参加代表活动", f"{r.attended} 次"),
        ("提出和附议建议", f"领衔 {r.suggestions.made} 件、附议 {r.cosigned} 件"),
    ]
    return PublicSummary(today.year, rows, published_evaluations(deputy, today=today))
