"""Hot issues: one place and problem clusters within the window; heat counts residents."""
from datetime import datetime, timedelta

from backend.triage.hotspots import HotspotIndex, places

T0 = datetime(2026, 11, 1, 9, 0)
LIFT = ("桂花苑小区电梯经常停运", "A3区金星路桂花苑小区3栋的电梯经常停运，上周又困了人，物业说没钱修，老人上下楼很困难。")
LIFT_AGAIN = [
    ("桂花苑小区电梯又坏了", "A3区金星路桂花苑小区3栋电梯又停运了，困人好几次，物业不修，老人上下楼太困难。"),
    ("反映桂花苑小区电梯停运问题", "桂花苑小区3栋的电梯经常停运，物业说没有维修资金，老人上下楼困难，请督促维修。"),
    ("A3区桂花苑小区电梯停运困人", "金星路桂花苑小区电梯停运，又困人了，物业说没钱修，请住建部门督促物业维修电梯。"),
]
OTHER_ESTATE = ("东湖小区电梯经常停运", "A5区湘江大道东湖小区3栋的电梯经常停运，上周又困了人，物业说没钱修，老人上下楼很困难。")
OTHER_PROBLEM = ("桂花苑小区门口烧烤摊油烟扰民", "金星路桂花苑小区门口的烧烤摊每晚油烟噪音扰民到凌晨，请城管取缔。")


def test_places_are_the_estate_road_or_company():
    assert places("A3区金星路桂花苑小区3栋的电梯") >= {"金星路", "桂花苑"}
    assert "东湖小区" in places("A5区湘江大道东湖小区")


def test_one_place_and_problem_is_one_cluster():
    idx = HotspotIndex()
    first = idx.add(1, *LIFT, T0, resident="r1")
    for k, (subject, body) in enumerate(LIFT_AGAIN, start=2):
        assert idx.add(k, subject, body, T0 + timedelta(days=k), resident=f"r{k}").id == first.id
    assert first.keys == [1, 2, 3, 4] and len(first.residents) == 4


def test_another_estate_or_another_problem_is_another_cluster():
    idx = HotspotIndex()
    lift = idx.add(1, *LIFT, T0, resident="r1")
    assert idx.add(2, *OTHER_ESTATE, T0, resident="r2").id != lift.id
    assert idx.add(3, *OTHER_PROBLEM, T0, resident="r3").id != lift.id


def test_outside_the_window_starts_a_new_cluster():
    idx = HotspotIndex(window_days=30)
    old = idx.add(1, *LIFT, T0, resident="r1")
    assert idx.add(2, *LIFT_AGAIN[0], T0 + timedelta(days=31), resident="r2").id != old.id
    assert idx.add(3, *LIFT_AGAIN[1], T0 + timedelta(days=40), resident="r3").id == idx.clusters[2].id


def test_heat_counts_residents_not_messages():
    idx = HotspotIndex()
    for k in range(5):  # one resident, five messages about the lift
        idx.add(f"a{k}", *LIFT_AGAIN[k % 3], T0 + timedelta(hours=k), resident="same-person")
    for k in range(3):  # three residents, three messages about the barbecue
        idx.add(f"b{k}", OTHER_PROBLEM[0], OTHER_PROBLEM[1] + "再次反映" * k, T0 + timedelta(hours=k), resident=f"p{k}")
    ranked = idx.ranked(T0 + timedelta(days=1), min_residents=1)
    assert [len(c.keys) for c, _ in ranked] == [3, 5]
    assert [len(c.residents) for c, _ in ranked] == [3, 1]
    assert [c for c, _ in idx.ranked(T0 + timedelta(days=1))] == [ranked[0][0]]  # default: 2+ residents


def test_recent_and_supported_issues_rank_higher():
    idx = HotspotIndex(window_days=60)
    old = idx.add(1, *LIFT, T0, resident="r1")
    idx.add(2, *LIFT_AGAIN[0], T0, resident="r2")
    new = idx.add(3, *OTHER_PROBLEM, T0 + timedelta(days=20), resident="r3")
    idx.add(4, OTHER_PROBLEM[0], OTHER_PROBLEM[1] + "！", T0 + timedelta(days=20), resident="r4")
    now = T0 + timedelta(days=21)
    assert [c.id for c, _ in idx.ranked(now)] == [new.id, old.id]  # same residents, more recent
    liked = idx.add(5, *OTHER_ESTATE, T0 + timedelta(days=20), resident="r5", likes=500)
    idx.add(6, OTHER_ESTATE[0], OTHER_ESTATE[1] + "！", T0 + timedelta(days=20), resident="r6")
    assert [c.id for c, _ in idx.ranked(now)][0] == liked.id  # same residents and age, more likes


def test_anonymous_messages_count_one_resident_each():
    idx = HotspotIndex()
    c = idx.add(1, *LIFT, T0)
    idx.add(2, *LIFT_AGAIN[0], T0)
    assert len(c.residents) == 2


def test_restore_puts_a_message_back_in_its_cluster_without_comparing():
    idx = HotspotIndex(new_id=lambda at: 100)
    idx.restore(7, *LIFT, T0, cluster_id=42, resident="r1")
    assert idx.comparisons == 0 and idx.clusters[42].keys == [7]
    joined = idx.add(8, *LIFT_AGAIN[0], T0 + timedelta(days=1), resident="r2")
    assert joined.id == 42 and idx.comparisons >= 1


def test_a_discarded_message_attracts_no_new_one_and_old_clusters_are_pruned():
    idx = HotspotIndex()
    first = idx.add(1, *LIFT, T0, resident="r1")
    idx.discard(1)
    assert idx.add(2, *LIFT_AGAIN[0], T0 + timedelta(days=1), resident="r2").id != first.id
    idx.prune(T0 + timedelta(days=40))
    assert idx.clusters == {}
