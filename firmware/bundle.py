"""A node's bundle: a directory and a ``.tar.gz`` of it, byte-for-byte reproducible.

The archive's members are sorted, owned by root, dated 1970 and gzip'ed without a timestamp,
so provisioning the same node twice yields the same bytes (a technician can check a card
against the hub's copy with ``sha256sum``)."""

from __future__ import annotations

import gzip
import io
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from firmware.files import PUBLIC_MODE, SECRET_MODE, make_dir, write_file


@dataclass(frozen=True)
class BundleFile:
    """One file of a bundle: its bytes and mode (0600 for secrets)."""

    data: bytes
    mode: int = PUBLIC_MODE

    @classmethod
    def secret(cls, data: bytes | str) -> "BundleFile":
        return cls(data.encode() if isinstance(data, str) else data, SECRET_MODE)

    @classmethod
    def public(cls, data: bytes | str) -> "BundleFile":
        return cls(data.encode() if isinstance(data, str) else data, PUBLIC_MODE)


def write_bundle(directory: Path, files: Mapping[str, BundleFile]) -> Path:
    """Write ``files`` into ``directory`` (0700; stale files removed) and
    ``directory.tar.gz`` (0600, members under ``<directory name>/``); returns the archive."""
    directory = make_dir(Path(directory), mode=0o700)
    for stale in directory.iterdir():
        if stale.name not in files:
            shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
    for name, f in files.items():
        write_file(directory / name, f.data, mode=f.mode)
    archive = directory.with_name(directory.name + ".tar.gz")
    write_file(archive, archive_bytes(directory.name, files), mode=SECRET_MODE)
    return archive


def archive_bytes(root: str, files: Mapping[str, BundleFile]) -> bytes:
    """A reproducible ``.tar.gz`` of ``files`` under ``root/``."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(_info(root, 0o700, directory=True))
        for name in sorted(files):
            f = files[name]
            info = _info(f"{root}/{name}", f.mode)
            info.size = len(f.data)
            tar.addfile(info, io.BytesIO(f.data))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def _info(name: str, mode: int, *, directory: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    info.mode, info.mtime, info.uid, info.gid, info.uname, info.gname = mode, 0, 0, 0, "root", "root"
    return info
