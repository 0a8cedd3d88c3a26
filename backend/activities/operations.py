"""What happens to an activity: organised and invitations sent, answered (参加/请假), checked in
with the organiser's code or by the organiser, recorded afterwards (absences marked), cancelled;
and a deputy's own activity reported, then confirmed or rejected by the station.

Each operation checks the policy and the state, changes rows, flushes, writes the audit row and
the outbox rows; the caller commits once."""
import hmac
import secrets
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from backend.activities import policy
from backend.activities.models import (
    ACTIVITY_KINDS, Activity, ActivityAttendance,
)
from backend.core import idempotency
from backend.core.audit import record as audit, snapshot
from backend.core.errors import Forbidden, InvalidState, ValidationFailed
from backend.core.extensions import db
from backend.core.textcount import clean_text, visible_length
from backend.core.timeutil import LOCAL_TZ, people_time, utcnow
from backend.notifications.notify import notify, notify_station_liaisons
from backend.notifications.places import Place
from backend.org.models import Deputy, Station

TITLE_MAX = 100
PLACE_MAX = 200
ORGANISER_MAX = 80
SUMMARY_MIN, SUMMARY_MAX = 5, 2000
REASON_MAX = 200
CODE_LENGTH = 6
# A deputy may enter the code from an hour before the start until two hours after the end.
CHECKIN_EARLY = timedelta(hours=1)
CHECKIN_LATE = timedelta(hours=2)
ACTIVITY_FIELDS = ("kind", "title", "place", "starts_at", "ends_at", "station_id", "organiser",
                   "status")
ANSWERS = {"accept": "accepted", "excuse": "excused"}
# The names of residents at a 议事 are personal data: the audit log counts them, never copies.
RECORD_FIELDS = ("status", "summary", "topic", "resident_count", "agreed")
TOPIC_MAX = 200
RESIDENTS_MAX = 10_000
NAMES_MAX = 500
AGREED_MAX = 2000


def local_datetime(day: date, at: time) -> datetime:
    """A date and a clock time as read in Beijing, as the aware UTC moment it names."""
    return datetime.combine(day, at, tzinfo=LOCAL_TZ)


def invitable_deputies(station_id: int | None) -> list[Deputy]:
    """A station invites its own active deputies; the office any active deputy."""
    stmt = sa.select(Deputy).where(Deputy.is_active.is_(True)).order_by(Deputy.id)
    if station_id is not None:
        stmt = stmt.where(Deputy.stations.any(id=station_id))
    return list(db.session.scalars(stmt))


def create_activity(*, actor, kind, title, place, starts_at, ends_at, station_id=None,
                    organiser="", deputy_ids=(), now: datetime | None = None) -> Activity:
    activity, deputies = _new_organised(actor, kind, title, place, starts_at, ends_at,
                                        station_id, organiser, deputy_ids, now)
    db.session.add(activity)
    db.session.flush()
    _organised(activity, deputies, actor)
    return activity


def create_activity_once(*, actor, idempotency_key, kind, title, place, starts_at, ends_at,
                         station_id=None, organiser="", deputy_ids=(),
                         now: datetime | None = None) -> tuple[Activity, bool]:
    """create_activity from the staff form, which a double click or a resubmit posts twice:
    (the activity, whether it was made now); the same key again makes and invites nothing
    (backend/core/idempotency.py)."""
    _check_organiser(actor, station_id or None)
    invited = {}

    def make(key):
        activity, invited["deputies"] = _new_organised(
            actor, kind, title, place, starts_at, ends_at, station_id, organiser, deputy_ids,
            now)
        activity.idempotency_key = key
        return activity
    activity, created = idempotency.record_once(
        Activity, idempotency_key, what="项活动", make=make,
        same=lambda a: a.origin == "organised" and _same_details(
            a, actor, kind, title, place, starts_at, ends_at, station_id))
    if created:
        _organised(activity, invited["deputies"], actor)
    return activity, created


def _new_organised(actor, kind, title, place, starts_at, ends_at, station_id, organiser,
                   deputy_ids, now) -> tuple[Activity, list[Deputy]]:
    """The unsaved organised activity and whom it invites, its input checked."""
    station_id = station_id or None
    _check_organiser(actor, station_id)
    data, errors = _details(kind=kind, title=title, place=place, starts_at=starts_at,
                            ends_at=ends_at, organiser=organiser)
    station = db.session.get(Station, station_id) if station_id else None
    if station_id and (station is None or not station.is_active):
        errors["station_id"] = ["请选择在用的联络站"]
    elif data.get("ends_at") and data["ends_at"] <= (now or utcnow()):
        errors["starts_at"] = ["活动时间已过；已经举行的活动请由代表报备"]
    deputies, bad = _invitees(station_id, deputy_ids)
    if bad:
        errors["deputy_ids"] = bad
    if errors:
        raise ValidationFailed(errors=errors)
    activity = Activity(origin="organised", status="planned", station_id=station_id,
                        created_by_id=actor.id, checkin_code=_new_code(),
                        organiser=data.pop("organiser") or _organiser_name(station), **data)
    return activity, deputies


def _check_organiser(actor, station_id: int | None) -> None:
    if not policy.can_organise(actor, station_id):
        raise Forbidden("只有代工委或本站联络员可以组织活动", code="activity_forbidden")


def _check_reporter(actor, deputy: Deputy) -> None:
    if not policy.can_report(actor) or actor.deputy_id != deputy.id:
        raise Forbidden("只有代表本人可以报备自己的活动", code="activity_forbidden")


def _organised(activity: Activity, deputies, actor) -> None:
    audit("activity.create", activity, actor=actor, after=snapshot(activity, ACTIVITY_FIELDS))
    _invite(activity, deputies, actor=actor)


def _same_details(activity: Activity, actor, kind, title, place, starts_at, ends_at,
                  station_id) -> bool:
    """Whether a retry sent the activity the key made already."""
    return (activity.created_by_id, activity.station_id, activity.kind, activity.title,
            activity.place, activity.starts_at, activity.ends_at) == (
        actor.id, station_id or None, kind, clean_text(title or ""), clean_text(place or ""),
        starts_at, ends_at)


def invite_deputies(activity: Activity, *, actor, deputy_ids) -> list[ActivityAttendance]:
    """More deputies invited to a planned activity; those already invited are left as they are.
    Locked like the other steps: two organisers inviting one deputy at once invite them once,
    and an invitation never lands on an activity cancelled a moment before."""
    _check_manage(actor, activity)
    activity = _locked(activity)
    _check_status(activity, "planned", "活动已结束或已取消，不能再邀请代表")
    already = {a.deputy_id for a in activity.attendances}
    deputies, bad = _invitees(activity.station_id, [i for i in deputy_ids if i not in already])
    if bad:
        raise ValidationFailed(errors={"deputy_ids": bad})
    if not deputies:
        raise ValidationFailed(errors={"deputy_ids": ["请选择要邀请的代表"]})
    return _invite(activity, deputies, actor=actor)


def answer_invitation(attendance: ActivityAttendance, *, actor, answer, reason="",
                      now: datetime | None = None) -> ActivityAttendance:
    """参加 or 请假 (with a reason); the answer may change until the activity begins."""
    if not policy.can_answer(actor, attendance):
        raise Forbidden("只能回复邀请您本人的活动", code="attendance_forbidden")
    activity = _locked(attendance.activity)
    _check_status(activity, "planned", "活动已结束或已取消，不能再回复")
    if (now or utcnow()) >= activity.starts_at:
        raise InvalidState("活动已经开始，不能再回复；请直接联系组织者", code="activity_started")
    if attendance.status == "attended":
        raise InvalidState("您已签到", code="already_checked_in")
    reason = clean_text(reason or "")
    errors = {}
    if answer not in ANSWERS:
        errors["answer"] = ["请选择参加或请假"]
    elif answer == "excuse" and not reason:
        errors["reason"] = ["请假请写明原因"]
    if visible_length(reason) > REASON_MAX:
        errors["reason"] = [f"原因不能超过 {REASON_MAX} 个字"]
    if errors:
        raise ValidationFailed(errors=errors)
    before = snapshot(attendance, ("status", "reason"))
    attendance.status = ANSWERS[answer]
    attendance.reason = reason if answer == "excuse" else ""
    attendance.answered_at = now or utcnow()
    db.session.flush()
    audit("activity.answer", attendance, actor=actor, before=before,
          after=snapshot(attendance, ("status", "reason")))
    if answer == "excuse" and activity.created_by_id:
        notify("staff", activity.created_by_id, "activity.excused",
               f"{attendance.deputy.name}请假：{activity.title}", body=reason,
               place=_organiser_place(activity), subject=activity)
    return attendance


def check_in_with_code(activity: Activity, *, actor, code, now: datetime | None = None
                       ) -> ActivityAttendance:
    """The deputy enters the code the organiser shows at the activity."""
    attendance = activity.attendance_of(getattr(actor, "deputy_id", None))
    if attendance is None or not policy.can_answer(actor, attendance):
        raise Forbidden("您不在这次活动的邀请名单上，请联系组织者", code="not_invited")
    activity = _locked(activity)
    _check_status(activity, "planned", "活动已结束或已取消，不能签到")
    now = now or utcnow()
    if not activity.starts_at - CHECKIN_EARLY <= now <= activity.ends_at + CHECKIN_LATE:
        raise InvalidState("现在不在签到时间内（活动开始前 1 小时到结束后 2 小时）",
                           code="checkin_closed")
    entered = "".join((code or "").split())
    if not hmac.compare_digest(entered.encode(), activity.checkin_code.encode()):
        raise ValidationFailed(errors={"code": ["签到码不对，请核对组织者手机上显示的签到码"]})
    return _check_in(attendance, "code", actor=actor, now=now)


def mark_present(attendance: ActivityAttendance, *, actor, now: datetime | None = None
                 ) -> ActivityAttendance:
    """The organiser ticks a deputy present (no phone, or the code would not go in)."""
    activity = attendance.activity
    _check_manage(actor, activity)
    activity = _locked(activity)
    _check_status(activity, "planned", "活动已结束或已取消，不能签到")
    now = now or utcnow()
    if now < activity.starts_at - CHECKIN_EARLY:
        raise InvalidState("活动还没开始，不能签到", code="checkin_closed")
    return _check_in(attendance, "organiser", actor=actor, now=now)


def record_activity(activity: Activity, *, actor, summary, details: dict | None = None,
                    now: datetime | None = None) -> Activity:
    """The short record afterwards. The first one closes the activity: whoever was invited and
    neither came nor was excused is marked absent. Later ones only correct the text. A 议事
    also records its topic, how many residents took part (names optional) and what was agreed;
    other kinds ignore `details`. Names absent from `details` (None) are kept as they are: a
    channel that never shows them (the mini-program) cannot send them back."""
    _check_manage(actor, activity)
    activity = _locked(activity)
    if activity.status not in ("planned", "held"):
        raise InvalidState("活动已取消或不是组织的活动，不能填写活动记录", code="invalid_state")
    now = now or utcnow()
    if now < activity.starts_at:
        raise InvalidState("活动还没开始，结束后再填写记录", code="activity_not_held")
    summary = clean_text(summary or "")
    errors = {}
    if not SUMMARY_MIN <= visible_length(summary) <= SUMMARY_MAX:
        errors["summary"] = [f"请用 {SUMMARY_MIN} 到 {SUMMARY_MAX} 个字记录活动情况"]
    deliberation = (_deliberation(details or {}, errors) if activity.is_deliberation else {})
    if errors:
        raise ValidationFailed(errors=errors)
    before = snapshot(activity, RECORD_FIELDS)
    for field, value in deliberation.items():
        setattr(activity, field, value)
    if activity.status == "planned":
        for a in activity.attendances:
            if a.status in ("invited", "accepted"):
                a.status = "absent"
        activity.status = "held"
    activity.summary, activity.recorded_at = summary, now
    db.session.flush()
    audit("activity.record", activity, actor=actor, before=before,
          after={**snapshot(activity, RECORD_FIELDS),
                 "absent": sorted(a.deputy_id for a in activity.attendances
                                  if a.status == "absent")})
    return activity


def cancel_activity(activity: Activity, *, actor, reason) -> Activity:
    _check_manage(actor, activity)
    activity = _locked(activity)
    _check_status(activity, "planned", "只有待举行的活动可以取消")
    reason = clean_text(reason or "")
    if not reason or visible_length(reason) > REASON_MAX:
        raise ValidationFailed(errors={"reason": [f"请用 {REASON_MAX} 个字以内写明取消原因"]})
    activity.status, activity.status_note = "cancelled", reason
    db.session.flush()
    audit("activity.cancel", activity, actor=actor, before={"status": "planned"},
          after={"status": "cancelled", "reason": reason})
    for a in activity.attendances:
        if a.status != "excused":
            notify("deputy", a.deputy_id, "activity.cancelled", f"活动取消：{activity.title}",
                   body=reason, place=_place(activity), subject=activity)
    return activity


def report_activity(deputy: Deputy, *, actor, kind, title, place, starts_at, ends_at,
                    station_id, summary, now: datetime | None = None) -> Activity:
    """A deputy's own activity (走访 of their constituents…), for their station to confirm."""
    activity = _new_report(deputy, actor, kind, title, place, starts_at, ends_at, station_id,
                           summary, now)
    db.session.add(activity)
    db.session.flush()
    _reported(activity, deputy, actor)
    return activity


def report_activity_once(deputy: Deputy, *, actor, idempotency_key, kind, title, place,
                         starts_at, ends_at, station_id, summary,
                         now: datetime | None = None) -> tuple[Activity, bool]:
    """report_activity from the staff form, which a double click or a resubmit posts twice:
    (the activity, whether it was reported now); the same key again reports nothing
    (backend/core/idempotency.py)."""
    _check_reporter(actor, deputy)

    def make(key):
        activity = _new_report(deputy, actor, kind, title, place, starts_at, ends_at,
                               station_id, summary, now)
        activity.idempotency_key = key
        return activity
    activity, created = idempotency.record_once(
        Activity, idempotency_key, what="项活动", make=make,
        same=lambda a: a.origin == "reported" and a.summary == clean_text(summary or "")
        and _same_details(a, actor, kind, title, place, starts_at, ends_at, station_id))
    if created:
        _reported(activity, deputy, actor)
    return activity, created


def _new_report(deputy, actor, kind, title, place, starts_at, ends_at, station_id, summary,
                now) -> Activity:
    """The unsaved reported activity with the deputy's attendance, its input checked."""
    _check_reporter(actor, deputy)
    data, errors = _details(kind=kind, title=title, place=place, starts_at=starts_at,
                            ends_at=ends_at, organiser="")
    if station_id not in {s.id for s in deputy.stations}:
        errors["station_id"] = ["请选择您所在的联络站"]
    if data.get("ends_at") and data["ends_at"] > (now or utcnow()):
        errors["ends_at"] = ["只能报备已经结束的活动"]
    summary = clean_text(summary or "")
    if not SUMMARY_MIN <= visible_length(summary) <= SUMMARY_MAX:
        errors["summary"] = [f"请用 {SUMMARY_MIN} 到 {SUMMARY_MAX} 个字写明活动情况"]
    if errors:
        raise ValidationFailed(errors=errors)
    data.pop("organiser")
    activity = Activity(origin="reported", status="reported", station_id=station_id,
                        created_by_id=actor.id, organiser=deputy.name, summary=summary,
                        recorded_at=now or utcnow(), **data)
    activity.attendances.append(ActivityAttendance(
        deputy_id=deputy.id, status="attended", checked_in_at=data["starts_at"],
        checked_in_by="reported"))
    return activity


def _reported(activity: Activity, deputy: Deputy, actor) -> None:
    audit("activity.report", activity, actor=actor, after=snapshot(activity, ACTIVITY_FIELDS))
    notify_station_liaisons(activity.station_id, "activity.reported",
                            f"{deputy.name}报备了活动，请确认", body=activity.title,
                            place=_organiser_place(activity), subject=activity)


def confirm_report(activity: Activity, *, actor) -> Activity:
    return _settle_report(activity, "confirmed", actor=actor)


def reject_report(activity: Activity, *, actor, reason) -> Activity:
    reason = clean_text(reason or "")
    if not reason or visible_length(reason) > REASON_MAX:
        _check_manage(actor, activity)  # a stranger hears "forbidden", not what to write
        raise ValidationFailed(errors={"reason": [f"请用 {REASON_MAX} 个字以内写明不予确认的原因"]})
    return _settle_report(activity, "rejected", actor=actor, reason=reason)


# ---- helpers ----

def _settle_report(activity: Activity, status: str, *, actor, reason: str = "") -> Activity:
    _check_manage(actor, activity)
    activity = _locked(activity)
    _check_status(activity, "reported", "这条活动报备已经处理过了")
    activity.status, activity.status_note = status, reason
    db.session.flush()
    audit("activity.confirm" if status == "confirmed" else "activity.reject", activity,
          actor=actor, before={"status": "reported"}, after={"status": status, "reason": reason})
    word = "已确认" if status == "confirmed" else "未予确认"
    for a in activity.attendances:
        notify("deputy", a.deputy_id, f"activity.{status}", f"您报备的活动{word}",
               body=reason or activity.title, place=_place(activity), subject=activity)
    return activity


def _details(*, kind, title, place, starts_at, ends_at, organiser) -> tuple[dict, dict]:
    errors: dict[str, list[str]] = {}
    title, place, organiser = (clean_text(v or "") for v in (title, place, organiser))
    if kind not in ACTIVITY_KINDS:
        errors["kind"] = ["请选择活动类型"]
    if not 2 <= visible_length(title) <= TITLE_MAX:
        errors["title"] = [f"请用 2 到 {TITLE_MAX} 个字写明活动名称"]
    if not place or visible_length(place) > PLACE_MAX:
        errors["place"] = [f"请填写活动地点（{PLACE_MAX} 个字以内）"]
    if visible_length(organiser) > ORGANISER_MAX:
        errors["organiser"] = [f"组织单位不能超过 {ORGANISER_MAX} 个字"]
    if not isinstance(starts_at, datetime) or starts_at.tzinfo is None:
        errors["starts_at"] = ["请填写活动开始时间"]
    elif not isinstance(ends_at, datetime) or ends_at.tzinfo is None:
        errors["ends_at"] = ["请填写活动结束时间"]
    elif ends_at <= starts_at:
        errors["ends_at"] = ["结束时间应晚于开始时间"]
    elif ends_at - starts_at > timedelta(days=7):
        errors["ends_at"] = ["一次活动最长 7 天"]
    data = {"kind": kind, "title": title, "place": place, "organiser": organiser}
    if "starts_at" not in errors and "ends_at" not in errors:
        data.update(starts_at=starts_at, ends_at=ends_at)
    return data, errors


def _deliberation(details: dict, errors: dict) -> dict:
    """A 议事's topic, residents and 议定事项, checked; errors added to `errors`. The residents'
    names only when `details` has them (None: keep the recorded ones)."""
    topic = clean_text(details.get("topic") or "")
    names = details.get("resident_names")
    names = None if names is None else clean_text(names)
    agreed = clean_text(details.get("agreed") or "")
    count = details.get("resident_count")
    if not 2 <= visible_length(topic) <= TOPIC_MAX:
        errors["topic"] = [f"请用 2 到 {TOPIC_MAX} 个字写明议题"]
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= RESIDENTS_MAX:
        errors["resident_count"] = [f"参加议事的群众人数应为 0 到 {RESIDENTS_MAX} 之间的整数"]
    if names is not None and visible_length(names) > NAMES_MAX:
        errors["resident_names"] = [f"群众姓名不能超过 {NAMES_MAX} 个字"]
    if not 2 <= visible_length(agreed) <= AGREED_MAX:
        errors["agreed"] = [f"请用 2 到 {AGREED_MAX} 个字写明议定事项；没有议定的，写明“未形成议定事项”及原因"]
    checked = {"topic": topic, "resident_count": count, "agreed": agreed}
    return checked if names is None else {**checked, "resident_names": names}


def _invitees(station_id: int | None, deputy_ids) -> tuple[list[Deputy], list[str]]:
    allowed = {d.id: d for d in invitable_deputies(station_id)}
    ids = list(dict.fromkeys(deputy_ids or ()))
    if any(i not in allowed for i in ids):
        return [], ["只能邀请本站在任的代表" if station_id else "只能邀请在任的代表"]
    return [allowed[i] for i in ids], []


def _invite(activity: Activity, deputies: list[Deputy], *, actor) -> list[ActivityAttendance]:
    rows = [ActivityAttendance(deputy_id=d.id, status="invited") for d in deputies]
    activity.attendances.extend(rows)
    db.session.flush()
    if rows:
        audit("activity.invite", activity, actor=actor,
              after={"deputy_ids": [d.id for d in deputies]})
    when = people_time(activity.starts_at)
    for d in deputies:
        notify("deputy", d.id, "activity.invited", f"活动邀请：{activity.title}",
               body=f"{activity.kind_label} · {when} · {activity.place}。请回复参加或请假。",
               place=_place(activity), subject=activity)
    return rows


def _check_in(attendance: ActivityAttendance, way: str, *, actor, now: datetime
              ) -> ActivityAttendance:
    if attendance.status == "attended":
        return attendance  # a second scan, or the organiser ticking someone already in
    before = snapshot(attendance, ("status",))
    attendance.status, attendance.checked_in_at, attendance.checked_in_by = "attended", now, way
    db.session.flush()
    audit("activity.check_in", attendance, actor=actor, before=before,
          after={"status": "attended", "way": way})
    return attendance


def _locked(activity: Activity) -> Activity:
    """The activity row locked (PostgreSQL) and re-read with its attendances: an answer, a
    check-in, the record and a cancel on the same activity queue behind each other, so the
    record never marks absent someone who checked in a moment before."""
    db.session.scalars(sa.select(Activity).where(Activity.id == activity.id).with_for_update()
                       .execution_options(populate_existing=True)).one()
    db.session.scalars(sa.select(ActivityAttendance)
                       .where(ActivityAttendance.activity_id == activity.id)
                       .execution_options(populate_existing=True)).all()
    return activity


def _check_manage(actor, activity: Activity) -> None:
    if not policy.can_manage(actor, activity):
        raise Forbidden("只有活动的组织者（代工委或本站联络员）可以这样做",
                        code="activity_forbidden")


def _check_status(activity: Activity, status: str, message: str) -> None:
    if activity.status != status:
        raise InvalidState(message, code="invalid_state")


def _organiser_name(station: Station | None) -> str:
    return station.name if station else "区人大常委会代表工作委员会"


def _new_code() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(CODE_LENGTH))


def _place(activity: Activity) -> Place:
    """Where a deputy's notice about the activity opens."""
    return Place("activity", activity.id)


def _organiser_place(activity: Activity) -> Place:
    """Where the organiser's (or the confirming liaison's) notice opens."""
    return Place("organised_activity", activity.id)
