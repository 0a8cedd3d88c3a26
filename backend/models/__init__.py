"""All models, importable from one place (Alembic and the tests need every table registered)."""
from backend.models.accounts import ROLE_LABELS, ROLES, StaffUser, staff_stations  # noqa: F401
from backend.models.audit import AuditEvent  # noqa: F401
from backend.models.base import UTCDateTime, utcnow  # noqa: F401
from backend.models.codes import DeputyCode  # noqa: F401
from backend.models.org import (  # noqa: F401
    LEVEL_LABELS, LEVELS, STATION_KIND_LABELS, STATION_KINDS, Department, Deputy, DeputyGroup,
    Station, Term, deputy_stations,
)
