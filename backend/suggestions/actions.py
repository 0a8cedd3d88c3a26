"""Which verbs a staff user may apply to a suggestion now: the one answer the staff pages and the
mini-program both read, so no template re-encodes the state machine.

A verb is in the set when the policy (backend/suggestions/policy.py) lets this user act, its
source statuses in `core.TRANSITIONS` include the suggestion's, and the facts its operation
checks before changing anything hold (a pending request to decide, an open 回头看, the assisting
opinions a first answer waits for). The operations check all of it again; tests/suggestions/
test_actions.py holds the two together, status by status and role by role.

Verbs are the forms' names: `accept` stands for the lead's 签收 (TRANSITIONS "accept") and an
assisting department's (TRANSITIONS "accept_assisting") alike, as one form posts both.
`close` and `send_back` follow from `rate`, and `resident_rate` is the residents' own
(backend/suggestions/residents.py): none is a staff verb."""
from backend.suggestions import core, policy
from backend.suggestions.drafting import is_drafter
from backend.suggestions.handling import missing_opinions, open_followup, pending_extension
from backend.suggestions.models import Suggestion, SuggestionAssignment

DEPUTY_VERBS = ("update", "submit", "cosign", "rate")
ADMIN_VERBS = ("assign", "return", "merge", "reassign", "set_deadline", "chase", "supervise",
               "note", "decide_extension", "refuse_reassign", "release_assisting")
DEPARTMENT_VERBS = ("accept", "request_reassign", "request_extension", "opinion", "answer",
                    "followup")
ALL_VERBS = DEPUTY_VERBS + ADMIN_VERBS + DEPARTMENT_VERBS
# The admin's verbs that need no request row: TRANSITIONS says it all.
_PLAIN_ADMIN_VERBS = ("assign", "return", "merge", "reassign", "set_deadline", "chase",
                      "supervise", "note")


def _from(suggestion: Suggestion, verb: str) -> bool:
    return suggestion.status in core.TRANSITIONS[verb][0]


def allowed_actions(user, suggestion: Suggestion) -> set[str]:
    """The verbs `user` may apply to `suggestion` in its current state; the staff page shows
    exactly these forms and the mini-program lists them as `actions`."""
    s = suggestion
    verbs = set()
    if is_drafter(user, s):
        verbs |= {v for v in ("update", "submit") if _from(s, v)}
    if _from(s, "cosign") and policy.can_cosign(user, s) and not policy.is_cosigner(user, s):
        verbs.add("cosign")
    if _from(s, "rate") and policy.can_rate(user, s):
        verbs.add("rate")
    if policy.can_review(user, s):
        verbs |= _review_verbs(s)
    assignment = policy.department_assignment(user, s)
    if assignment is not None:
        verbs |= _department_verbs(s, assignment)
    return verbs


def awaited_opinions(user, suggestion: Suggestion) -> list[SuggestionAssignment]:
    """The assisting departments whose opinions keep this user's (lead) department from giving
    its first answer; empty when it may answer, or may not answer anyway."""
    assignment = policy.department_assignment(user, suggestion)
    if assignment is None or assignment.role != "lead":
        return []
    return _awaited(suggestion)


def _awaited(s: Suggestion) -> list[SuggestionAssignment]:
    # Only the first answer waits: a second one (after 不满意) goes ahead.
    if not _from(s, "answer") or s.replies:
        return []
    return missing_opinions(s)


def _review_verbs(s: Suggestion) -> set[str]:
    verbs = {v for v in _PLAIN_ADMIN_VERBS if _from(s, v)}
    if _from(s, "decide_extension") and pending_extension(s) is not None:
        verbs.add("decide_extension")
    requests = [a for a in s.current_assignments if a.status == "reassign_requested"]
    # Refusing is guarded as a reassignment is (review.refuse_reassign).
    if requests and _from(s, "reassign"):
        verbs.add("refuse_reassign")
    if _from(s, "release_assisting") and any(a.role == "assisting" for a in requests):
        verbs.add("release_assisting")
    return verbs


def _department_verbs(s: Suggestion, a: SuggestionAssignment) -> set[str]:
    lead = a.role == "lead"
    verbs = set()
    if a.status == "pending" and _from(s, "accept" if lead else "accept_assisting"):
        verbs.add("accept")
    if a.status in ("pending", "accepted") and _from(s, "request_reassign"):
        verbs.add("request_reassign")
    if not lead:
        if a.accepted_at is not None and _from(s, "opinion"):
            verbs.add("opinion")
        return verbs
    if _from(s, "request_extension") and pending_extension(s) is None:
        verbs.add("request_extension")
    if _from(s, "answer") and not _awaited(s):
        verbs.add("answer")
    if _from(s, "followup") and open_followup(s) is not None:
        verbs.add("followup")
    return verbs
