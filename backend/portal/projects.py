"""The resident's side of livelihood projects (民生实事项目): the year's proposals, proposing one
(with a receipt), supporting one already there, following it, and the public results page."""
import uuid

from flask import abort, redirect, render_template, request, url_for

from backend.core.errors import NotFound, ValidationFailed
from backend.core.media import image_response
from backend.core.extensions import db
from backend.messages.operations import MAX_PHOTOS
from backend.core.timeutil import local_today
from backend.projects import (
    collection, core, delivery, lists, policy, proposal_photos, results,
)
from backend.projects.models import ProjectRound
from backend.portal import bp
from backend.portal.residents import current_web_resident, get_or_create_web_resident, web_key

FIELDS = ("title", "category", "content", "reason")


def _round() -> ProjectRound:
    round_ = core.current_round()
    if round_ is None:
        raise NotFound("今年的民生实事项目征集尚未开始", code="project_round_not_found")
    return round_


@bp.get("/projects")
def projects():
    round_ = core.current_round()
    shown = lists.public_proposals(round_) if round_ else []
    return render_template("portal/projects.html", round=round_, proposals=shown,
                           supports=lists.support_counts(p.id for p in shown),
                           mine=lists.residents_own(current_web_resident()))


@bp.get("/projects/new")
def project_new():
    web_key()
    return _form(_round(), {})


def _form(round_, form, err: ValidationFailed | None = None):
    return render_template("portal/project_form.html", round=round_, form=form,
                           errors=err.errors if err else {}, general=err.message if err else "",
                           idempotency_key=uuid.uuid4().hex, max_photos=MAX_PHOTOS)


@bp.post("/projects/new")
def project_propose():
    round_ = _round()
    form = {k: request.form.get(k, "") for k in FIELDS}
    resident = get_or_create_web_resident()
    photos = [f.read() for f in request.files.getlist("photos") if f.filename]
    try:
        proposal, _ = collection.propose_as_resident(
            round_, form, resident=resident, photos=photos,
            idempotency_key=request.form.get("idempotency_key", ""))
    except ValidationFailed as err:
        db.session.rollback()
        return _form(round_, form, err), 422
    proposal_id = proposal.id
    db.session.commit()
    return redirect(url_for(".project", proposal_id=proposal_id, receipt=1))


@bp.get("/projects/similar")
def project_similar():
    """The form asks as the resident types: proposals already there they may support instead."""
    round_ = core.current_round()
    found = lists.similar(round_, request.args.get("q", "")[:60]) if round_ else []
    return render_template("portal/_project_similar.html", proposals=found,
                           supports=lists.support_counts(p.id for p in found))


@bp.get("/projects/<int:proposal_id>")
def project(proposal_id: int):
    resident = current_web_resident()
    proposal = core.get_for(resident, proposal_id)
    followed = resident is not None and resident.id in core.follower_ids(proposal)
    return render_template(
        "portal/project.html", p=proposal, supports=collection.support_count(proposal),
        supported=collection.has_supported(proposal, resident),
        receipt=request.args.get("receipt") == "1" and policy.is_proposer(resident, proposal),
        followed=followed, is_proposer=policy.is_proposer(resident, proposal),
        timeline=lists.public_timeline(proposal), rating=delivery.rating_summary(proposal),
        photos=proposal_photos.visible(resident, proposal), today=local_today())


@bp.get("/projects/<int:proposal_id>/proposal-photos/<int:photo_id>")
def project_proposal_photo(proposal_id: int, photo_id: int):
    """A resident's photo on a proposal: its proposer's, or public once the office approved it;
    never cached by a proxy (media.image_response)."""
    resident = current_web_resident()
    proposal = core.get_for(resident, proposal_id)
    response = image_response(proposal_photos.get_for(resident, proposal, photo_id).storage_key)
    if response is None:
        abort(404)
    return response


@bp.get("/projects/<int:proposal_id>/photos/<int:photo_id>")
def project_photo(proposal_id: int, photo_id: int):
    """A progress photo, public with its project (reports exist only once it is in delivery)."""
    proposal = core.get_for(current_web_resident(), proposal_id)
    photo = delivery.photo_of(proposal, photo_id)
    response = image_response(photo.storage_key) if photo else None
    if response is None:
        abort(404)
    return response


@bp.post("/projects/<int:proposal_id>/<any(support, follow):verb>")
def project_act(proposal_id: int, verb: str):
    resident = get_or_create_web_resident()
    proposal = core.get_for(resident, proposal_id)
    if verb == "support":
        collection.support(proposal, resident=resident)
    else:
        collection.follow(proposal, resident=resident)
    db.session.commit()
    return redirect(url_for(".project", proposal_id=proposal_id))


@bp.get("/projects/results/<int:year>")
def project_results(year: int):
    round_ = db.session.scalar(db.select(ProjectRound).filter_by(year=year))
    if round_ is None or round_.status != "decided":
        abort(404)
    return render_template("portal/project_results.html", round=round_,
                           combined=results.combined(round_),
                           projects=lists.all_proposals(round_, "delivering"))
