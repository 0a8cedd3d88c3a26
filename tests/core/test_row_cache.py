"""The per-process row cache behind scans: a hit costs no SQL, a change
made in this process counts from the next request, another process's change within the TTL."""
import sqlalchemy as sa
import pytest

from backend.core.errors import NotFound
from backend.core.extensions import db
from backend.org.models import Deputy
from backend.org import public
from backend.org.codes import active_code, revoke_code


class Statements:
    def __init__(self):
        self.seen = []

    def __enter__(self):
        sa.event.listen(db.engine, "before_cursor_execute", self._add)
        return self

    def __exit__(self, *exc):
        sa.event.remove(db.engine, "before_cursor_execute", self._add)

    def _add(self, conn, cursor, statement, *args):
        self.seen.append(statement)


def _new_request():
    """What the end of a request does: the session closes; what it held is gone."""
    db.session.commit()
    db.session.remove()


def test_a_second_scan_costs_no_sql_and_comes_back_in_the_session(db, make_deputy, make_station):
    station = make_station()
    deputy = make_deputy(stations=[station])
    token, name, station_id = active_code(deputy).token, deputy.name, station.id
    _new_request()
    public.deputy_by_token(token)
    _new_request()
    with Statements() as sql:
        code, found = public.deputy_by_token(token)
        assert [s.id for s in found.stations] == [station_id]
    assert sql.seen == []
    assert found in db.session and code in db.session
    assert found.name == name


def test_a_deactivated_deputy_is_refused_at_once(db, make_deputy, make_staff):
    deputy = make_deputy()
    token, deputy_id = active_code(deputy).token, deputy.id
    _new_request()
    public.deputy_by_token(token)  # cached
    _new_request()
    db.session.get(Deputy, deputy_id).is_active = False
    _new_request()
    with pytest.raises(NotFound) as err:
        public.deputy_by_token(token)
    assert err.value.code == "deputy_inactive"


def test_a_revoked_code_shows_as_revoked_at_once(db, make_deputy, make_staff):
    deputy = make_deputy()
    token, deputy_id = active_code(deputy).token, deputy.id
    admin_id = make_staff("admin").id
    _new_request()
    assert public.deputy_by_token(token)[0].is_active
    _new_request()
    from backend.accounts.models import StaffUser
    revoke_code(db.session.get(Deputy, deputy_id), actor=db.session.get(StaffUser, admin_id))
    _new_request()
    assert not public.deputy_by_token(token)[0].is_active


def test_another_process_change_is_seen_within_the_ttl(db, make_deputy, monkeypatch):
    """A change this process did not flush (another worker's) waits for the TTL, no longer."""
    import time
    deputy = make_deputy(name="王建国")
    token, deputy_id = active_code(deputy).token, deputy.id
    _new_request()
    public.deputy_by_token(token)
    _new_request()
    db.session.execute(sa.update(Deputy).where(Deputy.id == deputy_id).values(name="王建国2"))
    _new_request()
    assert public.deputy_by_token(token)[1].name == "王建国"
    later = time.monotonic() + 31
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert public.deputy_by_token(token)[1].name == "王建国2"
