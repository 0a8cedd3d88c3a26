"""Run-offs (决选) of the livelihood-project vote: their counters and participation rows (no
ballot rows), paper entries per stage; residents' photos on proposals, private until approved.

Revision ID: b9160df06f6c
Revises: c4a9e2f7d813
Create Date: 2026-12-03 10:04:34.724455

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b9160df06f6c'
down_revision = "c4a9e2f7d813"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('project_runoffs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('places', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('ballots_cast', sa.Integer(), nullable=False),
    sa.Column('opened_by_id', sa.Integer(), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IN ('voting', 'counting', 'decided')", name=op.f('ck_project_runoffs_status_known')),
    sa.CheckConstraint('places > 0', name=op.f('ck_project_runoffs_places_positive')),
    sa.ForeignKeyConstraint(['opened_by_id'], ['staff_users.id'], name=op.f('fk_project_runoffs_opened_by_id_staff_users')),
    sa.ForeignKeyConstraint(['round_id'], ['project_rounds.id'], name=op.f('fk_project_runoffs_round_id_project_rounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_runoffs')),
    sa.UniqueConstraint('round_id', 'number', name='uq_project_runoffs_number')
    )
    with op.batch_alter_table('project_runoffs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_runoffs_round_id'), ['round_id'], unique=False)

    op.create_table('project_proposal_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=True),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('storage_key', sa.String(length=200), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('public_at', sa.DateTime(), nullable=True),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('(public_at IS NULL) = (approved_by_id IS NULL)', name=op.f('ck_project_proposal_photos_public_has_approver')),
    sa.ForeignKeyConstraint(['approved_by_id'], ['staff_users.id'], name=op.f('fk_project_proposal_photos_approved_by_id_staff_users')),
    sa.ForeignKeyConstraint(['proposal_id'], ['project_proposals.id'], name=op.f('fk_project_proposal_photos_proposal_id_project_proposals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_project_proposal_photos_resident_id_residents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_proposal_photos')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_project_proposal_photos_storage_key'))
    )
    with op.batch_alter_table('project_proposal_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_proposal_photos_proposal_id'), ['proposal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_project_proposal_photos_resident_id'), ['resident_id'], unique=False)

    op.create_table('project_runoff_participations',
    sa.Column('runoff_id', sa.Integer(), nullable=False),
    sa.Column('deputy_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['deputy_id'], ['deputies.id'], name=op.f('fk_project_runoff_participations_deputy_id_deputies')),
    sa.ForeignKeyConstraint(['runoff_id'], ['project_runoffs.id'], name=op.f('fk_project_runoff_participations_runoff_id_project_runoffs')),
    sa.PrimaryKeyConstraint('runoff_id', 'deputy_id', name=op.f('pk_project_runoff_participations'))
    )
    op.create_table('project_runoff_tallies',
    sa.Column('runoff_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('votes', sa.Integer(), nullable=False),
    sa.CheckConstraint('votes >= 0', name=op.f('ck_project_runoff_tallies_votes_not_negative')),
    sa.ForeignKeyConstraint(['candidate_id'], ['project_proposals.id'], name=op.f('fk_project_runoff_tallies_candidate_id_project_proposals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['runoff_id'], ['project_runoffs.id'], name=op.f('fk_project_runoff_tallies_runoff_id_project_runoffs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('runoff_id', 'candidate_id', name=op.f('pk_project_runoff_tallies'))
    )
    with op.batch_alter_table('project_paper_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stage', sa.Integer(), server_default='0', nullable=False))
        batch_op.drop_constraint(batch_op.f('uq_project_paper_entries_staff'), type_='unique')
        batch_op.create_unique_constraint('uq_project_paper_entries_staff', ['round_id', 'stage', 'staff_id'])



def downgrade():
    with op.batch_alter_table('project_paper_entries', schema=None) as batch_op:
        batch_op.drop_constraint('uq_project_paper_entries_staff', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_project_paper_entries_staff'), ['round_id', 'staff_id'])
        batch_op.drop_column('stage')

    op.drop_table('project_runoff_tallies')
    op.drop_table('project_runoff_participations')
    with op.batch_alter_table('project_proposal_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_proposal_photos_resident_id'))
        batch_op.drop_index(batch_op.f('ix_project_proposal_photos_proposal_id'))

    op.drop_table('project_proposal_photos')
    with op.batch_alter_table('project_runoffs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_runoffs_round_id'))

    op.drop_table('project_runoffs')
