"""A station's (and the district's) figures for a year, month by month, as an annual report
states them ("接待群众 2,535 人次，收集意见 459 条，形成建议 215 件").

Definitions (口径), months and the year in Beijing dates:
- 接待群众: people received on the station's reception days (the day's record, walk-ins and
  bookings together), by the day's month.
- 收集留言: messages to the station created in the month, not counting held, rejected or merged
  ones (as on the deputies' records). 按期答复: of those, answered by their answer deadline;
  应答复: answered ones plus unanswered ones already past the deadline.
- 形成建议: suggestions submitted in the month (drafts and merged ones left out), counted at the
  station of their first message. 办结: suggestions closed in the month, at the same station.
- 满意度: residents' ratings given in the month of the station's messages:
  (满意 + 基本满意) ÷ 已评价.
Messages and ratings stay with the station they were written to, so a deputy who moves
station takes nothing away from the old one. The district's figures are counted with the same
queries without the station grouping, so that "the district equals the sum of its stations" is
a check, not a tautology. A fixed number of grouped queries, however many stations."""
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time

import sqlalchemy as sa

from backend.core.extensions import db
from backend.messages.models import Message, MessageRating
from backend.org.models import Station
from backend.records.dossier import NOT_RECEIVED
from backend.reception.models import ReceptionDay, ReceptionRecord
from backend.suggestions.models import Suggestion, suggestion_messages
from backend.suggestions.figures import local_date, year_bounds
from backend.core.timeutil import LOCAL_TZ, local_today

MONTHS = range(1, 13)


@dataclass
class Month:
    received_people: int = 0
    messages: int = 0
    answered_on_time: int = 0
    due: int = 0
    suggestions_formed: int = 0
    suggestions_closed: int = 0
    satisfied: int = 0   # 满意 + 基本满意
    rated: int = 0

    def __add__(self, other: "Month") -> "Month":
        return Month(**{f.name: getattr(self, f.name) + getattr(other, f.name)
                        for f in fields(self)})

    @property
    def on_time_rate(self) -> float | None:
        return self.answered_on_time / self.due if self.due else None

    @property
    def satisfaction_rate(self) -> float | None:
        return self.satisfied / self.rated if self.rated else None


@dataclass
class Figures:
    """One station's (or the district's) year: twelve months and their total."""
    name: str
    station_id: int | None
    months: dict[int, Month] = field(default_factory=lambda: {m: Month() for m in MONTHS})

    @property
    def total(self) -> Month:
        return sum(self.months.values(), Month())


def year_figures(year: int, *, station_ids: list[int] | None = None,
                 today: date | None = None) -> tuple[Figures, list[Figures]]:
    """(district, [station…]): the district over every station, and the stations asked for
    (all when None), in id order."""
    today = today or local_today()
    stmt = sa.select(Station).order_by(Station.id)
    if station_ids is not None:
        stmt = stmt.where(Station.id.in_(station_ids or [-1]))
    stations = {s.id: Figures(s.name, s.id) for s in db.session.scalars(stmt)}
    district = Figures("全区", None)
    for grouped in (False, True):
        for key, month, name, value in _rows(year, today, grouped):
            target = stations.get(key) if grouped else district
            if target is not None:
                m = target.months[int(month)]
                setattr(m, name, getattr(m, name) + int(value or 0))
    return district, list(stations.values())


def _rows(year: int, today: date, grouped: bool):
    """(station, month, field, value) rows from each source; station None when not grouped."""
    start, end = year_bounds(year)

    def run(base, station_col, month_col, measures, *where, joins=()):
        cols = [station_col if grouped else sa.literal(None), month_col]
        stmt = sa.select(*cols, *(m for _, m in measures)).select_from(base)
        for target, on in joins:
            stmt = stmt.join(target, on)
        stmt = stmt.where(*where).group_by(*([station_col] if grouped else []), month_col)
        for row in db.session.execute(stmt):
            for i, (name, _) in enumerate(measures):
                yield row[0], row[1], name, row[2 + i]

    def month_of(col):
        return sa.extract("month", local_date(col))

    def count(*conditions):
        return sa.func.count(sa.case((sa.and_(*conditions), 1))) if conditions else sa.func.count()

    day_month = sa.extract("month", ReceptionDay.date)
    yield from run(ReceptionDay, ReceptionDay.station_id, day_month,
                   [("received_people", sa.func.sum(ReceptionRecord.walk_in_count))],
                   ReceptionDay.date >= date(year, 1, 1), ReceptionDay.date < date(year + 1, 1, 1),
                   ReceptionDay.status == "scheduled",
                   joins=[(ReceptionRecord, ReceptionRecord.day_id == ReceptionDay.id)])

    answered = Message.answered_at.is_not(None)
    on_time = sa.and_(answered, Message.answered_at <= Message.answer_due_at)
    passed = Message.answer_due_at < datetime.combine(today, time(0), tzinfo=LOCAL_TZ)
    yield from run(Message, Message.station_id, month_of(Message.created_at), [
        ("messages", count()),
        ("answered_on_time", count(on_time)),
        ("due", count(sa.or_(answered, passed))),
    ], Message.created_at >= start, Message.created_at < end,
        Message.status.not_in(NOT_RECEIVED))

    first_message = (sa.select(suggestion_messages.c.suggestion_id,
                               sa.func.min(suggestion_messages.c.message_id).label("message_id"))
                     .group_by(suggestion_messages.c.suggestion_id).subquery())
    where_station = [(first_message, first_message.c.suggestion_id == Suggestion.id),
                     (Message, Message.id == first_message.c.message_id)]
    yield from run(Suggestion, Message.station_id, month_of(Suggestion.submitted_at),
                   [("suggestions_formed", count())],
                   Suggestion.submitted_at >= start, Suggestion.submitted_at < end,
                   Suggestion.status.not_in(("draft", "merged")), joins=where_station)
    yield from run(Suggestion, Message.station_id, month_of(Suggestion.closed_at),
                   [("suggestions_closed", count())],
                   Suggestion.closed_at >= start, Suggestion.closed_at < end,
                   Suggestion.status == "closed", joins=where_station)

    # Only a station needs the rated message (for its station_id); every message has one, so
    # the district counts the ratings alone: a third of the dashboard's time at a million messages.
    yield from run(MessageRating, Message.station_id, month_of(MessageRating.created_at), [
        ("satisfied", count(MessageRating.value.in_(("satisfied", "basically_satisfied")))),
        ("rated", count()),
    ], MessageRating.created_at >= start, MessageRating.created_at < end,
        joins=[(Message, Message.id == MessageRating.message_id)] if grouped else [])


def available_years(today: date | None = None) -> list[int]:
    today = today or local_today()
    return list(range(today.year, today.year - 5, -1))
