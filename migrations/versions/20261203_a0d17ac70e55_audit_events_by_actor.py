"""audit events by actor: the phone-reveal budget counts one user's last hour

Revision ID: a0d17ac70e55
Revises: 5e55a0e1c0de
Create Date: 2026-12-03 07:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a0d17ac70e55'
down_revision = '5e55a0e1c0de'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_actor', ['actor_id', 'action', 'created_at'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_actor')
