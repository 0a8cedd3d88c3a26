"""A deputy's record as labelled rows, one wording for the staff page, the Excel and the
mini-program: what a number means is said once."""
from backend.core.timeutil import local
from backend.records.dossier import DeputyRecord

DASH = "—"


def pct(rate: float | None) -> str:
    return DASH if rate is None else f"{rate * 100:.1f}%"


def days(value: float | None) -> str:
    return DASH if value is None else f"{value:g} 个工作日"


def sections(r: DeputyRecord) -> list[tuple[str, list[tuple[str, str]]]]:
    s = r.suggestions
    return [
        ("联系群众", [
            ("收到留言", f"{r.received} 条"),
            ("应由本人答复", f"{r.theirs} 条"),
            ("已答复", f"{r.answered} 条（答复率 {pct(r.answer_rate)}）"),
            ("按期答复", f"{r.answered_on_time} 条"),
            ("答复用时中位数", f"{days(r.median_workdays)}（据 {r.answered} 条已答复留言）"),
            ("群众评价", f"满意 {r.satisfied}、基本满意 {r.basically_satisfied}、不满意 "
                        f"{r.dissatisfied}（满意率 {pct(r.satisfaction_rate)}）"),
        ]),
        ("接待选民日", [
            ("值班", f"{r.duties} 次"),
            ("到岗", f"{r.duties_kept} 次"),
            ("缺岗", f"{r.duties_missed} 次"),
            ("未登记", f"{r.duties_unrecorded} 次"),
            ("换出", f"{r.swapped_out} 次"),
            ("约见群众", f"{r.appointments_met} 次"),
        ]),
        ("代表活动", [
            ("应参加", f"{r.invited} 次（含本人报备 {r.reported} 次）"),
            ("参加", f"{r.attended} 次"),
            ("请假", f"{r.excused} 次"),
            ("缺席", f"{r.absent} 次"),
            ("参与率", pct(r.participation_rate)),
        ]),
        ("代表建议", [
            ("领衔提出", f"{s.made} 件"),
            ("附议", f"{r.cosigned} 件"),
            ("答复分类", f"A类 {s.a}、B类 {s.b}、C类 {s.c}"),
            ("办结", f"{s.closed} 件"),
            ("对答复的评价", f"满意 {s.satisfied}、基本满意 {s.basically_satisfied}、不满意 "
                          f"{s.dissatisfied}"),
        ]),
        ("民生实事项目", [
            ("出席票决", f"{r.vote_sessions} 次"),
            ("电子投票", f"{r.votes_cast} 次"),
            ("再次表决电子投票", f"{r.runoff_votes_cast} 次"),
            ("项目测评", f"{r.projects_rated} 个"),
        ]),
    ]


def activity_line(activity, attendance, *, with_year: bool) -> tuple[str, str]:
    """(date, text) of one activity behind the record's 代表活动 counts: kind, title, the
    deputy's part; for a 议事 also its topic and what was agreed (the residents' names stay on
    the activity's own page). The year is written only on a term's record."""
    day = local(activity.starts_at).date()
    when = f"{day.year}年{day.month}月{day.day}日" if with_year else f"{day.month}月{day.day}日"
    part = "本人报备，已确认" if activity.origin == "reported" else attendance.status_label
    if attendance.status == "excused" and attendance.reason:
        part += f"（{attendance.reason}）"
    text = f"{activity.kind_label} · {activity.title} · {part}"
    if activity.is_deliberation:
        text += f"；议题：{activity.topic or '未填写'}；议定事项：{activity.agreed or '未填写'}"
    return when, text


# The all-deputies Excel: one row per deputy, in the order a district office files.
EXCEL_HEADERS = ("序号", "代表姓名", "所在联络站", "收到留言", "应答复", "已答复", "按期答复",
                 "答复用时中位数（工作日）", "满意", "基本满意", "不满意", "值班", "到岗", "缺岗",
                 "换出", "约见群众", "应参加活动", "参加", "请假", "缺席", "参与率", "领衔建议",
                 "附议建议", "建议办结", "出席项目票决", "电子投票", "再次表决电子投票",
                 "项目测评")


def excel_row(n: int, r: DeputyRecord) -> list:
    return [n, r.name, r.stations, r.received, r.theirs, r.answered, r.answered_on_time,
            DASH if r.median_workdays is None else r.median_workdays, r.satisfied,
            r.basically_satisfied, r.dissatisfied, r.duties, r.duties_kept, r.duties_missed,
            r.swapped_out, r.appointments_met, r.invited, r.attended, r.excused, r.absent,
            r.participation_rate, r.suggestions.made, r.cosigned, r.suggestions.closed,
            r.vote_sessions, r.votes_cast, r.runoff_votes_cast, r.projects_rated]
