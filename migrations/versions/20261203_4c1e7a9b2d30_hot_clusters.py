"""hot_clusters, hot_cluster_messages: the hot-issue index kept by the scheduler

Revision ID: 4c1e7a9b2d30
Revises: c4f1e2a9b7d3
Create Date: 2026-12-03 10:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4c1e7a9b2d30'
down_revision = "c4f1e2a9b7d3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('hot_clusters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('messages', sa.Integer(), nullable=False),
    sa.Column('residents', sa.Integer(), nullable=False),
    sa.Column('first_at', sa.DateTime(), nullable=False),
    sa.Column('last_at', sa.DateTime(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_hot_clusters_station_id_stations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hot_clusters'))
    )
    with op.batch_alter_table('hot_clusters', schema=None) as batch_op:
        batch_op.create_index('ix_hot_clusters_station_last', ['station_id', 'last_at'], unique=False)

    op.create_table('hot_cluster_messages',
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('cluster_id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['cluster_id'], ['hot_clusters.id'], name=op.f('fk_hot_cluster_messages_cluster_id_hot_clusters'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_hot_cluster_messages_message_id_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_hot_cluster_messages_station_id_stations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('message_id', name=op.f('pk_hot_cluster_messages'))
    )
    with op.batch_alter_table('hot_cluster_messages', schema=None) as batch_op:
        batch_op.create_index('ix_hot_cluster_messages_cluster', ['cluster_id'], unique=False)
        batch_op.create_index('ix_hot_cluster_messages_station_at', ['station_id', 'at'], unique=False)
        batch_op.create_index('ix_hot_cluster_messages_at', ['at'], unique=False)


def downgrade():
    with op.batch_alter_table('hot_cluster_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_hot_cluster_messages_station_at')
        batch_op.drop_index('ix_hot_cluster_messages_at')
        batch_op.drop_index('ix_hot_cluster_messages_cluster')

    op.drop_table('hot_cluster_messages')
    with op.batch_alter_table('hot_clusters', schema=None) as batch_op:
        batch_op.drop_index('ix_hot_clusters_station_last')

    op.drop_table('hot_clusters')
