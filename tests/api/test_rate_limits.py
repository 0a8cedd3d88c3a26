"""The per-resident submission limit: a retry is never charged nor refused, the charge is taken
atomically before the write (twenty at once let exactly the limit through, in memory and in
Redis), a refusal says how long to wait, and Redis being down refuses nobody."""
import logging
import threading

import pytest
import redis
import sqlalchemy as sa

from backend.messages.models import Message
from backend.core.ratelimit import SubmissionBudget
from tests.api.conftest import API
from tests.api.test_messages import _message

REDIS_TEST_URL = "redis://127.0.0.1:6379/5"  # db 5 and a prefix of our own: a shared server
REDIS_TEST_PREFIX = "lianxin-fault-test"
CLOSED_PORT_REDIS = "redis://127.0.0.1:1/5"


@pytest.fixture
def resident(make_resident):
    return make_resident()


@pytest.fixture
def token(resident, token_for):
    return token_for(resident)


@pytest.fixture
def deputy(make_deputy):
    return make_deputy()


@pytest.fixture
def five_per_window(app, monkeypatch):
    monkeypatch.setitem(app.config, "SUBMIT_RATE_PER_RESIDENT", "5 per 10 minutes;20 per day")


@pytest.fixture
def budget(app, monkeypatch):
    """Swap the app's submission budget for one on another store, for one test."""
    def use(uri):
        swapped = SubmissionBudget(uri, REDIS_TEST_PREFIX)
        monkeypatch.setitem(app.extensions, "lianxin_budget", swapped)
        return swapped
    return use


@pytest.fixture
def redis_budget(budget):
    server = redis.Redis.from_url(REDIS_TEST_URL)

    def clear():
        keys = list(server.scan_iter(f"{REDIS_TEST_PREFIX}*"))
        if keys:
            server.delete(*keys)
    clear()
    yield budget(REDIS_TEST_URL)
    clear()


def _count(db) -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Message))


def test_the_fifth_message_retried_gets_its_receipt(api, db, token, deputy, five_per_window):
    sent = [_message(deputy, body=f"第{n}件事：小区门口的路灯坏了很久了") for n in range(5)]
    receipts = [api.post("/messages", token, json=payload) for payload in sent]
    assert [r.status_code for r in receipts] == [201] * 5

    # A weak signal: the phone sends the fifth again, and the first once more.
    for payload, receipt in ((sent[4], receipts[4]), (sent[0], receipts[0])):
        again = api.post("/messages", token, json=payload)
        assert (again.status_code, again.json) == (200, receipt.json)

    sixth = api.post("/messages", token, json=_message(deputy))
    assert sixth.status_code == 429
    assert sixth.json["code"] == "rate_limited"
    assert "分钟后再试" in sixth.json["message"]
    assert 0 < sixth.json["retry_after"] <= 600
    assert sixth.headers["Retry-After"] == str(sixth.json["retry_after"])
    assert _count(db) == 5


def test_retries_are_not_charged_while_under_the_limit(api, db, token, deputy, five_per_window):
    first = _message(deputy)
    assert api.post("/messages", token, json=first).status_code == 201
    for _ in range(6):
        assert api.post("/messages", token, json=first).status_code == 200
    # The six retries cost nothing: four more new messages still go through.
    assert [api.post("/messages", token, json=_message(deputy, body=f"第{n}件事：楼道的灯坏了很久")
                     ).status_code for n in range(4)] == [201] * 4
    assert api.post("/messages", token, json=_message(deputy)).status_code == 429


def test_a_form_sent_back_for_correction_costs_nothing(api, token, deputy, app, monkeypatch):
    monkeypatch.setitem(app.config, "SUBMIT_RATE_PER_RESIDENT", "1 per 10 minutes")
    for _ in range(3):
        assert api.post("/messages", token, json=_message(deputy, body="短")).status_code == 422
    assert api.post("/messages", token, json=_message(deputy)).status_code == 201


def _twenty_at_once(app, db, resident, token_for, deputy) -> list[int]:
    payloads = [_message(deputy, body=f"第{n}件事：小区门口的路灯坏了很久了") for n in range(20)]
    token = token_for(resident)
    db.session.commit()
    barrier, statuses = threading.Barrier(len(payloads)), [None] * len(payloads)

    def send(i):
        with app.app_context():
            client = app.test_client()
            barrier.wait()
            statuses[i] = client.post(API + "/messages", json=payloads[i],
                                      headers={"Authorization": f"Bearer {token}"}).status_code
            db.session.remove()
    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(payloads))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return statuses


def test_twenty_at_once_let_exactly_five_through_in_memory(app, db, resident, token_for, deputy,
                                                          five_per_window):
    statuses = _twenty_at_once(app, db, resident, token_for, deputy)
    assert sorted(statuses) == [201] * 5 + [429] * 15
    assert _count(db) == 5


def test_twenty_at_once_let_exactly_five_through_with_redis(app, db, resident, token_for, deputy,
                                                           five_per_window, redis_budget,
                                                           postgres_only):
    statuses = _twenty_at_once(app, db, resident, token_for, deputy)
    assert sorted(statuses) == [201] * 5 + [429] * 15
    assert _count(db) == 5
    assert any(redis.Redis.from_url(REDIS_TEST_URL).scan_iter(f"{REDIS_TEST_PREFIX}*"))


def test_redis_unreachable_lets_submissions_through_and_says_so(api, db, token, deputy, budget,
                                                                five_per_window, caplog):
    budget(CLOSED_PORT_REDIS)
    with caplog.at_level(logging.WARNING, logger="lianxin.ratelimit"):
        resp = api.post("/messages", token, json=_message(deputy))
    assert resp.status_code == 201, resp.json
    assert "限流存储不可用" in caplog.text
    # Meanwhile this process still counts on its own.
    for n in range(4):
        assert api.post("/messages", token, json=_message(deputy, body=f"第{n}件事：楼道灯坏了很久了")
                        ).status_code == 201
    assert api.post("/messages", token, json=_message(deputy)).status_code == 429
    assert _count(db) == 5


@pytest.mark.parametrize("seconds, words", [(1, "1分钟"), (60, "1分钟"), (61, "2分钟"),
                                            (3540, "59分钟"), (3600, "1小时"), (5000, "2小时")])
def test_how_long_to_wait_reads_naturally(seconds, words):
    from backend.core.ratelimit import wait_words
    assert wait_words(seconds) == words

