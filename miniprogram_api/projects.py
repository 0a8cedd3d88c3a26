"""Livelihood projects in the mini-program: residents read the year's proposals, propose (with
photos uploaded ahead), support; deputies cast their secret ballot, in the run-off too once one
is open. Operations are backend/projects/'s."""
from backend.core.errors import NotFound
from backend.core.extensions import db
from backend.core.media import image_response
from backend.core.ratelimit import limiter, resident_key
from backend.projects import collection, core, lists, proposal_photos, stages, voting
from backend.projects.screening import candidates_for_ballot
from miniprogram_api import bp
from miniprogram_api.auth import current_resident, current_staff, deputy_required, resident_required
from miniprogram_api.endpoint import endpoint
from miniprogram_api.schemas_projects import (
    BallotIn, BallotOut, ProjectListOut, ProjectListQuery, ProposalDetailOut, ProposalIn,
    ProposalOut, ResidentProposalIn,
)
from miniprogram_api.photos import _photo_rate
from miniprogram_api.schemas_messages import PhotoOut, PhotoUploadIn


# What a proposal's key may be refused with, beyond the usual (backend/projects/collection.py).
_KEY_ERRORS = {"409": "不在征集期（round_cannot_propose），或提交编号已被别人使用（idempotency_key_conflict）"}


def _round():
    round_ = core.current_round()
    if round_ is None:
        raise NotFound("今年的民生实事项目征集尚未开始", code="project_round_not_found")
    return round_


def _with_supports(proposals):
    counts = lists.support_counts(p.id for p in proposals)
    for p in proposals:
        p.supports = counts.get(p.id, 0)
    return proposals


@bp.get("/projects")
@resident_required
@endpoint(query=ProjectListQuery, out=ProjectListOut)
def projects(data):
    """本年度的民生实事项目建议（公开的），附议人数；带 q 时只返回类似的建议"""
    round_ = core.current_round()
    if round_ is None:
        return {"round": None, "items": []}
    found = lists.similar(round_, data["q"]) if data["q"] else lists.public_proposals(round_)
    return {"round": round_, "items": _with_supports(found)}


@bp.post("/projects")
@resident_required
@endpoint(body=ResidentProposalIn, out=ProposalOut, status=201, replay=True, errors=_KEY_ERRORS)
def propose(data):
    """提出民生实事项目建议，返回回执（编号）；同一个 idempotency_key 重试时返回第一次的回执（200）

    同一个 idempotency_key 用于另一条建议时返回 422（idempotency_conflict）。"""
    key, photo_ids = data.pop("idempotency_key"), data.pop("photo_ids")
    proposal, created = collection.propose_as_resident(
        _round(), data, resident=current_resident(), idempotency_key=key, photo_ids=photo_ids)
    db.session.commit()
    return _with_supports([proposal])[0], 201 if created else 200


@bp.post("/projects/photos")
@resident_required
@limiter.limit(_photo_rate, key_func=resident_key, scope="mp-photo")
@endpoint(form=PhotoUploadIn, out=PhotoOut, status=201)
def upload_proposal_photo(data):
    """为项目建议上传一张照片（multipart，字段名 photo）；把返回的 id 放进建议的 photo_ids。
    未随建议提交的照片一天后删除"""
    photo = proposal_photos.store_upload(data["photo"].read(), resident=current_resident())
    db.session.commit()  # a failed commit removes the file (projects/photo_files.py)
    return photo


@bp.get("/projects/<int:proposal_id>/photos/<int:photo_id>")
@resident_required
@endpoint(file_type="image/*")
def proposal_photo_file(proposal_id: int, photo_id: int):
    """项目建议的现场照片文件：提出人可见；其他人在代工委设为可公开之后可见"""
    proposal = core.get_for(current_resident(), proposal_id)
    response = image_response(
        proposal_photos.get_for(current_resident(), proposal, photo_id).storage_key)
    if response is None:
        raise NotFound("照片不存在", code="photo_not_found")
    return response


@bp.post("/deputy/projects")
@deputy_required
@endpoint(body=ProposalIn, out=ProposalOut, status=201, replay=True, errors=_KEY_ERRORS)
def propose_as_deputy(data):
    """代表提出民生实事项目建议，返回回执（编号）；同一个 idempotency_key 重试时返回第一次的回执（200）

    同一个 idempotency_key 用于另一条建议时返回 422（idempotency_conflict）。"""
    key = data.pop("idempotency_key")
    proposal, created = collection.propose_as_deputy_once(_round(), data, actor=current_staff(),
                                                          idempotency_key=key)
    db.session.commit()
    return _with_supports([proposal])[0], 201 if created else 200


@bp.get("/projects/<int:proposal_id>")
@resident_required
@endpoint(out=ProposalDetailOut)
def project(proposal_id: int):
    """一个项目建议：内容、状态、附议人数、进度、实施节点"""
    proposal = _with_supports([core.get_for(current_resident(), proposal_id)])[0]
    proposal.viewer_photos = [{"id": p.id, "width": p.width, "height": p.height,
                               "is_public": p.public_at is not None}
                              for p in proposal_photos.visible(current_resident(), proposal)]
    return proposal


@bp.post("/projects/<int:proposal_id>/support")
@resident_required
@endpoint(out=ProposalOut, replay=True, errors={
    "409": "征集已经结束或项目建议已不在征集中（project_cannot_support），"
           "或这是您自己提出的项目（project_own_proposal）"})
def support(proposal_id: int):
    """附议一个已有的项目建议（每人只计一次），并关注它的进展；返回项目建议和当前附议人数

    已经附议过时（如网络重试、重复点击）不会重复计数，同样返回 200，征集结束后也是如此。"""
    proposal = core.get_for(current_resident(), proposal_id)
    collection.support(proposal, resident=current_resident())
    db.session.commit()
    return _with_supports([proposal])[0]


def _ballot(round_):
    stage = stages.current(round_)
    return {"year": round_.year, "session_name": round_.session_name, "stage": stage.label,
            "runoff_id": stage.runoff.id if stage.runoff else None, "places": stage.places,
            "is_open": stage.status == "voting",
            "has_voted": stage.has_voted(current_staff().deputy_id),
            "is_present": voting.is_present(round_, current_staff().deputy_id),
            "candidates": candidates_for_ballot(round_, stage.runoff)}


@bp.get("/deputy/projects/ballot")
@deputy_required
@endpoint(out=BallotOut)
def ballot():
    """本年度民生实事项目票决的选票：候选项目、应选数、是否已投票"""
    return _ballot(_round())


@bp.post("/deputy/projects/ballot")
@deputy_required
@endpoint(body=BallotIn, out=BallotOut)
def cast(data):
    """投票：最多选择应选数个候选项目；无记名，投出后不能更改。决选时传回选票上的 runoff_id"""
    round_ = _round()
    runoff = stages.get_runoff(data["runoff_id"]) if data.get("runoff_id") else None
    if runoff is not None and runoff.round_id != round_.id:
        raise NotFound("没有这次决选", code="runoff_not_found")
    voting.cast_ballot(round_, data["candidate_ids"], actor=current_staff(), runoff=runoff)
    db.session.commit()
    return _ballot(round_)
