"""A deputy's record of duty (履职档案) for a year, built from what happened, never typed twice.

Definitions (口径), for a year Y counted in Beijing dates:
- 收到留言: messages created in Y written to the deputy or now assigned to them, each once;
  not counted: messages still held for review, rejected ones and duplicates merged into another.
- 应答复 (theirs to answer): of those, the ones assigned to the deputy (forwarded ones left out).
  已答复: theirs with an answer. 按期答复: answered by the message's answer deadline.
  答复用时中位数: the median of working days (Chinese calendar) from receipt to answer, over
  theirs answered only, always shown beside the volume it comes from.
- 群众评价: residents' ratings of the latest round on theirs.
- 接待日值班: duties on reception days of Y up to today. 到岗: the day's record lists the deputy;
  缺岗: the day has a record that does not; 未登记: no record yet. 换出: approved swaps that gave
  a duty of Y away. 约见群众: meeting requests to the deputy agreed (accepted) for a time in Y.
- 代表活动: activities held in Y (or reported and confirmed): invited, attended, excused, absent;
  参与率 = attended ÷ (invited to held ones + their own confirmed reports). Reports are attended.
- 代表建议: as in the suggestion figures (backend.suggestions.figures): led, co-signed, classes,
  the deputy's ratings of the answers.
- 民生实事项目 (backend.projects), by the projects' year Y (voted at Y's session, rated at its
  end, even if the rating slips into January): registered present at the vote (出席票决), an
  electronic ballot cast (电子投票; a paper ballot is secret and names nobody, so it is in 出席
  only), electronic ballots cast in the round's run-offs (再次表决, counted apart so a run-off
  is not a second session), delivered projects rated (项目测评, the 验单 inspection). What they
  voted for is nowhere to be counted.
A term (届) is counted the same way over the term's dates (terms in backend.org: starts_on to
ends_on, or to today while it runs); suggestions and projects, which are figured by year, add up
the years whose 1 January falls in the term.
A deputy who moved station keeps everything: the record follows the deputy, not the station.
A constant number of queries whatever the number of deputies; the messages are one grouped scan,
whose working-day spans come from one index of Beijing dates sent as a parameter."""
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import Grouping

from backend.activities.models import Activity, ActivityAttendance, counted_between
from backend.core.extensions import db
from backend.core.errors import ValidationFailed
from backend.core.timeutil import LOCAL_TZ, local_today
from backend.messages.models import Message, MessageRating
from backend.org.models import Deputy, Station, Term, deputy_stations
from backend.projects.models import (
    ProjectAttendee, ProjectProposal, ProjectRating, ProjectRound, ProjectRunoff,
    ProjectRunoffParticipation, ProjectVoteParticipation,
)
from backend.reception.models import (
    Appointment, DutySwap, ReceptionDay, ReceptionDuty, ReceptionRecord, record_deputies,
)
from backend.suggestions.figures import Counts, local_date, year_figures
from backend.workdays.calendar import is_workday

# Messages that never became a deputy's to receive.
NOT_RECEIVED = ("held", "rejected", "merged")


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class Period:
    """What a record covers: Beijing dates from `start` up to `end` (exclusive), the calendar
    years whose suggestions and projects count, and its name on pages and exports."""
    start: date
    end: date
    years: tuple[int, ...]
    label: str  # 2026年度, 区第五届
    year: int | None = None
    term_id: int | None = None

    @classmethod
    def of_year(cls, year: int) -> "Period":
        return cls(date(year, 1, 1), date(year + 1, 1, 1), (year,), f"{year}年度", year=year)

    @classmethod
    def of_term(cls, term: Term, today: date | None = None) -> "Period":
        if term.starts_on is None:
            raise ValidationFailed(f"{term.name}没有填写开始日期，不能按届统计",
                                   code="term_without_dates")
        end = term.ends_on + timedelta(days=1) if term.ends_on else \
            (today or local_today()) + timedelta(days=1)
        years = tuple(y for y in range(term.starts_on.year, end.year + 1)
                      if term.starts_on <= date(y, 1, 1) < end)
        return cls(term.starts_on, max(end, term.starts_on), years, term.name, term_id=term.id)

    def bounds(self) -> tuple[datetime, datetime]:
        """The UTC instants where the period starts and ends."""
        return tuple(datetime(d.year, d.month, d.day, tzinfo=LOCAL_TZ).astimezone(timezone.utc)
                     for d in (self.start, self.end))

    @property
    def dates_text(self) -> str:
        last = self.end - timedelta(days=1)
        return (f"{self.start.year} 年 {self.start.month} 月 {self.start.day} 日至 {last.year} 年 "
                f"{last.month} 月 {last.day} 日")


@dataclass
class DeputyRecord:
    deputy_id: int
    name: str
    period: Period
    stations: str = ""
    received: int = 0
    theirs: int = 0
    answered: int = 0
    answered_on_time: int = 0
    median_workdays: float | None = None
    satisfied: int = 0
    basically_satisfied: int = 0
    dissatisfied: int = 0
    duties: int = 0
    duties_kept: int = 0
    duties_missed: int = 0
    swapped_out: int = 0
    appointments_met: int = 0
    invited: int = 0
    attended: int = 0
    excused: int = 0
    absent: int = 0
    reported: int = 0  # own activities confirmed by the station (attended by definition)
    suggestions: Counts = field(default_factory=Counts)
    cosigned: int = 0
    vote_sessions: int = 0  # 票决出席
    votes_cast: int = 0  # electronic ballots
    runoff_votes_cast: int = 0  # electronic ballots in run-offs (决选) of the same rounds
    projects_rated: int = 0  # 验单: delivered projects rated

    @property
    def year(self) -> int | None:
        return self.period.year

    @property
    def rated(self) -> int:
        return self.satisfied + self.basically_satisfied + self.dissatisfied

    @property
    def satisfaction_rate(self) -> float | None:
        return _rate(self.satisfied + self.basically_satisfied, self.rated)

    @property
    def answer_rate(self) -> float | None:
        return _rate(self.answered, self.theirs)

    @property
    def duties_unrecorded(self) -> int:
        return self.duties - self.duties_kept - self.duties_missed

    @property
    def participation_rate(self) -> float | None:
        """参与率: attended ÷ expected (invited to held activities, plus own reports)."""
        return _rate(self.attended, self.invited)


def deputy_records(year: int, deputy_ids: list[int] | None = None, *,
                   today: date | None = None) -> list[DeputyRecord]:
    return period_records(Period.of_year(year), deputy_ids, today=today)


def period_records(period: Period, deputy_ids: list[int] | None = None, *,
                   today: date | None = None) -> list[DeputyRecord]:
    """The records of the given deputies (all, active first, when None), in name order."""
    today = today or local_today()
    stmt = sa.select(Deputy).order_by(Deputy.is_active.desc(), Deputy.name, Deputy.id)
    if deputy_ids is not None:
        stmt = stmt.where(Deputy.id.in_(deputy_ids or [-1]))
    deputies = list(db.session.scalars(stmt))
    records = {d.id: DeputyRecord(d.id, d.name, period) for d in deputies}
    if not records:
        return []
    ids = list(records)
    _stations(records)
    _messages(records, ids, period, deputy_ids is None)
    _reception(records, ids, period, today)
    _activities(records, ids, period)
    _suggestions(records, period, today)
    _projects(records, ids, period)
    return list(records.values())


def deputy_record(deputy: Deputy, period: "Period | int", *,
                  today: date | None = None) -> DeputyRecord:
    if isinstance(period, int):
        period = Period.of_year(period)
    return period_records(period, [deputy.id], today=today)[0]


# ---- the parts, each a grouped query or two ----

def _stations(records) -> None:
    rows = db.session.execute(
        sa.select(deputy_stations.c.deputy_id, Station.name)
        .join(Station, Station.id == deputy_stations.c.station_id)
        .where(deputy_stations.c.deputy_id.in_(list(records))).order_by(Station.id))
    for deputy_id, name in rows:
        r = records[deputy_id]
        r.stations = f"{r.stations}、{name}" if r.stations else name


def _period_messages(period: Period):
    start, end = period.bounds()
    return sa.and_(Message.created_at >= start, Message.created_at < end,
                   Message.status.not_in(NOT_RECEIVED))


def _messages(records, ids, period: Period, every: bool) -> None:
    """One grouped scan of the year's messages: who wrote to and who answers each, whether it
    is theirs, answered, on time, its span in working days and its latest rating, counted by
    those keys and summed here. Four scans (a UNION for 收到, then one each for the counts, the
    spans and the ratings) took three times as long on a million messages."""
    in_year = _period_messages(period)
    # Working days counted in the database: each message's Beijing dates looked up in a
    # running index of working days sent along as one parameter, so only (keys, span, count)
    # rows come back. A lookup instead of a join per date: joined, the million-message scan
    # took 1.5 s on PostgreSQL; looked up, 0.9 s on one core (bench/records_bench.py).
    first, last = period.start, max(local_today(), period.end)
    numbers = _workday_numbers(first, last)
    answered = Message.answered_at.is_not(None)
    later = aliased(MessageRating)
    latest = sa.and_(MessageRating.message_id == Message.id, ~sa.exists().where(
        later.message_id == MessageRating.message_id, later.round > MessageRating.round))
    # Plain columns and flags only: whose a message is gets decided here, not per row in SQL.
    keys = (Message.deputy_id, Message.assigned_deputy_id,
            sa.case((Message.status == "forwarded", 1), else_=0).label("forwarded"),
            sa.case((answered, 1), else_=0).label("answered"),
            sa.case((Message.answered_at <= Message.answer_due_at, 1), else_=0).label("on_time"),
            (numbers(Message.answered_at) - numbers(Message.created_at)).label("span"),
            MessageRating.value)
    stmt = (sa.select(*keys, sa.func.count()).select_from(Message)
            .outerjoin(MessageRating, latest).where(in_year).group_by(*keys))
    if every:
        stmt = stmt.where(sa.or_(Message.deputy_id.is_not(None),
                                 Message.assigned_deputy_id.is_not(None)))
    else:
        stmt = stmt.where(sa.or_(Message.deputy_id.in_(ids), Message.assigned_deputy_id.in_(ids)))
    rows = db.session.execute(stmt)
    spans: dict[int, dict[int, int]] = {}
    for writer, assignee, forwarded, is_answered, is_on_time, span, rating, n in rows:
        for deputy_id in {writer, assignee} & records.keys():  # a message once per deputy
            records[deputy_id].received += n
        if forwarded or assignee not in records:  # not theirs to answer
            continue
        r = records[assignee]
        r.theirs += n
        if is_answered:
            r.answered += n
            r.answered_on_time += n * is_on_time
            if span is not None:
                counts = spans.setdefault(assignee, {})
                counts[span] = counts.get(span, 0) + n
        if rating is not None:
            setattr(r, rating, getattr(r, rating) + n)
    for deputy_id, counts in spans.items():
        records[deputy_id].median_workdays = _weighted_median(counts)


def _workday_index(first: date, last: date) -> list[int]:
    """Working days up to and including each date from `first` to `last` (position 0 is
    `first`): the count in (a, b] is index[b] - index[a], as
    backend.workdays.calendar.workdays_between counts it."""
    index, running = [], 0
    for i in range((last - first).days + 1):
        running += is_workday(first + timedelta(days=i))
        index.append(running)
    return index


def _workday_numbers(first: date, last: date):
    """A function from a timestamp column to the SQL expression of its Beijing date's place in
    the running index of working days (NULL for NULL or a date outside first..last): an
    integer array subscripted on PostgreSQL, a JSON array read with json_extract on SQLite."""
    index = _workday_index(first, last)
    if db.session.get_bind().dialect.name == "postgresql":
        array = Grouping(sa.bindparam("workday_index", index,
                                      type_=postgresql.ARRAY(sa.Integer, zero_indexes=True)))
        day0 = sa.bindparam("workday_first", first, type_=sa.Date)
        return lambda column: array[sa.type_coerce(local_date(column) - day0, sa.Integer)]
    encoded = sa.bindparam("workday_index", json.dumps(index), type_=sa.String)
    day0 = sa.bindparam("workday_first", first.isoformat(), type_=sa.String)
    return lambda column: sa.cast(sa.func.json_extract(encoded, sa.literal("$[").concat(
        sa.cast(sa.func.julianday(local_date(column)) - sa.func.julianday(day0), sa.Integer)
    ).concat("]")), sa.Integer)


def _weighted_median(counts: dict[int, int]) -> float:
    """The median of values given as {value: how many times}."""
    total = sum(counts.values())
    ordered = sorted(counts.items())

    def nth(k: int) -> int:  # the k-th value, 0-based
        for value, n in ordered:
            if k < n:
                return value
            k -= n
        raise IndexError(k)
    if total % 2:
        return float(nth(total // 2))
    return (nth(total // 2 - 1) + nth(total // 2)) / 2


def _reception(records, ids, period: Period, today) -> None:
    in_year = sa.and_(ReceptionDay.date >= period.start, ReceptionDay.date < period.end)
    present = sa.exists().where(record_deputies.c.record_id == ReceptionRecord.id,
                                record_deputies.c.deputy_id == ReceptionDuty.deputy_id)
    for deputy_id, duties, kept, missed in db.session.execute(
            sa.select(ReceptionDuty.deputy_id, sa.func.count(),
                      sa.func.count(sa.case((sa.and_(ReceptionRecord.id.is_not(None), present), 1))),
                      sa.func.count(sa.case((sa.and_(ReceptionRecord.id.is_not(None), ~present),
                                             1))))
            .join(ReceptionDay, ReceptionDay.id == ReceptionDuty.day_id)
            .outerjoin(ReceptionRecord, ReceptionRecord.day_id == ReceptionDay.id)
            .where(in_year, ReceptionDay.date <= today, ReceptionDay.status == "scheduled",
                   ReceptionDuty.deputy_id.in_(ids))
            .group_by(ReceptionDuty.deputy_id)):
        r = records[deputy_id]
        r.duties, r.duties_kept, r.duties_missed = duties, kept, missed

    for deputy_id, n in db.session.execute(
            sa.select(DutySwap.from_deputy_id, sa.func.count())
            .join(ReceptionDuty, ReceptionDuty.id == DutySwap.duty_id)
            .join(ReceptionDay, ReceptionDay.id == ReceptionDuty.day_id)
            .where(in_year, DutySwap.status == "approved", DutySwap.from_deputy_id.in_(ids))
            .group_by(DutySwap.from_deputy_id)):
        records[deputy_id].swapped_out = n

    start, end = period.bounds()
    agreed = sa.func.coalesce(Appointment.proposed_at, Appointment.requested_at)
    for deputy_id, n in db.session.execute(
            sa.select(Appointment.deputy_id, sa.func.count())
            .where(Appointment.kind == "request", Appointment.status == "accepted",
                   Appointment.deputy_id.in_(ids), agreed >= start, agreed < end)
            .group_by(Appointment.deputy_id)):
        records[deputy_id].appointments_met = n


def _activities(records, ids, period: Period) -> None:
    start, end = period.bounds()
    for deputy_id, origin, status, n in db.session.execute(
            sa.select(ActivityAttendance.deputy_id, Activity.origin, ActivityAttendance.status,
                      sa.func.count())
            .join(Activity, Activity.id == ActivityAttendance.activity_id)
            .where(counted_between(start, end), ActivityAttendance.deputy_id.in_(ids))
            .group_by(ActivityAttendance.deputy_id, Activity.origin, ActivityAttendance.status)):
        r = records[deputy_id]
        r.invited += n
        if origin == "reported":
            r.reported += n
            r.attended += n
        elif status in ("attended", "excused", "absent"):
            setattr(r, status, getattr(r, status) + n)


def _suggestions(records, period: Period, today) -> None:
    for year in period.years:
        for row in year_figures(year, today=today).by_deputy:
            if row.deputy_id in records:
                r = records[row.deputy_id]
                r.suggestions += row.counts
                r.cosigned += row.cosigned


def _projects(records, ids, period: Period) -> None:
    years = list(period.years) or [-1]

    def count(name, deputy_id, *joins):
        """records[…].name = how many rows of deputy_id's table each deputy has in the years."""
        stmt = sa.select(deputy_id, sa.func.count())
        for target, on in joins:
            stmt = stmt.join(target, on)
        for deputy, n in db.session.execute(stmt.where(ProjectRound.year.in_(years),
                                                       deputy_id.in_(ids)).group_by(deputy_id)):
            setattr(records[deputy], name, n)

    for name, model in (("vote_sessions", ProjectAttendee), ("votes_cast", ProjectVoteParticipation)):
        count(name, model.deputy_id, (ProjectRound, ProjectRound.id == model.round_id))
    count("runoff_votes_cast", ProjectRunoffParticipation.deputy_id,
          (ProjectRunoff, ProjectRunoff.id == ProjectRunoffParticipation.runoff_id),
          (ProjectRound, ProjectRound.id == ProjectRunoff.round_id))
    count("projects_rated", ProjectRating.deputy_id,
          (ProjectProposal, ProjectProposal.id == ProjectRating.proposal_id),
          (ProjectRound, ProjectRound.id == ProjectProposal.round_id))
