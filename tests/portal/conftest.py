"""Fixtures for the resident's pages: a deputy to write to, a second browser."""
import pytest

from backend.org.codes import active_code


@pytest.fixture
def deputy(db, make_station, make_deputy):
    station = make_station(name="城关街道代表联络站")
    return make_deputy(name="王建国", stations=[station])


@pytest.fixture
def write_url(db, deputy):
    url = f"/d/{active_code(deputy).token}/write"
    db.session.commit()
    return url


@pytest.fixture
def other_browser(app):
    return app.test_client()


@pytest.fixture
def neighbours_message(db):
    """Someone else's message to the same deputy, written through the operation."""
    import uuid

    from backend.accounts.resident_model import Resident
    from backend.messages.operations import submit_message

    def make(deputy):
        neighbour = Resident()
        db.session.add(neighbour)
        db.session.flush()
        return submit_message(resident=neighbour, deputy=deputy, idempotency_key=uuid.uuid4().hex,
                              body="小区门口的路灯不亮，已经好几个星期了。").message
    return make
