"""The node's on-disk copy of the last ``credentials`` snapshot, so a reboot without network
still opens doors.

:class:`CredentialCache` keeps the highest snapshot version it has been offered: an older or
equal version is ignored (a retained message replayed after a reconnect, a console restored from
an old backup). Writes are crash-safe: the snapshot's JSON goes to a temporary file in the same
directory, is fsynced, renamed over the cache with ``os.replace`` and the directory is fsynced,
so after a power cut the file holds either the old or the new snapshot, whole.

Usage::

    cache = CredentialCache("/var/lib/lobbygate/credentials.json")
    snapshot = cache.load()                 # at boot, before the broker is reachable
    if cache.offer(received):               # on each sync/credentials message
        decider.update(CredentialSet.from_snapshot(received))

A console whose versions went backwards (a database rebuilt from scratch) must publish a version
above the nodes' (or the operator deletes the cache file): nodes never go back to an older one.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from mqtt_topics import ContractError, SyncSnapshot
from edge.access.credentials import DATASET
from edge.access.errors import AccessError
from edge.files import write_atomic

log = logging.getLogger(__name__)


class CredentialCache:
    """The cached ``credentials`` snapshot at ``path`` (created with its directory on the first
    write). Thread-safe. Constructing does no I/O.

    Counters (:attr:`counters`): ``stored`` (snapshots written), ``ignored_older`` (offers at or
    below the cached version), ``corrupt`` (unreadable cache files found by :meth:`load`)."""

    def __init__(self, path: str | os.PathLike[str], *, dataset: str = DATASET) -> None:
        self.path = Path(path)
        self.dataset = dataset
        self._lock = threading.Lock()
        self._version: int | None = None
        self._loaded = False
        self._counts = {"stored": 0, "ignored_older": 0, "corrupt": 0}

    @property
    def version(self) -> int | None:
        """The version cached (after :meth:`load` or an :meth:`offer`), None if none."""
        with self._lock:
            return self._version

    @property
    def counters(self) -> dict[str, int]:
        """A copy of the counters."""
        with self._lock:
            return dict(self._counts)

    def load(self) -> SyncSnapshot | None:
        """The cached snapshot, or None if there is none. An unreadable or foreign file is
        logged, counted (``corrupt``), moved aside to ``<name>.corrupt`` and treated as absent."""
        with self._lock:
            self._loaded = True
            try:
                raw = self.path.read_bytes()
            except FileNotFoundError:
                return None
            except OSError as exc:
                raise AccessError(f"credential cache {self.path}: cannot read: {exc}") from exc
            try:
                snapshot = SyncSnapshot.from_json(raw)
                if snapshot.dataset != self.dataset:
                    raise ContractError(f"dataset {snapshot.dataset!r}, expected {self.dataset!r}")
            except ContractError as exc:
                self._counts["corrupt"] += 1
                aside = self.path.with_name(self.path.name + ".corrupt")
                log.error("credential cache %s is unusable (%s); moved to %s, starting empty",
                          self.path, exc, aside)
                try:
                    os.replace(self.path, aside)
                except OSError as move_exc:
                    log.error("credential cache %s: could not move it aside: %s", self.path, move_exc)
                return None
            self._version = snapshot.version
            return snapshot

    def offer(self, snapshot: SyncSnapshot) -> bool:
        """Cache ``snapshot`` if its version is above the cached one; True if it was written
        (the caller then switches to it), False if it was older or equal (ignored, counted).
        Reads the cache file first if :meth:`load` has not run. Raises :class:`AccessError` if
        the file cannot be written (the old one is then untouched) or for another dataset."""
        if snapshot.dataset != self.dataset:
            raise AccessError(f"credential cache {self.path}: snapshot of dataset "
                              f"{snapshot.dataset!r}, expected {self.dataset!r}")
        if not self._loaded:
            self.load()
        with self._lock:
            if self._version is not None and snapshot.version <= self._version:
                self._counts["ignored_older"] += 1
                log.info("credentials v%d ignored: v%d is cached", snapshot.version, self._version)
                return False
            self._write(snapshot.to_json())
            self._version = snapshot.version
            self._counts["stored"] += 1
            return True

    def _write(self, data: bytes) -> None:
        try:
            write_atomic(self.path, data)
        except OSError as exc:
            raise AccessError(f"credential cache {self.path}: cannot write: {exc}") from exc

    def __repr__(self) -> str:
        return f"<CredentialCache {self.path} v{self._version}>"
