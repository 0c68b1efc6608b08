"""Crash-safe file writes with explicit permissions (secrets are 0600 from the first byte).

:func:`write_file` writes a temporary file in the target directory created with the final mode,
fsyncs it, renames it over the target with :func:`os.replace` and fsyncs the directory, so a
reader sees the old file or the new one, never half of one, and a secret is never briefly
world-readable.  It skips the write when the content is unchanged (idempotent re-runs leave
mtimes alone)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from firmware.errors import FirmwareError

#: Mode of files holding a secret (private keys, passwords, HMAC keys).
SECRET_MODE = 0o600
#: Mode of public files (certificates, public keys, configuration without secrets).
PUBLIC_MODE = 0o644


def write_file(path: Path, data: bytes | str, *, mode: int = PUBLIC_MODE,
               owner: str | None = None) -> bool:
    """Write ``data`` to ``path`` atomically with ``mode``; returns True if the file changed.

    ``owner``: a user name to ``chown`` the file to (needs root), None (default) to leave it."""
    path = Path(path)
    blob = data.encode() if isinstance(data, str) else bytes(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    changed = True
    try:
        if path.read_bytes() == blob:
            changed = False
    except FileNotFoundError:
        pass
    if changed:
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(blob)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, mode)  # umask may have narrowed the mode at creation
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        fsync_dir(path.parent)
    os.chmod(path, mode)
    _chown(path, owner)
    return changed


def fsync_dir(directory: Path) -> None:
    """fsync a directory so a rename inside it survives a power cut."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dir(path: Path, *, mode: int = 0o755, owner: str | None = None) -> Path:
    """``mkdir -p`` then force ``mode`` (and ``owner`` if given) on the leaf."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, mode)
    _chown(path, owner)
    return path


def _chown(path: Path, owner: str | None) -> None:
    if not owner:
        return
    try:
        shutil.chown(path, user=owner, group=owner)
    except LookupError:
        try:
            shutil.chown(path, user=owner)  # no group of that name: keep the group
        except LookupError as exc:
            raise FirmwareError(f"cannot give {path} to {owner!r}: no such user") from exc
    except PermissionError as exc:
        raise FirmwareError(f"cannot give {path} to {owner!r}: run as root") from exc
