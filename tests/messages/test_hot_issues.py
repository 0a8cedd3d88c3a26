"""热点问题 from the database: residents counted once, refused and held messages left out, each
role only its stations; a cluster becomes one suggestion draft with all its messages."""
from datetime import timedelta

import pytest

from backend.core.errors import Forbidden
from backend.core.timeutil import utcnow
from backend.messages import operations as ops
from backend.messages.hot_issues import hot_issues
from backend.suggestions.drafting import create_draft

LIFT = [
    "桂花苑小区3号楼电梯坏了两个星期，物业一直不修，老人上下楼很困难。",
    "桂花苑小区3号楼的电梯已经坏了半个月，物业不管不问，老人没法下楼。",
    "反映桂花苑小区3号楼电梯坏了两周没人修，物业推脱，请代表督促。",
]
SCHOOL = "实验小学门口早晚接送孩子的车太多，堵得厉害，希望交警在上学放学时段维持秩序。"


@pytest.fixture
def world(db, make_deputy, make_resident, make_staff, submit):
    w = type("World", (), {})()
    w.deputy = make_deputy(name="王建国")
    w.station = w.deputy.stations[0]
    w.residents = [make_resident() for _ in range(4)]
    w.lift = [submit(resident=r, deputy=w.deputy, body=b).message for r, b in zip(w.residents, LIFT)]
    # one resident writing twice is one voice: not a hot issue
    w.school = [submit(resident=w.residents[3], deputy=w.deputy, body=SCHOOL + s).message for s in ("", "谢谢！")]
    w.liaison = make_staff("liaison", stations=[w.station])
    w.admin = make_staff("admin")
    db.session.flush()
    return w


def test_residents_not_messages_make_an_issue_hot(world):
    (issue,) = hot_issues(world.liaison)
    assert [m.id for m in issue.messages] == [m.id for m in world.lift]
    assert issue.residents == 3 and issue.heat > 2.9
    assert [i.residents for i in hot_issues(world.admin)] == [3]


def test_a_second_letter_from_a_resident_adds_no_heat(world, submit):
    before = hot_issues(world.liaison)[0]
    submit(resident=world.residents[0], deputy=world.deputy, body=LIFT[0] + "再次反映！")
    after = hot_issues(world.liaison)[0]
    assert (after.residents, len(after.messages)) == (3, 4)
    assert after.heat == pytest.approx(before.heat, abs=0.01)


def test_rejected_messages_and_old_ones_are_left_out(world):
    ops.reject(world.lift[0], reason="重复提交的测试内容", actor=world.liaison)
    (issue,) = hot_issues(world.liaison)
    assert issue.residents == 2
    assert hot_issues(world.liaison, now=utcnow() + timedelta(days=31)) == []


def test_each_role_sees_only_its_stations(world, make_staff, make_station, make_deputy):
    other = make_staff("liaison", stations=[make_station()])
    assert hot_issues(other) == []
    with pytest.raises(Forbidden):
        hot_issues(other, station_ids=[world.station.id])
    with pytest.raises(Forbidden):
        hot_issues(make_staff("deputy", deputy=world.deputy))
    assert hot_issues(world.admin, station_ids=[other.stations[0].id]) == []


def test_a_cluster_becomes_one_draft_with_all_its_messages(world):
    (issue,) = hot_issues(world.liaison)
    draft = create_draft(actor=world.liaison, deputy=world.deputy, title="桂花苑小区电梯长期失修",
                         category="城乡建设", problem="多位居民反映桂花苑小区3号楼电梯坏了两周无人维修。",
                         proposal="请住建部门督促物业尽快维修电梯。",
                         message_ids=[m.id for m in issue.messages])
    assert sorted(m.id for m in draft.messages) == sorted(m.id for m in world.lift)
