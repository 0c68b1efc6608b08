"""A crash-safe TinyDB storage: every write goes to a temporary file in the same directory,
is flushed and fsync'ed, replaces the old file with :func:`os.replace` (atomic on POSIX) and
then the directory itself is fsync'ed, so after a power cut the file holds either the old or
the new document, never half of one.

TinyDB rewrites the whole file on each write, so this storage is for small admin-edited
registries (users, settings), never for journals (see DESIGN.md, Durability).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tinydb.storages import Storage

from ..errors import UserStoreError

__all__ = ["SafeJSONStorage"]


class SafeJSONStorage(Storage):
    """TinyDB storage writing JSON atomically and durably.

    ``path``: the JSON file; ``mode``: permission bits of the file (default 0o600: it holds
    password hashes). The constructor does no I/O; a missing file reads as empty and is created
    (with its directory) on the first write."""

    def __init__(self, path: str | os.PathLike[str], *, mode: int = 0o600) -> None:
        self.path = Path(path)
        self.mode = mode

    def read(self) -> dict[str, dict[str, Any]] | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise UserStoreError(f"cannot read {self.path}: {exc.strerror or exc}") from exc
        if not raw.strip():
            return None
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UserStoreError(f"{self.path} is not valid JSON ({exc}); restore it from a "
                                 f"backup") from exc
        if not isinstance(data, dict):
            raise UserStoreError(f"{self.path} does not hold a JSON object")
        return data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        payload = json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f".{self.path.name}.{os.getpid()}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, self.mode)
            try:
                view = memoryview(payload)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
            dir_fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
            raise UserStoreError(f"cannot write {self.path}: {exc.strerror or exc}") from exc

    def close(self) -> None:
        """Nothing is held open between calls."""
