"""The resident's side of messages: write one, get a receipt, follow it, add what the deputy
asked for, rate the answer. Every rule lives in backend.messages.operations; these handlers
read the form, load what this browser may see (404 otherwise), call the operation and commit."""
import uuid

from flask import (
    abort, current_app, flash, make_response, redirect, render_template, request,
    session, url_for,
)
from sqlalchemy.exc import IntegrityError

from backend.messages import policy
from backend.core.adapters import get_storage
from backend.core.errors import Forbidden, InvalidState, NotFound, ValidationFailed
from backend.core.extensions import db
from backend.core.media import image_response
from backend.messages.models import RATING_LABELS, Message
from backend.messages import operations as ops
from backend.org import public
from backend.suggestions import residents as outcome
from backend.messages.queue import resident_messages
from backend.portal import bp
from backend.portal.refusals import form_page, too_large_page
from backend.portal.residents import current_web_resident, get_or_create_web_resident, web_key
from backend.core.protect import lookup_code
from backend.core.ratelimit import limiter, replayed, submission_limits

TRACKED = "tracked_messages"  # session: the ids this browser unlocked with number and code
TRACKED_MAX = 20
MY_MESSAGES_MAX = 100
FORM_FIELDS = ("body", "phone", "place", "photo_ids")  # errors shown next to their field

# A public event in the resident's words, after who did it ("联络员受理了留言").
EVENT_WORDS = {
    "submitted": "提交了留言", "release": "审核通过了留言", "acknowledge": "受理了留言",
    "request_info": "请您补充说明", "add_info": "补充了说明", "reply": "答复了留言",
    "reject": "决定不予受理", "forward": "将留言转交有关单位办理",
    "merge": "将留言与同类留言合并办理", "close": "办结了留言", "reopen": "重新办理了留言",
    "suggested": "将留言写入了代表建议",
}
RATED_WORDS = {"close": "留言已办结", "reopen": "留言重新办理"}  # after "您评价「满意」，"
SILENT_TEXT = {"submitted", "close", "reopen"}  # their text is for staff, or said already


# ---- writing ----

@bp.get("/d/<token>/write", endpoint="write")
@bp.get("/stations/<int:station_id>/write", endpoint="write")
def write(token: str | None = None, station_id: int | None = None):
    target = _target(token, station_id)
    web_key()  # the browser gets its key now: see backend/portal/residents.py
    return _write_page(target, {})


@bp.post("/d/<token>/write", endpoint="send")
@bp.post("/stations/<int:station_id>/write", endpoint="send")
@submission_limits("message", replay=lambda: _is_retry())  # both targets, one budget
def send(token: str | None = None, station_id: int | None = None):
    target = _target(token, station_id)
    form = _posted_form()
    resident = get_or_create_web_resident()
    with _Uploads() as uploads:
        try:
            photo_ids = uploads.save_all(resident, request.files.getlist("photos"))
            result = ops.submit_message(resident=resident, photo_ids=photo_ids, channel="web",
                                        **form, **target)
        except ValidationFailed as err:
            return _write_page(target, form, err), 422
        message_id = result.message.id  # known now; after the commit it would be loaded again
        if result.created:  # a retry shows the first receipt and keeps nothing of its own
            uploads.commit()
        else:
            replayed()
    return redirect(url_for(".receipt", message_id=message_id))


def _is_retry() -> bool:
    """A resident past the limit who sends the same form again (a double tap, a reload) gets
    the receipt of the message already sent."""
    resident = current_web_resident()
    return resident is not None and ops.submitted_before(
        resident, request.form.get("idempotency_key", ""))


def _posted_form() -> dict:
    return {"body": request.form.get("body", ""), "phone": request.form.get("phone", ""),
            "place": request.form.get("place", ""),
            "may_publish": request.form.get("may_publish") == "1",
            "idempotency_key": request.form.get("idempotency_key", "")}


def _target(token: str | None, station_id: int | None) -> dict:
    """Whom the form writes to: a deputy through a live code, or a station as a whole."""
    if station_id is not None:
        return {"station": public.public_station(station_id)}
    code, deputy = public.deputy_by_token(token)
    if not code.is_active:  # an old poster: say where the deputy is now, send nothing
        abort(make_response(render_template(
            "portal/code_revoked.html", deputy=deputy,
            current=public.current_code_for(deputy)), 410))
    return {"deputy": deputy}


def _write_page(target: dict, form: dict, err: ValidationFailed | None = None) -> str:
    errors = err.errors if err else {}
    general = [m for name, msgs in errors.items() if name not in FORM_FIELDS for m in msgs]
    if err and not errors:
        general.append(err.message)
    # A fresh key each time: a failed attempt wrote nothing, so its key may not be reused
    # for a different text (the operation would call that a conflict).
    return render_template("portal/write.html", form=form, errors=errors, general=general,
                           idempotency_key=uuid.uuid4().hex, max_photos=ops.MAX_PHOTOS,
                           body_min=ops.BODY_MIN, body_max=ops.BODY_MAX,
                           max_upload=current_app.config.get("MAX_CONTENT_LENGTH"), **target)


class _Uploads:
    """The photos one request stores. Files are not part of the database transaction: unless
    the request commits, the rows roll back and the files are deleted again."""

    def __init__(self):
        self.keys: list[str] = []
        self.committed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if not self.committed:
            db.session.rollback()
            storage = get_storage()
            for key in self.keys:
                storage.delete(key)

    def commit(self) -> None:
        db.session.commit()
        self.committed = True

    def save_all(self, resident, files) -> list[int]:
        files = [f for f in files if f.filename]  # an empty file input still sends one part
        if len(files) > ops.MAX_PHOTOS:
            # Refused before decoding anything; submit_message holds the same limit.
            raise ValidationFailed(errors={"photo_ids": [f"最多上传 {ops.MAX_PHOTOS} 张照片"]})
        return [self._save(resident, f, n) for n, f in enumerate(files, 1)]

    def _save(self, resident, upload, n: int) -> int:
        try:
            photo = ops.store_photo(upload.read(), resident=resident)
        except ValidationFailed as err:
            name = upload.filename if len(upload.filename) <= 24 else upload.filename[:23] + "…"
            raise ValidationFailed(errors={"photo_ids": [f"第 {n} 张照片（{name}）：{err.message}"]})
        self.keys.append(photo.storage_key)
        return photo.id


@bp.errorhandler(413)
def _too_large(err):
    return too_large_page()


@form_page("portal.send")
def _write_again(err, token: str | None = None, station_id: int | None = None):
    return _write_page(_target(token, station_id), _posted_form(), err)


# ---- the receipt and following a message ----

@bp.get("/m/<int:message_id>/receipt")
def receipt(message_id: int):
    message = load_message(message_id, tracked_ok=False)  # the code is shown only to the writer
    return render_template("portal/receipt.html", message=message,
                           lookup_code=lookup_code(message.id))


def _track_rate() -> str:
    # Per address, not per cookie: a guesser can drop the cookie, not the address.
    return current_app.config.get("TRACK_RATE_PER_IP", "30 per hour")


@bp.route("/track", methods=["GET", "POST"])
@limiter.limit(_track_rate, methods=["POST"], scope="track")
def track():
    form = {"tracking_no": request.values.get("tracking_no", "").strip(),
            "code": request.form.get("code", "").strip()}
    if request.method == "GET":
        return render_template("portal/track.html", form=form, error=None)
    try:
        message = ops.find_by_tracking(form["tracking_no"], form["code"])
    except NotFound as err:
        return render_template("portal/track.html", form=form, error=err.message), 422
    session[TRACKED] = [message.id, *(i for i in session.get(TRACKED, []) if i != message.id)
                        ][:TRACKED_MAX]
    return redirect(url_for(".message", message_id=message.id))


@bp.get("/my")
def my_messages():
    resident = current_web_resident()
    messages = [] if resident is None else resident_messages(
        resident.id, limit=MY_MESSAGES_MAX).items
    return render_template("portal/my.html", messages=messages)


@bp.get("/m/<int:message_id>")
def message(message_id: int):
    message = load_message(message_id)
    resident = current_web_resident()
    if resident is not None and ops.mark_read_by_writer(message, resident=resident):
        db.session.commit()
    return _message_page(message)


@bp.app_template_global()
def unread_answer_count() -> int:
    """For the 我的留言 links: answers this browser's resident has not opened yet."""
    return ops.unread_answers(current_web_resident())


@bp.get("/m/<int:message_id>/photos/<int:photo_id>")
def photo(message_id: int, photo_id: int):
    message = load_message(message_id)
    item = ops.visible_photo(photo_id)
    response = image_response(item.storage_key) if item and item.message_id == message.id else None
    if response is None:
        abort(404)
    return response


# The lookup code proves authorship: a browser that passed /track acts as the writer too.

@bp.post("/m/<int:message_id>/info")
def add_info(message_id: int):
    message = load_message(message_id)
    text = request.form.get("text", "")
    try:
        ops.add_info(message, text, resident=message.resident)
    except ValidationFailed as err:
        db.session.rollback()
        return _message_page(message, err, text=text), 422
    db.session.commit()
    flash("补充的内容已送达，请等待答复", "success")
    return redirect(url_for(".message", message_id=message.id))


@bp.post("/m/<int:message_id>/rate")
def rate(message_id: int):
    message = load_message(message_id)
    value, comment = request.form.get("value", ""), request.form.get("comment", "")
    try:
        ops.rate(message, value, comment, resident=message.resident)
    except ValidationFailed as err:
        db.session.rollback()
        return _message_page(message, err, value=value, comment=comment), 422
    db.session.commit()
    flash("感谢您的评价，留言将重新办理" if message.status == "reopened" else "感谢您的评价",
          "success")
    return redirect(url_for(".message", message_id=message.id))


@bp.post("/m/<int:message_id>/suggestions/<int:suggestion_id>/rate")
def rate_suggestion(message_id: int, suggestion_id: int):
    """The writer rates what came of a suggestion their message fed: 404 unless it did."""
    message = load_message(message_id)
    suggestion = outcome.suggestion_for_message(message, suggestion_id)
    if suggestion is None:
        abort(404)
    value, comment = request.form.get("value", ""), request.form.get("comment", "")
    kept = {"suggestion_id": suggestion.id, "suggestion_value": value,
            "suggestion_comment": comment}
    try:
        outcome.rate_outcome(suggestion, value, comment, resident=message.resident)
        db.session.commit()
    except Forbidden:
        db.session.rollback()  # not behind it after all (a broken merge chain): reveal nothing
        abort(404)
    except ValidationFailed as err:
        db.session.rollback()
        return _message_page(message, suggestion_errors=err.errors, **kept), 422
    except (InvalidState, IntegrityError) as err:
        db.session.rollback()  # IntegrityError: a parallel request rated first
        text = err.message if isinstance(err, InvalidState) else outcome.AlreadyRated.message
        return _message_page(message, suggestion_errors={"_": [text]}, **kept), 409
    flash("感谢您对建议办理结果的评价", "success")
    return redirect(url_for(".message", message_id=message.id, _anchor=f"s{suggestion.id}"))


def load_message(message_id: int, *, tracked_ok: bool = True) -> Message:
    """The message if this browser wrote it (or unlocked it with its code), else 404: a
    stranger cannot tell a hidden message from a missing one."""
    message = db.session.get(Message, message_id)
    if message is None or not (policy.can_view(current_web_resident(), message) or (
            tracked_ok and message_id in session.get(TRACKED, []))):
        abort(404)
    return message


def _message_page(message: Message, err: ValidationFailed | None = None, *,
                  suggestion_errors: dict | None = None, **kept) -> str:
    return render_template(
        "portal/message.html", message=message, answer=ops.answer_for(message),
        timeline=[_timeline_item(e) for e in reversed(ops.public_timeline(message))],
        phone=ops.masked_phone(message), rating_labels=RATING_LABELS,
        rating=ops.latest_rating(message),
        can_add_info=message.status in ops.TRANSITIONS["add_info"][0],
        can_rate=message.status in ops.TRANSITIONS["rate"][0],
        is_writer=policy.can_view(current_web_resident(), message),
        errors=err.errors if err else {}, kept=kept,
        suggestions=outcome.suggestions_for_message(message),
        suggestion_errors=suggestion_errors or {})


def _timeline_item(event) -> dict:
    who = "您" if event.actor_kind == "resident" else event.actor_label
    rating = (event.data or {}).get("rating")
    detail = "" if event.kind in SILENT_TEXT else event.text
    if rating in RATING_LABELS and event.kind in RATED_WORDS:
        line = f"{who}评价「{RATING_LABELS[rating]}」，{RATED_WORDS[event.kind]}"
        detail = event.data.get("comment", "")  # what they added, not the line again
    else:
        line = who + EVENT_WORDS.get(event.kind, "更新了留言")
    return {"at": event.created_at, "line": line, "folded": event.kind == "reply",
            "detail": detail}
