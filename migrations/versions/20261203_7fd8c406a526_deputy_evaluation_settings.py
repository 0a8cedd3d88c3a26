"""deputy evaluation settings: the office's items, weights and bands (履职评价); scores are computed on read

Revision ID: 7fd8c406a526
Revises: e1fe5ebaca6a
Create Date: 2026-12-03 08:30:23.189163

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7fd8c406a526'
down_revision = 'e1fe5ebaca6a'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('evaluation_items',
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('is_counted', sa.Boolean(), nullable=False),
    sa.Column('weight', sa.Integer(), nullable=False),
    sa.Column('target', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('target IS NULL OR target > 0', name=op.f('ck_evaluation_items_target_positive')),
    sa.CheckConstraint('weight >= 0 AND weight <= 100', name=op.f('ck_evaluation_items_weight_in_scale')),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_evaluation_items'))
    )
    op.create_table('evaluation_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('good_from', sa.Integer(), nullable=False),
    sa.Column('fair_from', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('fair_from > 0 AND fair_from < good_from AND good_from <= 100', name=op.f('ck_evaluation_settings_bands_ordered')),
    sa.CheckConstraint('id = 1', name=op.f('ck_evaluation_settings_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_settings'))
    )


def downgrade():
    op.drop_table('evaluation_settings')
    op.drop_table('evaluation_items')
