"""Rows for the records' figures, written straight into the tables (as the suggestion figures'
tests do), so these tests count what is stored and do not depend on the operations."""
from datetime import date, datetime, time, timedelta, timezone

import pytest

from backend.core.timeutil import LOCAL_TZ


def bj(*args) -> datetime:
    """A Beijing wall-clock time as the aware UTC datetime it is stored as."""
    return datetime(*args, tzinfo=LOCAL_TZ).astimezone(timezone.utc)


@pytest.fixture
def add_message(db):
    def add(station, *, to=None, assigned=None, at, answered=None, due_days=10, status=None,
            ratings=()):
        from backend.messages.models import Message, MessageRating
        m = Message(station_id=station.id, deputy_id=getattr(to, "id", None),
                    assigned_deputy_id=getattr(assigned, "id", None),
                    status=status or ("answered" if answered else "new"),
                    body="小区门口的路灯坏了很久。", created_at=at, ack_due_at=at + timedelta(days=2),
                    answer_due_at=at + timedelta(days=due_days), answered_at=answered,
                    reject_reason="重复" if status == "rejected" else "",
                    forward_to="区城管局" if status == "forwarded" else "",
                    hold_reason="待审核" if status == "held" else "")
        db.session.add(m)
        db.session.flush()
        for round_, (value, when) in enumerate(ratings, start=1):
            db.session.add(MessageRating(message_id=m.id, round=round_, value=value,
                                         created_at=when))
        db.session.flush()
        return m
    return add


@pytest.fixture
def add_reception_day(db):
    def add(station, day: date, *, duty=(), present=None, walk_ins=None, status="scheduled"):
        """A reception day with the deputies on duty; with `present` (a list) it has a record."""
        from backend.reception.models import ReceptionDay, ReceptionDuty, ReceptionRecord
        d = ReceptionDay(station_id=station.id, nominal_date=day, date=day, start_time=time(9),
                         end_time=time(11, 30), status=status,
                         cancel_reason="台风" if status == "cancelled" else "")
        db.session.add(d)
        db.session.flush()
        for deputy in duty:
            db.session.add(ReceptionDuty(day_id=d.id, deputy_id=deputy.id))
        if present is not None:
            rec = ReceptionRecord(day_id=d.id, walk_in_count=walk_ins or 0)
            rec.deputies = list(present)
            db.session.add(rec)
        db.session.flush()
        return d
    return add


@pytest.fixture
def add_activity(db):
    def add(*, at, attendances, status="held", origin="organised", station=None, kind="visit",
            title="走访选民", **fields):
        """An activity starting at `at` with {deputy: attendance status}; `fields` set other
        columns (a 议事's topic, agreed …)."""
        from backend.activities.models import Activity, ActivityAttendance
        a = Activity(kind=kind, title=title, place="社区", starts_at=at,
                     ends_at=at + timedelta(hours=2), origin=origin, status=status,
                     station_id=getattr(station, "id", None),
                     status_note="取消" if status in ("cancelled", "rejected") else "", **fields)
        for deputy, state in attendances.items():
            a.attendances.append(ActivityAttendance(
                deputy_id=deputy.id, status=state, reason="出差" if state == "excused" else "",
                checked_in_at=at if state == "attended" else None,
                checked_in_by=("reported" if origin == "reported" else "code")
                if state == "attended" else None))
        db.session.add(a)
        db.session.flush()
        return a
    return add
