"""A small district for the suggestion tests: two stations, deputies, departments, residents with
messages, one account per role, and `make_suggestion` that puts a suggestion straight into any
state (rows written directly, so a test of one step does not depend on the operations before it)."""
import uuid
from datetime import date, timedelta
from types import SimpleNamespace

import pytest

from backend.suggestions.models import (
    DepartmentReply, Suggestion, SuggestionAssignment, SuggestionCosigner,
)
from backend.core.timeutil import utcnow


@pytest.fixture
def suggestion_world(db, district, make_deputy, make_staff, make_resident):
    """Station A has deputies 王建国 (the author) and 刘芳 (a colleague); station B has 陈明.
    Departments: 住建局 (lead), 交通局 (assisting), 水务局 (uninvolved). Residents 1 and 2 wrote
    messages to 王建国; resident 3 wrote to 陈明. Users: admin, liaison_own (A), liaison_other (B),
    author, colleague, outsider (deputies), dept_lead, dept_assist, dept_other."""
    from backend.messages.operations import submit_message
    station_a, station_b = district.station_a, district.station_b
    author = make_deputy(name="王建国", stations=[station_a])
    colleague = make_deputy(name="刘芳", stations=[station_a])
    outsider = make_deputy(name="陈明", stations=[station_b])
    lead, assist, other = district.departments(3)
    residents = [make_resident(openid=f"openid-{i}-{uuid.uuid4().hex[:8]}") for i in range(3)]
    bodies = ["小区门口的路灯坏了一个多月，晚上很不安全。",
              "我们小区旁边的路灯一直不亮，老人晚上出门很危险。",
              "桂花坪菜市场周边乱停车严重，希望整治。"]
    messages = [
        submit_message(resident=residents[0], deputy=author, body=bodies[0],
                       idempotency_key=uuid.uuid4().hex).message,
        submit_message(resident=residents[1], deputy=author, body=bodies[1],
                       idempotency_key=uuid.uuid4().hex).message,
        submit_message(resident=residents[2], deputy=outsider, body=bodies[2],
                       idempotency_key=uuid.uuid4().hex).message,
    ]
    users = {
        "admin": make_staff("admin"),
        "liaison_own": make_staff("liaison", stations=[station_a]),
        "liaison_other": make_staff("liaison", stations=[station_b]),
        "author": make_staff("deputy", deputy=author),
        "colleague": make_staff("deputy", deputy=colleague),
        "outsider": make_staff("deputy", deputy=outsider),
        "dept_lead": make_staff("department", department=lead),
        "dept_assist": make_staff("department", department=assist),
        "dept_other": make_staff("department", department=other),
    }
    db.session.commit()
    return SimpleNamespace(station_a=station_a, station_b=station_b, author=author,
                           colleague=colleague, outsider=outsider, lead=lead, assist=assist,
                           other=other, residents=residents, messages=messages, users=users)


@pytest.fixture
def make_suggestion(db, suggestion_world):
    """make_suggestion(status="in_progress", ...) → a Suggestion by 王建国 from messages 1 and 2,
    already in that state: submitted ones have submitted_at; assigned and later ones have a
    lead assignment to 住建局 and an assisting one to 交通局 (accepted from in_progress on) and a
    deadline; answered and later ones a class-`resolution` reply (B: promised in 30 days)."""
    w = suggestion_world

    def make(status="draft", *, resolution="A", messages=None, cosigners=(), deadline_on=None,
             **kw):
        now = utcnow()
        s = Suggestion(deputy_id=w.author.id, status=status,
                       title=kw.pop("title", "关于修复城关街道路灯的建议"),
                       category=kw.pop("category", "城乡建设"),
                       problem=kw.pop("problem", "城关街道多处路灯损坏，居民夜间出行不便。"),
                       proposal=kw.pop("proposal", "请区住建局尽快排查修复，并建立巡查机制。"), **kw)
        s.messages = list(w.messages[:2] if messages is None else messages)
        for deputy in cosigners:
            s.cosigners.append(SuggestionCosigner(deputy_id=deputy.id))
        if status != "draft":
            s.submitted_at = now - timedelta(days=40)
        db.session.add(s)
        db.session.flush()
        if status in ("assigned", "in_progress", "answered", "reanswering", "closed"):
            s.assigned_at = now - timedelta(days=30)
            s.deadline_on = deadline_on or date.today() + timedelta(days=60)
            accepted = None if status == "assigned" else now - timedelta(days=29)
            db.session.add_all([
                SuggestionAssignment(suggestion_id=s.id, department_id=w.lead.id, role="lead",
                                     status="accepted" if accepted else "pending",
                                     assigned_at=s.assigned_at, accepted_at=accepted),
                SuggestionAssignment(suggestion_id=s.id, department_id=w.assist.id,
                                     role="assisting",
                                     status="accepted" if accepted else "pending",
                                     assigned_at=s.assigned_at, accepted_at=accepted),
            ])
        if status in ("answered", "reanswering", "closed"):
            s.answered_at = now - timedelta(days=5)
            db.session.add(DepartmentReply(
                suggestion_id=s.id, department_id=w.lead.id, round=1, resolution=resolution,
                body="已组织排查，共修复路灯23盏，并纳入日常巡查。",
                promised_by=date.today() + timedelta(days=30) if resolution == "B" else None,
                milestones=[{"date": (date.today() + timedelta(days=10)).isoformat(),
                             "text": "完成招标"}] if resolution == "B" else None,
                reason="资金暂未落实" if resolution == "C" else ""))
        if status == "closed":
            s.closed_at = now - timedelta(days=1)
        db.session.commit()
        return s
    return make
