"""wechat push: seen (timestamp, nonce) pairs against replays; a photo's media-check trace id
and when it was hidden

Revision ID: b7c3e9a41d25
Revises: b85437a2a267
Create Date: 2026-12-03 08:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7c3e9a41d25'
down_revision = 'b85437a2a267'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'wechat_push_nonces',
        sa.Column('timestamp', sa.String(length=20), nullable=False),
        sa.Column('nonce', sa.String(length=64), nullable=False),
        sa.Column('seen_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('timestamp', 'nonce', name=op.f('pk_wechat_push_nonces')),
    )
    with op.batch_alter_table('wechat_push_nonces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wechat_push_nonces_seen_at'), ['seen_at'],
                              unique=False)
    with op.batch_alter_table('message_photos', schema=None) as batch_op:
        batch_op.add_column(sa.Column('media_trace_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hidden_at', sa.DateTime(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_message_photos_media_trace_id'),
                                          ['media_trace_id'])


def downgrade():
    with op.batch_alter_table('message_photos', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_message_photos_media_trace_id'), type_='unique')
        batch_op.drop_column('hidden_at')
        batch_op.drop_column('media_trace_id')
    with op.batch_alter_table('wechat_push_nonces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wechat_push_nonces_seen_at'))
    op.drop_table('wechat_push_nonces')
