"""`allowed_actions` against the operations and the page, status by status and role by role:
the set is the expected one, the page's action partials show exactly its forms, every verb in it
is accepted by its operation, and every verb outside it is refused (403 or 409) and changes
nothing. So the page and the operations cannot drift apart. And a guard: no staff suggestion template compares
statuses again."""
import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from backend.core.errors import Forbidden, InvalidState
from backend.suggestions import drafting, handling, review
from backend.suggestions.actions import ALL_VERBS, allowed_actions
from backend.suggestions.models import Suggestion, SuggestionExtension

ROLES = ("admin", "liaison_own", "liaison_other", "author", "colleague", "outsider",
         "dept_lead", "dept_assist", "dept_other")
PLAIN = {"assign", "return", "merge", "supervise", "note"}
HANDLING = {"reassign", "set_deadline", "chase", "supervise", "note"}

# case → {role: the verbs it may apply}; a role not named may apply none.
EXPECTED = {
    "draft": {"author": {"update", "submit"}, "liaison_own": {"update", "submit"}},
    "submitted": {"admin": PLAIN, "colleague": {"cosign"}},
    "submitted_cosigned": {"admin": PLAIN},
    "returned": {"admin": {"note"}, "author": {"update", "submit"},
                 "liaison_own": {"update", "submit"}, "colleague": {"cosign"}},
    "merged": {},
    "assigned": {"admin": HANDLING,
                 "dept_lead": {"accept", "request_reassign", "request_extension"},
                 "dept_assist": {"accept", "request_reassign"}},
    "assigned_lead_request": {"admin": HANDLING | {"refuse_reassign"},
                              "dept_lead": {"request_extension"},
                              "dept_assist": {"accept", "request_reassign"}},
    # No assisting opinion yet: the lead may not give its first answer.
    "in_progress": {"admin": HANDLING,
                    "dept_lead": {"request_reassign", "request_extension"},
                    "dept_assist": {"opinion", "request_reassign"}},
    "in_progress_opinion": {"admin": HANDLING,
                            "dept_lead": {"answer", "request_reassign", "request_extension"},
                            "dept_assist": {"opinion", "request_reassign"}},
    "in_progress_extension": {"admin": HANDLING | {"decide_extension"},
                              "dept_lead": {"request_reassign"},
                              "dept_assist": {"opinion", "request_reassign"}},
    "in_progress_assist_request": {"admin": HANDLING | {"refuse_reassign", "release_assisting"},
                                   "dept_lead": {"request_reassign", "request_extension"},
                                   "dept_assist": {"opinion"}},
    "answered": {"admin": {"supervise", "note"}, "author": {"rate"}},
    # Answered while an extension was pending: nothing left to decide.
    "answered_extension": {"admin": {"supervise", "note"}, "author": {"rate"}},
    "answered_followup": {"admin": {"supervise", "note"}, "author": {"rate"},
                          "dept_lead": {"followup"}},
    # A second answer does not wait for opinions again.
    "reanswering": {"admin": {"set_deadline", "chase", "supervise", "note"},
                    "dept_lead": {"answer", "request_extension"}, "dept_assist": {"opinion"}},
    "closed": {"admin": {"supervise", "note"}},
}


def _status(case: str) -> str:
    return "in_progress" if case.startswith("in_progress") else case.split("_")[0]


def _build(case, w, make_suggestion, db):
    """The suggestion of a case, and a live one it could be merged into."""
    target = make_suggestion("submitted", title="关于整治桂花坪菜市场周边停车的建议")
    status = _status(case)
    extra = {}
    if case == "submitted_cosigned":
        extra["cosigners"] = [w.colleague]
    if status == "merged":
        extra["merged_into_id"] = target.id
    s = make_suggestion(status, resolution="B" if case == "answered_followup" else "A", **extra)
    assisting = next(a for a in s.assignments if a.role == "assisting") if s.assignments else None
    if case == "assigned_lead_request":
        s.lead_assignment.status, s.lead_assignment.reassign_reason = "reassign_requested", "不属于我局职责"
    elif case == "in_progress_opinion":
        assisting.opinion, assisting.opinion_at = "同意主办单位的处理方案，建议同步修复人行道。", s.assigned_at
    elif case == "in_progress_assist_request":
        assisting.status, assisting.reassign_reason = "reassign_requested", "不属于我局职责"
    elif case in ("in_progress_extension", "answered_extension"):
        db.session.add(SuggestionExtension(suggestion_id=s.id, department_id=w.lead.id,
                                           requested_until=s.deadline_on + timedelta(days=30),
                                           reason="需要等待预算批复"))
    elif case == "answered_followup":
        handling.open_due_followups(s.latest_reply.promised_by)
    db.session.commit()
    return s, target


def _attempt(verb, s, user, w, target):
    """Run the verb's operation with input it accepts; the refusals left are the rule's."""
    today = date.today()
    requested = [a for a in s.current_assignments if a.status == "reassign_requested"]
    assisting = next((a for a in s.current_assignments if a.role == "assisting"), None)
    if verb == "update":
        return drafting.update_draft(s, actor=user, title=s.title + "（修改）", category=s.category,
                                     problem=s.problem, proposal=s.proposal,
                                     message_ids=[m.id for m in s.messages])
    if verb == "submit":
        return drafting.submit(s, actor=user)
    if verb == "cosign":
        return drafting.cosign(s, actor=user)
    if verb == "rate":
        return drafting.rate(s, "satisfied", "", actor=user)
    if verb == "assign":
        return review.accept_and_assign(s, actor=user, lead=w.other)
    if verb == "return":
        return review.return_for_changes(s, "请补充调研数据", actor=user)
    if verb == "merge":
        return review.merge(s, target, actor=user)
    if verb == "reassign":
        return review.reassign(s, w.other, "更适合水务局办理", actor=user)
    if verb == "set_deadline":
        return review.set_deadline(s, today + timedelta(days=100), "工作量大", actor=user)
    if verb == "chase":
        return review.chase(s, actor=user)
    if verb == "supervise":
        return review.set_supervision(s, "key", "", actor=user)
    if verb == "note":
        return review.add_note(s, "已电话联系承办单位", actor=user)
    if verb == "decide_extension":
        ext = handling.pending_extension(s)
        return ext and review.decide_extension(ext, False, "请按原期限办理", actor=user)
    if verb == "refuse_reassign":
        row = (requested or s.current_assignments or [None])[0]
        return row and review.refuse_reassign(row, "请继续办理", actor=user)
    if verb == "release_assisting":
        row = next((a for a in requested if a.role == "assisting"), assisting)
        return row and review.release_assisting(row, "同意不再协办", actor=user)
    if verb == "accept":
        return handling.accept(s, actor=user)
    if verb == "request_reassign":
        return handling.request_reassign(s, "不属于本单位职责", actor=user)
    if verb == "request_extension":
        return handling.request_extension(s, (s.deadline_on or today) + timedelta(days=30),
                                          "需要等待预算批复", actor=user)
    if verb == "opinion":
        return handling.send_opinion(s, "建议同步修复人行道，本局配合施工。", actor=user)
    if verb == "answer":
        return handling.answer(s, actor=user, resolution="A",
                               body="已组织排查，共修复路灯23盏，并纳入日常巡查机制。")
    if verb == "followup":
        followup = handling.open_followup(s)
        return followup and handling.complete_followup(followup, actor=user, kept=True,
                                                       result="路灯已全部更换完毕，巡查机制已建立。")
    raise AssertionError(f"no operation for {verb}")


# Verbs acting on a row the case may not have: with no row, there is nothing to refuse.
NEEDS_ROW = {"decide_extension", "refuse_reassign", "release_assisting", "followup"}

# The form (or link) each verb has on the suggestion page: the path after /staff/suggestions/<id>/.
FORM_OF = {"update": "edit", "submit": "submit", "cosign": "cosign", "rate": "rate",
           "assign": "assign", "return": "return", "merge": "merge", "reassign": "reassign",
           "set_deadline": "deadline", "chase": "chase", "supervise": "supervision",
           "note": "note", "decide_extension": "extensions/N/decide",
           "refuse_reassign": "assignments/N/refuse-reassign",
           "release_assisting": "assignments/N/release", "accept": "accept",
           "request_reassign": "request-reassign", "request_extension": "request-extension",
           "opinion": "opinion", "answer": "answer", "followup": "followups/N"}
FORM_RE = re.compile(r'(?:action|href)="/staff/suggestions/\d+/([a-z\-/0-9]+)"')


def _page_forms(app, user, s) -> set[str]:
    """The forms the action partials of the suggestion page show this user, by verb."""
    from flask import render_template
    from flask_login import login_user

    from backend.core.extensions import db
    from backend.core.timeutil import local_today
    from backend.org.models import Department
    from backend.suggestions import core, policy
    today = local_today()
    context = dict(suggestion=s, today=today, overdue=core.is_overdue(s, today), policy=policy,
                   rating_labels=drafting.RATING_LABELS,
                   assignment=policy.department_assignment(user, s),
                   departments=list(db.session.scalars(db.select(Department))))
    with app.test_request_context(f"/staff/suggestions/{s.id}"):
        login_user(user)
        html = "".join(render_template(f"staff/suggestion_actions_{part}.html", **context)
                       for part in ("deputy", "admin", "department"))
    paths = {re.sub(r"/\d+", "/N", p) for p in FORM_RE.findall(html)}
    verb_of = {form: verb for verb, form in FORM_OF.items()}
    assert paths <= set(verb_of), paths - set(verb_of)
    return {verb_of[p] for p in paths}


@pytest.mark.parametrize("case", list(EXPECTED))
def test_allowed_actions_match_the_operations(app, db, suggestion_world, make_suggestion, case):
    w = suggestion_world
    s, target = _build(case, w, make_suggestion, db)
    s_id, target_id = s.id, target.id
    for role in ROLES:
        expected = set(EXPECTED[case].get(role, set()))
        s = db.session.get(Suggestion, s_id)
        assert allowed_actions(w.users[role], s) == expected, (case, role)
        assert _page_forms(app, w.users[role], s) == expected, (case, role)
        for verb in ALL_VERBS:
            s = db.session.get(Suggestion, s_id)
            target = db.session.get(Suggestion, target_id)
            user = w.users[role]
            if verb in expected:
                try:
                    _attempt(verb, s, user, w, target)
                except Exception as err:  # noqa: BLE001 - the message says which pair broke
                    pytest.fail(f"{case}/{role}: {verb} is offered but refused: {err!r}")
            else:
                try:
                    result = _attempt(verb, s, user, w, target)
                except (Forbidden, InvalidState):
                    pass
                else:
                    assert result is None and verb in NEEDS_ROW, \
                        f"{case}/{role}: {verb} is not offered but the operation accepts it"
            db.session.rollback()
        assert db.session.get(Suggestion, s_id).status == _status(case)  # all rolled back


def test_every_verb_has_an_operation_and_the_table_covers_every_status(db):
    from backend.suggestions.models import SUGGESTION_STATUSES
    assert {_status(c) for c in EXPECTED} == set(SUGGESTION_STATUSES)
    offered = set().union(*(v for case in EXPECTED.values() for v in case.values()))
    assert offered == set(ALL_VERBS)  # every verb is offered somewhere, so each is tried


# ---- the templates read the set; they do not compare statuses ----

TEMPLATES = Path(__file__).resolve().parents[2] / "backend" / "templates" / "staff"
STATUS_TEST = re.compile(
    r"\b(?:s|suggestion)\.status\s*(?:==|!=|\bin\b|\bnot\s+in\b)|\bstatus\s+(?:not\s+)?in\s*\(")


def test_no_suggestion_template_re_encodes_the_state_machine():
    files = sorted(TEMPLATES.glob("suggestion_*.html"))
    assert len(files) >= 5
    offending = [f"{f.name}:{n}: {line.strip()}" for f in files
                 for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1)
                 if STATUS_TEST.search(line)]
    assert offending == []


def test_the_guard_catches_a_planted_status_list():
    assert STATUS_TEST.search('{% if s.status in ("assigned", "in_progress") %}')
    assert STATUS_TEST.search('{% if s.status == "submitted" %}')
    assert STATUS_TEST.search('{% set handling = x.status in ("a", "b") %}')
    assert not STATUS_TEST.search('{% if "assign" in actions %}')
