"""Column types and helpers shared by every model."""
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, hands back aware UTC: SQLite keeps no zone, so we never rely on one."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use aware UTC datetimes")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


def str_enum(name: str, *values: str) -> sa.Enum:
    """A VARCHAR with a CHECK constraint: the same shape on both databases, easy to migrate."""
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True,
                   length=max(len(v) for v in values), validate_strings=True)


def render_migration_item(type_, obj, autogen_context):
    """Migrations name plain SQL types, so they never import application code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False


# Schema that migrations keep and no model declares: the full-text search's FTS5 table (and its
# shadow tables) on SQLite, its generated tsvector column and GIN index on PostgreSQL
# (backend/messages/search.py). Autogenerate must not offer to drop them.
MIGRATION_ONLY_TABLE_PREFIX = "messages_fts"
MIGRATION_ONLY = {("column", "search_vector"), ("index", "ix_messages_search")}


def migration_only(name: str, type_: str) -> bool:
    return (type_ == "table" and name.startswith(MIGRATION_ONLY_TABLE_PREFIX)) or (
        (type_, name) in MIGRATION_ONLY)


def include_in_autogenerate(obj, name, type_, reflected, compare_to) -> bool:
    return not (reflected and compare_to is None and migration_only(name, type_))
