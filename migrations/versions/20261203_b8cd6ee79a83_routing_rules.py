"""routing_rules: the office's table from a category (and keywords) to a deputy or a department

Revision ID: b8cd6ee79a83
Revises: da268ddb6b43
Create Date: 2026-12-03 08:34:08.347153

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b8cd6ee79a83'
down_revision = 'da268ddb6b43'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('routing_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('keywords', sa.String(length=200), nullable=False),
    sa.Column('deputy_id', sa.Integer(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('(deputy_id IS NULL) != (department_id IS NULL)', name=op.f('ck_routing_rules_one_assignee')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_routing_rules_department_id_departments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['deputy_id'], ['deputies.id'], name=op.f('fk_routing_rules_deputy_id_deputies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_routing_rules_station_id_stations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_rules'))
    )
    with op.batch_alter_table('routing_rules', schema=None) as batch_op:
        batch_op.create_index('ix_routing_rules_station_category', ['station_id', 'category'], unique=False)



def downgrade():
    with op.batch_alter_table('routing_rules', schema=None) as batch_op:
        batch_op.drop_index('ix_routing_rules_station_category')

    op.drop_table('routing_rules')
