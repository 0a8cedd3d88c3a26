"""`flask scheduler …`: run the scheduler process, list its jobs, run one job by hand.

    flask --app backend scheduler run                  # foreground; next to gunicorn, not in it
    flask --app backend scheduler jobs
    flask --app backend scheduler run-job reminders.day_before --date 2026-12-14
"""
import logging
import signal

import click
from flask import current_app
from flask.cli import AppGroup

scheduler_cli = AppGroup("scheduler", help="定时任务：运行调度进程、查看任务、手动运行某个任务。")

OUTCOMES = {"done": "已完成", "failed": "运行失败（详情见日志）"}


@scheduler_cli.command("run", help="在前台运行调度进程。另一个调度进程已在运行时，本进程只等待，待其停止后接管。")
def run_command():
    from backend.jobs.scheduler import Runner
    _console_logging()
    runner = Runner(current_app._get_current_object())
    # systemd and Docker stop with SIGTERM: finish running jobs and hand the lease over.
    signal.signal(signal.SIGTERM, lambda *_: runner.stop.set())
    try:
        runner.run()
    except KeyboardInterrupt:
        pass


@scheduler_cli.command("jobs", help="列出定时任务及下次运行时间。")
def jobs_command():
    from backend.jobs.scheduler import jobs_for, lease_holder, next_run_times
    from backend.core.timeutil import format_local, utcnow
    stored = next_run_times()
    for job in jobs_for(current_app):
        if job.id in stored:
            when = format_local(stored[job.id], "%Y-%m-%d %H:%M:%S") if stored[job.id] else "已暂停"
        else:
            when = format_local(job.trigger.get_next_fire_time(None, utcnow()), "%Y-%m-%d %H:%M:%S")
            when += "（调度进程尚未登记）"
        click.echo(f"{job.id:<22} {job.label:<10} 下次运行 {when}")
    lease = lease_holder()
    if lease is None or lease.expires_at < utcnow():
        click.echo("当前没有调度进程在运行。")
    else:
        click.echo(f"正在运行的调度进程：{lease.holder}（租约到 {format_local(lease.expires_at, '%H:%M:%S')}）")


@scheduler_cli.command("run-job", help="立即运行一个定时任务（同一日期只运行一次）。")
@click.argument("name")
@click.option("--date", "on_date", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="按哪一天运行，默认今天（北京时间）")
def run_job_command(name: str, on_date):
    from backend.jobs.scheduler import jobs_for, run_job_by_hand
    names = [job.id for job in jobs_for(current_app)]
    if name not in names:
        raise click.BadParameter(f"没有这个任务。可用的任务：{'、'.join(names)}", param_hint="NAME")
    _console_logging()
    outcome, run = run_job_by_hand(name, today=on_date.date() if on_date else None)
    if outcome != "skipped":
        click.echo(f"{name}：{OUTCOMES[outcome]}")
        if outcome == "failed":
            raise SystemExit(1)
        return
    # Not run: say why, and exit non-zero so a script or an operator does not take it for done.
    click.echo(f"{name}：未运行。{_why_not(run)}", err=True)
    raise SystemExit(1)


def _why_not(run) -> str:
    from backend.core.timeutil import format_local
    if run is None:
        return "原因未知，请查看日志。"
    if run.status == "done":
        return (f"该任务 {run.run_key} 已于 {format_local(run.finished_at, '%Y-%m-%d %H:%M:%S')} "
                "运行完成，不会重复执行。")
    return (f"该任务 {run.run_key} 正由进程 {run.holder} 运行（开始于 "
            f"{format_local(run.started_at, '%H:%M:%S')}）。该进程若已意外停止，"
            "它的调度租约过期后（默认 60 秒）可以再次运行。")


def _console_logging() -> None:
    """The operator reads what each job did (its report) on the console or in journald."""
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("lianxin").setLevel(logging.INFO)
