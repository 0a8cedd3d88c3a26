"""分办规则: who may edit the table, what it refuses (changing nothing), and which assignee it
suggests: keywords first, then the plain rule; never a deputy who left or a closed department."""
import pytest
import sqlalchemy as sa

from backend.core.audit_model import AuditEvent
from backend.core.errors import Forbidden, ValidationFailed
from backend.core.extensions import db
from backend.messages import routing
from backend.messages.triage_model import RoutingRule
from backend.org.models import Department

LIFT = "3号楼电梯坏了两个星期，物业不修，老人上下楼很困难。"
ROAD = "小区门口道路坑洼不平，下雨积水，希望尽快修路。"


@pytest.fixture
def world(db, make_deputy, make_staff, submit):
    w = type("World", (), {})()
    w.deputy = make_deputy(name="王建国")
    w.station = w.deputy.stations[0]
    w.other_deputy = make_deputy(name="刘芳", stations=[w.station])
    w.outsider = make_deputy(name="外站代表")
    w.department = Department(name="区住房和城乡建设局")
    db.session.add(w.department)
    w.admin = make_staff("admin")
    w.liaison = make_staff("liaison", stations=[w.station])
    w.lift = submit(deputy=w.deputy, body=LIFT).message
    w.road = submit(deputy=w.deputy, body=ROAD).message
    db.session.flush()
    return w


def _count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_keyword_rule_wins_over_the_plain_rule_of_the_category(world):
    routing.add_rule(world.station, category="城乡建设", deputy=world.other_deputy, actor=world.admin)
    routing.add_rule(world.station, category="城乡建设", keywords="电梯，物业", department=world.department,
                     actor=world.admin)
    assert routing.route(world.lift, "城乡建设").label == "区住房和城乡建设局"
    assert routing.route(world.road, "城乡建设").deputy.id == world.other_deputy.id
    assert routing.route(world.road, "交通运输") is None
    assert routing.route(world.road, None) is None
    routes = routing.routes_for([(world.lift, "城乡建设"), (world.road, "城乡建设")])
    assert {k: r.label for k, r in routes.items()} == {world.lift.id: "区住房和城乡建设局",
                                                         world.road.id: "刘芳代表"}


def test_a_deputy_who_left_or_a_closed_department_is_never_suggested(world):
    routing.add_rule(world.station, category="城乡建设", keywords="电梯", department=world.department,
                     actor=world.admin)
    routing.add_rule(world.station, category="城乡建设", deputy=world.other_deputy, actor=world.admin)
    world.department.is_active = False
    assert routing.route(world.lift, "城乡建设").label == "刘芳代表"
    world.other_deputy.stations = []
    db.session.flush()
    assert routing.route(world.lift, "城乡建设") is None


def test_rules_of_another_station_do_not_apply(world, make_station):
    elsewhere = make_station()
    routing.add_rule(elsewhere, category="城乡建设", department=world.department, actor=world.admin)
    assert routing.route(world.lift, "城乡建设") is None


@pytest.mark.parametrize("kw, field", [
    (dict(category="不存在"), "category"),
    (dict(category="城乡建设", keywords=" ".join(f"词{i}" for i in range(11))), "keywords"),
    (dict(category="城乡建设", keywords="很长" * 11), "keywords"),
    (dict(category="城乡建设", deputy=None, department=None), "assignee"),
    (dict(category="城乡建设", deputy="outsider"), "assignee"),
    (dict(category="城乡建设", deputy="deputy", department="department"), "assignee"),
])
def test_bad_rules_are_refused_in_chinese_and_change_nothing(world, kw, field):
    kw = {"deputy": world.deputy, **kw}
    for role in ("deputy", "department"):
        if isinstance(kw.get(role), str):
            kw[role] = getattr(world, kw[role])
    before = (_count(RoutingRule), _count(AuditEvent))
    with pytest.raises(ValidationFailed) as err:
        routing.add_rule(world.station, actor=world.admin, **kw)
    assert err.value.code == "routing_rule_invalid" and field in err.value.errors
    assert all("\u4e00" <= ch <= "\u9fff" for ch in err.value.errors[field][0][:2])
    assert (_count(RoutingRule), _count(AuditEvent)) == before


def test_only_the_admin_edits_the_table(world):
    with pytest.raises(Forbidden):
        routing.add_rule(world.station, category="城乡建设", deputy=world.deputy, actor=world.liaison)
    rule = routing.add_rule(world.station, category="城乡建设", deputy=world.deputy, actor=world.admin)
    with pytest.raises(Forbidden):
        routing.remove_rule(rule, actor=world.liaison)
    routing.remove_rule(rule, actor=world.admin)
    assert _count(RoutingRule) == 0
    actions = db.session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.object_type == "routing_rules").order_by(AuditEvent.id)).all()
    assert actions == ["routing_rule.add", "routing_rule.remove"]


def test_the_database_refuses_a_rule_with_two_assignees(world):
    db.session.add(RoutingRule(station_id=world.station.id, category="城乡建设", keywords="",
                               deputy_id=world.deputy.id, department_id=world.department.id))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()
