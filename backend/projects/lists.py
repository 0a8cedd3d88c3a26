"""Read-only lists the channels show: a round's proposals by audience, similar ones, figures."""
import sqlalchemy as sa

from backend.core.extensions import db
from backend.projects import policy
from backend.projects.models import ProjectProposal, ProjectRound, ProjectSupport


def public_proposals(round_: ProjectRound) -> list[ProjectProposal]:
    return list(db.session.scalars(
        db.select(ProjectProposal).where(ProjectProposal.round_id == round_.id,
                                         ProjectProposal.status.in_(policy.PUBLIC_STATUSES))
        .order_by(ProjectProposal.id.desc())))


def all_proposals(round_: ProjectRound, status: str | None = None) -> list[ProjectProposal]:
    query = db.select(ProjectProposal).filter_by(round_id=round_.id)
    if status:
        query = query.filter_by(status=status)
    return list(db.session.scalars(query.order_by(ProjectProposal.id)))


def residents_own(resident) -> list[ProjectProposal]:
    if resident is None:
        return []
    return list(db.session.scalars(db.select(ProjectProposal).filter_by(resident_id=resident.id)
                                   .order_by(ProjectProposal.id.desc())))


def support_counts(proposal_ids) -> dict[int, int]:
    ids = list(proposal_ids)
    if not ids:
        return {}
    return dict(db.session.execute(
        db.select(ProjectSupport.proposal_id, sa.func.count())
        .where(ProjectSupport.proposal_id.in_(ids)).group_by(ProjectSupport.proposal_id)).all())


def department_projects(department_id: int) -> list[ProjectProposal]:
    return list(db.session.scalars(db.select(ProjectProposal).filter_by(
        department_id=department_id, status="delivering").order_by(ProjectProposal.id)))


# A public step in the resident's words, by the status it led to.
PUBLIC_WORDS = {"submitted": "已提交", "merged": "已与同类建议合并", "rejected": "未被采纳",
                "candidate": "列为候选项目", "chosen": "票决当选", "runoff": "票数相同，待再次表决",
                "unchosen": "未当选", "reserve": "列入项目储备库", "delivering": "转入实施"}


def public_timeline(proposal: ProjectProposal) -> list[tuple]:
    """(when, title, progress or None, photos), oldest first: the public status changes, the lead
    department's titled progress updates (whose own events are not repeated) and the
    milestones it reported done."""
    steps = [(e.created_at, PUBLIC_WORDS.get(e.to_status, ""), None, ()) for e in proposal.events
             if e.is_public and e.kind not in ("progress", "merged_in", "complete_milestone")
             and e.to_status in PUBLIC_WORDS]
    steps += [(e.created_at, f"节点完成：{e.text}", None, ()) for e in proposal.events
              if e.kind == "complete_milestone"]
    steps += [(u.created_at, u.title, u.progress, u.photos) for u in proposal.updates]
    return sorted(steps, key=lambda s: s[0])


SIMILAR_STATUSES = ("submitted", "candidate")
SIMILAR_MIN_SCORE = 0.5


def _bigrams(text: str) -> set[str]:
    chars = [c for c in text if c.isalnum()]
    return {a + b for a, b in zip(chars, chars[1:])}


def similar(round_: ProjectRound, text: str, limit: int = 5) -> list[ProjectProposal]:
    """Proposals of the round a resident typing `text` may mean already, best first: those whose
    title or opening words hold at least half of the typed text's two-character pieces, so
    加装电梯 finds 老楼加装电梯 and 修路灯 finds 修缮老街路灯. A year's open proposals are
    hundreds, so scoring them here is cheap."""
    wanted = _bigrams(text or "")
    if not wanted:
        return []
    scored = []
    for p in db.session.scalars(db.select(ProjectProposal).where(
            ProjectProposal.round_id == round_.id,
            ProjectProposal.status.in_(SIMILAR_STATUSES))):
        have = _bigrams(p.title) | _bigrams(p.content[:60])
        score = len(wanted & have) / len(wanted)
        if score >= SIMILAR_MIN_SCORE:
            scored.append((-score, p.id, p))
    return [p for *_, p in sorted(scored)[:limit]]
