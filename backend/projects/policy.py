"""Who may see and do what with livelihood projects: shared by operations, pages and the API.
The office (admin) runs the round; deputies propose and vote; a liaison turns a queue message
into a proposal; a department reports progress on the projects it leads; residents propose,
support and follow. Nobody, the office included, can read a deputy's choices or how they rated
a project (满意度测评): there is no such row (see models.py)."""
from backend.accounts.resident_model import Resident
from backend.messages import policy as message_policy
from backend.projects.models import ProjectProposal, ProjectRound

# Proposals anyone may read: on the public list, with their outcome.
PUBLIC_STATUSES = ("submitted", "candidate", "chosen", "runoff", "unchosen", "reserve",
                   "delivering")


def _role(user) -> str | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "role", None)


def is_office(user) -> bool:
    return _role(user) == "admin"


def is_proposer(resident, proposal: ProjectProposal) -> bool:
    return isinstance(resident, Resident) and proposal.resident_id == resident.id


def can_view(user, proposal: ProjectProposal) -> bool:
    """Staff: the office, liaisons and deputies see every proposal; a department the projects it
    leads. Anyone else (a resident): the public ones, and their own whatever became of it."""
    role = _role(user)
    if role in ("admin", "liaison", "deputy"):
        return True
    if role == "department":
        return proposal.department_id == user.department_id and proposal.status in (
            "candidate", "chosen", "runoff", "unchosen", "reserve", "delivering")
    return proposal.status in PUBLIC_STATUSES or is_proposer(user, proposal)


def can_screen_photos(user) -> bool:
    """Residents' photos on proposals before the office makes them public: the office, which
    screens, and liaisons, who turn residents' matters into proposals. Not deputies or
    departments: the photos are residents' personal data (#15) until checked."""
    return _role(user) in ("admin", "liaison")


def can_propose_as_deputy(user) -> bool:
    return _role(user) == "deputy" and user.deputy is not None and user.deputy.is_active


def can_convert_message(user, message) -> bool:
    """A liaison who may triage the message turns it into a proposal."""
    return _role(user) == "liaison" and message_policy.can_triage(user, message)


def can_vote(user, round_: ProjectRound) -> bool:
    return (can_propose_as_deputy(user) and round_.status == "voting")


def can_report_progress(user, proposal: ProjectProposal) -> bool:
    return (_role(user) == "department" and proposal.status == "delivering"
            and proposal.department_id == user.department_id)


def can_plan_milestones(user, proposal: ProjectProposal) -> bool:
    """The lead department plans its steps; the office may set them for it."""
    return proposal.status == "delivering" and (
        is_office(user) or can_report_progress(user, proposal))


def can_rate(user, proposal: ProjectProposal) -> bool:
    """Deputies rate a project once it is reported done (100 %)."""
    return (can_propose_as_deputy(user) and proposal.status == "delivering"
            and proposal.progress == 100)
