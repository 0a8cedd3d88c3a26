"""retention period setting: the office's saved retention period (保存期限), one row

Revision ID: 5a7d3e91c2b4
Revises: 4c1e7a9b2d30
Create Date: 2026-12-03 11:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5a7d3e91c2b4'
down_revision = "4c1e7a9b2d30"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('retention_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('months', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_retention_settings_single_row')),
    sa.CheckConstraint('months >= 6 AND months <= 120', name=op.f('ck_retention_settings_months_in_bounds')),
    sa.ForeignKeyConstraint(['updated_by'], ['staff_users.id'], name=op.f('fk_retention_settings_updated_by_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_settings'))
    )


def downgrade():
    op.drop_table('retention_settings')
