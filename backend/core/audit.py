"""Writing the audit log."""
from backend.core.extensions import db
from backend.core.audit_model import AuditEvent


def record(action: str, obj, *, actor=None, before: dict | None = None,
           after: dict | None = None, actor_label: str | None = None) -> AuditEvent:
    if getattr(obj, "id", None) is None:
        db.session.flush()
    event = AuditEvent(
        action=action,
        object_type=obj.__tablename__,
        object_id=obj.id,
        actor_id=getattr(actor, "id", None),
        actor_label=actor_label or getattr(actor, "display_name", "")
        or ("系统" if actor is None else ""),
        before=before,
        after=after,
    )
    db.session.add(event)
    return event


def record_run(action: str, *, after: dict, actor=None) -> AuditEvent:
    """A row for a run over many objects (a retention pass, a key rotation): what it did, in
    counts, rather than one row per object."""
    event = AuditEvent(action=action, object_type="run", object_id=None,
                       actor_id=getattr(actor, "id", None),
                       actor_label=getattr(actor, "display_name", "") or "系统", after=after)
    db.session.add(event)
    return event


def snapshot(obj, fields) -> dict:
    """A JSON-safe view of the given fields, for before/after in the audit log."""
    out = {}
    for f in fields:
        value = getattr(obj, f)
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        elif isinstance(value, (list, tuple)) and value and hasattr(value[0], "id"):
            value = sorted(v.id for v in value)
        out[f] = value
    return out
