"""The state machine every project operation goes through: `guard` (permission, then state),
`transition` (the status and its event row), loading with a row lock, and who hears of what."""
from backend.core.errors import Forbidden, InvalidState, NotFound
from backend.core.extensions import db
from backend.core.loading import load_for
from backend.notifications.notify import notify
from backend.notifications.places import Place
from backend.projects import policy
from backend.projects.models import (
    ProjectEvent, ProjectFollow, ProjectProposal, ProjectRound,
)

# verb: (statuses it may start from, status it leads to; None keeps the status)
TRANSITIONS = {
    "support": ({"submitted"}, None),
    "merge": ({"submitted"}, "merged"),
    "reject": ({"submitted"}, "rejected"),
    "nominate": ({"submitted"}, "candidate"),  # on the candidate list
    "withdraw": ({"candidate"}, "submitted"),  # off the list again, before the vote
    "choose": ({"candidate"}, "chosen"),
    "tie": ({"candidate"}, "runoff"),
    "lose": ({"candidate"}, "unchosen"),
    "win_runoff": ({"runoff"}, "chosen"),  # a run-off (决选) decides among the tied
    "tie_again": ({"runoff"}, None),
    "lose_runoff": ({"runoff"}, "unchosen"),
    "reserve": ({"unchosen", "runoff"}, "reserve"),
    "carry_over": ({"reserve"}, "submitted"),  # from the reserve pool into a later year's round
    "deliver": ({"chosen"}, "delivering"),
    "progress": ({"delivering"}, None),
    "plan_milestone": ({"delivering"}, None),
    "complete_milestone": ({"delivering"}, None),
    "rate": ({"delivering"}, None),
}
VERB_LABELS = {
    "support": "附议", "merge": "合并", "reject": "不予采纳", "nominate": "列为候选项目",
    "withdraw": "移出候选名单", "choose": "票决当选", "tie": "列入再次表决",
    "lose": "未当选", "win_runoff": "决选当选", "tie_again": "决选票数仍相同",
    "lose_runoff": "决选未当选", "reserve": "列入项目储备库", "carry_over": "转入新年度",
    "deliver": "转入实施", "progress": "报告进度",
    "plan_milestone": "安排实施节点", "complete_milestone": "完成实施节点", "rate": "满意度测评",
}
# Every event kind a timeline may show.
EVENT_LABELS = {**VERB_LABELS, "propose": "提出建议", "merged_in": "同类建议并入"}
ROUND_VERBS = {
    "propose": ({"collecting"}, None), "close_collection": ({"collecting"}, "screening"),
    "screen": ({"collecting", "screening"}, None), "open_vote": ({"screening"}, "voting"),
    "register_present": ({"voting"}, None),
    "cast": ({"voting"}, None), "close_vote": ({"voting"}, "counting"),
    "enter_paper": ({"counting"}, None), "decide": ({"counting"}, "decided"),
    "deliver": ({"decided"}, None), "open_runoff": ({"decided"}, None),
}
ROUND_VERB_LABELS = {
    "propose": "提出项目建议", "close_collection": "结束征集", "screen": "初选",
    "open_vote": "开始投票", "register_present": "补登出席代表", "cast": "投票", "close_vote": "结束投票", "enter_paper": "录入纸质票",
    "decide": "公布结果", "deliver": "转入实施", "open_runoff": "开始决选",
}


def get_for(user, proposal_id: int) -> ProjectProposal:
    return load_for(user, ProjectProposal, proposal_id, policy.can_view,
                    missing=NotFound("项目建议不存在", code="project_not_found"),
                    refused=Forbidden("您无权查看这个项目建议", code="project_forbidden"))


def get_round(round_id: int) -> ProjectRound:
    round_ = db.session.get(ProjectRound, round_id)
    if round_ is None:
        raise NotFound("没有这一年度的民生实事项目", code="project_round_not_found")
    return round_


def current_round() -> ProjectRound | None:
    return db.session.scalar(db.select(ProjectRound).order_by(ProjectRound.year.desc()).limit(1))


def lock_round(round_: ProjectRound) -> ProjectRound:
    """Row-lock the round and re-read it: every vote, count and list change takes turns on it,
    so a ballot never lands after the vote was closed."""
    db.session.execute(db.select(ProjectRound).filter_by(id=round_.id).with_for_update()
                       .execution_options(populate_existing=True)).all()
    return round_


def lock(*proposals: ProjectProposal) -> None:
    ids = sorted({p.id for p in proposals})
    db.session.execute(db.select(ProjectProposal).where(ProjectProposal.id.in_(ids))
                       .order_by(ProjectProposal.id).with_for_update()
                       .execution_options(populate_existing=True)).all()


def guard_round(round_: ProjectRound, verb: str, allowed: bool = True) -> None:
    if not allowed:
        raise Forbidden("您无权进行此操作", code="project_forbidden")
    sources, _ = ROUND_VERBS[verb]
    if round_.status not in sources:
        raise InvalidState(f"{round_.year}年度民生实事项目当前为「{round_.status_label}」，"
                           f"不能{ROUND_VERB_LABELS[verb]}", code=f"round_cannot_{verb}")


def move_round(round_: ProjectRound, verb: str) -> None:
    target = ROUND_VERBS[verb][1]
    if target is not None:
        round_.status = target


def guard(proposal: ProjectProposal, verb: str, allowed: bool = True) -> None:
    """Permission first (403), then the status (409): nothing changes when either fails."""
    if not allowed:
        raise Forbidden("您无权对这个项目建议进行此操作", code="project_forbidden")
    if proposal.status not in TRANSITIONS[verb][0]:
        raise InvalidState(f"项目建议当前为「{proposal.status_label}」，不能{VERB_LABELS[verb]}",
                           code=f"project_cannot_{verb}")


def transition(proposal: ProjectProposal, verb: str, actor, *, text: str = "",
               public: bool = True) -> ProjectEvent:
    before = proposal.status
    target = TRANSITIONS[verb][1]
    if target is not None:
        proposal.status = target
    return event(proposal, verb, actor, before, proposal.status, text=text, public=public)


def event(proposal, kind, actor, from_status, to_status, *, text="", public=True) -> ProjectEvent:
    actor_kind = ("system" if actor is None else "staff" if hasattr(actor, "role")
                  else "resident")
    row = ProjectEvent(proposal_id=proposal.id, kind=kind, actor_kind=actor_kind,
                       actor_id=getattr(actor, "id", None), from_status=from_status,
                       to_status=to_status, is_public=public, text=text)
    db.session.add(row)
    return row


def follow(proposal: ProjectProposal, resident) -> None:
    """Idempotent: a resident already following stays one row."""
    exists = db.session.scalar(db.select(ProjectFollow.id).filter_by(
        proposal_id=proposal.id, resident_id=resident.id))
    if exists is None:
        db.session.add(ProjectFollow(proposal_id=proposal.id, resident_id=resident.id))


def follower_ids(proposal: ProjectProposal) -> list[int]:
    return list(db.session.scalars(db.select(ProjectFollow.resident_id)
                                   .filter_by(proposal_id=proposal.id)
                                   .order_by(ProjectFollow.resident_id)))


def notify_followers(proposal: ProjectProposal, topic: str, title: str, body: str = "") -> int:
    ids = follower_ids(proposal)
    for resident_id in ids:
        notify("resident", resident_id, topic, title, body=body or proposal.title,
               place=Place("resident_project", proposal.id), subject=proposal)
    return len(ids)
