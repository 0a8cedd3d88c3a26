"""`flask projects ...`: housekeeping of livelihood projects."""
from datetime import timedelta

import click
from flask.cli import AppGroup

projects_cli = AppGroup("projects", help="民生实事项目：维护命令。")


@projects_cli.command("sweep-photos", help="删除项目照片目录中没有记录、且早于宽限期的文件，以及群众上传后未随建议提交的照片。")
@click.option("--grace-hours", type=click.IntRange(min=1), default=24, show_default=True,
              help="宽限期（小时）：更新的文件不动")
@click.option("--dry-run", is_flag=True, help="只列出将要删除的文件，不删除")
def sweep_photos_command(grace_hours, dry_run):
    from backend.core.extensions import db
    from backend.core.timeutil import utcnow
    from backend.projects.photo_files import sweep
    report = sweep(utcnow(), grace=timedelta(hours=grace_hours), dry_run=dry_run)
    for key in report.orphan_files + report.unsent_photos:
        click.echo(key)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    click.echo(report.summary())
