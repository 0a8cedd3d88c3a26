"""Command-line tools registered on the app: demo data, posters, accounts."""
import click
from flask import Flask


def register_cli(app: Flask) -> None:
    @app.cli.command("demo")
    @click.option("--reset", is_flag=True, help="先清空已有数据")
    def demo_command(reset: bool):
        """Load demo data (a district, stations, deputies with photos, staff accounts)."""
        from backend.demo import load_demo
        from backend.extensions import db
        passwords = load_demo(reset=reset)
        db.session.commit()
        if passwords is None:
            click.echo("演示数据已存在，未作改动（使用 --reset 重新生成）。")
            return
        click.echo("演示数据已载入。工作人员账号（请妥善保管密码）：")
        for username, label, password in passwords:
            click.echo(f"  {label:<12} 用户名 {username:<14} 密码 {password}")
