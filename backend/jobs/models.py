"""What keeps the scheduler process single-minded: a lease that one process holds at a time,
a row per job run so a run happens once, and APScheduler's own job table."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.extensions import db
from backend.core.db import UTCDateTime, str_enum, utcnow

# APScheduler's SQLAlchemyJobStore table, declared here so migrations create it like any other.
apscheduler_jobs = db.Table(
    "apscheduler_jobs",
    sa.Column("id", sa.Unicode(191), primary_key=True),
    sa.Column("next_run_time", sa.Float(25), index=True),
    sa.Column("job_state", sa.LargeBinary, nullable=False),
)


class SchedulerLease(db.Model):
    """Whoever holds an unexpired lease runs the jobs; others wait and take over if it lapses."""
    __tablename__ = "scheduler_leases"
    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(sa.String(120))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    renewed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JobRun(db.Model):
    """One row per (job, run key), e.g. ("reminders.day_before", "2026-12-14"): the unique key
    makes a second run of the same thing a no-op even if two schedulers race."""
    __tablename__ = "job_runs"
    __table_args__ = (sa.UniqueConstraint("job", "run_key", name="uq_job_runs_job_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(sa.String(60))
    run_key: Mapped[str] = mapped_column(sa.String(60))
    holder: Mapped[str] = mapped_column(sa.String(120), default="")
    status: Mapped[str] = mapped_column(str_enum("job_run_status", "running", "done", "failed"),
                                        default="running")
    detail: Mapped[str] = mapped_column(sa.String(500), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
