"""`flask reception build`: make the coming months' reception days for every active station.
The scheduler calls the same command daily; running it again changes nothing.

    flask --app backend reception build [--today 2026-11-23]
"""
import click
from flask.cli import AppGroup

reception_cli = AppGroup("reception", help="代表接待选民日：按各站规则生成接待日。")


@reception_cli.command("build", help="为所有在用联络站生成本月及之后几个月的接待日（可重复运行）。")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="按哪一天计算，默认今天（北京时间）")
def build_command(today):
    from backend.core.extensions import db
    from backend.reception.days import build_days, month_day
    from backend.core.timeutil import local_today
    report = build_days(today.date() if today else local_today())
    db.session.commit()
    click.echo(report.summary())
    for day, reason in report.left_alone:
        click.echo(f"  {day.station.name} {month_day(day.date)}：{reason}")
