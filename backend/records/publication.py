"""Quarterly publication of the evaluation (季度公布): the office publishes a quarter once it has
ended; from then on each deputy sees their own evaluation for it and the deputy's public page
shows it. Nothing is frozen: a quarter's evaluation is computed when read, over the year up to
the quarter's end (suggestions and projects, figured by year, as of reading), with the current
settings. Before publication only the office and the deputy's stations' liaisons see it."""
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from backend.core import audit
from backend.core.errors import Forbidden, InvalidState, ValidationFailed
from backend.core.extensions import db
from backend.core.timeutil import local_today
from backend.records import policy
from backend.records.dossier import Period, deputy_record
from backend.records.evaluation import Evaluation, current_settings, evaluate
from backend.records.evaluation_model import EvaluationPublication
from backend.suggestions.figures import MIN_YEAR

QUARTERS = (1, 2, 3, 4)


def quarter_period(year: int, quarter: int) -> Period:
    """The year up to the quarter's end: the evaluation published each quarter is cumulative."""
    end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return Period(date(year, 1, 1), end, (year,), f"{year}年第{quarter}季度（1月至{3 * quarter}月）",
                  year=year)


def _check(year, quarter) -> None:
    if not (isinstance(year, int) and MIN_YEAR <= year <= local_today().year + 1
            and quarter in QUARTERS):
        raise ValidationFailed("没有这个季度", code="quarter_invalid")


def published(year: int) -> dict[int, EvaluationPublication]:
    """The year's published quarters, by quarter."""
    return {p.quarter: p for p in db.session.scalars(
        sa.select(EvaluationPublication).where(EvaluationPublication.year == year))}


def latest_published() -> EvaluationPublication | None:
    return db.session.scalars(sa.select(EvaluationPublication).order_by(
        EvaluationPublication.year.desc(), EvaluationPublication.quarter.desc()).limit(1)).first()


def publish_quarter(year: int, quarter: int, *, actor, today: date | None = None
                    ) -> EvaluationPublication:
    if not policy.can_publish_evaluation(actor):
        raise Forbidden("只有代表工作部门可以公布履职评价", code="evaluation_publish_forbidden")
    _check(year, quarter)
    if quarter_period(year, quarter).end > (today or local_today()):
        raise InvalidState(f"{year}年第{quarter}季度还没有结束，结束后才能公布",
                           code="quarter_not_ended")
    if quarter in published(year):
        raise InvalidState(f"{year}年第{quarter}季度的履职评价已经公布过了",
                           code="quarter_already_published")
    row = EvaluationPublication(year=year, quarter=quarter, published_by=actor.id)
    db.session.add(row)
    try:
        db.session.flush()
    except sa.exc.IntegrityError:  # two clicks racing: the unique key keeps one
        raise InvalidState(f"{year}年第{quarter}季度的履职评价已经公布过了",
                           code="quarter_already_published") from None
    audit.record("evaluation.publish", row, actor=actor, after={"year": year, "quarter": quarter})
    from backend.records.public_summary import summaries  # it imports this module
    summaries.clear()
    return row


@dataclass(frozen=True)
class QuarterEvaluation:
    year: int
    quarter: int
    period: Period
    is_published: bool
    evaluation: Evaluation


def quarter_evaluations(deputy, year: int, *, viewer, today: date | None = None
                        ) -> list[QuarterEvaluation]:
    """The ended quarters of the year whose evaluation this viewer may see for this deputy:
    all of them for the office and the deputy's liaisons, the published ones for the deputy."""
    today = today or local_today()
    done = published(year)
    settings = current_settings()
    out = []
    for quarter in QUARTERS:
        period = quarter_period(year, quarter)
        if period.end > today:
            break
        if not policy.can_view_quarter(viewer, deputy, quarter in done):
            continue
        record = deputy_record(deputy, period, today=today)
        out.append(QuarterEvaluation(year, quarter, period, quarter in done,
                                     evaluate(record, settings)))
    return out


def published_evaluations(deputy, *, today: date | None = None) -> list[QuarterEvaluation]:
    """For the public page: the published quarters of the latest year with any, newest first."""
    latest = latest_published()
    if latest is None:
        return []
    settings = current_settings()
    return [QuarterEvaluation(latest.year, q, quarter_period(latest.year, q), True,
                              evaluate(deputy_record(deputy, quarter_period(latest.year, q),
                                                     today=today), settings))
            for q in sorted(published(latest.year), reverse=True)]
