"""All models, importable from one place (Alembic and the tests need every table registered)."""
from backend.models.accounts import ROLE_LABELS, ROLES, StaffUser, staff_stations  # noqa: F401
from backend.models.audit import AuditEvent  # noqa: F401
from backend.models.base import UTCDateTime, utcnow  # noqa: F401
from backend.models.calendar import HOLIDAY_KIND_LABELS, HOLIDAY_KINDS, HolidayOverride  # noqa: F401
from backend.models.codes import DeputyCode  # noqa: F401
from backend.models.org import (  # noqa: F401
    LEVEL_LABELS, LEVELS, STATION_KIND_LABELS, STATION_KINDS, Department, Deputy, DeputyGroup,
    Station, Term, deputy_stations,
)
from backend.models.messages import (  # noqa: F401
    OPEN_STATUSES, RATING_LABELS, RATINGS, STATUS_LABELS, STATUSES, Message, MessageEvent,
    MessagePhoto, MessageRating, MessageReply,
)
from backend.models.moderation import ContentRule  # noqa: F401
from backend.models.outbox import Notification  # noqa: F401
from backend.models.residents import Resident, SubscribeGrant  # noqa: F401
from backend.models.reception import (  # noqa: F401
    APPOINTMENT_STATUS_LABELS, APPOINTMENT_STATUSES, DAY_POLICIES, DAY_POLICY_LABELS, Appointment,
    CalendarFeed, DeputyUnavailability, DutySwap, ReceptionDay, ReceptionDuty, ReceptionItem,
    ReceptionRecord, ReceptionRule, ReceptionSlot, record_deputies,
)
from backend.models.scheduler import JobRun, SchedulerLease, apscheduler_jobs  # noqa: F401
from backend.models.suggestions import (  # noqa: F401
    ASSIGNMENT_ROLE_LABELS, ASSIGNMENT_ROLES, HANDLING_STATUSES, RESOLUTION_LABELS, RESOLUTIONS,
    SUGGESTION_STATUS_LABELS, SUGGESTION_STATUSES, SUPERVISION_LABELS, SUPERVISIONS,
    DepartmentReply, Suggestion, SuggestionAssignment, SuggestionCosigner, SuggestionEvent,
    SuggestionExtension, SuggestionFollowUp, SuggestionRating, SuggestionResidentRating,
    suggestion_messages,
)
