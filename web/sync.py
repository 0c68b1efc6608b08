"""Retained ``sync/{dataset}`` snapshots the console publishes for its nodes.

Each dataset (``credentials``, ``key-permissions``, ``pass-revocations``, ``patrol-plan``,
``invite-revocations``...) has a version that grows by one per change, kept in the
``sync_versions`` table, and a snapshot builder registered with :class:`SyncPublisher`.  A
feature bumps the version inside the transaction that changes its data
(:func:`bump_version`), then calls :meth:`SyncPublisher.publish`; every registered dataset with
a version above 0 is published again on each (re)connect to the broker.

Usage::

    sync = SyncPublisher(site="tower-a", publish=ingest.publish)
    sync.register("pass-revocations", snapshot=passes.revocations_snapshot,
                  version=passes.revocations_version)
    with db.transaction() as c:
        ...                                    # change the data
        bump_version(c, "pass-revocations")
    sync.publish("pass-revocations")
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass
from typing import Callable

from mqtt_topics import topics as T
from mqtt_topics.payloads import SyncSnapshot

from .db import register_schema

__all__ = ["SyncPublisher", "current_version", "bump_version"]

log = logging.getLogger(__name__)

register_schema("sync_versions", """
CREATE TABLE IF NOT EXISTS sync_versions (
    dataset TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);
""")


def current_version(c: sqlite3.Connection, dataset: str) -> int:
    """The stored version of ``dataset`` (0 before its first change)."""
    r = c.execute("SELECT version FROM sync_versions WHERE dataset = ?", (dataset,)).fetchone()
    return int(r[0]) if r else 0


def bump_version(c: sqlite3.Connection, dataset: str) -> int:
    """Add one to ``dataset``'s version inside the caller's transaction; the new version."""
    version = current_version(c, dataset) + 1
    c.execute("INSERT INTO sync_versions (dataset, version) VALUES (?, ?) "
              "ON CONFLICT(dataset) DO UPDATE SET version = excluded.version", (dataset, version))
    return version


@dataclass(frozen=True)
class _Dataset:
    snapshot: Callable[[], SyncSnapshot]
    version: Callable[[], int]


class SyncPublisher:
    """Publishes registered datasets as retained QoS 1 snapshots.

    :param site: the site id (topic root).
    :param publish: ``publish(topic, payload, qos, retain) -> bool`` (the ingest's client);
        False when not connected (the snapshot goes out again on the next connect)."""

    def __init__(self, *, site: str,
                 publish: Callable[[str, bytes, int, bool], bool]) -> None:
        self._site = site
        self._publish = publish
        self._datasets: dict[str, _Dataset] = {}
        self._lock = threading.Lock()

    def register(self, dataset: str, *, snapshot: Callable[[], SyncSnapshot],
                 version: Callable[[], int]) -> None:
        """Declare ``dataset``: ``snapshot()`` builds its whole current snapshot; ``version()``
        its current version (0: nothing to publish yet)."""
        T.sync(self._site, dataset)          # validates the dataset id
        with self._lock:
            self._datasets[dataset] = _Dataset(snapshot=snapshot, version=version)

    def datasets(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._datasets)

    def snapshot(self, dataset: str) -> SyncSnapshot:
        """The current snapshot of ``dataset`` (KeyError if not registered)."""
        with self._lock:
            entry = self._datasets[dataset]
        return entry.snapshot()

    def publish(self, dataset: str) -> bool:
        """Publish ``dataset``'s current snapshot (retained, QoS 1); True if handed to the
        broker."""
        snap = self.snapshot(dataset)
        return self._publish(T.sync(self._site, dataset), snap.to_json(), 1, True)

    def republish_all(self) -> None:
        """Publish every dataset whose version is above 0 (a node's cache is never overwritten
        with an empty first snapshot).  Called on each broker (re)connect."""
        for dataset in self.datasets():
            with self._lock:
                entry = self._datasets[dataset]
            try:
                if entry.version() > 0:
                    self.publish(dataset)
            except Exception:   # one feature's bug must not stop the others' snapshots
                log.exception("sync: publishing %s failed", dataset)
