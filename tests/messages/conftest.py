import uuid

import pytest


@pytest.fixture
def submit(db, make_resident, make_deputy):
    """Submit a message the way a resident does; returns the Submission."""
    from backend.messages.operations import submit_message

    def do(resident=None, deputy=None, body="小区门口的路灯坏了一个多月，晚上很不安全。", **kw):
        if deputy is None and "station" not in kw:
            deputy = make_deputy()
        return submit_message(resident=resident or make_resident(), deputy=deputy, body=body,
                              idempotency_key=kw.pop("idempotency_key", uuid.uuid4().hex), **kw)
    return do


@pytest.fixture
def deputy_user(make_staff):
    def make(deputy):
        return make_staff("deputy", deputy=deputy)
    return make


@pytest.fixture
def liaison_of(make_staff):
    def make(*stations):
        return make_staff("liaison", stations=list(stations))
    return make
