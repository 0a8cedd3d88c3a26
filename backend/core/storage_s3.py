"""The storage interface (backend/core/storage.py) on an S3-compatible object store through
boto3: AWS S3, MinIO, or a cloud's S3 endpoint (Aliyun OSS, Tencent COS). Objects are written
private (no ACL: the bucket's default, which must not be public) and are only ever read back
by the app, which serves them through its access-checked routes; no bucket URL is handed out.

Credentials come from boto3's usual chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, an
instance role, ~/.aws), never from the app's config. An unreachable store raises
`Unavailable` (503, code storage_unavailable); a missing object FileNotFoundError, as on disk."""
import logging
import mimetypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from backend.core.errors import Unavailable
from backend.core.storage import CHUNK, new_key

log = logging.getLogger("lianxin.storage")

NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


def storage_down(err: Exception) -> Unavailable:
    log.error("对象存储不可用：%s", err)
    return Unavailable("照片暂时无法保存或读取，请稍后再试", code="storage_unavailable")


class S3Storage:
    def __init__(self, *, bucket: str, endpoint_url: str | None = None, region: str | None = None,
                 prefix: str = "", addressing_style: str | None = None):
        self.bucket = bucket
        self.endpoint_url = endpoint_url or None
        self.region = region or None
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        # MinIO and most private endpoints want path style; OSS and COS want virtual hosts.
        self.addressing_style = addressing_style or ("path" if self.endpoint_url else "auto")
        self._client = self._probe = None
        self._lock = threading.Lock()

    @property
    def client(self):
        # Made on first use, not at import: gunicorn forks its workers after create_app, and a
        # boto3 client's connection pool must not be shared across a fork.
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make_client(connect_timeout=3, read_timeout=20,
                                                     max_attempts=3)
        return self._client

    def _make_client(self, *, connect_timeout: float, read_timeout: float, max_attempts: int):
        import boto3
        from botocore.config import Config
        return boto3.client(
            "s3", endpoint_url=self.endpoint_url, region_name=self.region,
            config=Config(connect_timeout=connect_timeout, read_timeout=read_timeout,
                          retries={"max_attempts": max_attempts, "mode": "standard"},
                          s3={"addressing_style": self.addressing_style}))

    def save(self, data: bytes, folder: str, ext: str) -> str:
        key = new_key(folder, ext)
        with _translated():
            self.client.put_object(
                Bucket=self.bucket, Key=self._object(key), Body=data,
                ContentType=mimetypes.guess_type(key)[0] or "application/octet-stream")
        return key

    def read(self, key: str) -> bytes:
        chunks, _size = self.stream(key)
        return b"".join(chunks)

    def stream(self, key: str) -> tuple[Iterator[bytes], int]:
        with _translated():
            answer = self.client.get_object(Bucket=self.bucket, Key=self._object(key))
        return _chunks(answer["Body"]), answer["ContentLength"]

    def exists(self, key: str | None) -> bool:
        if not key:
            return False
        try:
            with _translated():
                self.client.head_object(Bucket=self.bucket, Key=self._object(key))
        except FileNotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        # S3 answers a delete of a missing key with success, as unlink(missing_ok=True) does.
        with _translated():
            self.client.delete_object(Bucket=self.bucket, Key=self._object(key))

    def sweep(self, folder: str, max_age: float) -> None:
        """Remove what was stored in `folder` more than `max_age` seconds ago."""
        cutoff = datetime.now(timezone.utc) - timedelta(seconds=max_age)
        with _translated():
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self._object(folder) + "/")
            for page in pages:
                old = [{"Key": item["Key"]} for item in page.get("Contents", [])
                       if item["LastModified"] < cutoff]
                if old:  # a listing page holds at most 1,000 keys, as many as one call deletes
                    self.client.delete_objects(Bucket=self.bucket,
                                               Delete={"Objects": old, "Quiet": True})

    def keys_in(self, folder: str) -> Iterator[tuple[str, datetime]]:
        """(key, last modified, UTC) of each object under `folder`, as the disk backend lists
        files: for sweeps of orphaned files."""
        with _translated():
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self._object(folder) + "/")
            for page in pages:
                for item in sorted(page.get("Contents", []), key=lambda i: i["Key"]):
                    yield item["Key"][len(self.prefix):], item["LastModified"]

    def ready(self) -> tuple[bool, str]:
        """For /readyz: the bucket answers to these credentials. One quick try, no retries: a
        balancer's health check gives up after a few seconds."""
        from botocore.exceptions import BotoCoreError, ClientError
        if self._probe is None:
            self._probe = self._make_client(connect_timeout=1, read_timeout=2, max_attempts=1)
        try:
            self._probe.head_bucket(Bucket=self.bucket)
        except ClientError as err:
            return False, err.response.get("Error", {}).get("Code", "ClientError")
        except BotoCoreError as err:
            return False, type(err).__name__
        return True, "ok"

    def _object(self, key: str) -> str:
        if (not key or key.startswith("/") or "\\" in key or "\x00" in key
                or ".." in key.split("/")):
            raise ValueError("not a storage key")  # the disk backend refuses the same
        return self.prefix + key


@contextmanager
def _translated():
    """Botocore's errors as the disk backend's: FileNotFoundError for a missing object,
    Unavailable for a store that cannot be reached or refuses us."""
    from botocore.exceptions import BotoCoreError, ClientError
    try:
        yield
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in NOT_FOUND:
            raise FileNotFoundError(str(err)) from err
        raise storage_down(err) from err
    except BotoCoreError as err:
        raise storage_down(err) from err


def _chunks(body) -> Iterator[bytes]:
    from botocore.exceptions import BotoCoreError
    try:
        yield from body.iter_chunks(CHUNK)
    except BotoCoreError as err:
        # Headers are already sent: the response can only be cut short, and logged.
        log.error("对象存储读取中断：%s", err)
        raise
    finally:
        body.close()
