"""Collection (征集): the office opens a year's round; residents, deputies, and liaisons (from a
queue message) propose; residents support a proposal already there and follow it.
Every operation checks, changes rows, flushes, audits and queues notifications; never commits."""
from sqlalchemy.exc import IntegrityError

from backend.accounts.resident_model import Resident
from backend.core import audit
from backend.core.errors import Forbidden, InvalidState, ValidationFailed
from backend.core.extensions import db
from backend.core.idempotency import record_once
from backend.core.textcount import clean_text, visible_length
from backend.notifications.notify import notify
from backend.notifications.places import Place
from backend.projects import core, policy, proposal_photos
from backend.projects.models import ProjectProposal, ProjectRound, ProjectSupport

TITLE_MIN, TITLE_MAX = 4, 60
CONTENT_MIN, CONTENT_MAX = 10, 2000
REASON_MIN, REASON_MAX = 5, 2000
THEME_MIN, THEME_MAX = 2, 100
CATEGORY_MAX, CATEGORIES_MAX = 20, 20


def _text(errors: dict, name: str, value, low: int, high: int, label: str) -> str:
    value = clean_text(value if isinstance(value, str) else "")
    n = visible_length(value)
    if n < low or n > high:
        errors[name] = [f"{label}请填写{low}到{high}个字"]
    return value


def open_round(*, year, theme: str, categories, actor) -> ProjectRound:
    if not policy.is_office(actor):
        raise Forbidden("只有代工委可以开启项目征集", code="project_forbidden")
    errors: dict = {}
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        errors["year"] = ["请填写正确的年度，如 2027"]
    theme = _text(errors, "theme", theme, THEME_MIN, THEME_MAX, "征集主题")
    cats = [clean_text(c) for c in (categories or []) if isinstance(c, str) and clean_text(c)]
    if not cats or len(cats) > CATEGORIES_MAX or any(len(c) > CATEGORY_MAX for c in cats):
        errors["categories"] = [f"请填写1到{CATEGORIES_MAX}个项目类别，每个不超过{CATEGORY_MAX}个字"]
    cats = list(dict.fromkeys(cats))
    if not errors and db.session.scalar(db.select(ProjectRound.id).filter_by(year=year)):
        errors["year"] = [f"{year}年度的民生实事项目征集已经开启"]
    if errors:
        raise ValidationFailed(errors=errors, code="round_invalid")
    round_ = ProjectRound(year=year, theme=theme, categories=cats, opened_by_id=actor.id)
    db.session.add(round_)
    db.session.flush()
    audit.record("project_round.open", round_, actor=actor,
                 after={"year": year, "theme": theme, "categories": cats})
    return round_


def _checked(round_: ProjectRound, data: dict, photo_count: int = 0) -> dict:
    errors: dict = {}
    proposal_photos.check_count(photo_count, errors)
    title = _text(errors, "title", data.get("title"), TITLE_MIN, TITLE_MAX, "项目名称")
    content = _text(errors, "content", data.get("content"), CONTENT_MIN, CONTENT_MAX,
                    "项目内容和地点")
    reason = _text(errors, "reason", data.get("reason"), REASON_MIN, REASON_MAX, "理由")
    category = (data.get("category") or "").strip()
    if category not in round_.categories:
        errors["category"] = ["请选择项目类别"]
    if errors:
        raise ValidationFailed(errors=errors, code="proposal_invalid")
    return {"title": title, "content": content, "reason": reason, "category": category}


def _add(round_: ProjectRound, values: dict, actor_label: str, actor) -> ProjectProposal:
    proposal = ProjectProposal(round_id=round_.id, **values)
    db.session.add(proposal)
    db.session.flush()
    _record_new(proposal, actor_label, actor)
    return proposal


def _record_new(proposal: ProjectProposal, actor_label: str, actor) -> None:
    core.event(proposal, "propose", actor, None, "submitted", text=actor_label)
    # The audit log names staff; a resident's proposal is recorded as the system's.
    audit.record("project.propose", proposal, actor=actor if hasattr(actor, "role") else None,
                 after={"title": proposal.title, "author_kind": proposal.author_kind})


def _add_once(round_: ProjectRound, data: dict, *, idempotency_key, author: dict, allowed: bool,
              actor_label: str, actor, photo_count: int = 0) -> tuple[ProjectProposal, bool]:
    """_add under an idempotency key, for the `author` (the proposal's author columns): (the
    proposal, whether it was made now). A retry gets the first proposal back and records
    nothing, even once collection has closed (as a message's retry gets its receipt); a
    request racing with the same key loses on the unique column and gets the winner's
    (backend/core/idempotency.py). `allowed`: whether the actor may propose now."""
    def make(key):
        core.guard_round(round_, "propose", allowed)
        return ProjectProposal(round_id=round_.id, idempotency_key=key,
                               **_checked(round_, data, photo_count), **author)
    proposal, created = record_once(ProjectProposal, idempotency_key, what="个项目建议",
                                    make=make, same=lambda p: _is_retry(p, round_, data, author))
    if created:
        _record_new(proposal, actor_label, actor)
    return proposal, created


def _is_retry(proposal: ProjectProposal, round_: ProjectRound, data: dict, author: dict) -> bool:
    """Whether the proposal the key made already is what was sent again. Another author's key
    is 409 (a code clients know); the author's own key sent with another proposal is 422 (by
    record_once), as for messages, never answered with the old one."""
    if any(getattr(proposal, column) != value for column, value in author.items()):
        raise InvalidState("提交编号已被使用，请刷新页面后重试", code="idempotency_key_conflict")
    # Cleaned as _checked cleans them: spaces a retry adds or drops do not make it another.
    sent = {name: clean_text(data.get(name) if isinstance(data.get(name), str) else "")
            for name in ("title", "content", "reason")}
    sent["category"] = (data.get("category") or "").strip()
    return proposal.round_id == round_.id and all(getattr(proposal, name) == value
                                                  for name, value in sent.items())


def propose_as_resident(round_: ProjectRound, data: dict, *, resident, idempotency_key: str,
                        photos=(), photo_ids=()) -> tuple[ProjectProposal, bool]:
    """A resident's proposal, with optional photos: `photos` sent with the form (bytes) or
    `photo_ids` uploaded before it (mini-program). Private until the office makes them public
    (proposal_photos.py). (The proposal, whether it was made now): a retry with the same key
    gets the first receipt back."""
    proposal, created = _add_once(
        round_, data, idempotency_key=idempotency_key, allowed=True, actor_label="群众",
        actor=resident, author={"author_kind": "resident", "resident_id": resident.id},
        photo_count=len(photos) + len(set(photo_ids or ())))
    if created:
        proposal_photos.claim(proposal, photo_ids, resident=resident)
        if photos:
            proposal_photos.attach_uploads(proposal, photos, resident=resident)
        core.follow(proposal, resident)
    return proposal, created


def propose_as_deputy(round_: ProjectRound, data: dict, *, actor) -> ProjectProposal:
    """A deputy's proposal on the staff page."""
    core.guard_round(round_, "propose", policy.can_propose_as_deputy(actor))
    return _add(round_, {**_checked(round_, data), **_deputy_author(actor)},
                f"{actor.deputy.name}代表", actor)


def propose_as_deputy_once(round_: ProjectRound, data: dict, *, actor,
                           idempotency_key: str) -> tuple[ProjectProposal, bool]:
    """A deputy's proposal from the mini-program: (the proposal, whether it was made now); a
    retry with the same key gets the first receipt back, as a resident's does."""
    return _add_once(round_, data, idempotency_key=idempotency_key, author=_deputy_author(actor),
                     allowed=policy.can_propose_as_deputy(actor),
                     actor_label=f"{actor.deputy.name}代表", actor=actor)


def _deputy_author(actor) -> dict:
    return {"author_kind": "deputy", "deputy_id": actor.deputy_id, "staff_id": actor.id}


def propose_from_message(round_: ProjectRound, message, data: dict, *, actor) -> ProjectProposal:
    """A liaison turns a queue message into a proposal; its writer follows it and is told."""
    core.guard_round(round_, "propose", policy.can_convert_message(actor, message))
    if message.status in ("held", "rejected"):
        raise InvalidState("这条留言尚未通过审核或已不予受理，不能转为项目建议",
                           code="message_unusable")
    if db.session.scalar(db.select(ProjectProposal.id).filter_by(source_message_id=message.id)):
        raise InvalidState("这条留言已经转为项目建议", code="message_already_proposed")
    values = _checked(round_, {"content": message.body, **{k: v for k, v in data.items() if v}})
    proposal = _add(round_, {**values, "author_kind": "liaison", "staff_id": actor.id,
                             "source_message_id": message.id,
                             "resident_id": message.resident_id}, "联络员（根据群众留言）", actor)
    if message.resident_id is not None:
        writer = db.session.get(Resident, message.resident_id)
        core.follow(proposal, writer)
        notify("resident", writer.id, "project.proposed", "您的留言已转为民生实事项目建议",
               body=proposal.title, place=Place("resident_project", proposal.id), subject=proposal)
    return proposal


def support(proposal: ProjectProposal, *, resident) -> tuple[ProjectSupport, bool]:
    """One support per resident; the proposer's own does not count. (The support, whether it
    was counted now): supporting again (a retry whose answer was lost, a double tap, a second
    device) gets the support already counted and changes nothing, even once collection has
    closed, as a proposal's retry gets its receipt."""
    core.lock(proposal)
    held = _support_of(proposal, resident)
    if held is not None:
        return held, False
    core.guard(proposal, "support")
    if proposal.round.status != "collecting":
        raise InvalidState("征集已经结束，不能再附议", code="project_cannot_support")
    if policy.is_proposer(resident, proposal):
        raise InvalidState("这是您自己提出的项目，无需附议", code="project_own_proposal")
    row = ProjectSupport(proposal_id=proposal.id, resident_id=resident.id)
    try:
        # A savepoint: losing to a racing request undoes this insert, not the caller's work.
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        held = _support_of(proposal, resident)
        if held is None:
            raise
        return held, False
    core.follow(proposal, resident)
    return row, True


def _support_of(proposal: ProjectProposal, resident) -> ProjectSupport | None:
    return db.session.scalar(db.select(ProjectSupport).filter_by(
        proposal_id=proposal.id, resident_id=resident.id))


def has_supported(proposal: ProjectProposal, resident) -> bool:
    return resident is not None and _support_of(proposal, resident) is not None


def follow(proposal: ProjectProposal, *, resident) -> None:
    core.follow(proposal, resident)
    db.session.flush()


def support_count(proposal: ProjectProposal) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(ProjectSupport)
                             .filter_by(proposal_id=proposal.id))
