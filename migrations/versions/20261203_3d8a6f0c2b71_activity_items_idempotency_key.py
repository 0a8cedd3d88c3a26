"""activity_items.idempotency_key: a matter added from the mini-program is recorded once, however
often a bad network makes the phone send it

Revision ID: 3d8a6f0c2b71
Revises: 7b2e4c9d1a55
Create Date: 2026-12-03 16:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3d8a6f0c2b71'
down_revision = '7b2e4c9d1a55'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('activity_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('idempotency_key', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_activity_items_idempotency_key'),
                                          ['idempotency_key'])


def downgrade():
    with op.batch_alter_table('activity_items', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_activity_items_idempotency_key'), type_='unique')
        batch_op.drop_column('idempotency_key')
