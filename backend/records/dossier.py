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
  only), delivered projects rated (项目测评, the 验单 inspection). What they voted for is
  nowhere to be counted.
A deputy who moved station keeps everything: the record follows the deputy, not the station.
A constant number of queries whatever the number of deputies; the median reads the answered
messages grouped by deputy and the two Beijing dates, and counts working days from one index."""
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa

from backend.activities.models import COUNTED_STATUSES, Activity, ActivityAttendance
from backend.core.extensions import db
from backend.core.timeutil import local_today
from backend.messages.models import Message, MessageRating
from backend.org.models import Deputy, Station, deputy_stations
from backend.projects.models import (
    ProjectAttendee, ProjectProposal, ProjectRating, ProjectRound, ProjectVoteParticipation,
)
from backend.reception.models import (
    Appointment, DutySwap, ReceptionDay, ReceptionDuty, ReceptionRecord, record_deputies,
)
from backend.suggestions.figures import Counts, local_date, year_bounds, year_figures
from backend.workdays.calendar import is_workday

# Messages that never became a deputy's to receive.
NOT_RECEIVED = ("held", "rejected", "merged")


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class DeputyRecord:
    deputy_id: int
    name: str
    year: int
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
    projects_rated: int = 0  # 验单: delivered projects rated

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
    """The records of the given deputies (all, active first, when None), in name order."""
    today = today or local_today()
    stmt = sa.select(Deputy).order_by(Deputy.is_active.desc(), Deputy.name, Deputy.id)
    if deputy_ids is not None:
        stmt = stmt.where(Deputy.id.in_(deputy_ids or [-1]))
    deputies = list(db.session.scalars(stmt))
    records = {d.id: DeputyRecord(d.id, d.name, year) for d in deputies}
    if not records:
        return []
    ids = list(records)
    _stations(records)
    _messages(records, ids, year)
    _reception(records, ids, year, today)
    _activities(records, ids, year)
    _suggestions(records, year, today)
    _projects(records, ids, year)
    return list(records.values())


def deputy_record(deputy: Deputy, year: int, *, today: date | None = None) -> DeputyRecord:
    return deputy_records(year, [deputy.id], today=today)[0]


# ---- the parts, each a grouped query or two ----

def _stations(records) -> None:
    rows = db.session.execute(
        sa.select(deputy_stations.c.deputy_id, Station.name)
        .join(Station, Station.id == deputy_stations.c.station_id)
        .where(deputy_stations.c.deputy_id.in_(list(records))).order_by(Station.id))
    for deputy_id, name in rows:
        r = records[deputy_id]
        r.stations = f"{r.stations}、{name}" if r.stations else name


def _year_messages(year: int):
    start, end = year_bounds(year)
    return sa.and_(Message.created_at >= start, Message.created_at < end,
                   Message.status.not_in(NOT_RECEIVED))


def _messages(records, ids, year) -> None:
    in_year = _year_messages(year)
    written = sa.select(Message.id, Message.deputy_id.label("d")).where(
        in_year, Message.deputy_id.in_(ids))
    assigned = sa.select(Message.id, Message.assigned_deputy_id.label("d")).where(
        in_year, Message.assigned_deputy_id.in_(ids))
    pairs = sa.union(written, assigned).subquery()  # UNION: a message written and assigned once
    for deputy_id, n in db.session.execute(
            sa.select(pairs.c.d, sa.func.count()).group_by(pairs.c.d)):
        records[deputy_id].received = n

    theirs = sa.and_(in_year, Message.assigned_deputy_id.in_(ids), Message.status != "forwarded")
    answered = Message.answered_at.is_not(None)
    for row in db.session.execute(
            sa.select(Message.assigned_deputy_id, sa.func.count(),
                      sa.func.count(sa.case((answered, 1))),
                      sa.func.count(sa.case((sa.and_(answered,
                                                     Message.answered_at <= Message.answer_due_at),
                                             1))))
            .where(theirs).group_by(Message.assigned_deputy_id)):
        r = records[row[0]]
        r.theirs, r.answered, r.answered_on_time = row[1], row[2], row[3]

    # Working days counted in the database: each Beijing date joined to a running index of
    # working days (sent along as VALUES), so only (deputy, span, count) rows come back.
    first, last = date(year, 1, 1), max(local_today(), date(year, 12, 31))
    index = _workday_index(first, last)
    received, done = _index_table(index, "wd_received"), _index_table(index, "wd_answered")
    span = (done.c.n - received.c.n).label("span")
    spans: dict[int, dict[int, int]] = {}
    for deputy_id, days, n in db.session.execute(
            sa.select(Message.assigned_deputy_id, span, sa.func.count()).select_from(Message)
            .join(received, received.c.day == local_date(Message.created_at))
            .join(done, done.c.day == local_date(Message.answered_at))
            .where(theirs, answered).group_by(Message.assigned_deputy_id, span)):
        spans.setdefault(deputy_id, {})[days] = n
    for deputy_id, counts in spans.items():
        records[deputy_id].median_workdays = _weighted_median(counts)

    latest = (sa.select(MessageRating.message_id, sa.func.max(MessageRating.round).label("round"))
              .group_by(MessageRating.message_id).subquery())
    for deputy_id, value, n in db.session.execute(
            sa.select(Message.assigned_deputy_id, MessageRating.value, sa.func.count())
            .join(MessageRating, MessageRating.message_id == Message.id)
            .join(latest, sa.and_(latest.c.message_id == MessageRating.message_id,
                                  latest.c.round == MessageRating.round))
            .where(theirs).group_by(Message.assigned_deputy_id, MessageRating.value)):
        setattr(records[deputy_id], value, n)


def _workday_index(first: date, last: date) -> dict[date, int]:
    """Working days up to and including each date from `first` to `last`: the count in (a, b]
    is index[b] - index[a], as backend.workdays.calendar.workdays_between counts it."""
    index, running = {}, 0
    for i in range((last - first).days + 1):
        d = first + timedelta(days=i)
        running += is_workday(d)
        index[d] = running
    return index


def _index_table(index: dict[date, int], name: str):
    """The index as a (day, n) table: VALUES, whose columns are column1, column2 on both
    SQLite and PostgreSQL (SQLite takes no column list after the alias)."""
    rows = ", ".join(f"(:{name}_d{i}, :{name}_n{i})" for i in range(len(index)))
    params = [p for i, (d, n) in enumerate(index.items()) for p in (
        sa.bindparam(f"{name}_d{i}", d, type_=sa.Date), sa.bindparam(f"{name}_n{i}", n))]
    return (sa.text(f"SELECT column1 AS day, column2 AS n FROM (VALUES {rows}) AS v")
            .bindparams(*params).columns(sa.column("day", sa.Date), sa.column("n", sa.Integer))
            .subquery(name))


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


def _reception(records, ids, year, today) -> None:
    in_year = sa.and_(ReceptionDay.date >= date(year, 1, 1), ReceptionDay.date < date(year + 1, 1, 1))
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

    start, end = year_bounds(year)
    agreed = sa.func.coalesce(Appointment.proposed_at, Appointment.requested_at)
    for deputy_id, n in db.session.execute(
            sa.select(Appointment.deputy_id, sa.func.count())
            .where(Appointment.kind == "request", Appointment.status == "accepted",
                   Appointment.deputy_id.in_(ids), agreed >= start, agreed < end)
            .group_by(Appointment.deputy_id)):
        records[deputy_id].appointments_met = n


def _activities(records, ids, year) -> None:
    start, end = year_bounds(year)
    for deputy_id, origin, status, n in db.session.execute(
            sa.select(ActivityAttendance.deputy_id, Activity.origin, ActivityAttendance.status,
                      sa.func.count())
            .join(Activity, Activity.id == ActivityAttendance.activity_id)
            .where(Activity.status.in_(COUNTED_STATUSES), Activity.starts_at >= start,
                   Activity.starts_at < end, ActivityAttendance.deputy_id.in_(ids))
            .group_by(ActivityAttendance.deputy_id, Activity.origin, ActivityAttendance.status)):
        r = records[deputy_id]
        r.invited += n
        if origin == "reported":
            r.reported += n
            r.attended += n
        elif status in ("attended", "excused", "absent"):
            setattr(r, status, getattr(r, status) + n)


def _suggestions(records, year, today) -> None:
    figures = year_figures(year, today=today)
    for row in figures.by_deputy:
        if row.deputy_id in records:
            records[row.deputy_id].suggestions = row.counts
            records[row.deputy_id].cosigned = row.cosigned


def _projects(records, ids, year) -> None:
    for name, model in (("vote_sessions", ProjectAttendee), ("votes_cast", ProjectVoteParticipation)):
        for deputy_id, n in db.session.execute(
                sa.select(model.deputy_id, sa.func.count())
                .join(ProjectRound, ProjectRound.id == model.round_id)
                .where(ProjectRound.year == year, model.deputy_id.in_(ids))
                .group_by(model.deputy_id)):
            setattr(records[deputy_id], name, n)
    for deputy_id, n in db.session.execute(
            sa.select(ProjectRating.deputy_id, sa.func.count())
            .join(ProjectProposal, ProjectProposal.id == ProjectRating.proposal_id)
            .join(ProjectRound, ProjectRound.id == ProjectProposal.round_id)
            .where(ProjectRound.year == year, ProjectRating.deputy_id.in_(ids))
            .group_by(ProjectRating.deputy_id)):
        records[deputy_id].projects_rated = n
