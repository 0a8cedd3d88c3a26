"""`flask privacy`: the retention pass (with a dry run) and the field-key rotation."""
from datetime import date

import click
from flask.cli import AppGroup

from backend.core.extensions import db
from backend.core.timeutil import LOCAL_TZ, utcnow

privacy_cli = AppGroup("privacy", help="个人信息保护：按保存期限匿名化、轮换加密密钥。")
ID_LIST_MAX = 200  # ids printed per kind; the counts are always whole


@privacy_cli.command("retain", help="匿名化超过保存期限（管理员在 /staff/privacy 设置，"
                                    "未设置时为 RETENTION_MONTHS）的留言、预约和闲置居民。")
@click.option("--dry-run", is_flag=True, help="只列出会处理的数量和编号，不作任何改动")
@click.option("--date", "on", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="按哪一天（北京时间）计算期限，默认今天")
def retain_command(dry_run: bool, on):
    from backend.privacy import retention
    now = utcnow()
    today: date = on.date() if on else now.astimezone(LOCAL_TZ).date()
    before = retention.cutoff(today)
    if dry_run:
        work = retention.plan(before)
        db.session.rollback()
        click.echo(f"试运行（不作改动）：创建早于 {before:%Y-%m-%d %H:%M}（北京时间）、已到保存期限的记录")
        for label, ids in (("留言", work.messages), ("预约", work.appointments),
                           ("居民", work.residents)):
            shown = " ".join(map(str, ids[:ID_LIST_MAX])) + (" …" if len(ids) > ID_LIST_MAX else "")
            click.echo(f"  {label} {len(ids)} 个" + (f"：{shown}" if ids else ""))
        return
    outcome = retention.retain(today, now)
    db.session.commit()
    click.echo(outcome.describe())


@privacy_cli.command("rotate-keys",
                     help="用 FIELD_ENCRYPTION_KEY 中最新（第一个）密钥重新加密全部加密字段；可中断后重跑。")
@click.option("--batch", default=500, show_default=True, help="每批处理并提交的行数")
def rotate_keys_command(batch: int):
    from backend.privacy.rotation import rotate_keys
    result = rotate_keys(batch=batch)
    click.echo(result.describe())
    for table, row_id in result.unreadable[:ID_LIST_MAX]:
        click.echo(f"  无法解密：{table} {row_id}")
    if result.unreadable:
        raise SystemExit(1)
