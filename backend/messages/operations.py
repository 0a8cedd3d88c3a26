"""A message's life: submitted by a resident, triaged by a liaison, answered by a deputy, rated.

Every transition goes through `_transition`: a guard on the current status, the change, an
event row and, where someone should hear of it, an outbox row, all in the caller's transaction.

Kept whole (past 400 lines): every transition of a message goes through one
`_transition` and one TRANSITIONS table, which the display helpers read too.
"""
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from backend.messages import policy
from backend.core.adapters import get_storage, get_wechat, public_url
from backend.core.errors import Forbidden, InvalidState, NotFound, RateLimited, ValidationFailed
from backend.core.extensions import db
from backend.core.idempotency import checked_key, key_reused, record_once
from backend.core.photos import store_image
from backend.core.loading import load_for
from backend.messages.models import (
    OPEN_STATUSES, RATING_LABELS, RATINGS, Message, MessageEvent, MessagePhoto, MessageRating,
    MessageReply,
)
from backend.core.audit_model import AuditEvent
from backend.org.models import Deputy, Station
from backend.accounts.resident_model import Resident
from backend.accounts.models import StaffUser
from backend.core.audit import record
from backend.messages.moderation import check_content
from backend.messages.insert import write_submission
from backend.messages.search import add_merged, index_tokens
from backend.notifications.places import Place
from backend.notifications.notify import notify, notify_station_liaisons
from backend.core.parsing import row_id
from backend.core.protect import (
    PHONE_RE, decrypt_phone, lookup_code, lookup_code_matches, mask_phone,
    normalise_phone, phone_fields,
)
from backend.core.textcount import clean_text, visible_length
from backend.core.timeutil import utcnow
from backend.workdays.calendar import due_at

log = logging.getLogger("lianxin.messages")
BODY_MIN, BODY_MAX = 5, 2000
MAX_PHOTOS = 9
CATEGORIES = ("城乡建设", "交通运输", "环境保护", "教育文体", "卫生计生", "劳动和社会保障", "民政",
              "商贸旅游", "农村农业", "国土资源", "经济管理", "政法", "科技与信息产业", "党务政务",
              "纪检监察", "其他")
TRACKING_RE = re.compile(r"^LY(\d{8})-(\d{6,})$")

# verb: (statuses it may start from, status it leads to; None keeps the status)
TRANSITIONS = {
    "release": ({"held"}, "new"),
    "hold": ({"new", "acknowledged", "awaiting_info", "reopened"}, "held"),
    "acknowledge": ({"new"}, "acknowledged"),
    "assign": (set(OPEN_STATUSES), None),
    "hand_back": ({"new", "acknowledged", "reopened"}, None),
    "set_category": ({"held", *OPEN_STATUSES, "answered"}, None),
    "note": ({"held", *OPEN_STATUSES, "answered", "closed", "forwarded", "rejected"}, None),
    "reject": ({"held", "new", "acknowledged", "reopened"}, "rejected"),
    "forward": ({"new", "acknowledged", "reopened"}, "forwarded"),
    "merge": ({"new", "acknowledged", "reopened"}, "merged"),
    "reply": ({"new", "acknowledged", "reopened", "awaiting_info"}, "answered"),
    "request_info": ({"new", "acknowledged", "reopened"}, "awaiting_info"),
    "add_info": ({"awaiting_info"}, "acknowledged"),
    "rate": ({"answered"}, None),
    "close": ({"answered"}, "closed"),
    "reopen": ({"answered"}, "reopened"),
}
VERB_LABELS = {
    "release": "审核放行", "hold": "转人工审核", "acknowledge": "受理", "assign": "分办", "hand_back": "退回联络员",
    "set_category": "设置分类", "note": "内部备注", "reject": "不予受理", "forward": "转办",
    "merge": "合并", "reply": "答复", "request_info": "请求补充", "add_info": "补充说明",
    "rate": "评价", "close": "办结", "reopen": "重新办理",
}


# ---- submission ----

@dataclass(frozen=True)
class Submission:
    message: Message
    lookup_code: str
    created: bool  # False when an idempotent retry returned the first result


def submit_message(*, resident: Resident, body: str, idempotency_key: str,
                   deputy: Deputy | None = None, station: Station | None = None,
                   phone: str = "", place: str = "", may_publish: bool = False,
                   photo_ids=(), channel: str = "web", now: datetime | None = None) -> Submission:
    key = checked_key(idempotency_key)
    # The key is checked by the insert itself (ON CONFLICT DO NOTHING), not by a query before
    # it: a first submission, nearly every one, costs no extra round trip. A retry that no
    # longer passes the checks (its photos are taken, by the first try) still gets its receipt.
    try:
        clean_body, phone, place, photo_ids, target = _checked(body, phone, place, photo_ids,
                                                               deputy, station)
        photos = _claim_photos(photo_ids, resident)
    except (ValidationFailed, NotFound):
        existing = _by_idempotency_key(key)
        if existing is None:
            raise
        return _replay(existing, resident, body, deputy, station)

    verdict = check_content(clean_body, openid=resident.openid)
    now = now or utcnow()
    values = dict(
        idempotency_key=key, channel=channel, resident_id=resident.id, station_id=target.id,
        deputy_id=deputy.id if deputy else None, assigned_deputy_id=deputy.id if deputy else None,
        status="held" if verdict.hold else "new", hold_reason=verdict.reason,
        body=clean_body, place=place, may_publish=bool(may_publish), created_at=now,
        search_tokens=index_tokens(clean_body, place),
        ack_due_at=due_at(now, target.ack_workdays),
        answer_due_at=due_at(now, target.answer_workdays),
        **phone_fields(phone),
    )
    # The deputy hears of it at once; a held message waits for a liaison, told below.
    message = write_submission(
        values, event_data={"hold_reason": verdict.reason, "check_note": verdict.note} if (
            verdict.hold or verdict.note) else None,
        note_body=None if verdict.hold or deputy is None else _excerpt(clean_body))
    if message is None:
        # Another request with the same key got there first (on PostgreSQL the insert waited
        # for it to commit): answer with its result.
        existing = _by_idempotency_key(key)
        if existing is None:
            raise InvalidState("提交未能完成，请重新提交", code="submission_retry")
        return _replay(existing, resident, body, deputy, station)

    for position, photo in enumerate(photos):
        photo.message_id, photo.position = message.id, position
    if verdict.hold:
        notify_station_liaisons(target.id, "message.held", "有留言待审核",
                                body=_excerpt(clean_body), place=Place("liaison_message", message.id),
                                subject=message)
    db.session.flush()  # the photos and the liaisons' notifications, when there are any
    return Submission(message, lookup_code(message.id), True)


def _checked(body, phone, place, photo_ids, deputy, station):
    """The submission's input, cleaned, and the station it goes to; ValidationFailed with every
    problem at once, or NotFound for a target that is gone."""
    body = clean_text(body)
    errors = {}
    length = visible_length(body)
    if length < BODY_MIN:
        errors["body"] = [f"留言内容至少 {BODY_MIN} 个字"]
    elif length > BODY_MAX:
        errors["body"] = [f"留言内容不能超过 {BODY_MAX} 个字（现在 {length} 个字）"]
    phone = normalise_phone(phone)
    if phone and not PHONE_RE.match(phone):
        errors["phone"] = ["请填写11位手机号码，或留空"]
    place = clean_text(place)
    if visible_length(place) > 100:
        errors["place"] = ["地点不能超过100个字"]
    photo_ids = list(dict.fromkeys(photo_ids or ()))
    if len(photo_ids) > MAX_PHOTOS:
        errors["photo_ids"] = [f"最多上传 {MAX_PHOTOS} 张照片"]
    target = _target_station(deputy, station, errors)
    if errors:
        raise ValidationFailed(errors=errors)
    return body, phone, place, photo_ids, target


def submitted_before(resident: Resident, idempotency_key: str) -> bool:
    """Whether this resident already sent a message under this key (a retry, not a new one)."""
    return db.session.scalar(
        db.select(Message.id).filter_by(idempotency_key=(idempotency_key or "").strip(),
                                        resident_id=resident.id).limit(1)) is not None


def _by_idempotency_key(key: str) -> Message | None:
    return db.session.scalar(db.select(Message).filter_by(idempotency_key=key))


def _replay(message: Message, resident: Resident, body: str, deputy, station) -> Submission:
    same_target = (message.deputy_id == deputy.id if deputy is not None
                   else message.deputy_id is None and station is not None
                   and message.station_id == station.id)
    if message.resident_id != resident.id or clean_text(body) != message.body or not same_target:
        raise key_reused("条留言")
    return Submission(message, lookup_code(message.id), False)


def _target_station(deputy, station, errors) -> Station | None:
    if deputy is not None:
        if not deputy.is_active:
            raise NotFound("该代表信息暂不公开", code="deputy_inactive")
        stations = [s for s in deputy.stations if s.is_active]
        if station is not None:
            if station not in stations:
                errors["station_id"] = ["该代表不在所选联络站"]
            return station
        if not stations:
            errors["deputy"] = ["该代表暂未进站，请选择联络站留言"]
            return None
        return stations[0]  # a deputy in several stations: the first by name keeps the case
    if station is None or not station.is_active:
        raise NotFound("该联络站不存在或已停用", code="station_unknown")
    return station


def _claim_photos(photo_ids, resident) -> list[MessagePhoto]:
    if not photo_ids:
        return []
    photos = db.session.scalars(db.select(MessagePhoto).where(MessagePhoto.id.in_(photo_ids))).all()
    by_id = {p.id: p for p in photos}
    if any(i not in by_id or by_id[i].resident_id != resident.id or by_id[i].message_id
           for i in photo_ids):
        raise ValidationFailed(errors={"photo_ids": ["照片无效或已被使用，请重新上传"]})
    return [by_id[i] for i in photo_ids]


def store_photo(upload: bytes, *, resident: Resident) -> MessagePhoto:
    """The one way a resident's photo comes in, from the portal or the mini-program: judged and
    cleaned (backend/core/images.py), stored, measured and given its row (flushed, not yet
    claimed by a message). The file is written before the row: if the row fails, the file is
    removed again; if the caller's transaction rolls back, the caller removes it
    (`photo.storage_key`) or the daily purge does."""
    stored = store_image(upload, "messages")
    try:
        photo = add_photo(resident=resident, storage_key=stored.key, width=stored.width,
                          height=stored.height, size_bytes=stored.size_bytes)
        if resident.openid:  # WeChat checks only what mini-program users send
            request_media_check(photo, openid=resident.openid)
        return photo
    except BaseException:
        get_storage().delete(stored.key)
        raise


def add_photo(*, resident: Resident, storage_key: str, width: int, height: int,
              size_bytes: int) -> MessagePhoto:
    photo = MessagePhoto(resident_id=resident.id, storage_key=storage_key, width=width,
                         height=height, size_bytes=size_bytes)
    db.session.add(photo)
    db.session.flush()
    return photo


# WeChat fetches a photo it checks from here, with a signed id that lapses (it fetches within
# 30 minutes); the wechat_push channel serves the route.
MEDIA_FETCH_PATH = "/wechat/media/"
MEDIA_FETCH_MAX_AGE = 2 * 3600


def _media_signer():
    from itsdangerous import URLSafeTimedSerializer
    return URLSafeTimedSerializer(current_app.secret_key, salt="lianxin.wechat-media")


def request_media_check(photo: MessagePhoto, *, openid: str) -> None:
    """Ask WeChat to check the photo (mediaCheckAsync) when both the API and the push that
    carries the verdict are configured; keep the trace id the verdict will name. WeChat down
    refuses no one: the photo stays, a liaison still sees every held message."""
    config = current_app.config
    wechat = get_wechat()
    if not (wechat.configured and config.get("WECHAT_PUSH_TOKEN")
            and config.get("WECHAT_PUSH_AES_KEY")):
        return
    from backend.core.wechat import WeChatError
    url = public_url(MEDIA_FETCH_PATH + _media_signer().dumps(photo.id))
    try:
        photo.media_trace_id = wechat.media_check_async(url, openid)
    except WeChatError as err:
        log.warning("mediaCheckAsync unavailable for photo %s: %s", photo.id, err)
        return
    db.session.flush()


def photo_for_fetch_token(token: str) -> MessagePhoto | None:
    """The photo a media-fetch URL names, while it is valid and the photo not hidden."""
    from itsdangerous import BadData
    try:
        photo_id = _media_signer().loads(token, max_age=MEDIA_FETCH_MAX_AGE)
    except BadData:
        return None
    return visible_photo(photo_id) if isinstance(photo_id, int) else None


def photo_by_trace_id(trace_id: str) -> MessagePhoto | None:
    return db.session.scalar(db.select(MessagePhoto).filter_by(media_trace_id=trace_id))


def visible_photo(photo_id: int) -> MessagePhoto | None:
    """A photo by id, unless it was hidden (found risky): the routes that send files use this."""
    photo = db.session.get(MessagePhoto, photo_id)
    return photo if photo is not None and photo.hidden_at is None else None


def hide_risky_photo(photo: MessagePhoto, *, label_text: str, actor=None) -> bool:
    """WeChat's media check found the photo risky: no one is shown it any more, and the message
    it came with waits for a liaison (held, with the reason; a message already past the
    liaison keeps its status and gets an internal note). False when it was hidden already."""
    if photo.hidden_at is not None:
        return False
    photo.hidden_at = utcnow()
    reason = f"照片未通过微信内容安全检测（{label_text}）"
    record("message_photo.hide", photo, actor=actor, before={"hidden_at": None},
           after={"hidden_at": photo.hidden_at.isoformat(), "reason": reason,
                  "trace_id": photo.media_trace_id})
    message = db.session.get(Message, photo.message_id) if photo.message_id else None
    if message is not None:
        data = {"photo_id": photo.id, "trace_id": photo.media_trace_id}
        if message.status in TRANSITIONS["hold"][0]:
            before = message.status
            message.hold_reason = reason
            _transition(message, "hold", actor, internal=True, text=reason, data=data)
            record("message.hold", message, actor=actor, before={"status": before},
                   after={"status": "held", "hold_reason": reason})
            notify_station_liaisons(message.station_id, "message.held", "有留言待审核",
                                    body=_excerpt(message.body),
                                    place=Place("liaison_message", message.id), subject=message)
        else:
            _event(message, "note", actor, message.status, message.status, internal=True,
                   text=reason, data=data)
    db.session.flush()
    return True


# ---- finding a message ----

def find_by_tracking(tracking_no: str, code: str) -> Message:
    """A resident following a message with its tracking number and lookup code."""
    message = message_by_tracking_no(tracking_no)
    if message is None or not lookup_code_matches(message.id, code):
        raise NotFound("留言编号或查询码不正确", code="tracking_not_found")
    return message


def message_by_tracking_no(tracking_no: str) -> Message | None:
    """The message a typed tracking number names exactly, or None; a number past the id column
    (LY20261202-9999999999) names none rather than failing the query."""
    tracking_no = (tracking_no or "").strip().upper()
    match = TRACKING_RE.match(tracking_no)
    message_id = row_id(match.group(2)) if match else None
    message = db.session.get(Message, message_id) if message_id else None
    return message if message is not None and message.tracking_no == tracking_no else None


def get_for(user, message_id: int) -> Message:
    return load_for(user, Message, message_id, policy.can_view,
                    missing=NotFound("留言不存在", code="message_not_found"),
                    refused=Forbidden("您无权查看这条留言", code="message_forbidden"))


# ---- liaison: triage ----

def release(message: Message, *, actor) -> Message:
    _guard(message, "release", policy.can_triage(actor, message))
    message.hold_reason = ""
    _transition(message, "release", actor)
    if message.assigned_deputy_id:
        _notify_deputy(message, message.assigned_deputy_id, "message.new", "您收到一条新留言")
    return message


def acknowledge(message: Message, *, actor) -> Message:
    _guard(message, "acknowledge", policy.can_triage(actor, message))
    message.acknowledged_at = utcnow()
    _transition(message, "acknowledge", actor)
    _notify_resident(message, "message.acknowledged", "您的留言已受理")
    return message


def set_category(message: Message, category: str, *, actor) -> Message:
    _guard(message, "set_category", policy.can_triage(actor, message))
    if category not in CATEGORIES:
        raise ValidationFailed("分类无效", code="category_invalid", errors={"category": ["请选择分类"]})
    before = message.category
    message.category = category
    _transition(message, "set_category", actor, internal=True,
                data={"before": before, "after": category})
    return message


def assign(message: Message, deputy: Deputy, *, actor) -> Message:
    _guard(message, "assign", policy.can_triage(actor, message))
    if not deputy.is_active or message.station_id not in {s.id for s in deputy.stations}:
        raise ValidationFailed("只能分办给本站在职代表", code="deputy_not_in_station")
    before = message.assigned_deputy_id
    message.assigned_deputy_id = deputy.id
    message.deputy_read_at = None
    if message.status == "new":  # assigning is accepting the case
        message.acknowledged_at = utcnow()
        _transition(message, "acknowledge", actor)
        _notify_resident(message, "message.acknowledged", "您的留言已受理")
    _transition(message, "assign", actor, internal=True,
                data={"before": before, "after": deputy.id}, text=f"分办给{deputy.name}代表")
    _notify_deputy(message, deputy.id, "message.assigned", "有一条留言分办给您")
    return message


def merge(message: Message, into: Message, *, actor) -> Message:
    _guard(message, "merge", policy.can_triage(actor, message) and policy.can_triage(actor, into))
    if into.id == message.id or into.status in ("merged", "rejected", "forwarded", "held"):
        raise InvalidState("只能合并到一条正在办理或已答复的留言", code="merge_target_invalid")
    message.merged_into_id = into.id
    _transition(message, "merge", actor, text=f"与留言 {into.tracking_no} 合并办理",
                data={"into": into.id})
    add_merged(into, message)  # a search for the merged message's words finds the case too
    _event(into, "merged_in", actor, into.status, into.status, internal=True,
           data={"from": message.id}, text=f"合并了留言 {message.tracking_no}")
    _notify_resident(message, "message.merged", "您的留言已与同类留言合并办理")
    answer = _latest_answer(into)
    if answer is not None:
        _notify_resident(message, "message.answered", "您反映的问题已有答复", body=_excerpt(answer.body))
    return message


def forward(message: Message, *, to: str, ref: str = "", actor) -> Message:
    _guard(message, "forward", policy.can_triage(actor, message))
    to, ref = clean_text(to), clean_text(ref)
    if not to:
        raise ValidationFailed(errors={"to": ["请填写转办单位"]})
    message.forward_to, message.forward_ref = to[:120], ref[:60]
    message.closed_at = utcnow()
    _transition(message, "forward", actor, text=f"已转交{to}办理" + (f"（编号 {ref}）" if ref else ""))
    _notify_resident(message, "message.forwarded", "您的留言已转交有关单位办理", body=to)
    return message


def reject(message: Message, *, reason: str, actor) -> Message:
    _guard(message, "reject", policy.can_triage(actor, message))
    reason = clean_text(reason)
    if visible_length(reason) < 2:
        raise ValidationFailed(errors={"reason": ["请填写不予受理的理由，居民会看到它"]})
    message.reject_reason = reason[:500]
    message.closed_at = utcnow()
    _transition(message, "reject", actor, text=reason)
    _notify_resident(message, "message.rejected", "您的留言未予受理", body=reason)
    return message


def add_note(message: Message, text: str, *, actor) -> Message:
    _guard(message, "note", policy.can_triage(actor, message) or policy.can_answer(actor, message))
    _transition(message, "note", actor, internal=True, text=_note_text(text))
    return message


def add_note_once(message: Message, text: str, *, actor,
                  idempotency_key) -> tuple[MessageEvent, bool]:
    """add_note from the staff page's form, which a double click or a resubmit posts twice:
    (the note, whether it was written now); the same key again writes nothing
    (backend/core/idempotency.py)."""
    _guard(message, "note", policy.can_triage(actor, message) or policy.can_answer(actor, message))
    return record_once(
        MessageEvent, idempotency_key, what="条备注",
        make=lambda key: _event_row(message, "note", actor, message.status, message.status,
                                    internal=True, text=_note_text(text), idempotency_key=key),
        same=lambda note: (note.message_id, note.kind, note.text) == (
            message.id, "note", clean_text(text)))


def _note_text(text: str) -> str:
    text = clean_text(text)
    if not text:
        raise ValidationFailed(errors={"text": ["备注不能为空"]})
    return text


# ---- deputy: answer ----

def reply(message: Message, body: str, *, actor) -> MessageReply:
    _guard(message, "reply", policy.can_answer(actor, message))
    body = _reply_body(body)
    now = utcnow()
    message.answered_at = now
    message.acknowledged_at = message.acknowledged_at or now
    answer = MessageReply(message_id=message.id, kind="answer", body=body,
                          deputy_id=actor.deputy_id, staff_id=actor.id)
    db.session.add(answer)
    _transition(message, "reply", actor, text=body)
    for target in [message, *merged_into(message)]:
        _notify_resident(target, "message.answered", "代表已答复您的留言", body=_excerpt(body))
    return answer


def request_info(message: Message, question: str, *, actor) -> MessageReply:
    _guard(message, "request_info", policy.can_answer(actor, message))
    question = _reply_body(question, minimum=2, field="question")
    asked = MessageReply(message_id=message.id, kind="info_request", body=question,
                         deputy_id=actor.deputy_id, staff_id=actor.id)
    db.session.add(asked)
    message.acknowledged_at = message.acknowledged_at or utcnow()
    _transition(message, "request_info", actor, text=question)
    _notify_resident(message, "message.info_requested", "代表请您补充留言内容", body=_excerpt(question))
    return asked


def add_info(message: Message, text: str, *, resident: Resident) -> MessageReply:
    _guard(message, "add_info", policy.can_rate(resident, message))
    text = _reply_body(text, minimum=2, field="text")
    added = MessageReply(message_id=message.id, kind="resident_info", body=text)
    db.session.add(added)
    _transition(message, "add_info", resident, text=text)
    if message.assigned_deputy_id:
        _notify_deputy(message, message.assigned_deputy_id, "message.info_added", "居民已补充留言内容")
    return added


def hand_back(message: Message, reason: str, *, actor) -> Message:
    _guard(message, "hand_back", policy.can_answer(actor, message))
    reason = clean_text(reason)
    if not reason:
        raise ValidationFailed(errors={"reason": ["请说明退回原因"]})
    before = message.assigned_deputy_id
    message.assigned_deputy_id = None
    _transition(message, "hand_back", actor, internal=True, text=reason,
                data={"before": before, "after": None})
    notify_station_liaisons(message.station_id, "message.handed_back", "代表退回了一条留言",
                            body=reason, place=Place("liaison_message", message.id), subject=message)
    return message


def record_suggestion(message: Message, title: str, *, actor) -> None:
    """The deputy wrote the case into a formal suggestion: its timeline says so, and a case
    still waiting to be accepted is in hand from now on (the resident hears of the suggestion
    itself, so no second notification)."""
    if message.status == "new":
        message.acknowledged_at = utcnow()
        _transition(message, "acknowledge", actor)
    _event(message, "suggested", actor, message.status, message.status,
           text=f"写入代表建议《{title}》")


def mark_read(message: Message, *, actor) -> None:
    if policy.can_answer(actor, message) and message.deputy_read_at is None:
        message.deputy_read_at = utcnow()


REVEAL_REASON_MIN, REVEAL_REASON_MAX = 2, 100


def reveal_phone(message: Message, *, reason: str, actor) -> str:
    """The full number, for someone whose work needs it: they say why, and the audit row keeps
    it. At most PHONE_REVEALS_PER_HOUR a user, counted from the audit log, so the portal and
    the mini-program share one budget and every worker sees the same count."""
    if not policy.can_see_phone(actor, message):
        raise Forbidden("您无权查看居民的联系电话", code="phone_forbidden")
    if not message.phone_encrypted:
        raise NotFound("居民没有留下联系电话", code="no_phone")
    reason = clean_text(reason)
    if visible_length(reason) < REVEAL_REASON_MIN:
        raise ValidationFailed("请填写查看号码的原因（至少 2 个字）", code="reveal_reason_required",
                               errors={"reason": ["请填写查看号码的原因（至少 2 个字）"]})
    if visible_length(reason) > REVEAL_REASON_MAX:
        message_text = f"查看原因不能超过 {REVEAL_REASON_MAX} 个字"
        raise ValidationFailed(message_text, code="reveal_reason_too_long",
                               errors={"reason": [message_text]})
    _check_reveal_budget(actor)
    phone = decrypt_phone(message.phone_encrypted)
    if phone is None:
        raise InvalidState("联系电话无法解密，请联系管理员", code="phone_undecryptable")
    record("message.reveal_phone", message, actor=actor, after={"reason": reason})
    return phone


def _check_reveal_budget(actor) -> None:
    limit = current_app.config["PHONE_REVEALS_PER_HOUR"]
    # Two reveals racing for the last one in the hour: the row lock makes the second wait and
    # count the first (SQLite serialises writing requests already).
    db.session.execute(sa.select(StaffUser.id).where(StaffUser.id == actor.id).with_for_update())
    used = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.actor_id == actor.id, AuditEvent.action == "message.reveal_phone",
        AuditEvent.created_at > utcnow() - timedelta(hours=1)))
    if used >= limit:
        raise RateLimited(f"查看号码太频繁：每小时最多查看 {limit} 次，请稍后再试",
                          code="phone_reveal_limited")


def masked_phone(message: Message) -> str:
    return mask_phone(message.phone_prefix, message.phone_last4)


# ---- resident: rate ----

def rate(message: Message, value: str, comment: str = "", *, resident: Resident) -> MessageRating:
    _guard(message, "rate", policy.can_rate(resident, message))
    if value not in RATINGS:
        raise ValidationFailed(errors={"value": ["请选择满意、基本满意或不满意"]})
    rating = MessageRating(message_id=message.id, value=value, comment=clean_text(comment)[:500],
                           round=_answer_count(message))
    db.session.add(rating)
    # The comment goes into the event too: staff read the timeline, not the ratings table.
    text = f"居民评价：{RATING_LABELS[value]}" + (f"。{rating.comment}" if rating.comment else "")
    data = {"rating": value, "comment": rating.comment}
    if value == "dissatisfied":
        now = utcnow()
        message.answered_at = None
        message.answer_due_at = due_at(now, message.station.answer_workdays)
        _transition(message, "reopen", resident, text=text, data=data)
        notify_station_liaisons(message.station_id, "message.reopened", "居民对答复不满意，留言已重新办理",
                                body=rating.comment, place=Place("liaison_message", message.id),
                                subject=message)
    else:
        message.closed_at = utcnow()
        _transition(message, "close", resident, text=text, data=data)
    return rating


def latest_rating(message: Message) -> MessageRating | None:
    """The resident's judgement of the latest answer, with what they added to it; None while
    that answer is unrated (an older round's rating is in the timeline)."""
    return db.session.scalar(db.select(MessageRating).filter_by(
        message_id=message.id, round=_answer_count(message)).limit(1))


# ---- what a resident sees ----

def merged_into(message: Message) -> list[Message]:
    """The messages merged into this one, whose residents hear its answer too."""
    return list(db.session.scalars(db.select(Message).filter_by(merged_into_id=message.id)))


def public_timeline(message: Message) -> list[MessageEvent]:
    return list(db.session.scalars(
        db.select(MessageEvent).filter_by(message_id=message.id, is_internal=False)
        .order_by(MessageEvent.id)))


def full_timeline(message: Message) -> list[MessageEvent]:
    return list(db.session.scalars(
        db.select(MessageEvent).filter_by(message_id=message.id).order_by(MessageEvent.id)))


def answer_for(message: Message) -> MessageReply | None:
    """The latest answer the resident should see: a merged message shows its case's answer."""
    return _latest_answer(message.merged_into if message.status == "merged" else message)


# ---- internals ----

def _guard(message: Message, verb: str, allowed: bool) -> None:
    if not allowed:
        raise Forbidden(code="message_forbidden")
    sources, _ = TRANSITIONS[verb]
    if message.status not in sources:
        raise InvalidState(f"留言当前为「{message.status_label}」，不能{VERB_LABELS[verb]}",
                           code=f"cannot_{verb}")


def _transition(message: Message, verb: str, actor, *, internal: bool = False, text: str = "",
                data: dict | None = None) -> MessageEvent:
    before = message.status
    target = TRANSITIONS[verb][1]
    if target is not None:
        message.status = target
    return _event(message, verb, actor, before, message.status, internal=internal, text=text,
                  data=data)


def _event(message, kind, actor, from_status, to_status, *, internal=False, text="", data=None):
    event = _event_row(message, kind, actor, from_status, to_status, internal=internal,
                       text=text, data=data)
    db.session.add(event)
    return event


def _event_row(message, kind, actor, from_status, to_status, *, internal=False, text="",
               data=None, idempotency_key=None) -> MessageEvent:
    """The unsaved event (idempotency.add_once adds a keyed one under its savepoint)."""
    if isinstance(actor, Resident):
        actor_kind, label = "resident", "留言人"
    elif actor is None:
        actor_kind, label = "system", "系统"
    else:
        actor_kind = "staff"
        label = f"{actor.deputy.name}代表" if actor.role == "deputy" and actor.deputy else (
            "联络员" if actor.role == "liaison" else actor.role_label)
    return MessageEvent(message_id=message.id, kind=kind, actor_kind=actor_kind,
                        actor_id=getattr(actor, "id", None), actor_label=label,
                        from_status=from_status, to_status=to_status, is_internal=internal,
                        text=text, data=data, idempotency_key=idempotency_key)


def _notify_resident(message, topic, title, body=""):
    notify("resident", message.resident_id, topic, title, body=body or message.tracking_no,
           place=Place("resident_message", message.id), subject=message)


def _notify_deputy(message, deputy_id, topic, title):
    notify("deputy", deputy_id, topic, title, body=_excerpt(message.body),
           place=Place("deputy_message", message.id), subject=message)


def _reply_body(body: str, minimum: int = 5, field: str = "body") -> str:
    body = clean_text(body)
    if visible_length(body) < minimum:
        raise ValidationFailed(errors={field: [f"内容至少 {minimum} 个字"]})
    if visible_length(body) > BODY_MAX:
        raise ValidationFailed(errors={field: [f"内容不能超过 {BODY_MAX} 个字"]})
    return body


def _latest_answer(message: Message) -> MessageReply | None:
    return db.session.scalar(
        db.select(MessageReply).filter_by(message_id=message.id, kind="answer")
        .order_by(MessageReply.id.desc()).limit(1))


def _answer_count(message: Message) -> int:
    return db.session.scalar(
        db.select(sa.func.count()).select_from(MessageReply)
        .filter_by(message_id=message.id, kind="answer"))


def _excerpt(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[:n] + "…"


# ---- what the writer has seen ----

def mark_read_by_writer(message: Message, *, resident: Resident) -> bool:
    """The writer opened the message: any answer so far is no longer news. True if changed."""
    if message.resident_id != resident.id or not message.has_unread_answer:
        return False
    message.resident_read_at = utcnow()
    return True


def unread_answers(resident: Resident | None) -> int:
    """How many of the resident's messages have an answer they have not opened yet."""
    if resident is None:
        return 0
    return db.session.scalar(db.select(sa.func.count()).select_from(Message).where(
        Message.resident_id == resident.id, Message.unread_answer_clause()))
