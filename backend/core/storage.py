"""File storage for photos and cached code images: local disk behind a small interface, so an
object store can take its place without the callers changing."""
import os
import secrets
from datetime import datetime, timezone
from pathlib import Path


class LocalStorage:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def save(self, data: bytes, folder: str, ext: str) -> str:
        key = f"{folder}/{secrets.token_hex(12)}.{ext.lstrip('.')}"
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # readers never see half a file
        return key

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

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

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError("storage key escapes the storage root")
        return path

