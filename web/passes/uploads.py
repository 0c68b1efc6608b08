"""Scans of authorisation letters (授权委托书) attached to goods passes.

Stored under the console's data directory (next to the database) in ``pass-letters/``, one
file per pass named ``<pass id>.<pdf|jpg|png>``, written crash-safe (temporary file, fsync,
rename). The type is decided from the file's first bytes, never from its name or the browser's
word: PDF, JPEG or PNG, at most :data:`MAX_SCAN_BYTES`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import ConsoleError

__all__ = ["LetterScans", "ScanRefused", "MAX_SCAN_BYTES", "SCAN_TYPES"]

#: Largest scan accepted, bytes (a letter photographed by a phone fits).
MAX_SCAN_BYTES = 5 * 1024 * 1024
#: extension -> (magic bytes, MIME type).
SCAN_TYPES = {"pdf": (b"%PDF-", "application/pdf"),
              "jpg": (b"\xff\xd8\xff", "image/jpeg"),
              "png": (b"\x89PNG\r\n\x1a\n", "image/png")}
_NAME_RE = re.compile(r"^[a-z0-9-]{1,32}\.(pdf|jpg|png)$")


class ScanRefused(ConsoleError, ValueError):
    """The upload is not a PDF/JPEG/PNG, is empty or too large; ``code``: ``scan_type``,
    ``scan_empty`` or ``scan_too_large``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def scan_type(data: bytes) -> str:
    """The extension for ``data`` (``pdf``/``jpg``/``png``) or :class:`ScanRefused`."""
    if not data:
        raise ScanRefused("scan_empty")
    if len(data) > MAX_SCAN_BYTES:
        raise ScanRefused("scan_too_large")
    for ext, (magic, _mime) in SCAN_TYPES.items():
        if data.startswith(magic):
            return ext
    raise ScanRefused("scan_type")


class LetterScans:
    """The scans directory. ``directory``: where files go (created on the first save).
    The constructor does no I/O."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def save(self, pass_id: str, data: bytes) -> str:
        """Store ``data`` for ``pass_id``; the file name. :class:`ScanRefused` when refused."""
        ext = scan_type(data)
        name = f"{pass_id}.{ext}"
        if not _NAME_RE.match(name):
            raise ValueError(f"bad pass id {pass_id!r}")
        self.directory.mkdir(parents=True, exist_ok=True)
        final = self.directory / name
        tmp = final.with_name(f".{name}.tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return name

    def path(self, name: str) -> tuple[Path, str] | None:
        """``(path, MIME type)`` of a stored scan, None if the name is not one of ours or the
        file is gone."""
        if not _NAME_RE.match(name or ""):
            return None
        path = self.directory / name
        if not path.is_file():
            return None
        return path, SCAN_TYPES[name.rsplit(".", 1)[1]][1]
