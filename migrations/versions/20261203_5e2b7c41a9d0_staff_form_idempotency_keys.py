"""reception_items, message_events, suggestion_events, activities and suggestions get
idempotency_key: a staff form a double click or a browser resubmit posts twice records its row
once

Revision ID: 5e2b7c41a9d0
Revises: 3d8a6f0c2b71
Create Date: 2026-12-03 17:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e2b7c41a9d0'
down_revision = '3d8a6f0c2b71'
branch_labels = None
depends_on = None

# Nullable: rows written before, and by operations without a form, have no key.
TABLES = ('reception_items', 'message_events', 'suggestion_events', 'activities',
          'suggestions')


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('idempotency_key', sa.String(length=64), nullable=True))
            batch_op.create_unique_constraint(batch_op.f(f'uq_{table}_idempotency_key'),
                                              ['idempotency_key'])


def downgrade():
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'uq_{table}_idempotency_key'), type_='unique')
            batch_op.drop_column('idempotency_key')
