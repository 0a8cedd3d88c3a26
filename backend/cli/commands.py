"""Command-line tools registered on the app: demo data, posters, accounts, the outbox."""
import logging
import signal
import threading

import click
from flask import Flask
from flask.cli import AppGroup

from backend.core.extensions import db
from backend.core.timeutil import format_local, utcnow
from backend.delivery.outbox import CHANNEL_LABELS, STATUS_LABELS, deliver_backlog, outbox_counts

outbox_cli = AppGroup("outbox", help="通知发件箱：投递通知、查看投递情况。")


def register_cli(app: Flask) -> None:
    from backend.cli.posters import posters_command
    from backend.cli.privacy import privacy_cli
    from backend.cli.reception import reception_cli
    from backend.cli.scheduler import scheduler_cli
    from backend.cli.triage import triage_cli
    from backend.cli.projects import projects_cli
    app.cli.add_command(outbox_cli)
    app.cli.add_command(posters_command)
    app.cli.add_command(privacy_cli)
    app.cli.add_command(reception_cli)
    app.cli.add_command(scheduler_cli)
    app.cli.add_command(triage_cli)
    app.cli.add_command(projects_cli)

    @app.cli.command("demo")
    @click.option("--reset", is_flag=True, help="先清空已有数据")
    @click.option("--passwords", is_flag=True,
                  help="为演示账号重新生成密码并显示（原密码只存了加密后的形式，无法再显示）")
    def demo_command(reset: bool, passwords: bool):
        """Load demo data (a district, stations, deputies with photos, staff accounts)."""
        from backend.cli.demo import load_demo, reset_demo_passwords
        if passwords and not reset:
            accounts = reset_demo_passwords()
            db.session.commit()
            if not accounts:
                click.echo("还没有演示账号，请先运行 flask demo。")
                return
            click.echo("已为演示账号重新生成密码，原密码不再有效：")
            _echo_accounts(accounts)
            return
        accounts = load_demo(reset=reset)
        db.session.commit()
        if accounts is None:
            click.echo("演示数据已存在，未作改动（使用 --reset 重新生成全部数据；"
                       "忘了密码可用 flask demo --passwords 为演示账号重新生成密码）。")
            return
        click.echo("演示数据已载入。工作人员账号（请妥善保管密码）：")
        _echo_accounts(accounts)


def _echo_accounts(accounts) -> None:
    for username, label, password in accounts:
        click.echo(f"  {label:<12} 用户名 {username:<14} 密码 {password}")


@outbox_cli.command("deliver", help="投递已到时间的通知（微信订阅消息或站内通知）。")
@click.option("--loop", is_flag=True, help="持续运行，每隔一段时间投递一次")
@click.option("--interval", default=10, show_default=True, type=click.IntRange(min=1),
              help="持续运行时每轮之间等待的秒数")
def outbox_deliver(loop: bool, interval: int):
    if not logging.getLogger().handlers:  # show the development log channel on the console
        logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s")
        logging.getLogger("lianxin").setLevel(logging.INFO)
    # systemd and Docker stop with SIGTERM: finish the row in hand, then stop.
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while True:
        try:
            report = deliver_backlog(stop=stop)
        except Exception as err:  # noqa: BLE001 - a worker outlives a database hiccup
            if not loop:
                raise
            db.session.rollback()
            click.echo(f"投递出错，{interval} 秒后重试：{err}", err=True)
        else:
            if report.total or not loop:  # a quiet loop stays quiet
                click.echo(f"[{format_local(utcnow(), '%H:%M:%S')}] {report.describe()}")
        if stop.is_set():
            click.echo("收到停止信号，已投递完手头的通知，退出。")
            return
        if not loop or stop.wait(interval):
            return


@outbox_cli.command("status", help="按状态统计发件箱中的通知。")
def outbox_status():
    counts = outbox_counts()
    if not counts:
        click.echo("发件箱中还没有通知。")
        return
    for status, label in STATUS_LABELS.items():
        rows = [(channel, n) for s, channel, n in counts if s == status]
        by_channel = "、".join(f"{CHANNEL_LABELS[c]} {n} 条" for c, n in rows if c in CHANNEL_LABELS)
        detail = f"（{by_channel}）" if by_channel else ""
        click.echo(f"{label}：{sum(n for _, n in rows)} 条{detail}")
