"""A real S3 wire-protocol server for the tests: moto's standalone server (`moto_server`, from
moto[server] in the dev dependencies) started once per run on a free port, or the server that
S3_TEST_ENDPOINT names. Without either, the tests that need it skip and say why.

`each_storage` runs a test once on the local disk and once on the object store."""
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REGION = "us-east-1"
START_SECONDS = 20


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory):
    """The endpoint URL of a running S3-compatible server, with credentials in the environment
    for boto3 (moto takes any)."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    given = os.environ.get("S3_TEST_ENDPOINT")
    if given:
        yield given
        return
    exe = Path(sys.executable).with_name("moto_server")
    if not exe.exists():
        exe = shutil.which("moto_server")
    if not exe:
        pytest.skip("moto_server is not installed (pip install 'moto[server]'; scripts/bootstrap "
                    "does it) and S3_TEST_ENDPOINT is not set: no S3 server to test against")
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)],
                                stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_SECONDS
    while not _answers(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            tail = log.read_text(errors="replace")[-600:]
            pytest.skip(f"moto_server did not start on port {port} within {START_SECONDS} s: {tail}")
        time.sleep(0.2)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def s3_client(endpoint: str):
    import boto3
    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION)


@pytest.fixture(scope="session")
def s3_bucket(s3_endpoint) -> str:
    """A fresh private bucket of this run's own."""
    name = f"lianxin-test-{secrets.token_hex(4)}"
    s3_client(s3_endpoint).create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_storage(s3_endpoint, s3_bucket):
    from backend.core.storage_s3 import S3Storage
    return S3Storage(bucket=s3_bucket, endpoint_url=s3_endpoint, region=REGION, prefix="app")


@pytest.fixture(params=["local", "s3"])
def each_storage(request, app):
    """The app's storage for this test: its usual local disk, then the object store."""
    if request.param == "local":
        yield app.extensions["lianxin_storage"]
        return
    store = request.getfixturevalue("s3_storage")
    saved = app.extensions["lianxin_storage"]
    app.extensions["lianxin_storage"] = store
    try:
        yield store
    finally:
        app.extensions["lianxin_storage"] = saved
