"""The schema comes only from migrations: upgrade from empty gives exactly what the models
declare, and downgrade takes it all away again."""
from datetime import time, timedelta

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from backend.core.db import include_in_autogenerate, migration_only, render_migration_item


def _diff(db):
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True,
                                                     "render_item": render_migration_item,
                                                     "include_object": include_in_autogenerate})
        return compare_metadata(ctx, db.metadata)


def _tables(db) -> set[str]:
    return {name for name in sa.inspect(db.engine).get_table_names()
            if name != "alembic_version" and not migration_only(name, "table")}


def test_upgrade_from_empty_matches_models_and_downgrade_removes_everything(db):
    # The session's database was built by `upgrade()` from empty (see conftest).
    assert _tables(db) == {t.name for t in db.metadata.sorted_tables}
    assert _diff(db) == []

    downgrade(revision="base")
    assert _tables(db) == set()

    upgrade()
    assert _diff(db) == []
    assert _tables(db) == {t.name for t in db.metadata.sorted_tables}


def test_one_live_code_per_deputy_is_enforced_by_the_database(db, make_deputy):
    from backend.org.code_model import DeputyCode
    deputy = make_deputy()  # has one live code already
    db.session.add(DeputyCode(deputy_id=deputy.id, token="second-live"))
    try:
        db.session.flush()
    except sa.exc.IntegrityError:
        db.session.rollback()
    else:
        raise AssertionError("a second live code for one deputy was accepted")


def test_activity_item_keys_come_and_go_with_their_migration(db):
    """3d8a6f0c2b71 alone: down, the column and its unique constraint are gone; up again, the
    schema is the models' and the database refuses a key twice."""
    def key_column():
        inspector = sa.inspect(db.engine)
        columns = {c["name"] for c in inspector.get_columns("activity_items")}
        unique = [u["column_names"] for u in inspector.get_unique_constraints("activity_items")]
        return "idempotency_key" in columns, ["idempotency_key"] in unique

    assert key_column() == (True, True)
    downgrade(revision="7b2e4c9d1a55")
    assert key_column() == (False, False)
    upgrade()
    assert key_column() == (True, True)
    assert _diff(db) == []


def test_an_activity_items_key_is_unique_in_the_database(db, make_station):
    from backend.activities.models import Activity, ActivityItem
    from backend.core.timeutil import utcnow
    now = utcnow()
    activity = Activity(kind="visit", title="走访", place="社区", starts_at=now,
                        ends_at=now + timedelta(hours=1), station_id=make_station().id,
                        status="held")
    db.session.add(activity)
    db.session.flush()
    db.session.add_all([ActivityItem(activity_id=activity.id, summary=f"第{n}件事情的经过",
                                     idempotency_key="same-key-1") for n in (1, 2)])
    try:
        db.session.flush()
    except sa.exc.IntegrityError:
        db.session.rollback()
    else:
        raise AssertionError("one key was accepted for two activity items")


def test_staff_form_keys_come_and_go_with_their_migration(db):
    """5e2b7c41a9d0 alone: down, each table's key column and unique constraint are gone (and
    activity_items', from the migration before, stays); up again, the schema is the models'."""
    tables = ("reception_items", "message_events", "suggestion_events", "activities",
              "suggestions")

    def key_columns(table):
        inspector = sa.inspect(db.engine)
        columns = {c["name"] for c in inspector.get_columns(table)}
        unique = [u["column_names"] for u in inspector.get_unique_constraints(table)]
        return "idempotency_key" in columns, ["idempotency_key"] in unique

    assert [key_columns(t) for t in tables] == [(True, True)] * len(tables)
    downgrade(revision="3d8a6f0c2b71")
    assert [key_columns(t) for t in tables] == [(False, False)] * len(tables)
    assert key_columns("activity_items") == (True, True)
    upgrade()
    assert [key_columns(t) for t in tables] == [(True, True)] * len(tables)
    assert _diff(db) == []


def test_a_reception_items_key_is_unique_in_the_database(db, make_station):
    from backend.core.timeutil import local_today
    from backend.reception.models import ReceptionDay, ReceptionItem, ReceptionRecord
    day = ReceptionDay(station_id=make_station().id, nominal_date=local_today(), date=local_today(),
                       start_time=time(9),
                       end_time=time(11))
    db.session.add(day)
    db.session.flush()
    record = ReceptionRecord(day_id=day.id)
    db.session.add(record)
    db.session.flush()
    db.session.add_all([ReceptionItem(record_id=record.id, summary=f"第{n}件事情的经过",
                                      idempotency_key="same-key-1") for n in (1, 2)])
    try:
        db.session.flush()
    except sa.exc.IntegrityError:
        db.session.rollback()
    else:
        raise AssertionError("one key was accepted for two reception items")
