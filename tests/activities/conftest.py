"""An activity with its people: a station, its liaison, two of its deputies (with accounts),
and an activity of the station in the future with both invited."""
from datetime import datetime, timedelta, timezone

import pytest

from backend.activities import operations as ops

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=timezone.utc)  # 10:00 in Beijing


@pytest.fixture
def scene(db, make_station, make_deputy, make_staff):
    class Scene:
        pass
    s = Scene()
    s.station, s.other_station = make_station(), make_station()
    s.d1, s.d2 = make_deputy(stations=[s.station]), make_deputy(stations=[s.station])
    s.outsider = make_deputy(stations=[s.other_station])
    s.admin = make_staff("admin")
    s.liaison = make_staff("liaison", stations=[s.station])
    s.other_liaison = make_staff("liaison", stations=[s.other_station])
    s.u1 = make_staff("deputy", deputy=s.d1)
    s.u2 = make_staff("deputy", deputy=s.d2)
    s.u_out = make_staff("deputy", deputy=s.outsider)
    s.department = make_staff("department", department=_department(db))
    s.activity = ops.create_activity(
        actor=s.liaison, kind="visit", title="走访幸福社区", place="幸福社区居委会",
        starts_at=NOW + timedelta(days=1), ends_at=NOW + timedelta(days=1, hours=2),
        station_id=s.station.id, deputy_ids=[s.d1.id, s.d2.id], now=NOW)
    db.session.flush()
    s.a1, s.a2 = (s.activity.attendance_of(s.d1.id), s.activity.attendance_of(s.d2.id))
    return s


def _department(db):
    from backend.org.models import Department
    dept = Department(name="区住建局")
    db.session.add(dept)
    db.session.flush()
    return dept
