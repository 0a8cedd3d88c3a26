"""The scheduler: runs happen once per key, two scheduler processes never both run jobs, and each
job calls the right operation for the right day."""
import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
# 2026-12-13 17:00 UTC is already 01:00 on the 14th in Shanghai: the jobs must use the local day.
PINNED = datetime(2026, 12, 13, 17, 0, tzinfo=timezone.utc)
LOCAL_DAY = date(2026, 12, 14)


# ---- run_once ----

def _runs(db, job):
    from backend.jobs.models import JobRun
    db.session.rollback()  # a fresh snapshot: other processes write too
    return list(db.session.scalars(sa.select(JobRun).filter_by(job=job).order_by(JobRun.id)))


def test_run_once_runs_a_key_once(db):
    from backend.jobs.scheduler import HOLDER, run_once
    calls = []
    assert run_once("test.job", "2026-12-14", lambda: calls.append(1) or "做了一次") == "done"
    assert run_once("test.job", "2026-12-14", lambda: calls.append(2)) == "skipped"
    assert calls == [1]
    (run,) = _runs(db, "test.job")
    assert (run.run_key, run.status, run.detail, run.holder) == ("2026-12-14", "done", "做了一次",
                                                                 HOLDER)
    assert run.finished_at is not None


def test_a_failed_run_is_recorded_and_the_next_key_still_runs(db):
    from backend.org.models import Station
    from backend.jobs.scheduler import run_once

    def boom():
        db.session.add(Station(name="不该留下的站", kind="station"))
        db.session.flush()
        raise RuntimeError("数据库走神了")

    assert run_once("test.job", "2026-12-14", boom) == "failed"
    assert run_once("test.job", "2026-12-15", lambda: "好了") == "done"
    failed, done = _runs(db, "test.job")
    assert (failed.status, failed.detail) == ("failed", "RuntimeError: 数据库走神了")
    assert done.status == "done"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Station)) == 0  # rolled back
    # A failed key may be retried (by an operator), and then it is done.
    assert run_once("test.job", "2026-12-14", lambda: "重试成功") == "done"
    assert [r.status for r in _runs(db, "test.job")] == ["done", "done"]


def test_a_running_claim_lives_as_long_as_its_holders_lease(db):
    from backend.jobs.models import JobRun
    from backend.jobs.scheduler import HOLDER, run_once, take_lease
    dead = "other-host:4242:abcdef"
    db.session.add(JobRun(job="test.job", run_key="2026-12-14", holder=dead, status="running"))
    take_lease(dead, 60, name="main")  # commits: the holder still holds the lease
    assert run_once("test.job", "2026-12-14", lambda: "不该运行") == "skipped"

    take_lease(dead, -1, name="main")  # its lease lapsed: the holder is gone
    assert run_once("test.job", "2026-12-14", lambda: "接手完成") == "done"
    (run,) = _runs(db, "test.job")
    assert (run.status, run.holder, run.detail) == ("done", HOLDER, "接手完成")


# ---- the job wrappers ----

@pytest.fixture
def calls(monkeypatch):
    """Fakes for the other features' operations, recording what they were called with."""
    from types import SimpleNamespace

    from backend.reception import appointments, days as reception_days
    seen = []
    counts = SimpleNamespace(residents=2, deputies=1)
    monkeypatch.setattr(reception_days, "build_days",
                        lambda today: seen.append(("build", today)) or SimpleNamespace(
                            summary=lambda: "新建接待日1个"))
    monkeypatch.setattr(appointments, "send_day_before_reminders",
                        lambda d: seen.append(("day_before", d)) or counts)
    monkeypatch.setattr(appointments, "send_morning_reminders",
                        lambda d: seen.append(("morning", d)) or counts)
    return seen


@pytest.mark.parametrize("job, expected", [
    ("reception.build_days", ("build", LOCAL_DAY)),
    ("reminders.day_before", ("day_before", LOCAL_DAY + timedelta(days=1))),
    ("reminders.morning", ("morning", LOCAL_DAY)),
])
def test_jobs_call_the_right_operation_for_the_local_day(db, calls, job, expected):
    from backend.jobs.scheduler import run_job
    assert run_job(job, now=PINNED) == "done"
    assert run_job(job, now=PINNED + timedelta(hours=2)) == "skipped"  # same local day
    assert calls == [expected]
    (run,) = _runs(db, job)
    assert run.run_key == LOCAL_DAY.isoformat() and run.detail


def test_a_job_whose_code_is_missing_fails_alone(db, calls, monkeypatch):
    from backend.jobs.scheduler import run_job
    monkeypatch.setitem(sys.modules, "backend.reception.days", None)
    assert run_job("reception.build_days", now=PINNED) == "failed"
    assert run_job("reminders.morning", now=PINNED) == "done"
    assert _runs(db, "reception.build_days")[0].detail.startswith("ModuleNotFoundError")


def test_outbox_job_delivers_everything_due_without_run_rows(db, make_station):
    from backend.jobs.models import JobRun
    from backend.notifications.models import Notification
    from backend.notifications.notify import notify
    from backend.jobs.scheduler import run_job
    station = make_station()
    for n in range(3):
        notify("staff", 999_000 + n, "test.topic", "测试通知")  # recipients gone: closed as dead
    db.session.commit()
    assert run_job("outbox.deliver") == "done"
    db.session.rollback()
    assert not db.session.scalars(sa.select(Notification).where(
        Notification.status.in_(("pending", "failed")))).all()
    assert not db.session.scalars(sa.select(JobRun)).all()
    assert station.id


# ---- the overdue chase ----

def test_overdue_job_tells_each_station_once_a_day(db, make_station, make_deputy, make_staff):
    from backend.notifications.models import Notification
    from backend.accounts.resident_model import Resident
    from backend.messages.operations import submit_message
    from backend.jobs.scheduler import run_job
    late, fine = make_station(name="城关站"), make_station(name="桂花坪站")
    liaisons = [make_staff("liaison", stations=[late]) for _ in range(2)]
    other = make_staff("liaison", stations=[fine])
    resident = Resident()
    db.session.add(resident)
    db.session.flush()
    for n, station in enumerate((late, late, fine)):
        submit_message(resident=resident, station=station, body=f"楼道灯坏了好几天了{n}",
                       idempotency_key=f"overdue-test-{n:04d}", now=PINNED - timedelta(days=60))
    # The third message is answered in time: only its station stays quiet.
    from backend.messages.models import Message
    db.session.scalars(sa.select(Message).filter_by(station_id=fine.id)).one().status = "closed"
    db.session.commit()

    assert run_job("messages.overdue", now=PINNED) == "done"
    assert run_job("messages.overdue", now=PINNED + timedelta(hours=3)) == "skipped"
    notes = db.session.scalars(sa.select(Notification).filter_by(topic="messages.overdue")).all()
    assert sorted(n.recipient_id for n in notes) == sorted(u.id for u in liaisons)
    assert {n.title for n in notes} == {"本站有2条留言已超期"}
    assert other.id not in {n.recipient_id for n in notes}

    assert run_job("messages.overdue", now=PINNED + timedelta(days=1)) == "done"  # next day
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                             .filter_by(topic="messages.overdue")) == 4


# ---- two scheduler processes ----

def marker_jobs(config):
    """The job list the scheduler processes of the test below run (SCHEDULER_JOBS)."""
    from apscheduler.triggers.interval import IntervalTrigger

    from backend.jobs.scheduler import ScheduledJob
    return [
        # One fixed key: however many schedulers run, one row.
        ScheduledJob("test.marker", "测试标记", IntervalTrigger(seconds=1),
                     lambda today, now: "标记", lambda today, now: "fixed"),
        # A key per process and second: rows show which processes ran jobs, and when.
        ScheduledJob("test.tick", "测试心跳", IntervalTrigger(seconds=1),
                     lambda today, now: "心跳", lambda today, now: f"{os.getpid()}@{now:%H%M%S}"),
    ]


def scheduler_app():
    """`backend` with the scheduler commands, for `flask --app` before the lead registers them."""
    from backend import create_app
    from backend.cli.scheduler import scheduler_cli
    app = create_app()
    if "scheduler" not in app.cli.commands:
        app.cli.add_command(scheduler_cli)
    return app


def _pid(holder: str) -> int:
    return int(holder.split(":")[1])


def _wait_for(what: str, check, timeout: float = 40.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_two_schedulers_one_runs_the_other_takes_over(app, db, tmp_path):
    from backend.jobs.models import SchedulerLease
    registered = "scheduler" in app.cli.commands
    app_spec = "backend" if registered else "tests.jobs.test_scheduler:scheduler_app()"
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "LIANXIN_INSTANCE": str(tmp_path), "LIANXIN_ENV": "testing",
           "SCHEDULER_JOBS": "tests.jobs.test_scheduler:marker_jobs",
           "SCHEDULER_LEASE_SECONDS": "3", "SCHEDULER_RENEW_SECONDS": "0.5",
           "PYTHONPATH": str(ROOT)}
    db.session.commit()
    logs = {}

    def start(name):
        logs[name] = tmp_path / f"{name}.log"
        return subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", app_spec, "scheduler", "run"], cwd=ROOT,
            env=env, stdout=subprocess.DEVNULL, stderr=logs[name].open("w"))

    def lease():
        db.session.rollback()
        return db.session.get(SchedulerLease, "main", populate_existing=True)

    def ticks_by(pid):
        return [r for r in _runs(db, "test.tick") if _pid(r.holder) == pid]

    procs = {}
    try:
        procs = {"a": start("a"), "b": start("b")}
        by_pid = {p.pid: name for name, p in procs.items()}
        _wait_for("three ticks", lambda: len(_runs(db, "test.tick")) >= 3)
        holder = by_pid[_pid(lease().holder)]
        waiter = "b" if holder == "a" else "a"
        _wait_for("the waiter to say it waits", lambda: "等待" in logs[waiter].read_text())
        assert all(p.poll() is None for p in procs.values()), "a scheduler exited early"

        (marker,) = _runs(db, "test.marker")
        assert _pid(marker.holder) == procs[holder].pid
        assert {_pid(r.holder) for r in _runs(db, "test.tick")} == {procs[holder].pid}

        # The holder dies without a word (no lease handed over): the waiter takes over on expiry.
        procs[holder].send_signal(signal.SIGKILL)
        procs[holder].wait(timeout=10)
        _wait_for("the takeover", lambda: _pid(lease().holder) == procs[waiter].pid, timeout=20)
        _wait_for("the new holder's ticks", lambda: ticks_by(procs[waiter].pid), timeout=20)
        assert len(_runs(db, "test.marker")) == 1
        assert "已取得调度租约" in logs[waiter].read_text()

        # A clean stop hands the lease back at once.
        procs[waiter].send_signal(signal.SIGTERM)
        assert procs[waiter].wait(timeout=20) == 0
        assert lease().expires_at <= datetime.now(timezone.utc)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        db.session.rollback()


def test_cli_lists_jobs_and_runs_one(app, db, calls):
    from backend.cli.scheduler import scheduler_cli
    runner = app.test_cli_runner()
    listing = runner.invoke(scheduler_cli, ["jobs"])
    assert "reminders.day_before" in listing.output and "当前没有调度进程在运行" in listing.output
    args = ["run-job", "reminders.day_before", "--date", "2026-12-14"]
    assert "已完成" in runner.invoke(scheduler_cli, args).output
    assert calls == [("day_before", date(2026, 12, 15))]
    again = runner.invoke(scheduler_cli, args)
    assert again.exit_code != 0 and "运行完成，不会重复执行" in again.output
    assert runner.invoke(scheduler_cli, ["run-job", "nope"]).exit_code != 0
