"""热点问题 from the stored clusters: the job places each new message once (joining a cluster
without re-deciding the others), residents counted once, refused and held messages left out,
each role only its stations; a cluster becomes one suggestion draft with all its messages."""
from datetime import timedelta

import pytest

from backend.core.errors import Forbidden
from backend.core.timeutil import utcnow
from backend.messages import hot_clusters
from backend.messages import operations as ops
from backend.messages.hot_issues import hot_issues
from backend.messages.triage_model import HotCluster, HotClusterMessage
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
    hot_clusters.update_clusters()
    return w


def test_residents_not_messages_make_an_issue_hot(world):
    (issue,) = hot_issues(world.liaison)
    assert [m.id for m in issue.messages] == [m.id for m in world.lift]
    assert issue.residents == 3 and issue.heat > 2.9
    assert [i.residents for i in hot_issues(world.admin)] == [3]


def test_a_second_letter_from_a_resident_adds_no_heat(world, submit):
    before = hot_issues(world.liaison)[0]
    submit(resident=world.residents[0], deputy=world.deputy, body=LIFT[0] + "再次反映！")
    hot_clusters.update_clusters()
    after = hot_issues(world.liaison)[0]
    assert (after.residents, len(after.messages)) == (3, 4)
    assert after.heat == pytest.approx(before.heat, abs=0.01)


def test_rejected_messages_and_old_ones_are_left_out(world, db):
    ops.reject(world.lift[0], reason="重复提交的测试内容", actor=world.liaison)
    (issue,) = hot_issues(world.liaison)  # at once, before the job runs
    assert issue.residents == 2
    hot_clusters.update_clusters()  # and the job takes it out of its cluster
    assert db.session.get(HotClusterMessage, world.lift[0].id) is None
    cluster = db.session.get(HotCluster, issue.cluster_id, populate_existing=True)
    assert (cluster.messages, cluster.residents) == (2, 2)
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


ESTATES = ["东湖", "金桥", "南苑", "西城", "翠竹", "银杏", "枫林", "长青", "紫荆", "锦绣"]
PROBLEMS = ["门口的垃圾站臭气熏天，夏天蚊蝇成群，希望环卫部门搬迁或每天清运两次。",
            "附近工地夜里十二点还在打桩施工，噪音吵得孩子睡不着觉，请城管依法查处。",
            "小区里的路灯坏了一个多月没人修，晚上漆黑一片，老人出门摔倒过好几次。"]


def _memberships(db):
    return dict(db.session.execute(db.select(HotClusterMessage.message_id, HotClusterMessage.cluster_id)).all())


def _others(world, submit, make_resident, n):
    """n messages of other estates and problems, each from another resident."""
    return [submit(resident=make_resident(), deputy=world.deputy,
                   body=f"{ESTATES[k % len(ESTATES)]}{'花园' if k >= len(ESTATES) else '小区'}{PROBLEMS[k % 3]}").message
            for k in range(n)]


def test_an_arrival_joins_its_cluster_without_recomputing_the_others(world, db, submit, make_resident):
    _others(world, submit, make_resident, 20)
    hot_clusters.update_clusters()
    before = _memberships(db)
    lift_cluster = before[world.lift[0].id]
    comparisons = hot_clusters._state().comparisons
    statements = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731
    newcomer = submit(resident=make_resident(), deputy=world.deputy,
                      body="桂花苑小区3号楼电梯又坏了，物业两个星期都不修，老人上下楼太难了。").message
    db.event.listen(db.engine, "before_cursor_execute", listen)
    try:
        assert hot_clusters.update_clusters() == 1
    finally:
        db.event.remove(db.engine, "before_cursor_execute", listen)
    after = _memberships(db)
    assert after[newcomer.id] == lift_cluster
    assert {k: v for k, v in after.items() if k != newcomer.id} == before  # nobody else moved
    # a handful of LSH candidates were compared, not the 25 messages already placed
    assert hot_clusters._state().comparisons - comparisons <= 3
    # fingerprint, refused members, the new ones, one insert, one recount, one cleanup: no per-message work
    assert len(statements) <= 8, statements
    assert not [s for s in statements if s.lstrip().startswith("UPDATE hot_cluster_messages")]
    (recount,) = [s for s in statements if s.lstrip().startswith("UPDATE hot_clusters")]
    assert "," not in recount.rsplit("hot_clusters.id IN (", 1)[1]  # one cluster recounted
    cluster = db.session.get(HotCluster, lift_cluster, populate_existing=True)
    assert (cluster.messages, cluster.residents) == (4, 4)


def test_a_restarted_process_restores_the_clusters_and_decides_nothing_again(world, db, submit, make_resident):
    _others(world, submit, make_resident, 6)
    hot_clusters.update_clusters()
    before = _memberships(db)
    hot_clusters.forget()  # a new process: the index is warmed from the tables
    newcomer = submit(resident=make_resident(), deputy=world.deputy,
                      body="反映桂花苑小区3号楼电梯坏了半个月，物业不修，老人下不了楼。").message
    hot_clusters.update_clusters()
    after = _memberships(db)
    assert after[newcomer.id] == before[world.lift[0].id]
    assert {k: v for k, v in after.items() if k != newcomer.id} == before
    assert hot_clusters._state().comparisons <= 3  # warming compared nothing


def test_a_merged_message_stays_and_a_held_one_waits(world, db, submit, make_resident):
    ops.merge(world.lift[2], world.lift[0], actor=world.liaison)
    hot_clusters.update_clusters()
    (issue,) = hot_issues(world.liaison)
    assert issue.residents == 3  # each merged message is still a resident
    held = submit(resident=make_resident(), deputy=world.deputy, body=LIFT[1] + "（重发）").message
    held.status, held.hold_reason = "held", "含有待核实的内容"
    db.session.flush()
    hot_clusters.update_clusters()
    assert db.session.get(HotClusterMessage, held.id) is None
    ops.release(held, actor=world.liaison)  # checked and let through: now it is a resident's voice
    assert hot_clusters.update_clusters() == 1
    assert db.session.get(HotClusterMessage, held.id).cluster_id == issue.cluster_id
    assert hot_issues(world.liaison)[0].residents == 4


def test_the_page_counts_only_its_window(world, db, submit, make_resident):
    old = world.lift[0]
    old.created_at = utcnow() - timedelta(days=10)
    db.session.flush()
    hot_clusters.rebuild()
    assert [i.residents for i in hot_issues(world.liaison, days=30)] == [3]
    assert [i.residents for i in hot_issues(world.liaison, days=7)] == [2]


def test_rebuild_command_places_every_message_again(world, db, app):
    placed = _memberships(db)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["triage", "clusters", "rebuild", "--batch", "100"])
    assert result.exit_code == 0, result.output
    assert "已重新分组 5 条留言" in result.output
    db.session.expire_all()
    again = _memberships(db)
    assert set(again) == set(placed)
    lift = {again[m.id] for m in world.lift}
    assert len(lift) == 1 and again[world.school[0].id] not in lift
    (issue,) = hot_issues(world.liaison)
    assert issue.cluster_id in lift


def test_two_runs_at_once_place_each_message_once(app, db, postgres_only, world, submit, make_resident):
    """Two schedulers (or a rebuild beside the job): the membership's key lets one win; the
    other fails and rolls back, and the next run warms from the tables and finds nothing to do."""
    import sqlalchemy as sa

    from tests.conftest import at_once
    new = [submit(resident=make_resident(), deputy=world.deputy, body=b + "再次反映。").message.id for b in LIFT]
    db.session.commit()
    outcomes = at_once(app, hot_clusters.update_clusters, hot_clusters.update_clusters)
    placed = [o for o in outcomes if not isinstance(o, Exception)]
    assert sum(placed) == 3, outcomes
    assert all(isinstance(o, sa.exc.IntegrityError) for o in outcomes if isinstance(o, Exception)), outcomes
    db.session.rollback()
    assert hot_clusters.update_clusters() == 0
    members = _memberships(db)
    assert len({members[i] for i in new} | {members[m.id] for m in world.lift}) == 1
    cluster = db.session.get(HotCluster, members[new[0]], populate_existing=True)
    assert (cluster.messages, cluster.residents) == (6, 6)
