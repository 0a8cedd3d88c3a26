"""The monthly figures' extended statistics (migration 7b2e4c9d1a55): they exist on PostgreSQL,
and they are on the very expression the figures group by, so the planner can use them."""
import importlib.util
import re
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from backend.core.extensions import db
from backend.messages.models import Message
from backend.suggestions.figures import local_date

MIGRATION = next((Path(__file__).resolve().parents[2] / "migrations" / "versions")
                 .glob("*_7b2e4c9d1a55_figures_statistics.py"))


def _normalised(sql: str) -> str:
    return re.sub(r"[\s()]", "", sql).lower()


def test_the_statistics_are_on_the_expression_the_figures_group_by():
    spec = importlib.util.spec_from_file_location("figures_statistics", MIGRATION)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    grouped = sa.extract("month", local_date(Message.created_at))
    rendered = str(grouped.compile(dialect=postgresql.dialect(),
                                   compile_kwargs={"literal_binds": True}))
    assert _normalised(rendered.replace("messages.", "")) == _normalised(migration.MONTH)


def test_the_statistics_exist_after_the_migrations(db, postgres_only):
    names = set(db.session.scalars(sa.text(
        "SELECT stxname FROM pg_statistic_ext WHERE stxname LIKE 'st_%month'")))
    assert names == {"st_messages_station_month", "st_message_ratings_month"}


def test_postgresql_sessions_run_without_jit(db, postgres_only):
    """create_app turns JIT off for its connections: the yearly figures spent 100-150 ms
    compiling on a million messages for no gain (bench/records_bench.py)."""
    assert db.session.execute(sa.text("SHOW jit")).scalar() == "off"


def test_engine_options_given_by_the_deployment_are_kept():
    from backend import create_app
    app = create_app("testing", SQLALCHEMY_DATABASE_URI="postgresql://u@h/d",
                     SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 3,
                                                "connect_args": {"options": "-c work_mem=8MB"}})
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_size"] == 3
    assert options["connect_args"]["options"] == "-c work_mem=8MB -c jit=off"
    chosen = create_app("testing", SQLALCHEMY_DATABASE_URI="postgresql://u@h/d",
                        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"options": "-c jit=on"}})
    assert chosen.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["options"] == "-c jit=on"
    sqlite = create_app("testing", SQLALCHEMY_DATABASE_URI="sqlite://")
    assert "connect_args" not in sqlite.config["SQLALCHEMY_ENGINE_OPTIONS"]
