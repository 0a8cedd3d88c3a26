"""Fixtures for the WeChat adapter tests: a fake WeChat at the HTTP level (responses)."""
import os
import uuid

import pytest
import responses


@pytest.fixture
def rsps():
    """Active responses mock; any request that matches no registered answer fails the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
        unmatched = [c.request.url for c in mock.calls
                     if isinstance(c.response, Exception)
                     and str(c.response).startswith("Connection refused by Responses")]
        assert not unmatched, f"unexpected HTTP requests: {unmatched}"


@pytest.fixture
def redis_url():
    """REDIS_URL (default db 15) if a Redis answers there; the test is skipped otherwise."""
    import redis

    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    conn = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        conn.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable at {url}: {exc}")
    finally:
        conn.close()
    return url


@pytest.fixture
def redis_prefix(redis_url):
    """A key prefix of its own; its keys are deleted afterwards."""
    import redis

    prefix = f"lianxin-test:wechat:{uuid.uuid4().hex}"
    yield prefix
    conn = redis.Redis.from_url(redis_url)
    keys = list(conn.scan_iter(match=prefix + ":*"))
    if keys:
        conn.delete(*keys)
    conn.close()
