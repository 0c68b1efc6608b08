"""Signed update bundles: pack on the console host, verify on the node.

A bundle is an uncompressed tar (its payload, wheels, is compressed already)::

    manifest.json    {"format", "package", "version", "requirement", "site", "created",
                      "files": [{"name", "size", "sha256"}, ...]}
    manifest.sig     base64 Ed25519 signature of manifest.json's exact bytes, by the site key
    payload/<name>   each file the manifest lists (a wheel or sdist of lobbygate, dependency wheels)

:func:`verify_bundle` checks the signature before it trusts anything else, then extracts only
the listed payload files (by name, never by the archive's paths, so no ``../`` escapes), each
against its size and SHA-256; a missing, extra, oversized or altered file rejects the bundle."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from firmware.errors import BundleRejected, UpdateError
from firmware.files import make_dir, write_file

FORMAT = "lobbygate-update/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PAYLOAD_DIR = "payload"
#: Largest manifest or signature member read before verification, bytes.
_MAX_META = 1 << 20
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$")
_VERSION_RE = re.compile(r"^\d+(\.\d+){0,3}$")


def parse_version(text: str) -> tuple[int, ...]:
    """``"1.2.3"`` → ``(1, 2, 3)``; release versions are 1-4 dot-separated integers."""
    if not isinstance(text, str) or not _VERSION_RE.match(text):
        raise BundleRejected(f"version must be like 1.2.3, got {text!r}")
    return tuple(int(p) for p in text.split("."))


@dataclass(frozen=True)
class PayloadFile:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """A verified bundle's manifest.  ``requirement``: what pip installs from the payload
    (default ``lobbygate==<version>``); ``site``: the site it was signed for ("" = any)."""

    version: str
    files: tuple[PayloadFile, ...]
    package: str = "lobbygate"
    requirement: str = ""
    site: str = ""
    created: str = ""

    def to_json(self) -> bytes:
        d = {"format": FORMAT, "package": self.package, "version": self.version,
             "requirement": self.requirement or f"{self.package}=={self.version}",
             "site": self.site, "created": self.created,
             "files": [{"name": f.name, "size": f.size, "sha256": f.sha256} for f in self.files]}
        return json.dumps(d, indent=1, sort_keys=True).encode()

    @classmethod
    def from_json(cls, blob: bytes) -> "Manifest":
        try:
            d: Any = json.loads(blob)
            if d.get("format") != FORMAT:
                raise BundleRejected(f"unknown bundle format {d.get('format')!r}")
            files = tuple(PayloadFile(str(f["name"]), int(f["size"]), str(f["sha256"]))
                          for f in d["files"])
            m = cls(version=str(d["version"]), files=files, package=str(d["package"]),
                    requirement=str(d["requirement"]), site=str(d.get("site", "")),
                    created=str(d.get("created", "")))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BundleRejected(f"bad manifest: {exc}") from exc
        parse_version(m.version)
        names = [f.name for f in m.files]
        if not names or len(set(names)) != len(names) or not all(_NAME_RE.match(n) for n in names):
            raise BundleRejected("manifest must list one or more distinct plain file names")
        return m


def pack_bundle(*, version: str, files: Sequence[Path], signing_key: Ed25519PrivateKey,
                out: Path, site: str = "", requirement: str = "",
                now: dt.datetime | None = None) -> Manifest:
    """Write a signed bundle of ``files`` (wheels/sdists) to ``out``; returns its manifest.

    ``site``: bind the bundle to one site (nodes of another refuse it); ``requirement``: what
    the node installs (default ``lobbygate==VERSION``)."""
    parse_version(version)
    entries, blobs = [], {}
    for path in files:
        path = Path(path)
        if not _NAME_RE.match(path.name) or path.name in blobs:
            raise UpdateError(f"cannot pack {path}: plain, distinct file names only")
        blob = path.read_bytes()
        blobs[path.name] = blob
        entries.append(PayloadFile(path.name, len(blob), hashlib.sha256(blob).hexdigest()))
    if not entries:
        raise UpdateError("an update bundle needs at least one file")
    stamp = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    manifest = Manifest(version=version, files=tuple(entries), requirement=requirement,
                        site=site, created=stamp)
    body = manifest.to_json()
    sig = base64.b64encode(signing_key.sign(body)) + b"\n"
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in [(MANIFEST, body), (SIGNATURE, sig)] + [
                (f"{PAYLOAD_DIR}/{n}", blobs[n]) for n in sorted(blobs)]:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    write_file(out, raw.getvalue(), mode=0o644)
    return Manifest.from_json(body)


def verify_bundle(bundle: Path, *, public_key: Ed25519PublicKey, dest: Path | None = None,
                  site: str = "") -> Manifest:
    """Verify ``bundle`` and, if ``dest`` is given, extract its payload files there.

    ``site``: refuse a bundle signed for another site.  Raises :class:`BundleRejected` (nothing
    extracted is trusted; the caller discards ``dest``) for any failure."""
    try:
        tar = tarfile.open(bundle, mode="r:*")
    except (OSError, tarfile.TarError) as exc:
        raise BundleRejected(f"{bundle}: not a readable tar: {exc}") from exc
    with tar:
        members = {}
        for m in tar.getmembers():
            if m.name in members:
                raise BundleRejected(f"{bundle}: duplicate member {m.name}")
            members[m.name] = m
        body = _read(tar, members, MANIFEST, _MAX_META)
        sig_text = _read(tar, members, SIGNATURE, _MAX_META)
        try:
            public_key.verify(base64.b64decode(sig_text.strip(), validate=True), body)
        except (InvalidSignature, ValueError) as exc:
            raise BundleRejected(f"{bundle}: signature does not verify with the site key") from exc
        manifest = Manifest.from_json(body)
        if site and manifest.site and manifest.site != site:
            raise BundleRejected(f"{bundle}: signed for site {manifest.site!r}, this is {site!r}")
        listed = {f"{PAYLOAD_DIR}/{f.name}" for f in manifest.files}
        extra = set(members) - listed - {MANIFEST, SIGNATURE}
        if extra:
            raise BundleRejected(f"{bundle}: files not in the manifest: {', '.join(sorted(extra))}")
        if dest is not None:
            make_dir(Path(dest), mode=0o755)
        for f in manifest.files:
            data = _read(tar, members, f"{PAYLOAD_DIR}/{f.name}", f.size)
            if len(data) != f.size or hashlib.sha256(data).hexdigest() != f.sha256:
                raise BundleRejected(f"{bundle}: {f.name} does not match its signed checksum")
            if dest is not None:
                write_file(Path(dest) / f.name, data, mode=0o644)
    return manifest


def _read(tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo], name: str, limit: int) -> bytes:
    m = members.get(name)
    if m is None:
        raise BundleRejected(f"bundle has no {name}")
    if not m.isreg():
        raise BundleRejected(f"bundle member {name} is not a regular file")
    if m.size > limit:
        raise BundleRejected(f"bundle member {name} is larger than signed ({m.size} > {limit} bytes)")
    fh = tar.extractfile(m)
    assert fh is not None
    return fh.read(limit + 1)
