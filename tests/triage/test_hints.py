"""Answer hints: fire on vague, off-topic or late answers; stay quiet on a good one."""
from datetime import datetime, timedelta, timezone

from backend.triage.hints import answer_hints

SUBJECT = "A3区桂花苑小区门口垃圾站噪音扰民"
BODY = "桂花苑小区门口的垃圾站每天早上五点开始作业，噪音很大，希望迁走。"
GOOD = ("您好！您反映的桂花苑小区门口垃圾站噪音问题已收悉。经A3区城管局现场核实，垃圾站作业时间确实偏早，"
        "我局已责令环卫公司自2026年12月10日起将作业时间调整到早上七点以后，并于年底前加装隔音设施。")
DUE = datetime(2026, 12, 20, 15, 59, 59, tzinfo=timezone.utc)


def codes(*args, **kw):
    return [h.code for h in answer_hints(*args, **kw)]


def test_a_specific_answer_on_time_gets_no_hint():
    assert codes(SUBJECT, BODY, GOOD, due_at=DUE, answered_at=DUE - timedelta(days=3)) == []


def test_an_answer_about_something_else_is_off_topic():
    other = ("您好！关于孩子入学的问题，经A3区教育局核实，学区划分已于2026年3月公布，"
             "请携带户口本到学校办理入学手续。")
    assert codes(SUBJECT, BODY, other) == ["off_topic"]


def test_an_acknowledgement_names_no_action_body_or_date():
    assert codes(SUBJECT, BODY, "网友您好！留言已收悉，谢谢。") == ["off_topic", "no_action", "no_body", "no_date"]


def test_forwarding_to_unnamed_departments_names_no_body():
    hints = codes(SUBJECT, BODY, "您反映的桂花苑小区垃圾站噪音问题，已转交相关部门处理。")
    assert "no_body" in hints and "no_action" not in hints and "off_topic" not in hints


def test_late_only_after_the_deadline():
    assert "late" not in codes(SUBJECT, BODY, GOOD, due_at=DUE, answered_at=DUE)
    hints = answer_hints(SUBJECT, BODY, GOOD, due_at=DUE, answered_at=DUE + timedelta(days=3, hours=1))
    assert [h.code for h in hints] == ["late"]
    assert "3 天" in hints[0].message


def test_late_uses_now_when_not_given():
    assert "late" in codes(SUBJECT, BODY, GOOD, due_at=datetime.now(timezone.utc) - timedelta(hours=1))
    assert "late" not in codes(SUBJECT, BODY, GOOD, due_at=datetime.now(timezone.utc) + timedelta(hours=1))


def test_every_hint_is_chinese():
    for hint in answer_hints(SUBJECT, BODY, "好的", due_at=DUE, answered_at=DUE + timedelta(days=1)):
        assert hint.message and all(not ("a" <= ch.lower() <= "z") for ch in hint.message)
