"""constituency reports (代表述职) and their ratings, on the spot or on paper

Revision ID: b85437a2a267
Revises: b5ca9bb13b84
Create Date: 2026-12-03 08:42:36.419247

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b85437a2a267'
down_revision = 'b5ca9bb13b84'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('constituency_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deputy_id', sa.Integer(), nullable=False),
    sa.Column('term_id', sa.Integer(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('place', sa.String(length=120), nullable=False),
    sa.Column('constituency', sa.String(length=80), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('min_attendance', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('min_attendance > 0', name=op.f('ck_constituency_reports_min_attendance_positive')),
    sa.ForeignKeyConstraint(['deputy_id'], ['deputies.id'], name=op.f('fk_constituency_reports_deputy_id_deputies')),
    sa.ForeignKeyConstraint(['term_id'], ['terms.id'], name=op.f('fk_constituency_reports_term_id_terms')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_constituency_reports')),
    sa.UniqueConstraint('deputy_id', 'term_id', name='uq_constituency_reports_deputy_term'),
    sa.UniqueConstraint('token', name=op.f('uq_constituency_reports_token'))
    )
    op.create_table('constituency_report_ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.Enum('satisfied', 'basically_satisfied', 'dissatisfied', name='report_rating_value', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('source', sa.Enum('scan', 'paper', name='report_rating_source', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("(source = 'scan') = (resident_id IS NOT NULL)", name=op.f('ck_constituency_report_ratings_scan_names_resident')),
    sa.ForeignKeyConstraint(['report_id'], ['constituency_reports.id'], name=op.f('fk_constituency_report_ratings_report_id_constituency_reports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_constituency_report_ratings_resident_id_residents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_constituency_report_ratings')),
    sa.UniqueConstraint('report_id', 'resident_id', name='uq_report_ratings_resident')
    )
    with op.batch_alter_table('constituency_report_ratings', schema=None) as batch_op:
        batch_op.create_index('ix_report_ratings_report', ['report_id', 'value'], unique=False)



def downgrade():
    with op.batch_alter_table('constituency_report_ratings', schema=None) as batch_op:
        batch_op.drop_index('ix_report_ratings_report')

    op.drop_table('constituency_report_ratings')
    op.drop_table('constituency_reports')
