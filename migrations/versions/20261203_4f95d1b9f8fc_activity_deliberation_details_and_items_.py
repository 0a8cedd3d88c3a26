"""Activities: 议事 details on the record (topic, residents, what was agreed), matters raised
at an activity that may become messages, and "activity" as a message's channel.

Revision ID: 4f95d1b9f8fc
Revises: 6bfcc286fa74
Create Date: 2026-12-03 10:03:14.087903

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4f95d1b9f8fc'
down_revision = '6bfcc286fa74'
branch_labels = None
depends_on = None

CHANNELS = ('web', 'miniprogram', 'reception', 'staff')


def upgrade():
    op.create_table('activity_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('deputy_id', sa.Integer(), nullable=True),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('resident_name', sa.String(length=40), nullable=False),
    sa.Column('phone_encrypted', sa.Text(), nullable=True),
    sa.Column('resident_consent', sa.Boolean(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_activity_items_activity_id_activities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff_users.id'], name=op.f('fk_activity_items_created_by_id_staff_users')),
    sa.ForeignKeyConstraint(['deputy_id'], ['deputies.id'], name=op.f('fk_activity_items_deputy_id_deputies')),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_activity_items_message_id_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity_items')),
    sa.UniqueConstraint('message_id', name=op.f('uq_activity_items_message_id'))
    )
    with op.batch_alter_table('activity_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_items_activity_id'), ['activity_id'], unique=False)

    # Existing activities get empty details: the server defaults fill the rows already there.
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('topic', sa.String(length=200), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('resident_count', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('resident_names', sa.Text(), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('agreed', sa.Text(), nullable=False, server_default=''))
        batch_op.create_check_constraint(
            op.f('ck_activities_resident_count_not_negative'),
            'resident_count IS NULL OR resident_count >= 0')

    _channels(CHANNELS + ("activity",))


def downgrade():
    op.execute("UPDATE messages SET channel = 'staff' WHERE channel = 'activity'")
    _channels(CHANNELS)
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_activities_resident_count_not_negative'), type_='check')
        batch_op.drop_column('agreed')
        batch_op.drop_column('resident_names')
        batch_op.drop_column('resident_count')
        batch_op.drop_column('topic')

    with op.batch_alter_table('activity_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activity_items_activity_id'))

    op.drop_table('activity_items')


def _channels(values) -> None:
    """messages.channel is a string with a CHECK listing its values: the CHECK is replaced."""
    listed = ", ".join(f"'{v}'" for v in values)
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_messages_message_channel'), type_='check')
        batch_op.create_check_constraint(op.f('ck_messages_message_channel'),
                                         f"channel IN ({listed})")
