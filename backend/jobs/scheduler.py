"""The scheduler process (`flask scheduler run`): APScheduler with its job table in the database,
run in its own process, never inside web workers. Kept whole (past 400 lines): the lease, the
run claims and the job list are one mechanism, and every part of it reads the others.

Two schedulers started by mistake stay apart in two ways:
1. a lease (SchedulerLease "main"): only the process holding an unexpired lease lets
   APScheduler fire jobs; the other keeps its scheduler paused and takes over when the lease
   lapses (the holder renews it every SCHEDULER_RENEW_SECONDS);
2. a JobRun row per (job, run key), e.g. ("reminders.day_before", "2026-12-14"): whoever inserts
   it first runs the job, a second inserter hits the unique key and skips. The row names its
   holder, and a "running" claim lives only as long as its holder holds a lease: a process
   killed mid-run (SIGKILL, out of memory, a host crash) leaves a claim that the next leader
   (or `scheduler run-job`) takes over once that lease has lapsed. Taking over is safe because
   every keyed job does its work in the transaction that marks the row "done" (a killed run
   leaves nothing behind), or, for the photo purge and the retention pass, commits batches
   that a rerun continues.
The outbox job has no run key: deliver_due locks its rows with SKIP LOCKED and marks each sent
before calling WeChat, so two deliverers never send a row twice, and a JobRun row every 30
seconds would only bloat the table.
"""
import importlib
import logging
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable

import sqlalchemy as sa
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask, current_app

from backend.core.extensions import db
from backend.jobs.models import JobRun, SchedulerLease, apscheduler_jobs
from backend.messages.models import Message
from backend.org.models import Station
from backend.core.timeutil import LOCAL_TZ, utcnow

log = logging.getLogger("lianxin.scheduler")

LEASE_NAME = "main"
# Who this process is, in the lease and in JobRun rows: host and pid for the operator, plus a
# random tail so a reused pid on another container is never mistaken for us.
HOLDER = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
DETAIL_MAX = 500


# ---- the jobs, in one place ----
# Each job imports its feature's module when it runs: one broken module fails its own job and
# is recorded, while the scheduler and the other jobs go on.

@dataclass(frozen=True)
class ScheduledJob:
    id: str
    label: str  # what operators read in `flask scheduler jobs`
    trigger: object  # an APScheduler trigger
    work: Callable[[date, datetime], str]  # (local today, now) -> a short report
    # The JobRun key for a run; None runs without one (the outbox relies on SKIP LOCKED).
    run_key: Callable[[date, datetime], str] | None = None


def _per_day(today: date, now: datetime) -> str:
    return today.isoformat()


def build_reception_days(today: date, now: datetime) -> str:
    from backend.reception.days import build_days
    return build_days(today).summary()


def day_before_reminders(today: date, now: datetime) -> str:
    from backend.reception.appointments import send_day_before_reminders
    counts = send_day_before_reminders(today + timedelta(days=1))
    return f"提醒居民 {counts.residents} 人，值班代表 {counts.deputies} 人"


def morning_reminders(today: date, now: datetime) -> str:
    from backend.reception.appointments import send_morning_reminders
    counts = send_morning_reminders(today)
    return f"提醒居民 {counts.residents} 人"


def deliver_outbox(today: date, now: datetime) -> str:
    # One transaction per row (see backend/delivery/outbox.py); a stopping scheduler
    # finishes the row in hand and leaves the rest for its successor.
    from backend.delivery.outbox import deliver_backlog
    runner = _runner
    return deliver_backlog(stop=runner.stop if runner is not None else None).describe()


def flag_overdue_messages(today: date, now: datetime) -> str:
    """One notice a day to each station's liaisons: how many of its messages are overdue."""
    from backend.notifications.notify import notify_station_liaisons
    from backend.notifications.places import Place
    from backend.messages.queue import overdue_clause
    counts = db.session.execute(
        sa.select(Message.station_id, sa.func.count()).where(overdue_clause(now))
        .group_by(Message.station_id).order_by(Message.station_id)).all()
    for station_id, n in counts:
        notify_station_liaisons(station_id, "messages.overdue", f"本站有{n}条留言已超期",
                                body="请尽快受理或答复超期的留言", place=Place("overdue_messages"),
                                subject=db.session.get(Station, station_id))
    return f"{len(counts)} 个联络站有超期留言，共 {sum(n for _, n in counts)} 条"


def open_followups(today: date, now: datetime) -> str:
    """回头看: B-class answers whose promised date has come."""
    from backend.suggestions.handling import open_due_followups
    return f"开始回头看 {open_due_followups(today)} 件"


def responsiveness_followups(today: date, now: datetime) -> str:
    """回访: residents asked two weeks after an answer, reminded once a week later."""
    from backend.records.responsiveness import ask_and_remind
    asked, reminded = ask_and_remind(now)
    return f"回访群众 {asked} 人，提醒 {reminded} 人"


def purge_unsent_photos(today: date, now: datetime) -> str:
    """Photos residents uploaded but never sent: rows and files, one batch and commit at a time
    (each commit removes that batch's files; see backend/messages/photos.py)."""
    from backend.messages.photos import purge_unclaimed_photos, take_failed_removals
    batch, total = 500, 0
    take_failed_removals()  # only this run's failures go in its report
    while True:
        deleted = purge_unclaimed_photos(now, batch=batch)
        db.session.commit()
        total += deleted
        if deleted < batch:
            break
    failed = take_failed_removals()
    return f"删除未发送的照片 {total} 张" + (f"，{len(failed)} 个文件未能删除（见日志）"
                                          if failed else "")


def retain_personal_data(today: date, now: datetime) -> str:
    """Retention (backend/privacy/retention.py): batches commit as they go, so a rerun
    continues; the run's audit row commits with the job's "done"."""
    from backend.privacy.retention import retain
    return retain(today, now).describe()


def sweep_project_photos(today: date, now: datetime) -> str:
    """Project photo files no row names (older than a day), and residents' proposal photos
    never sent; see backend/projects/photo_files.py. Files of deleted rows go at the commit."""
    from backend.projects.photo_files import sweep
    return sweep(now).summary()


def store_category_suggestions(today: date, now: datetime) -> str:
    """The model's category for new messages, stored off the submission's path; unkeyed and
    idempotent (a row already stored is kept: INSERT … ON CONFLICT DO NOTHING); then the new
    messages join the hot-issue clusters (each message once: its membership is its key)."""
    from backend.messages.hot_clusters import update_clusters
    from backend.messages.triage import fill_suggestions
    return f"存储分类建议 {fill_suggestions()} 条，归入热点问题 {update_clusters()} 条"


def default_jobs(config) -> list[ScheduledJob]:
    def daily(hour, minute=0):
        return CronTrigger(hour=hour, minute=minute, timezone=LOCAL_TZ)
    return [
        ScheduledJob("reception.build_days", "生成接待日", daily(1), build_reception_days, _per_day),
        ScheduledJob("reminders.day_before", "接待日前一天提醒", daily(18), day_before_reminders,
                     _per_day),
        ScheduledJob("reminders.morning", "接待日当天早上提醒", daily(7, 30), morning_reminders,
                     _per_day),
        ScheduledJob("outbox.deliver", "投递通知",
                     IntervalTrigger(seconds=config["SCHEDULER_OUTBOX_SECONDS"], timezone=LOCAL_TZ),
                     deliver_outbox),
        ScheduledJob("messages.overdue", "提醒超期留言", daily(9), flag_overdue_messages, _per_day),
        ScheduledJob("suggestions.followups", "建议回头看", daily(8), open_followups, _per_day),
        ScheduledJob("photos.purge", "清理未发送的照片", daily(3, 30), purge_unsent_photos,
                     _per_day),
        ScheduledJob("projects.photo_sweep", "清理无记录的项目照片", daily(3, 45),
                     sweep_project_photos, _per_day),
        ScheduledJob("records.followups", "留言答复回访", daily(10), responsiveness_followups,
                     _per_day),
        ScheduledJob("privacy.retention", "个人信息到期匿名化", daily(2, 30), retain_personal_data,
                     _per_day),
        ScheduledJob("triage.suggest", "留言分类建议",
                     IntervalTrigger(seconds=config["TRIAGE_SUGGEST_SECONDS"],
                                     timezone=LOCAL_TZ), store_category_suggestions),
    ]


def jobs_for(app: Flask) -> list[ScheduledJob]:
    """The standard jobs, or the list SCHEDULER_JOBS names ("module:function", for tests)."""
    path = app.config.get("SCHEDULER_JOBS")
    if not path:
        return default_jobs(app.config)
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)(app.config)


# ---- running a job ----

def run_job(job_id: str, *, today: date | None = None, now: datetime | None = None) -> str:
    """Run one job now, in the caller's app context: "done", "failed" or "skipped"."""
    job = {j.id: j for j in jobs_for(current_app)}.get(job_id)
    if job is None:
        raise KeyError(job_id)
    now = now or utcnow()
    today = today or now.astimezone(LOCAL_TZ).date()
    work = lambda: job.work(today, now)  # noqa: E731
    if job.run_key is None:
        return _run_unkeyed(job.id, work)
    return run_once(job.id, job.run_key(today, now), work)


def run_once(job: str, run_key: str, fn: Callable[[], str | None]) -> str:
    """Claim (job, run_key) with a JobRun row, run `fn`, and commit its work together with the
    row's "done". A key already claimed is skipped, except a failed one, which may be retried,
    and a running one whose holder no longer holds a lease (it died), which is taken over.
    Needs an app context; returns "done", "failed" or "skipped"."""
    run = _claim(job, run_key)
    if run is None:
        log.info("%s [%s]：已运行过或正在别处运行，跳过", job, run_key)
        return "skipped"
    try:
        detail = fn()
    except Exception as err:  # noqa: BLE001 - a failed job is recorded, the scheduler goes on
        db.session.rollback()
        log.exception("%s [%s] 运行失败", job, run_key)
        _finish(run, "failed", f"{type(err).__name__}: {err}")
        db.session.commit()
        return "failed"
    _finish(run, "done", detail or "")
    db.session.commit()
    log.info("%s [%s] 完成：%s", job, run_key, detail or "")
    return "done"


def _claim(job: str, run_key: str) -> JobRun | None:
    run = JobRun(job=job, run_key=run_key, holder=HOLDER, status="running", started_at=utcnow())
    db.session.add(run)
    try:
        db.session.commit()
        return run
    except sa.exc.IntegrityError:
        db.session.rollback()
    # Retaking a failed or orphaned run is one conditional UPDATE: of two retakers, one wins.
    now = utcnow()
    holder_alive = sa.exists().where(SchedulerLease.holder == JobRun.holder,
                                     SchedulerLease.expires_at >= now)
    retaken = db.session.execute(
        sa.update(JobRun).where(JobRun.job == job, JobRun.run_key == run_key,
                                sa.or_(JobRun.status == "failed",
                                       sa.and_(JobRun.status == "running", ~holder_alive)))
        .values(status="running", holder=HOLDER, started_at=now, finished_at=None)
        .execution_options(synchronize_session=False))
    db.session.commit()
    if retaken.rowcount != 1:
        return None
    return db.session.scalar(sa.select(JobRun).filter_by(job=job, run_key=run_key))


def claim_of(job: str, run_key: str) -> JobRun | None:
    return db.session.scalar(sa.select(JobRun).filter_by(job=job, run_key=run_key)
                             .execution_options(populate_existing=True))


def _finish(run: JobRun, status: str, detail: str) -> None:
    run.status, run.detail, run.finished_at = status, detail[:DETAIL_MAX], utcnow()


def _run_unkeyed(job: str, fn: Callable[[], str]) -> str:
    try:
        detail = fn()
        db.session.commit()
    except Exception:  # noqa: BLE001
        db.session.rollback()
        log.exception("%s 运行失败", job)
        return "failed"
    log.debug("%s: %s", job, detail)
    return "done"


# ---- the lease ----

def take_lease(holder: str, seconds: float, now: datetime | None = None,
               name: str = LEASE_NAME) -> bool:
    """Take or renew the lease: free, expired or already ours. Commits; True if we hold it."""
    now = now or utcnow()
    values = {"holder": holder, "expires_at": now + timedelta(seconds=seconds), "renewed_at": now}
    taken = db.session.execute(
        sa.update(SchedulerLease)
        .where(SchedulerLease.name == name,
               sa.or_(SchedulerLease.expires_at < now, SchedulerLease.holder == holder))
        .values(**values)).rowcount == 1
    if not taken and db.session.get(SchedulerLease, name) is None:
        try:
            with db.session.begin_nested():
                db.session.add(SchedulerLease(name=name, **values))
            taken = True
        except sa.exc.IntegrityError:
            pass  # another process inserted it first: theirs
    db.session.commit()
    return taken


def release_lease(holder: str) -> None:
    """On a clean stop: let a waiting process take over at once instead of after expiry."""
    db.session.execute(sa.update(SchedulerLease)
                       .where(SchedulerLease.name == LEASE_NAME, SchedulerLease.holder == holder)
                       .values(expires_at=utcnow()))
    db.session.commit()


def lease_holder() -> SchedulerLease | None:
    return db.session.get(SchedulerLease, LEASE_NAME)


def run_job_by_hand(job_id: str, *, today: date | None = None) -> tuple[str, JobRun | None]:
    """`scheduler run-job`: run one job in this process, beside a running scheduler or not.
    Its claim lives on a lease of its own (renewed by a thread while the job runs, dropped
    after), so a leader neither takes it over while it runs nor waits for it if we die.
    Returns the outcome and the job's run row (None for a job without a run key)."""
    app = current_app._get_current_object()
    seconds = float(app.config["SCHEDULER_LEASE_SECONDS"])
    renew = float(app.config["SCHEDULER_RENEW_SECONDS"])
    name = f"run-job:{secrets.token_hex(8)}"
    stop = threading.Event()

    def keep_renewing():
        while not stop.wait(renew):
            try:
                with app.app_context():
                    take_lease(HOLDER, seconds, name=name)
            except sa.exc.SQLAlchemyError as err:
                log.error("续租失败（数据库）：%s", err)

    now = utcnow()
    today = today or now.astimezone(LOCAL_TZ).date()
    take_lease(HOLDER, seconds, name=name)
    renewer = threading.Thread(target=keep_renewing, daemon=True)
    renewer.start()
    try:
        outcome = run_job(job_id, today=today, now=now)
    finally:
        stop.set()
        renewer.join()
        db.session.rollback()
        db.session.execute(sa.delete(SchedulerLease).where(SchedulerLease.name == name))
        db.session.commit()
    job = {j.id: j for j in jobs_for(app)}[job_id]
    if job.run_key is None:
        return outcome, None
    return outcome, claim_of(job_id, job.run_key(today, now))


# ---- the process ----

_runner: "Runner | None" = None


def fire(job_id: str) -> None:
    """What APScheduler calls (by reference, so the job table stays valid across releases)."""
    runner = _runner
    if runner is None or not runner.holds_lease():
        log.warning("%s 未运行：本进程未持有调度租约", job_id)
        return
    with runner.app.app_context():
        run_job(job_id)


class Runner:
    def __init__(self, app: Flask):
        self.app = app
        self.jobs = jobs_for(app)
        self.lease_seconds = float(app.config["SCHEDULER_LEASE_SECONDS"])
        self.renew_seconds = float(app.config["SCHEDULER_RENEW_SECONDS"])
        self.stop = threading.Event()
        self._valid_until = 0.0  # monotonic clock: when our lease lapses unless renewed
        with app.app_context():
            engine = db.engine
        self.scheduler = BackgroundScheduler(
            timezone=LOCAL_TZ,
            # The table comes from the migrations (backend/jobs/models.py), same name.
            jobstores={"default": SQLAlchemyJobStore(engine=engine,
                                                     tablename=apscheduler_jobs.name)},
            # A run missed while no process held the lease still happens within the hour, once.
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600})

    def holds_lease(self) -> bool:
        return time.monotonic() < self._valid_until

    def run(self) -> None:
        global _runner
        _runner = self
        self.scheduler.start(paused=True)
        log.info("调度进程 %s 已启动：%d 个定时任务，租约 %s 秒", HOLDER, len(self.jobs),
                 self.lease_seconds)
        active, waiting_logged = False, False
        try:
            while not self.stop.is_set():
                held = self._renew()
                if held and not active:
                    self._register_jobs()
                    self.scheduler.resume()
                    active, waiting_logged = True, False
                    log.info("已取得调度租约，本进程开始执行定时任务")
                elif not held and active:
                    self.scheduler.pause()
                    active = False
                    log.warning("调度租约已失去，暂停执行定时任务，等待重新取得")
                elif not held and not waiting_logged:
                    waiting_logged = True
                    log.info("另一个调度进程（%s）正在运行，本进程等待；它停止后自动接管",
                             self._other_holder())
                self.stop.wait(self.renew_seconds)
        finally:
            self.scheduler.shutdown(wait=True)
            if active:
                with self.app.app_context():
                    release_lease(HOLDER)
            _runner = None
            log.info("调度进程 %s 已停止", HOLDER)

    def _renew(self) -> bool:
        started = time.monotonic()
        try:
            with self.app.app_context():
                held = take_lease(HOLDER, self.lease_seconds)
        except sa.exc.SQLAlchemyError as err:
            log.error("续租失败（数据库）：%s", err)
            held = False
        # Counted from before the UPDATE, so our view never outlives the row's expiry.
        self._valid_until = started + self.lease_seconds if held else 0.0
        return held

    def _other_holder(self) -> str:
        try:
            with self.app.app_context():
                lease = lease_holder()
                return lease.holder if lease else "未知"
        except sa.exc.SQLAlchemyError:
            return "未知"

    def _register_jobs(self) -> None:
        """Bring the job table in line with the list; a job whose trigger is unchanged keeps its
        next run time, so a run missed during a takeover still happens."""
        wanted = {job.id: job for job in self.jobs}
        for existing in self.scheduler.get_jobs():
            if existing.id not in wanted:
                existing.remove()
        for job in self.jobs:
            current = self.scheduler.get_job(job.id)
            if current is not None and str(current.trigger) == str(job.trigger):
                continue
            self.scheduler.add_job(fire, job.trigger, args=[job.id], id=job.id, name=job.label,
                                   replace_existing=True)


def next_run_times() -> dict[str, datetime | None]:
    """From the job table: when each registered job fires next (aware, local)."""
    rows = db.session.execute(sa.select(apscheduler_jobs.c.id, apscheduler_jobs.c.next_run_time))
    return {job_id: datetime.fromtimestamp(ts, LOCAL_TZ) if ts is not None else None
            for job_id, ts in rows}
