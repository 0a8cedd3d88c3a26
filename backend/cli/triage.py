"""`flask triage ...`: score the category model on a labelled CSV, retrain it."""
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

triage_cli = AppGroup("triage", help="留言分类建议：评估、训练模型。")


def _model_dir(option: str | None) -> Path:
    from backend.triage.category import MODEL_DIR
    return Path(option or current_app.config.get("TRIAGE_MODEL_DIR") or MODEL_DIR)


@triage_cli.command("evaluate", help="用带类别的留言表（列：subject、body、label）评估分类模型，最后一行输出 macro-F1。")
@click.argument("csv_file", type=click.Path(dir_okay=False))
@click.option("--model-dir", type=click.Path(file_okay=False), help="模型目录（默认为随程序发布的模型）")
def evaluate_command(csv_file, model_dir):
    from backend.triage.category import get_model
    from backend.triage.training import RowsError, evaluate, read_rows
    try:
        rows = read_rows(csv_file)
    except RowsError as err:
        raise click.ClickException(str(err)) from err
    model = get_model(_model_dir(model_dir))
    if model is None:
        raise click.ClickException(f"无法载入分类模型（目录 {_model_dir(model_dir)}），请先运行 flask triage train。")
    result = evaluate(model, rows)
    click.echo(f"共 {result['n']} 条留言")
    for label, f1 in result["per_class"].items():
        click.echo(f"{label}\tF1 {f1:.3f}\t（{result['support'][label]} 条）")
    click.echo(f"macro-F1 {result['macro_f1']:.3f}")


@triage_cli.command("train", help="用带类别的留言表和人工更正表训练分类模型，写入模型目录。")
@click.argument("csv_file", type=click.Path(dir_okay=False))
@click.option("--corrections", "corrections", multiple=True, type=click.Path(dir_okay=False),
              help="联络员更正过类别的留言表（同样的列），可多次给出")
@click.option("--taxonomy", type=click.Path(dir_okay=False),
              help="分类目录表（列：level1、level2、level3），二、三级类名作为一级类别的补充训练样本")
@click.option("--model-dir", type=click.Path(file_okay=False), help="写入的模型目录（默认为随程序发布的模型）")
def train_command(csv_file, corrections, taxonomy, model_dir):
    from backend.triage.category import forget_models
    from backend.triage.training import RowsError, read_rows, read_taxonomy, train, with_corrections
    try:
        rows = read_rows(csv_file)
        extra = [row for path in corrections for row in read_rows(path)]
        tree = read_taxonomy(taxonomy, {r.label for r in rows}) if taxonomy else []
    except RowsError as err:
        raise click.ClickException(str(err)) from err
    target = _model_dir(model_dir)
    try:
        model = train(with_corrections(rows, extra) + tree, target)
    except RowsError as err:
        raise click.ClickException(str(err)) from err
    forget_models()
    size = sum(f.stat().st_size for f in target.glob("category.*"))
    click.echo(f"已用 {len(rows)} 条留言和 {len(extra)} 条更正"
               + (f"（另加分类目录 {len(tree)} 条）" if tree else "") + f"训练模型：{len(model.labels)} 个类别，"
               f"写入 {target}（{size / 1e6:.1f} MB）。")


@triage_cli.command("corrections", help="导出联络员采纳或更正过分类的留言（列：subject、body、label），供 train --corrections 使用。")
@click.argument("csv_file", type=click.Path(dir_okay=False, writable=True))
@click.option("--all-labels", is_flag=True, help="也导出模型没有的类别（默认只导出模型认识的类别）")
def corrections_command(csv_file, all_labels):
    import csv

    from backend.messages.triage import decided_rows
    rows = decided_rows(only_known_labels=not all_labels)
    try:
        with open(csv_file, "w", encoding="utf-8", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(["subject", "body", "label", "suggested", "decision", "message_id"])
            for r in rows:
                out.writerow(["", r.body, r.label, r.suggested, r.decision, r.message_id])
    except OSError as err:
        raise click.ClickException(f"无法写入文件 {csv_file}：{err}") from err
    corrected = sum(r.decision == "corrected" for r in rows)
    click.echo(f"已导出 {len(rows)} 条（其中更正 {corrected} 条）到 {csv_file}。")


clusters_cli = AppGroup("clusters", help="热点问题的留言分组。")
triage_cli.add_command(clusters_cli)


@clusters_cli.command("rebuild", help="清空热点问题分组，按留言时间顺序把全部留言重新分组（分批提交）。")
@click.option("--batch", default=5000, show_default=True, type=click.IntRange(100, 100_000),
              help="每批处理并提交的留言数")
def clusters_rebuild_command(batch):
    import time

    from backend.core.extensions import db
    from backend.messages.hot_clusters import rebuild
    from backend.messages.triage_model import HotCluster
    started = time.perf_counter()
    done = rebuild(batch=batch, commit=db.session.commit,
                   progress=lambda n: click.echo(f"已分组 {n} 条留言……"))
    db.session.commit()
    clusters = db.session.scalar(db.select(db.func.count()).select_from(HotCluster))
    click.echo(f"已重新分组 {done} 条留言，共 {clusters} 组，用时 {time.perf_counter() - started:.1f} 秒。")
