"""After the vote: the chosen projects move into delivery in one step; the unchosen may go to
the reserve pool; the lead department reports progress, and every follower is told; deputies
rate each finished project (满意度测评)."""
from dataclasses import dataclass
from datetime import date

from sqlalchemy.exc import IntegrityError

from backend.core import audit
from backend.core.errors import InvalidState, NotFound, ValidationFailed
from backend.core.extensions import db
from backend.core.textcount import clean_text, visible_length
from backend.core.timeutil import local, local_today
from backend.accounts.models import StaffUser
from backend.notifications.notify import notify
from backend.notifications.places import Place
from backend.projects import core, photo_files, policy
from backend.projects.stages import latest_runoff
from backend.projects.models import (
    RATING_LABELS, RATINGS, ProjectMilestone, ProjectPhoto, ProjectProposal, ProjectRating,
    ProjectRatingCount, ProjectRound, ProjectUpdate,
)

TITLE_MIN, TITLE_MAX = 2, 60
BODY_MAX = 2000
PHOTOS_MAX = 9
MILESTONES_MAX = 20  # a year's project: design, tender, works, acceptance… not a diary
MILESTONE_YEARS = 5  # how far past the vote a step may be due


def start_delivery(round_: ProjectRound, *, actor) -> list[ProjectProposal]:
    """Every chosen project of the round into delivery tracking, with its lead department told."""
    core.lock_round(round_)
    core.guard_round(round_, "deliver", policy.is_office(actor))
    _no_runoff_open(round_)
    chosen = list(db.session.scalars(db.select(ProjectProposal).filter_by(
        round_id=round_.id, status="chosen").order_by(ProjectProposal.id)))
    if not chosen:
        raise InvalidState("没有待转入实施的当选项目", code="nothing_to_deliver")
    core.lock(*chosen)
    for proposal in chosen:
        core.transition(proposal, "deliver", actor)
        core.notify_followers(proposal, "project.delivering", "您关注的项目已转入实施",
                              body=proposal.title)
        for staff_id in db.session.scalars(db.select(StaffUser.id).filter_by(
                role="department", department_id=proposal.department_id, is_active=True)):
            notify("staff", staff_id, "project.assigned", "有民生实事项目由本单位牵头实施",
                   body=proposal.title, place=Place("staff_project", proposal.id), subject=proposal)
    audit.record("project_round.deliver", round_, actor=actor,
                 after={"projects": [p.id for p in chosen]})
    return chosen


def _no_runoff_open(round_: ProjectRound) -> None:
    # A run-off still deciding: its candidates are neither chosen nor out yet.
    if latest_runoff(round_) is not None and latest_runoff(round_).status != "decided":
        raise InvalidState("决选尚未公布结果，请公布后再办理", code="runoff_open")


def keep_in_reserve(proposal: ProjectProposal, *, actor) -> ProjectProposal:
    core.lock(proposal)
    core.guard(proposal, "reserve", policy.is_office(actor))
    if proposal.status == "runoff":
        _no_runoff_open(proposal.round)
    core.transition(proposal, "reserve", actor)
    audit.record("project.reserve", proposal, actor=actor)
    core.notify_followers(proposal, "project.reserve", "您关注的项目列入项目储备库",
                          body=proposal.title)
    return proposal


def carry_over(proposal: ProjectProposal, into: ProjectRound, *, actor) -> ProjectProposal:
    """A reserve-pool project joins a later year's round, to be screened with its proposals;
    its supporters and followers stay with it."""
    core.lock(proposal)
    core.guard(proposal, "carry_over", policy.is_office(actor))
    core.guard_round(into, "screen")
    if into.year <= proposal.round.year:
        raise ValidationFailed(errors={"round": ["只能转入以后年度的项目征集"]},
                               code="carry_over_invalid")
    before = proposal.round.year
    proposal.round_id = into.id
    db.session.flush()
    db.session.expire(proposal, ["round"])
    core.transition(proposal, "carry_over", actor, text=f"{before}年度储备项目")
    audit.record("project.carry_over", proposal, actor=actor,
                 before={"year": before}, after={"year": into.year})
    core.notify_followers(proposal, "project.carry_over", "您关注的储备项目转入新年度征集",
                          body=proposal.title)
    return proposal


def report_progress(proposal: ProjectProposal, *, progress, title: str, body: str = "",
                    photos=(), actor) -> ProjectUpdate:
    """Progress only goes forward; 100 % is done. `photos` are uploads (bytes), cleaned and
    stored with the report; public with the project. Files written before a failure here are
    removed at once; if the caller's transaction does not commit, when it ends (photo_files)."""
    core.lock(proposal)
    core.guard(proposal, "progress", policy.can_report_progress(actor, proposal))
    errors: dict = {}
    if not isinstance(progress, int) or not 0 <= progress <= 100:
        errors["progress"] = ["请填写0到100之间的整数"]
    elif progress < proposal.progress:
        errors["progress"] = [f"进度不能低于已报告的{proposal.progress}%"]
    title = clean_text(title or "")
    if not TITLE_MIN <= visible_length(title) <= TITLE_MAX:
        errors["title"] = [f"请填写进展标题（{TITLE_MIN}到{TITLE_MAX}个字）"]
    body = clean_text(body or "")
    if visible_length(body) > BODY_MAX:
        errors["body"] = [f"进展说明不能超过{BODY_MAX}个字"]
    if len(photos) > PHOTOS_MAX:
        errors["photos"] = [f"每次最多上传{PHOTOS_MAX}张照片"]
    if errors:
        raise ValidationFailed(errors=errors, code="progress_invalid")
    before = proposal.progress
    update = ProjectUpdate(proposal_id=proposal.id, staff_id=actor.id, title=title, body=body,
                           progress=progress, photos=_stored_photos(photos))
    db.session.add(update)
    proposal.progress = progress
    db.session.flush()
    core.transition(proposal, "progress", actor, text=f"{title}（{progress}%）")
    audit.record("project.progress", proposal, actor=actor, before={"progress": before},
                 after={"progress": progress, "title": title})
    _tell(proposal, "project.progress", f"项目进展：完成{progress}%", f"{proposal.title}：{title}")
    return update


def _stored_photos(uploads) -> list[ProjectPhoto]:
    stored = photo_files.store_all(uploads, photo_files.FOLDERS["progress"], field="photos",
                                   code="progress_invalid")
    return [ProjectPhoto(storage_key=i.key, width=i.width, height=i.height,
                         size_bytes=i.size_bytes) for i in stored]


def _tell(proposal: ProjectProposal, topic: str, title: str, body: str) -> None:
    """A delivery step reaches the followers and the deputy who proposed it."""
    core.notify_followers(proposal, topic, title, body=body)
    if proposal.deputy_id is not None:
        notify("deputy", proposal.deputy_id, topic, title, body=body,
               place=Place("staff_project", proposal.id), subject=proposal)


def plan_milestone(proposal: ProjectProposal, *, title: str, due_on, actor) -> ProjectMilestone:
    """A step of the delivery with the day it is due (Beijing)."""
    core.lock(proposal)
    core.guard(proposal, "plan_milestone", policy.can_plan_milestones(actor, proposal))
    errors: dict = {}
    title = clean_text(title or "")
    if not TITLE_MIN <= visible_length(title) <= TITLE_MAX:
        errors["title"] = [f"请填写节点名称（{TITLE_MIN}到{TITLE_MAX}个字）"]
    voted = local(proposal.round.vote_opened_at).date() if proposal.round.vote_opened_at else None
    if not isinstance(due_on, date):
        errors["due_on"] = ["请填写计划完成日期（年-月-日）"]
    elif voted and not voted <= due_on <= date(voted.year + MILESTONE_YEARS, 12, 31):
        errors["due_on"] = [f"计划完成日期应在票决之日（{voted:%Y-%m-%d}）到"
                            f"{voted.year + MILESTONE_YEARS}年底之间"]
    if len(proposal.milestones) >= MILESTONES_MAX:
        errors["title"] = [f"一个项目最多安排{MILESTONES_MAX}个实施节点"]
    if errors:
        raise ValidationFailed(errors=errors, code="milestone_invalid")
    row = ProjectMilestone(proposal_id=proposal.id, title=title, due_on=due_on,
                           created_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    db.session.expire(proposal, ["milestones"])
    core.transition(proposal, "plan_milestone", actor, text=f"{title}（计划{due_on:%Y-%m-%d}完成）",
                    public=False)
    audit.record("project.plan_milestone", proposal, actor=actor,
                 after={"milestone": row.id, "title": title, "due_on": due_on.isoformat()})
    return row


def complete_milestone(milestone: ProjectMilestone, *, actor, done_on=None) -> ProjectMilestone:
    """The lead department reports a step done, on a day not in the future; once."""
    proposal = db.session.get(ProjectProposal, milestone.proposal_id)
    core.lock(proposal)
    core.guard(proposal, "complete_milestone", policy.can_report_progress(actor, proposal))
    db.session.refresh(milestone)
    if milestone.done_on is not None:
        raise InvalidState(f"节点「{milestone.title}」已于{milestone.done_on:%Y-%m-%d}完成",
                           code="milestone_already_done")
    today = local_today()
    done_on = today if done_on is None else done_on
    voted = local(proposal.round.vote_opened_at).date() if proposal.round.vote_opened_at else None
    if not isinstance(done_on, date) or done_on > today or (voted and done_on < voted):
        raise ValidationFailed(errors={"done_on": ["完成日期应在票决之日以后，且不能晚于今天"]},
                               code="milestone_invalid")
    milestone.done_on, milestone.done_by_id = done_on, actor.id
    late = done_on > milestone.due_on
    text = f"{milestone.title}（{done_on:%Y-%m-%d}完成{'，晚于计划' if late else ''}）"
    core.transition(proposal, "complete_milestone", actor, text=text)
    audit.record("project.complete_milestone", proposal, actor=actor, after={
        "milestone": milestone.id, "done_on": done_on.isoformat(), "late": late})
    _tell(proposal, "project.milestone", f"项目节点完成：{milestone.title}", f"{proposal.title}：{text}")
    return milestone


def photo_of(proposal: ProjectProposal, photo_id: int) -> ProjectPhoto | None:
    """The progress photo `photo_id` if it belongs to this project's reports."""
    return db.session.scalar(db.select(ProjectPhoto).join(ProjectUpdate)
                             .where(ProjectPhoto.id == photo_id,
                                    ProjectUpdate.proposal_id == proposal.id))


def get_milestone(user, milestone_id: int) -> ProjectMilestone:
    milestone = db.session.get(ProjectMilestone, milestone_id)
    if milestone is None:
        raise NotFound("实施节点不存在", code="milestone_not_found")
    core.get_for(user, milestone.proposal_id)  # 404/403 as for its project
    return milestone


def rate(proposal: ProjectProposal, value: str, *, actor) -> ProjectRating:
    """A deputy's end-of-year rating of a finished project: once each, secret, not changed after.
    The proposal's row lock makes two ratings of one project take turns on its counter."""
    core.lock(proposal)
    core.guard(proposal, "rate", policy.can_rate(actor, proposal))
    if value not in RATINGS:
        raise ValidationFailed(errors={"value": ["请选择满意、基本满意或不满意"]},
                               code="rating_invalid")
    if has_rated(proposal, actor.deputy_id):
        raise InvalidState("您已经测评过这个项目", code="project_already_rated")
    row = ProjectRating(proposal_id=proposal.id, deputy_id=actor.deputy_id)
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise InvalidState("您已经测评过这个项目", code="project_already_rated")
    if db.session.get(ProjectRatingCount, (proposal.id, value)) is None:
        db.session.add(ProjectRatingCount(proposal_id=proposal.id, value=value, votes=0))
        db.session.flush()
    db.session.execute(db.update(ProjectRatingCount).filter_by(proposal_id=proposal.id, value=value)
                       .values(votes=ProjectRatingCount.votes + 1))
    core.transition(proposal, "rate", actor, public=False)
    audit.record("project.rate", proposal, actor=actor)  # who rated, never how
    return row


@dataclass
class RatingSummary:
    counts: dict
    total: int

    @property
    def verdict(self) -> str:
        """满意 when 满意 and 基本满意 together are more than half of the ratings."""
        if not self.total:
            return "尚未测评"
        good = self.counts["satisfied"] + self.counts["basically_satisfied"]
        return "满意" if 2 * good > self.total else "不满意"

    @property
    def lines(self) -> list[tuple[str, int]]:
        return [(RATING_LABELS[v], self.counts[v]) for v in RATINGS]


def rating_summary(proposal: ProjectProposal) -> RatingSummary:
    counts = dict.fromkeys(RATINGS, 0)
    counts.update(db.session.execute(
        db.select(ProjectRatingCount.value, ProjectRatingCount.votes)
        .filter_by(proposal_id=proposal.id)).all())
    return RatingSummary(counts, sum(counts.values()))


def has_rated(proposal: ProjectProposal, deputy_id: int | None) -> bool:
    return deputy_id is not None and db.session.scalar(db.select(ProjectRating.id).filter_by(
        proposal_id=proposal.id, deputy_id=deputy_id)) is not None
