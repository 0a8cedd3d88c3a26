"""The schema comes only from migrations: upgrade from empty gives exactly what the models
declare, and downgrade takes it all away again."""
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
