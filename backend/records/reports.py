"""Reports to constituents (代表述职): plan one per deputy per term, rate on the spot (one per
resident) or on paper (entered in bulk by the organiser), and the result by the usual rule:
more than half 满意 → 满意; 满意 + 基本满意 more than half → 基本满意; otherwise 不满意; and no
result below the report's minimum attendance. The result is computed from the ratings on read,
so it is on the record as soon as the ratings are.

Who is invited: residents of the constituency who wrote to the deputy. A resident has no address
on file and a message only a free-text place, so the constituency is reached through the
station: the report names one of the deputy's stations (their first unless the office picks
another), and the writers whose messages to the deputy came in at that station are invited."""
import secrets
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from backend.core import audit
from backend.core.adapters import public_url
from backend.core.errors import Forbidden, InvalidState, ValidationFailed
from backend.core.extensions import db
from backend.core.timeutil import local_today
from backend.messages.models import Message
from backend.notifications.notify import notify
from backend.org import policy as org_policy
from qr.codes import qr_svg
from backend.records.report_model import (
    DEFAULT_MIN_ATTENDANCE, REPORT_RATING_LABELS, ConstituencyReport, ReportRating,
)

ALREADY_RATED = "您已经评议过了，每人只能评议一次"
PAPER_MAX = 2000  # ratings entered at once: more than any hall holds


def _role(user):
    return getattr(user, "role", None) if getattr(user, "is_authenticated", False) else None


def can_plan(user) -> bool:
    return _role(user) == "admin"


def can_view(user, report: ConstituencyReport) -> bool:
    if _role(user) == "deputy":
        return user.deputy_id == report.deputy_id
    return _role(user) in ("admin", "liaison") and org_policy.can_manage_deputy(user,
                                                                                report.deputy)


def can_enter_paper(user, report: ConstituencyReport) -> bool:
    return _role(user) in ("admin", "liaison") and can_view(user, report)


def plan_report(deputy, data: dict, *, actor) -> ConstituencyReport:
    if not can_plan(actor):
        raise Forbidden("只有代表工作部门可以安排述职", code="report_forbidden")
    if deputy.term_id is None:
        raise ValidationFailed("这位代表还没有届次，不能安排本届述职", code="report_no_term")
    if db.session.scalar(sa.select(ConstituencyReport.id).filter_by(
            deputy_id=deputy.id, term_id=deputy.term_id)) is not None:
        raise InvalidState("这位代表本届的述职已经安排过了", code="report_already_planned")
    station_id = data.get("station_id") or (deputy.primary_station.id
                                            if deputy.primary_station else None)
    if station_id is not None and station_id not in {s.id for s in deputy.stations}:
        raise ValidationFailed("请选择这位代表所在的联络站", code="report_station_not_deputys",
                               errors={"station_id": ["不是这位代表所在的联络站"]})
    report = ConstituencyReport(
        deputy_id=deputy.id, term_id=deputy.term_id, held_on=data["held_on"],
        station_id=station_id,
        place=data["place"], constituency=data.get("constituency") or deputy.constituency or "",
        min_attendance=data.get("min_attendance") or DEFAULT_MIN_ATTENDANCE,
        token=secrets.token_urlsafe(12))
    db.session.add(report)
    db.session.flush()
    audit.record("report.plan", report, actor=actor, after={
        "deputy_id": deputy.id, "held_on": report.held_on.isoformat(), "place": report.place})
    _invite_writers(deputy, report)
    return report


def invited_residents(report: ConstituencyReport) -> list[int]:
    """Residents who wrote to the deputy through the report's station (its constituency)."""
    if report.station_id is None:  # a deputy with no station: no constituency to reach
        return []
    return list(db.session.scalars(
        sa.select(Message.resident_id).where(
            sa.or_(Message.deputy_id == report.deputy_id,
                   Message.assigned_deputy_id == report.deputy_id),
            Message.station_id == report.station_id,
            Message.resident_id.is_not(None), Message.status.not_in(("held", "rejected")))
        .distinct().order_by(Message.resident_id)))


def _invite_writers(deputy, report: ConstituencyReport) -> None:
    """Residents of the constituency who wrote to the deputy hear of the report (one notice
    each)."""
    writers = invited_residents(report)
    when = f"{report.held_on.month}月{report.held_on.day}日"
    for resident_id in writers:
        notify("resident", resident_id, "report.invite", f"{deputy.name}代表将于{when}向选民述职",
               body=f"地点：{report.place}。欢迎到场听取述职并现场评议。", subject=report)


def _check_value(value: str) -> None:
    if value not in REPORT_RATING_LABELS:
        raise ValidationFailed("请选择满意、基本满意或不满意", code="report_bad_rating",
                               errors={"value": ["请选择一项"]})


def rate_report(report: ConstituencyReport, value: str, *, resident,
                today: date | None = None) -> ReportRating:
    """A resident present at the session rates it once, on the day."""
    _check_value(value)
    if (today or local_today()) != report.held_on:
        raise InvalidState("只能在述职会当天扫码评议", code="report_not_today")
    if db.session.scalar(sa.select(ReportRating.id).filter_by(
            report_id=report.id, resident_id=resident.id)) is not None:
        raise InvalidState(ALREADY_RATED, code="report_already_rated")
    rating = ReportRating(report_id=report.id, value=value, source="scan", resident_id=resident.id)
    db.session.add(rating)
    try:
        db.session.flush()
    except sa.exc.IntegrityError:  # a racing second tap from the same resident: the unique key
        raise InvalidState(ALREADY_RATED, code="report_already_rated") from None
    return rating


def enter_paper_ratings(report: ConstituencyReport, counts: dict, *, actor) -> int:
    """The organiser enters the paper forms: how many of each answer."""
    if not can_enter_paper(actor, report):
        raise Forbidden("只能为本站代表的述职录入评议", code="report_forbidden")
    errors = {}
    for value, label in REPORT_RATING_LABELS.items():
        n = counts.get(value)
        if not isinstance(n, int) or n < 0:
            errors[value] = [f"{label}的票数应为 0 或正整数"]
    if errors:
        raise ValidationFailed(errors=errors)
    total = sum(counts[v] for v in REPORT_RATING_LABELS)
    if not 0 < total <= PAPER_MAX:
        raise ValidationFailed(f"一次录入的纸质评议应为 1 到 {PAPER_MAX} 张",
                               code="report_paper_count")
    db.session.add_all(ReportRating(report_id=report.id, value=v, source="paper")
                       for v in REPORT_RATING_LABELS for _ in range(counts[v]))
    db.session.flush()
    audit.record("report.paper", report, actor=actor,
                 after={v: counts[v] for v in REPORT_RATING_LABELS})
    return total


@dataclass(frozen=True)
class ReportResult:
    satisfied: int
    basically_satisfied: int
    dissatisfied: int
    min_attendance: int

    @property
    def total(self) -> int:
        return self.satisfied + self.basically_satisfied + self.dissatisfied

    @property
    def outcome(self) -> str | None:
        if self.total < self.min_attendance:
            return None
        if self.satisfied * 2 > self.total:
            return "satisfied"
        if (self.satisfied + self.basically_satisfied) * 2 > self.total:
            return "basically_satisfied"
        return "dissatisfied"

    def describe(self) -> str:
        counts = (f"满意 {self.satisfied}、基本满意 {self.basically_satisfied}、不满意 "
                  f"{self.dissatisfied}，共 {self.total} 人")
        if self.outcome is None:
            return f"{counts}；参加评议不足 {self.min_attendance} 人，不作结论"
        return f"{counts}；结果：{REPORT_RATING_LABELS[self.outcome]}"


def results(reports: list[ConstituencyReport]) -> dict[int, ReportResult]:
    """The result of each report, from one grouped query."""
    counts: dict[int, dict[str, int]] = {r.id: {} for r in reports}
    if counts:
        for report_id, value, n in db.session.execute(
                sa.select(ReportRating.report_id, ReportRating.value, sa.func.count())
                .where(ReportRating.report_id.in_(list(counts)))
                .group_by(ReportRating.report_id, ReportRating.value)):
            counts[report_id][value] = n
    return {r.id: ReportResult(counts[r.id].get("satisfied", 0),
                               counts[r.id].get("basically_satisfied", 0),
                               counts[r.id].get("dissatisfied", 0), r.min_attendance)
            for r in reports}


def reports_of(deputy_id: int, year: int) -> list[ConstituencyReport]:
    return list(db.session.scalars(sa.select(ConstituencyReport).where(
        ConstituencyReport.deputy_id == deputy_id,
        ConstituencyReport.held_on >= date(year, 1, 1),
        ConstituencyReport.held_on < date(year + 1, 1, 1)).order_by(ConstituencyReport.held_on)))


def reports_of_term(deputy_id: int, term_id: int) -> list[ConstituencyReport]:
    return list(db.session.scalars(sa.select(ConstituencyReport).where(
        ConstituencyReport.deputy_id == deputy_id, ConstituencyReport.term_id == term_id)
        .order_by(ConstituencyReport.held_on)))


def rating_url(report: ConstituencyReport) -> str:
    """What the code shown at the session opens: the portal's rating page."""
    return public_url(f"/r/{report.token}")


def rating_code_svg(report: ConstituencyReport) -> str:
    return qr_svg(rating_url(report)).decode()


def unplanned_deputies(deputy_ids: list[int] | None = None):
    """Active deputies of the current term with no report planned this term: the reminder."""
    from backend.org.models import Deputy, Term
    stmt = (sa.select(Deputy).join(Term, Term.id == Deputy.term_id)
            .where(Term.is_current.is_(True), Deputy.is_active.is_(True),
                   ~sa.exists().where(ConstituencyReport.deputy_id == Deputy.id,
                                      ConstituencyReport.term_id == Deputy.term_id))
            .order_by(Deputy.name, Deputy.id))
    if deputy_ids is not None:
        stmt = stmt.where(Deputy.id.in_(deputy_ids or [-1]))
    return list(db.session.scalars(stmt))
