"""Personal data: a blind index of phone numbers on messages and appointments (backfilled),
and when a message, appointment or resident was anonymised.

Revision ID: c4a9e2f7d813
Revises: 4f95d1b9f8fc
Create Date: 2026-12-03 10:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4a9e2f7d813'
down_revision = "4f95d1b9f8fc"
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade():
    for table in ('messages', 'appointments'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('phone_index', sa.String(length=64), nullable=True))
            batch_op.add_column(sa.Column('anonymised_at', sa.DateTime(), nullable=True))
            batch_op.create_index(batch_op.f(f'ix_{table}_phone_index'), ['phone_index'],
                                  unique=False)
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymised_at', sa.DateTime(), nullable=True))
    for table in ('messages', 'appointments'):
        _backfill(table)


def _backfill(name):
    """Rows written before the index: decrypt once here, so no search ever has to."""
    from backend.core.protect import decrypt_phone, phone_index
    bind = op.get_bind()
    table = sa.table(name, sa.column('id', sa.Integer), sa.column('phone_encrypted', sa.String),
                     sa.column('phone_index', sa.String))
    last = 0
    while True:
        rows = bind.execute(
            sa.select(table.c.id, table.c.phone_encrypted)
            .where(table.c.id > last, table.c.phone_encrypted.is_not(None))
            .order_by(table.c.id).limit(BATCH)).all()
        if not rows:
            return
        for row_id, token in rows:
            phone = decrypt_phone(token)
            if phone:
                bind.execute(sa.update(table).where(table.c.id == row_id)
                             .values(phone_index=phone_index(phone)))
        last = rows[-1][0]


def downgrade():
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.drop_column('anonymised_at')
    for table in ('appointments', 'messages'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_phone_index'))
            batch_op.drop_column('anonymised_at')
            batch_op.drop_column('phone_index')
