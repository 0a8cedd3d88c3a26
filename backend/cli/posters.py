"""`flask posters`: every active deputy's "给Ta留言" poster for one station, in one file.

    flask --app backend posters --station 2 --size A4 --format zip --out 海报.zip
"""
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import click
from flask.cli import with_appcontext

from backend.core.errors import DomainError
from backend.core.extensions import db
from backend.org.models import Station
from backend.reception import posters


@click.command("posters", help="导出某个联络站全部在用代表的“给Ta留言”海报。")
@click.option("--station", "station_ref", required=True, metavar="编号或名称",
              help="联络站的编号或完整名称")
@click.option("--size", type=click.Choice(posters.SIZES), default="A5",
              show_default=True, help="纸张大小")
@click.option("--format", "fmt", type=click.Choice(tuple(posters.STATION_FORMATS)),
              default="pdf", show_default=True,
              help="pdf：每位代表一页；zip：每位代表一张 PNG 图片")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), metavar="文件",
              help="保存到哪里，默认在当前文件夹，以联络站名称命名")
@with_appcontext
def posters_command(station_ref: str, size: str, fmt: str, out: Path | None):
    station = _find_station(station_ref)
    out = out or Path.cwd() / posters.posters_filename(station.name, size, fmt)
    if not out.parent.is_dir():  # say so before spending a minute on the posters
        raise click.ClickException(f"文件夹不存在：{out.parent}")
    started = time.perf_counter()
    with ExitStack() as stack:
        progress = _ProgressBar(stack)
        try:
            data = posters.station_posters(station, size, fmt, progress=progress)
        except DomainError as err:
            raise click.ClickException(err.message) from None
    # Codes issued for this run must exist before posters carrying them leave the machine.
    db.session.commit()
    try:
        out.write_bytes(data)
    except OSError as err:
        raise click.ClickException(f"无法保存到 {out}，请检查是否有写入权限（{err.errno}）") from None
    click.echo(f"已生成 {progress.total} 位代表的海报，保存到 {out}"
               f"（{len(data) / 1e6:.1f} MB），用时 {time.perf_counter() - started:.1f} 秒")


def _find_station(ref: str) -> Station:
    ref = ref.strip()
    station = (db.session.get(Station, int(ref)) if ref.isdigit() else
               db.session.scalar(db.select(Station).filter_by(name=ref)))
    if station is None:
        raise click.BadParameter(f"没有找到联络站“{ref}”。{_station_listing()}",
                                 param_hint="--station")
    return station


def _station_listing(limit: int = 30) -> str:
    rows = db.session.execute(
        db.select(Station.id, Station.name).order_by(Station.id).limit(limit + 1)).all()
    if not rows:
        return "系统中还没有联络站。"
    more = "\n  ……" if len(rows) > limit else ""
    return "现有的联络站（编号 名称）：\n" + "\n".join(f"  {i}  {n}" for i, n in rows[:limit]) + more


class _ProgressBar:
    """A progress callback that opens a bar on stderr once the first poster tells the total."""

    def __init__(self, stack: ExitStack):
        self.stack, self.bar, self.total = stack, None, 0

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.total = total
            self.bar = self.stack.enter_context(click.progressbar(
                length=total, label="正在生成海报", show_pos=True,
                file=sys.stderr))
        self.bar.update(done - self.bar.pos)
