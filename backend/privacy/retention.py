"""Retention (个人信息保护): messages never turned into a suggestion lose their writer's data after
the effective period (backend/privacy/period.py: the office's setting, else RETENTION_MONTHS,
default 24); so do old appointments, and residents with nothing left that
needs them are tombstoned. The daily job and `flask privacy retain` share this; a dry run
plans the same work and changes nothing. One audit row per real run, with counts."""
from dataclasses import dataclass, field
from datetime import date, datetime, time

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from backend.accounts.resident_model import Resident
from backend.core.audit import record_run
from backend.core.audit_model import AuditEvent
from backend.core.extensions import db
from backend.core.timeutil import LOCAL_TZ
from backend.messages.models import QUEUE_STATUSES, Message
from backend.privacy.anonymise import (
    anonymise_appointments, anonymise_messages, tombstone_residents)
from backend.privacy.period import retention_months
from backend.projects.models import ProjectProposal
from backend.reception.models import Appointment
from backend.suggestions.models import suggestion_messages

BATCH = 500
# Bookings and meeting requests still ahead: someone will call the number.
LIVE_APPOINTMENTS = ("booked", "waitlisted", "requested", "proposed", "accepted")


def cutoff(today: date, months: int | None = None) -> datetime:
    """Midnight in Beijing, `months` before local `today`: what was written before it is due.
    A message of 2024-12-03 (Beijing) is due from 2026-12-04, whatever its UTC date."""
    months = retention_months() if months is None else months
    return datetime.combine(today - relativedelta(months=months), time(0), tzinfo=LOCAL_TZ)


def _message_due(before: datetime):
    in_suggestion = sa.exists().where(suggestion_messages.c.message_id == Message.id)
    in_proposal = sa.exists().where(ProjectProposal.source_message_id == Message.id)
    return sa.and_(Message.anonymised_at.is_(None), Message.created_at < before,
                   Message.status.not_in(QUEUE_STATUSES), ~in_suggestion, ~in_proposal)


def _appointment_due(before: datetime):
    return sa.and_(Appointment.anonymised_at.is_(None), Appointment.created_at < before,
                   Appointment.status.not_in(LIVE_APPOINTMENTS))


def _resident_idle(before: datetime):
    """Not seen since the cut-off, and every message and appointment of theirs is due (or
    already anonymised): nothing that still needs their identity."""
    still_needed_message = sa.exists().where(Message.resident_id == Resident.id,
                                             ~_message_due(before))
    still_needed_booking = sa.exists().where(
        Appointment.resident_id == Resident.id, Appointment.anonymised_at.is_(None),
        ~_appointment_due(before))
    return sa.and_(Resident.anonymised_at.is_(None),
                   sa.func.coalesce(Resident.last_seen_at, Resident.created_at) < before,
                   ~still_needed_message, ~still_needed_booking)


@dataclass
class Plan:
    """What a run touches: ids only, never a name or a number."""
    messages: list[int] = field(default_factory=list)
    appointments: list[int] = field(default_factory=list)
    residents: list[int] = field(default_factory=list)


@dataclass
class Outcome:
    messages: int = 0
    photos: int = 0
    appointments: int = 0
    residents: int = 0

    def describe(self) -> str:
        return (f"匿名化留言 {self.messages} 条（删除照片 {self.photos} 张）、预约 {self.appointments} 个、"
                f"居民 {self.residents} 人")


def plan(before: datetime, limit: int | None = None, start=(0, 0, 0)) -> Plan:
    """What is due, in id order, past `start` (the last id of each table's previous batch;
    None: that table is finished), so a pass walks each table once."""
    def ids(column, where, after):
        if after is None:
            return []
        stmt = sa.select(column).where(where, column > after).order_by(column)
        return list(db.session.scalars(stmt.limit(limit) if limit else stmt))
    return Plan(ids(Message.id, _message_due(before), start[0]),
                ids(Appointment.id, _appointment_due(before), start[1]),
                ids(Resident.id, _resident_idle(before), start[2]))


def count_due(before: datetime) -> dict[str, int]:
    """How many rows a run would touch now: counts only, for the staff page's preview."""
    def count(column, where):
        return db.session.scalar(sa.select(sa.func.count(column)).where(where))
    return {"messages": count(Message.id, _message_due(before)),
            "appointments": count(Appointment.id, _appointment_due(before)),
            "residents": count(Resident.id, _resident_idle(before))}


def retain(today: date, now: datetime, *, batch: int = BATCH) -> Outcome:
    """Anonymise everything due, a batch per commit (a rerun continues where a stopped one
    left off: done rows are no longer due), then write the run's audit row (committed by the
    caller, with the job's run row)."""
    months = retention_months()
    before, total, start = cutoff(today, months), Outcome(), [0, 0, 0]
    while any(s is not None for s in start):
        work = plan(before, limit=batch, start=start)
        messages, photos = anonymise_messages(work.messages, now)
        appointments = anonymise_appointments(work.appointments, now)
        # Whether a resident is idle does not depend on which batch their messages fall in.
        residents = tombstone_residents(work.residents, now)
        db.session.commit()
        total.messages += messages
        total.photos += photos
        total.appointments += appointments
        total.residents += residents
        for i, got in enumerate((work.messages, work.appointments, work.residents)):
            if start[i] is not None:
                start[i] = got[-1] if len(got) == batch else None
    record_run("privacy.retention", after={
        "cutoff": before.isoformat(), "months": months,
        "messages": total.messages, "photos": total.photos,
        "appointments": total.appointments, "residents": total.residents})
    return total


def recent_runs(limit: int = 10) -> list[dict]:
    """The last runs, newest first, from their audit rows: when, and what each touched."""
    rows = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "privacy.retention")
                              .order_by(AuditEvent.id.desc()).limit(limit))
    return [{"at": row.created_at, "months": (row.after or {}).get("months"),
             **{k: (row.after or {}).get(k, 0)
                for k in ("messages", "photos", "appointments", "residents")}} for row in rows]
