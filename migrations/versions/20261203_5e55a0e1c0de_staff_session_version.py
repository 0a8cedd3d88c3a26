"""staff session version: a session signed in before logout or a password change ends

Revision ID: 5e55a0e1c0de
Revises: 3eaf7f5bd6f1
Create Date: 2026-12-03 07:15:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e55a0e1c0de'
down_revision = '3eaf7f5bd6f1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='1',
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.drop_column('session_version')
