"""responsiveness followups: residents asked two weeks after an answer whether it dealt with their message (回访)

Revision ID: b5ca9bb13b84
Revises: 7fd8c406a526
Create Date: 2026-12-03 08:37:57.059685

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b5ca9bb13b84'
down_revision = '7fd8c406a526'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('responsiveness_followups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('deputy_id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=False),
    sa.Column('asked_at', sa.DateTime(), nullable=False),
    sa.Column('reminded_at', sa.DateTime(), nullable=True),
    sa.Column('response', sa.Enum('solved', 'unsolved', 'acknowledged', 'no_answer', name='followup_response', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('responded_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint('(response IS NULL) = (responded_at IS NULL)', name=op.f('ck_responsiveness_followups_response_has_time')),
    sa.CheckConstraint('reminded_at IS NULL OR reminded_at >= asked_at', name=op.f('ck_responsiveness_followups_reminded_after_asked')),
    sa.ForeignKeyConstraint(['deputy_id'], ['deputies.id'], name=op.f('fk_responsiveness_followups_deputy_id_deputies')),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_responsiveness_followups_message_id_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_responsiveness_followups_resident_id_residents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_responsiveness_followups')),
    sa.UniqueConstraint('message_id', name='uq_responsiveness_followups_message')
    )
    with op.batch_alter_table('responsiveness_followups', schema=None) as batch_op:
        batch_op.create_index('ix_responsiveness_followups_deputy', ['deputy_id', 'answered_at'], unique=False)



def downgrade():
    with op.batch_alter_table('responsiveness_followups', schema=None) as batch_op:
        batch_op.drop_index('ix_responsiveness_followups_deputy')

    op.drop_table('responsiveness_followups')
