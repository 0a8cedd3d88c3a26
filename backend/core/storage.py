"""File storage for photos and cached code images: local disk by default, or an S3-compatible
object store (backend/core/storage_s3.py) when STORAGE_BACKEND=s3, so that several web machines
share their files. Both keep one interface: save, read, stream, exists, delete, keys_in, sweep."""
import os
import secrets
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

CHUNK = 64 * 1024
BACKENDS = ("local", "s3")


class StorageMisconfigured(RuntimeError):
    """The app refuses to start on storage settings it cannot use (see storage_from_config)."""


def new_key(folder: str, ext: str) -> str:
    return f"{folder}/{secrets.token_hex(12)}.{ext.lstrip('.')}"


class LocalStorage:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def save(self, data: bytes, folder: str, ext: str) -> str:
        key = new_key(folder, ext)
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # readers never see half a file
        return key

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def stream(self, key: str) -> tuple[Iterator[bytes], int]:
        """The stored bytes in chunks and their size; FileNotFoundError before the first chunk
        when there is nothing under `key`."""
        handle = self._path(key).open("rb")
        return _chunks(handle), os.fstat(handle.fileno()).st_size

    def exists(self, key: str | None) -> bool:
        return bool(key) and self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def keys_in(self, folder: str):
        """(key, last modified, UTC) of each file under `folder`: for sweeps of orphaned files."""
        base = self._path(folder)
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file():
                modified = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
                yield path.relative_to(self.root.resolve()).as_posix(), modified

    def sweep(self, folder: str, max_age: float) -> None:
        """Remove what was stored in `folder` more than `max_age` seconds ago."""
        cutoff = time.time() - max_age
        for path in self._path(folder).glob("*"):
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError("storage key escapes the storage root")
        return path


def _chunks(handle) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def storage_from_config(config, instance_path: str | os.PathLike):
    """The storage STORAGE_BACKEND names; a misconfigured object store stops the start with the
    setting to fix, rather than failing on a resident's first photo."""
    backend = (config.get("STORAGE_BACKEND") or "local").strip().lower()
    if backend == "local":
        return LocalStorage(config.get("UPLOAD_DIR") or Path(instance_path) / "uploads")
    if backend == "s3":
        from backend.core.storage_s3 import S3Storage
        if not config.get("S3_BUCKET"):
            raise StorageMisconfigured(
                "STORAGE_BACKEND=s3 时必须设置 S3_BUCKET（存放照片的存储桶）。"
                " S3_BUCKET must be set when STORAGE_BACKEND=s3.")
        return S3Storage(bucket=config["S3_BUCKET"], endpoint_url=config.get("S3_ENDPOINT_URL"),
                         region=config.get("S3_REGION"), prefix=config.get("S3_PREFIX") or "",
                         addressing_style=config.get("S3_ADDRESSING_STYLE"))
    raise StorageMisconfigured(
        f"STORAGE_BACKEND 只能是 {' 或 '.join(BACKENDS)}，现在是「{backend}」。"
        f" STORAGE_BACKEND must be one of {', '.join(BACKENDS)}.")
