"""Fixtures for the staff pages: a small organisation with one account per role."""
from types import SimpleNamespace

import pytest


@pytest.fixture
def org_world(db, district, make_deputy, make_staff):
    """Two stations (A, B), a deputy in each, a term, a group, a department, and one account per
    role: admin, the liaison of A, the liaison of B, a deputy, a department — plus `target`, an
    account for the account pages to act on."""
    from backend.org.models import DeputyGroup, Term
    station_a, station_b = district.station_a, district.station_b
    deputy_a = make_deputy(name="王建国", stations=[station_a])
    deputy_b = make_deputy(name="刘芳", stations=[station_b])
    term, group = Term(name="区第五届"), DeputyGroup(name="第一代表小组")
    [department] = district.departments(1)
    db.session.add_all([term, group])
    db.session.flush()
    users = {
        "admin": make_staff("admin"),
        "liaison_own": make_staff("liaison", stations=[station_a]),
        "liaison_other": make_staff("liaison", stations=[station_b]),
        "deputy": make_staff("deputy", deputy=deputy_a),
        "department": make_staff("department", department=department),
    }
    target = make_staff("liaison", username="target", stations=[station_a])
    db.session.commit()
    return SimpleNamespace(station_a=station_a, station_b=station_b, deputy_a=deputy_a,
                           deputy_b=deputy_b, term=term, group=group, department=department,
                           users=users, target=target)
