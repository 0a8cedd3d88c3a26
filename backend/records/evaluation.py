"""The evaluation of a deputy's year (履职评价), as the office configures it: which items count,
with what weight (together 100 points), and the bands (by default 80 and above 好, 60-79 较好,
below 60 差, as districts publish them).

Computed on read from the record, never stored, so weights changed after the fact apply to every
year at once. An item with nothing to judge by (no message theirs to answer, no activity invited
to) is left out and the points of the others are scaled to 100: a deputy is neither given nor
refused points for what never came to them. Shown item by item, never as a bare score."""
from dataclasses import dataclass
from typing import Callable

from backend.core import audit
from backend.core.errors import ValidationFailed
from backend.core.extensions import db
from backend.records.dossier import DeputyRecord
from backend.records.evaluation_model import EvaluationItem, EvaluationSettings

SCALE = 100
DEFAULT_GOOD_FROM, DEFAULT_FAIR_FROM = 80, 60
BAND_LABELS = {"good": "好", "fair": "较好", "poor": "差"}


@dataclass(frozen=True)
class Item:
    key: str
    label: str
    weight: int  # the default
    basis: Callable[[DeputyRecord], tuple[int, int]]  # (achieved, out of)
    rule: str
    target: int | None = None  # for a count: the number that earns the full weight


CATALOGUE: tuple[Item, ...] = (
    Item("answer_rate", "答复率", 25, lambda r: (r.answered, r.theirs),
         "已答复 ÷ 应由本人答复的留言"),
    Item("on_time_rate", "按期答复率", 15, lambda r: (r.answered_on_time, r.theirs),
         "按期答复 ÷ 应由本人答复的留言"),
    Item("satisfaction", "群众满意率", 15,
         lambda r: (r.satisfied + r.basically_satisfied, r.rated),
         "（满意 + 基本满意）÷ 参与评价的留言"),
    Item("reception", "接待日到岗率", 15,
         lambda r: (r.duties_kept, r.duties_kept + r.duties_missed),
         "到岗 ÷（到岗 + 缺岗），未登记的不计"),
    Item("activities", "活动参与率", 20, lambda r: (r.attended, r.invited),
         "参加 ÷ 应参加"),
    Item("suggestions", "提出建议", 10, lambda r: (r.suggestions.made + r.cosigned, 0),
         "领衔和附议的建议件数，达到目标件数得满分", target=2),
)
BY_KEY = {item.key: item for item in CATALOGUE}


@dataclass(frozen=True)
class ItemSetting:
    item: Item
    is_counted: bool
    weight: int
    target: int | None


@dataclass(frozen=True)
class Settings:
    items: tuple[ItemSetting, ...]
    good_from: int
    fair_from: int

    def band(self, score: float) -> str:
        if score >= self.good_from:
            return "good"
        return "fair" if score >= self.fair_from else "poor"

    def bands_text(self) -> str:
        return (f"{self.good_from} 分及以上为好，{self.fair_from}–{self.good_from - 1} 分为较好，"
                f"{self.fair_from} 分以下为差")


def current_settings() -> Settings:
    """The office's settings: the stored rows over the defaults in code (two queries)."""
    stored = {row.key: row for row in db.session.scalars(db.select(EvaluationItem))}
    items = []
    for item in CATALOGUE:
        row = stored.get(item.key)
        items.append(ItemSetting(item, row.is_counted if row else True,
                                 row.weight if row else item.weight,
                                 (row.target if row and row.target else item.target)))
    bands = db.session.get(EvaluationSettings, 1)
    return Settings(tuple(items), bands.good_from if bands else DEFAULT_GOOD_FROM,
                    bands.fair_from if bands else DEFAULT_FAIR_FROM)


@dataclass(frozen=True)
class ItemResult:
    setting: ItemSetting
    achieved: int
    out_of: int
    fraction: float | None  # None: nothing to judge by, left out

    @property
    def points(self) -> float | None:
        return None if self.fraction is None else self.setting.weight * self.fraction


@dataclass(frozen=True)
class Evaluation:
    items: tuple[ItemResult, ...]
    score: float | None  # out of 100, scaled over the items that had something to judge by
    band: str | None
    judged_weight: int  # the weights of those items
    settings: Settings

    @property
    def band_label(self) -> str:
        return BAND_LABELS[self.band] if self.band else "暂无可评价的数据"


def evaluate(record: DeputyRecord, settings: Settings) -> Evaluation:
    results = []
    for s in settings.items:
        if not s.is_counted:
            continue
        achieved, out_of = s.item.basis(record)
        if s.target:  # a count against its target
            fraction, out_of = min(achieved / s.target, 1.0), s.target
        else:
            fraction = achieved / out_of if out_of else None
        results.append(ItemResult(s, achieved, out_of, fraction))
    judged = sum(r.setting.weight for r in results if r.fraction is not None)
    if not judged:
        return Evaluation(tuple(results), None, None, 0, settings)
    score = round(sum(r.points for r in results if r.points is not None) * SCALE / judged, 1)
    return Evaluation(tuple(results), score, settings.band(score), judged, settings)


def rows(ev: Evaluation) -> list[tuple[str, str]]:
    """The breakdown as labelled rows: each item's basis, points and weight, then the total."""
    out = []
    for r in ev.items:
        s = r.setting
        if r.fraction is None:
            value = f"不计分：本年度没有可评价的数据（满分 {s.weight} 分）"
        elif s.target:
            value = (f"{r.achieved} 件，目标 {s.target} 件 → 得 {r.points:.1f} 分"
                     f"（满分 {s.weight} 分）")
        else:
            value = (f"{r.fraction * 100:.1f}%（{r.achieved}/{r.out_of}）→ 得 {r.points:.1f} 分"
                     f"（满分 {s.weight} 分）")
        out.append((s.item.label, value))
    if ev.score is None:
        out.append(("合计", "暂无可评价的数据，不评等次"))
    else:
        scaled = "" if ev.judged_weight == SCALE else \
            f"，按可评价项目的 {ev.judged_weight} 分折算为百分制"
        out.append(("合计", f"{ev.score:.1f} 分 · {ev.band_label}（{ev.settings.bands_text()}"
                           f"{scaled}）"))
    return out


# ---- the office changes the settings ----

def _snapshot(settings: Settings) -> dict:
    return {"items": {s.item.key: {"is_counted": s.is_counted, "weight": s.weight,
                                   "target": s.target} for s in settings.items},
            "good_from": settings.good_from, "fair_from": settings.fair_from}


def update_evaluation(data: dict, *, actor) -> Settings:
    """Store the office's settings. `data`: {"items": {key: {is_counted, weight, target}},
    "good_from", "fair_from"}. The counted weights must make 100 points; bands in order."""
    before = current_settings()
    items, errors = data.get("items") or {}, {}
    unknown = set(items) - set(BY_KEY)
    if unknown:
        raise ValidationFailed("没有这个评价项目", code="evaluation_unknown_item")
    total = 0
    for key, item in BY_KEY.items():
        given = items.get(key, {})
        weight, target = given.get("weight"), given.get("target")
        if not isinstance(weight, int) or not 0 <= weight <= SCALE:
            errors[f"{key}_weight"] = [f"{item.label}的分值应为 0 到 {SCALE} 之间的整数"]
        elif given.get("is_counted"):
            total += weight
        if item.target is not None and (not isinstance(target, int) or not 0 < target <= 1000):
            errors[f"{key}_target"] = [f"{item.label}的目标件数应为 1 到 1000 之间的整数"]
    good, fair = data.get("good_from"), data.get("fair_from")
    if not (isinstance(good, int) and isinstance(fair, int) and 0 < fair < good <= SCALE):
        errors["good_from"] = ["等次分数线应满足：0 < 较好起点 < 好起点 ≤ 100"]
    if errors:
        raise ValidationFailed(errors=errors)
    if total != SCALE:
        raise ValidationFailed(f"计分项目的分值合计应为 {SCALE} 分，现在是 {total} 分",
                               code="evaluation_weights_total")
    stored = {row.key: row for row in db.session.scalars(db.select(EvaluationItem))}
    for key, item in BY_KEY.items():
        given = items.get(key, {})
        row = stored.get(key) or EvaluationItem(key=key)
        row.is_counted, row.weight = bool(given.get("is_counted")), given["weight"]
        row.target = given.get("target") if item.target is not None else None
        db.session.add(row)
    bands = db.session.get(EvaluationSettings, 1) or EvaluationSettings(id=1)
    bands.good_from, bands.fair_from = good, fair
    db.session.add(bands)
    db.session.flush()
    after = current_settings()
    audit.record("evaluation.update", bands, actor=actor, before=_snapshot(before),
                 after=_snapshot(after))
    return after
