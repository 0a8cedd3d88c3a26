"""messages.resident_read_at: when the writer last opened the message on the web

Revision ID: a1c4e7d2b9f0
Revises: a0d17ac70e55
Create Date: 2026-12-03 07:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a1c4e7d2b9f0'
down_revision = 'a0d17ac70e55'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resident_read_at', sa.DateTime(), nullable=True))
    # Answers given before this column existed are not news: nobody is shown a pile of marks.
    op.execute("UPDATE messages SET resident_read_at = answered_at WHERE answered_at IS NOT NULL")


def downgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('resident_read_at')
