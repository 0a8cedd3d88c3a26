"""The demo data that `scripts/start` loads on a fresh machine."""
import sqlalchemy as sa

from backend.cli.demo import load_demo
from backend.messages.moderation_model import ContentRule
from backend.org.models import Deputy
from backend.org.code_model import DeputyCode
from backend.messages.models import Message
from backend.notifications.models import Notification
from backend.reception.models import ReceptionDay, ReceptionDuty
from backend.accounts.models import StaffUser
from backend.suggestions.models import Suggestion
from backend.activities.models import Activity, ActivityAttendance, ActivityItem
from backend.messages.triage_model import RoutingRule
from backend.projects.models import ProjectProposal, ProjectRound, ProjectSupport


def _count(db, model, *where):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_demo_loads_once_with_photos_codes_accounts_and_messages(db):
    """And a little of each feature in use, so a newcomer sees it populated."""
    passwords = load_demo()
    db.session.commit()
    assert {u for u, _, _ in passwords} == {"admin", "liaison1", "liaison2", "deputy_wang", "dept_zjj"}
    deputies = db.session.scalars(sa.select(Deputy)).all()
    assert len(deputies) == 12 and all(d.photo_path for d in deputies)
    assert len({d.level for d in deputies}) >= 4
    assert _count(db, DeputyCode, DeputyCode.revoked_at.is_(None)) == 12
    assert _count(db, ContentRule) > 0
    assert _count(db, Message, Message.status == "answered") == 1
    assert _count(db, ReceptionDay) >= 4 * 3  # every station, three months ahead
    assert _count(db, ReceptionDuty) >= _count(db, ReceptionDay)
    # One suggestion at each stage a visitor should see, and its residents told of the answer.
    assert sorted(db.session.scalars(sa.select(Suggestion.status))) == [
        "answered", "draft", "submitted"]
    answered = db.session.scalar(sa.select(Suggestion).filter_by(status="answered"))
    assert answered.latest_reply.resolution == "B" and len(answered.messages) == 2
    assert _count(db, Notification, Notification.topic == "suggestion.answered",
                  Notification.recipient_kind == "resident") == 2
    # Activities: held ones with records and attendance, ones ahead with invitations, a report.
    statuses = sorted(db.session.scalars(sa.select(Activity.status)))
    assert statuses == ["held", "held", "planned", "planned", "reported"]
    session = db.session.scalar(sa.select(Activity).filter_by(kind="deliberation"))
    assert session.topic and session.resident_count > 0 and session.agreed
    assert {a.status for a in session.attendances} == {"attended", "absent"}
    planned = db.session.scalars(sa.select(Activity).filter_by(status="planned")).all()
    assert all(a.attendances for a in planned)
    assert _count(db, ActivityAttendance, ActivityAttendance.status == "accepted") >= 1
    assert _count(db, Notification, Notification.topic == "activity.invited") >= 10
    raised = db.session.scalar(sa.select(ActivityItem).where(ActivityItem.message_id.is_not(None)))
    assert db.session.get(Message, raised.message_id).channel == "activity"
    assert _count(db, ActivityItem, ActivityItem.message_id.is_(None)) == 1
    # A project round collecting proposals (residents' with supporters, a deputy's).
    round_ = db.session.scalar(sa.select(ProjectRound))
    assert round_.status == "collecting"
    assert sorted(db.session.scalars(sa.select(ProjectProposal.author_kind))) == [
        "deputy", "resident", "resident"]
    assert _count(db, ProjectSupport) >= 1
    # Routing rules the queue can suggest from.
    assert _count(db, RoutingRule) == 2
    user = db.session.scalar(sa.select(StaffUser).filter_by(username="admin"))
    assert user.check_password(dict((u, p) for u, _, p in passwords)["admin"])
    assert load_demo() is None  # a second run changes nothing
