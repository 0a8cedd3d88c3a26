"""Writing a new message, its "submitted" event and the deputy's outbox row in as few round trips
as the database allows: the hot path of every submission (backend/messages/operations.py decides
what to write; this module only writes it).

INSERT … ON CONFLICT (idempotency_key) DO NOTHING RETURNING id: the idempotency key is checked
by the insert itself, with no query before it and no savepoint, since a taken key never raises.
On PostgreSQL the three inserts are one statement (data-modifying CTEs), one round trip;
elsewhere three. Core, not the unit of work: the ORM's flush costs several times more.

What is the same for every submission is written into the statement as constants, and what
follows from the message (its id, resident, deputy, status, time) is read from the inserted
row, so the statement carries few parameters: psycopg caches the parsing of a statement only
below 50 parameters and 4 KB, and with every column a parameter this one was past both.
"""
import functools

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import make_transient_to_detached

from backend.core.extensions import db
from backend.messages.models import Message, MessageEvent
from backend.notifications.models import Notification

# The columns of the submitted event and of the deputy's notification that never vary.
EVENT_CONSTANTS = dict(kind="submitted", actor_kind="resident", actor_label="留言人",
                       from_status=None, is_internal=False, text="")
NOTE_CONSTANTS = dict(recipient_kind="deputy", topic="message.new", title="您收到一条新留言",
                      subject_type=Message.__tablename__, status="pending", channel="",
                      attempts=0, last_error="", sent_at=None)
NOTE_PLACE = "deputy_message:"  # + the new message's id (backend/notifications/places.py)


def write_submission(values: dict, *, event_data: dict | None,
                     note_body: str | None) -> Message | None:
    """Insert the message (`values`: its columns; the rest take their defaults), its event
    and, when `note_body` is given, the outbox row telling its deputy; return the message as a
    persistent object, or None, with nothing written, when its idempotency key is taken."""
    values = _with_defaults(Message.__table__, values)
    dialect = db.session.get_bind(mapper=sa.inspect(Message)).dialect.name
    with_note = note_body is not None
    if dialect == "postgresql":
        new_id = db.session.execute(_pg_statement(with_note), {
            **values, "event_data": event_data, "note_body": note_body}).scalar()
    else:
        new_id = db.session.execute(_message_insert(dialect), values).scalar()
        if new_id is not None:
            db.session.execute(sa.insert(MessageEvent.__table__), {
                **EVENT_CONSTANTS, "message_id": new_id, "actor_id": values["resident_id"],
                "to_status": values["status"], "data": event_data,
                "created_at": values["created_at"]})
            if with_note:
                db.session.execute(sa.insert(Notification.__table__), {
                    **NOTE_CONSTANTS, "recipient_id": values["deputy_id"], "subject_id": new_id,
                    "body": note_body, "link": f"{NOTE_PLACE}{new_id}",
                    "next_attempt_at": values["created_at"], "created_at": values["created_at"]})
    if new_id is None:
        return None
    # Everything but the id is already in hand: no need to read the row back.
    message = Message(id=new_id, **values)
    make_transient_to_detached(message)  # as if loaded: persistent once added, nothing to flush
    db.session.add(message)
    return message


def _with_defaults(table: sa.Table, values: dict) -> dict:
    """Every column but the key, with the column's Python default where not given, so the
    statement is the same for every submission."""
    row = {}
    for column in table.c:
        if column.primary_key:
            continue
        if column.name in values:
            row[column.name] = values[column.name]
        elif column.default is None:
            row[column.name] = None
        elif column.default.is_scalar:
            row[column.name] = column.default.arg
        elif column.default.is_callable:
            row[column.name] = column.default.arg(None)
        else:
            raise TypeError(f"{table.name}.{column.name}: only Python defaults are supported here")
    return row


@functools.cache
def _message_insert(dialect: str):
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    table = Message.__table__
    return (insert(table).on_conflict_do_nothing(index_elements=[table.c.idempotency_key])
            .returning(table.c.id))


@functools.cache
def _pg_statement(with_note: bool):
    """WITH new_message AS (INSERT … ON CONFLICT DO NOTHING RETURNING …),
    new_event AS (INSERT … SELECT … FROM new_message)[, new_note AS (…)]
    SELECT id FROM new_message: no message inserted, no event nor note either."""
    table = Message.__table__
    message = (postgresql.insert(table)
               .values({c.name: sa.bindparam(c.name, type_=c.type)
                        for c in table.c if not c.primary_key})
               .on_conflict_do_nothing(index_elements=[table.c.idempotency_key])
               .returning(table.c.id, table.c.resident_id, table.c.deputy_id, table.c.status,
                          table.c.created_at)
               .cte("new_message"))
    m = message.c
    events = MessageEvent.__table__
    ctes = [_insert_from(message, events, "new_event", {
        **_constants(events, EVENT_CONSTANTS), "message_id": m.id, "actor_id": m.resident_id,
        "to_status": m.status, "created_at": m.created_at,
        "data": sa.bindparam("event_data", type_=events.c.data.type)})]
    if with_note:
        notes = Notification.__table__
        ctes.append(_insert_from(message, notes, "new_note", {
            **_constants(notes, NOTE_CONSTANTS), "recipient_id": m.deputy_id,
            "subject_id": m.id, "next_attempt_at": m.created_at, "created_at": m.created_at,
            "body": sa.bindparam("note_body", type_=notes.c.body.type),
            "link": _literal(NOTE_PLACE, sa.String()).op("||")(sa.cast(m.id, sa.String))}))
    return sa.select(m.id).add_cte(*ctes)


def _constants(table: sa.Table, values: dict) -> dict:
    """Fixed values as SQL literals of the column's type: part of the statement, not parameters."""
    return {name: _literal(value, table.c[name].type) for name, value in values.items()}


def _literal(value, type_):
    """Our own constants (never user input) written into the statement."""
    if value is None:
        return sa.null()
    if isinstance(value, bool):
        return sa.true() if value else sa.false()
    if isinstance(value, int):
        return sa.literal_column(str(value), type_=type_)
    return sa.literal_column("'" + value.replace("'", "''") + "'", type_=type_)


def _insert_from(message, table: sa.Table, name: str, columns: dict):
    select = sa.select(*columns.values()).select_from(message)
    return sa.insert(table).from_select(list(columns), select).cte(name)
