"""Chinese full-text search: messages.search_tokens, indexed (GIN on PostgreSQL, FTS5 on SQLite),
backfilled for existing rows.

Revision ID: c4f1e2a9b7d3
Revises: 1f11958d5579
Create Date: 2026-12-03 10:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4f1e2a9b7d3'
down_revision = "1f11958d5579"
branch_labels = None
depends_on = None

BATCH = 5000
# The SQLite side: an external-content FTS5 table over messages.search_tokens, kept by
# triggers. A later batch migration that recreates `messages` drops these triggers with it
# (tests/messages/test_search.py checks they exist at head).
SQLITE_FTS = [
    "CREATE VIRTUAL TABLE messages_fts USING fts5(search_tokens, content='messages',"
    " content_rowid='id', tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN"
    " INSERT INTO messages_fts(rowid, search_tokens) VALUES (new.id, new.search_tokens); END",
    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN"
    " INSERT INTO messages_fts(messages_fts, rowid, search_tokens)"
    " VALUES ('delete', old.id, old.search_tokens); END",
    "CREATE TRIGGER messages_fts_update AFTER UPDATE OF search_tokens ON messages BEGIN"
    " INSERT INTO messages_fts(messages_fts, rowid, search_tokens)"
    " VALUES ('delete', old.id, old.search_tokens);"
    " INSERT INTO messages_fts(rowid, search_tokens) VALUES (new.id, new.search_tokens); END",
]
# The PostgreSQL side: the tokens as a stored tsvector (no parser: each token one lexeme), so a
# row checked outside the index (the newest-first scan of a common query) costs a read, not a
# rebuild of its vector; GIN-indexed. The ORM never writes it: it follows search_tokens.
PG_COLUMN = ("ALTER TABLE messages ADD COLUMN search_vector tsvector GENERATED ALWAYS AS"
             " (array_to_tsvector(string_to_array(search_tokens, ' '))) STORED")
# station_id in the same GIN index (btree_gin, a trusted extension: the database owner may add
# it): a liaison's search reads one index, not a bitmap of the station's 100,000 rows as well.
PG_EXTENSION = "CREATE EXTENSION IF NOT EXISTS btree_gin"
PG_INDEX = "CREATE INDEX ix_messages_search ON messages USING gin (station_id, search_vector)"


def upgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_tokens', sa.Text(), server_default='', nullable=False))
    _backfill(op.get_bind())
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(PG_EXTENSION)
        op.execute(PG_COLUMN)
        op.execute("SET LOCAL maintenance_work_mem = '256MB'")  # a GIN build in far fewer passes
        op.execute(PG_INDEX)
    else:
        for statement in SQLITE_FTS:
            op.execute(statement)
        op.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")


def _backfill(conn):
    # The tokenizer is the application's own: the same tokens as rows written from now on.
    from backend.messages.search import index_tokens
    messages = sa.table('messages', sa.column('id', sa.Integer), sa.column('body', sa.Text),
                        sa.column('place', sa.String), sa.column('merged_into_id', sa.Integer),
                        sa.column('search_tokens', sa.Text))
    merged = {}
    for into_id, body in conn.execute(sa.select(messages.c.merged_into_id, messages.c.body)
                                      .where(messages.c.merged_into_id.is_not(None))
                                      .order_by(messages.c.id)):
        merged.setdefault(into_id, []).append(body)
    last = 0
    while True:
        rows = conn.execute(sa.select(messages.c.id, messages.c.body, messages.c.place)
                            .where(messages.c.id > last).order_by(messages.c.id).limit(BATCH)).all()
        if not rows:
            break
        conn.execute(messages.update().where(messages.c.id == sa.bindparam('row_id'))
                     .values(search_tokens=sa.bindparam('tokens')), [
            {'row_id': r.id, 'tokens': index_tokens(r.body or '', r.place or '',
                                                    *merged.get(r.id, ()))} for r in rows])
        last = rows[-1].id


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP INDEX ix_messages_search")
        op.execute("ALTER TABLE messages DROP COLUMN search_vector")
    else:
        for name in ('messages_fts_update', 'messages_fts_delete', 'messages_fts_insert'):
            op.execute(f"DROP TRIGGER {name}")
        op.execute("DROP TABLE messages_fts")
    # SQLite (3.35+) drops a plain column in place: a batch copy of `messages` would trip over
    # the rows that reference it (merged messages, events) with foreign keys on.
    op.drop_column('messages', 'search_tokens')
