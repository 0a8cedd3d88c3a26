"""Extended statistics for the monthly figures (PostgreSQL only): the planner otherwise guesses
a group per row for "station × month of created_at" and gives up on a parallel aggregate.

Revision ID: 7b2e4c9d1a55
Revises: 5a7d3e91c2b4
Create Date: 2026-12-03 12:05:00
"""
from alembic import op

revision = "7b2e4c9d1a55"
down_revision = "5a7d3e91c2b4"
branch_labels = None
depends_on = None

# The expression must be the one records/station_figures.py groups by (month of the Beijing date).
MONTH = "(EXTRACT(month FROM CAST(created_at + INTERVAL '8 hours' AS DATE)))"


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"CREATE STATISTICS IF NOT EXISTS st_messages_station_month"
               f" ON station_id, {MONTH} FROM messages")
    op.execute(f"CREATE STATISTICS IF NOT EXISTS st_message_ratings_month"
               f" ON {MONTH} FROM message_ratings")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP STATISTICS IF EXISTS st_message_ratings_month")
    op.execute("DROP STATISTICS IF EXISTS st_messages_station_month")
