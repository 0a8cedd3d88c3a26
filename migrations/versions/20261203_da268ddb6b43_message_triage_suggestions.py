"""message_triage: the category model's suggestion for a message and the liaison's decision

Revision ID: da268ddb6b43
Revises: b7c3e9a41d25
Create Date: 2026-12-03 08:29:25.290930

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'da268ddb6b43'
down_revision = 'b7c3e9a41d25'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('message_triage',
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=20), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('top3', sa.JSON(), nullable=False),
    sa.Column('is_uncertain', sa.Boolean(), nullable=False),
    sa.Column('decision', sa.Enum('accepted', 'corrected', name='triage_decision', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('decided_label', sa.String(length=20), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("decision IS NULL OR (decided_label != '' AND decided_by_id IS NOT NULL)", name=op.f('ck_message_triage_decision_has_label')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['staff_users.id'], name=op.f('fk_message_triage_decided_by_id_staff_users')),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_message_triage_message_id_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('message_id', name=op.f('pk_message_triage'))
    )
    with op.batch_alter_table('message_triage', schema=None) as batch_op:
        batch_op.create_index('ix_message_triage_decision', ['decision'], unique=False)



def downgrade():
    with op.batch_alter_table('message_triage', schema=None) as batch_op:
        batch_op.drop_index('ix_message_triage_decision')

    op.drop_table('message_triage')
