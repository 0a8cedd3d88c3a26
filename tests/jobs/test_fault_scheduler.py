"""A scheduled job killed mid-run (SIGKILL, as the out-of-memory killer or a host crash does) is
taken over for its date once the dead process's lease lapses, and does its work exactly once.
Real processes on PostgreSQL."""
import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime, time as dtime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from tests.jobs.test_scheduler import _pid, _runs, _wait_for

ROOT = Path(__file__).resolve().parents[2]
RUN_KEY = "2026-12-14"
RECEPTION_DAY = date(2026, 12, 15)
STALL_ENV = "LIANXIN_TEST_STALL_FILE"


def stalling_reminder_jobs(config):
    """The real day-before reminder job for one fixed date; with STALL_ENV set, it stops in the
    middle of its transaction (its notices written, not committed) and waits to be killed."""
    from apscheduler.triggers.interval import IntervalTrigger

    from backend.core.extensions import db
    from backend.reception.appointments import send_day_before_reminders
    from backend.jobs.scheduler import ScheduledJob

    def work(today, now):
        counts = send_day_before_reminders(RECEPTION_DAY)
        stall = os.environ.get(STALL_ENV)
        if stall:
            db.session.flush()
            Path(stall).write_text("在中途")
            time.sleep(120)
        return f"提醒居民 {counts.residents} 人，值班代表 {counts.deputies} 人"
    return [ScheduledJob("reminders.day_before", "接待日前一天提醒", IntervalTrigger(seconds=1),
                         work, lambda today, now: RUN_KEY)]


def _reception_day(db, make_station, make_deputy, make_resident, booked: int):
    from backend.reception.models import Appointment, ReceptionDay, ReceptionDuty, ReceptionSlot
    station = make_station()
    deputy = make_deputy(stations=[station], with_code=False)
    day = ReceptionDay(station_id=station.id, nominal_date=RECEPTION_DAY, date=RECEPTION_DAY,
                       start_time=dtime(9), end_time=dtime(11, 30), status="scheduled")
    slot = ReceptionSlot(starts_at=dtime(9), ends_at=dtime(9, 30), capacity=booked,
                         booked=booked)
    day.slots.append(slot)
    day.duties = [ReceptionDuty(deputy_id=deputy.id, source="manual")]
    db.session.add(day)
    db.session.flush()
    for n in range(booked):
        db.session.add(Appointment(
            code=f"K{n:07d}", resident_id=make_resident().id, station_id=station.id,
            day_id=day.id, slot_id=slot.id, status="booked", topic=f"小区停车难{n}"))
    db.session.commit()
    return deputy


def test_a_job_killed_mid_run_is_taken_over_and_reminds_everyone_once(
        app, db, postgres_only, tmp_path, make_station, make_deputy, make_resident):
    from backend.jobs.models import JobRun, SchedulerLease
    from backend.notifications.models import Notification
    deputy = _reception_day(db, make_station, make_deputy, make_resident, booked=7)
    stall = tmp_path / "stalled"
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "LIANXIN_INSTANCE": str(tmp_path), "LIANXIN_ENV": "testing", "PYTHONPATH": str(ROOT),
           "SCHEDULER_JOBS": "tests.jobs.test_fault_scheduler:stalling_reminder_jobs",
           "SCHEDULER_LEASE_SECONDS": "3", "SCHEDULER_RENEW_SECONDS": "0.5"}
    flask = [sys.executable, "-m", "flask", "--app", "backend", "scheduler"]

    def start(name, **extra):
        return subprocess.Popen(flask + ["run"], cwd=ROOT, env={**env, **extra},
                                stdout=subprocess.DEVNULL,
                                stderr=(tmp_path / f"{name}.log").open("w"))

    def run_job():
        return subprocess.run(flask + ["run-job", "reminders.day_before", "--date", RUN_KEY],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)

    def reminders():
        db.session.rollback()
        return db.session.execute(
            sa.select(Notification.recipient_kind, Notification.recipient_id,
                      Notification.subject_id, sa.func.count())
            .where(Notification.topic.in_(("appointment.day_before", "appointment.duty_list")))
            .group_by(Notification.recipient_kind, Notification.recipient_id,
                      Notification.subject_id)).all()

    procs = []
    try:
        first = start("first", **{STALL_ENV: str(stall)})
        procs.append(first)
        _wait_for("the first run to be mid-way", stall.exists, timeout=40)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        (run,) = _runs(db, "reminders.day_before")
        assert (run.status, _pid(run.holder)) == ("running", first.pid)
        assert reminders() == []  # killed before its commit: nothing was sent

        # While the dead process's lease has not lapsed, the claim still looks alive: run-job
        # says so, in Chinese, and fails instead of answering 0 as if done.
        db.session.execute(sa.update(SchedulerLease).values(
            expires_at=datetime.now(timezone.utc) + timedelta(seconds=30)))
        db.session.commit()
        refused = run_job()
        assert refused.returncode != 0
        assert "正由进程" in refused.stderr and "未运行" in refused.stderr
        db.session.execute(sa.update(SchedulerLease).values(
            expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
        db.session.commit()

        second = start("second")
        procs.append(second)
        done = _wait_for("the new leader to finish the run", lambda: [
            r for r in _runs(db, "reminders.day_before") if r.status == "done"], timeout=40)
        assert _pid(done[0].holder) == second.pid
        sent = reminders()
        assert len(sent) == 8 and {n for *_, n in sent} == {1}  # 7 residents and the deputy
        assert ("deputy", deputy.id) in {(kind, rid) for kind, rid, *_ in sent}

        time.sleep(1.5)  # the interval trigger fires again: the run is done, nothing more
        assert reminders() == sent
        again = run_job()
        assert again.returncode != 0 and "已于" in again.stderr and "运行完成" in again.stderr
        assert db.session.scalar(sa.select(sa.func.count()).select_from(JobRun)) == 1
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        db.session.rollback()
