"""The gate node's goods-pass ledger: passes released here, and the last revocations snapshot.

One SQLite file (WAL, ``synchronous=FULL``) so a decision survives a power cut:

- ``released``: every pass this gate released (``pass_id`` primary key, ``released_at``,
  ``valid_until``, UTC ms). :meth:`PassLedger.claim` inserts a pass *before* the gate shows green,
  in one durable transaction, so a pass is released at most once here even across a crash.
- ``synced``: the pass ids of the last ``sync/pass-revocations`` snapshot applied, with the
  reason they give (``revoked`` for cancelled passes, ``already_used`` for passes released at
  another gate), and its version in ``meta``; kept in memory too (lookups in microseconds).
  Only a higher version replaces it, so a reboot without network still refuses revoked passes.

Released rows whose pass expired more than a day ago can be pruned (:meth:`PassLedger.prune`):
an expired pass is refused on its dates anyway.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from pathlib import Path
from typing import Iterable

from mqtt_topics.passes import Revocations

from .errors import PassError

__all__ = ["PassLedger"]

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS released (
    pass_id TEXT PRIMARY KEY, released_at INTEGER NOT NULL, valid_until INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS synced (pass_id TEXT PRIMARY KEY, reason TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class PassLedger:
    """The ledger at ``path`` (created with its directory by :meth:`open`). Thread-safe.
    Constructing does no I/O; :meth:`close` is idempotent."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._synced: dict[str, str] = {}
        self._version: int | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def open(self) -> "PassLedger":
        """Open (or create) the file and load the synced ids. Raises :class:`PassError`."""
        with self._lock:
            if self._db is not None:
                return self
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")
                db.executescript(_SCHEMA)
                synced = dict(db.execute("SELECT pass_id, reason FROM synced"))
                row = db.execute("SELECT value FROM meta WHERE key='revocations_version'").fetchone()
            except (sqlite3.Error, OSError) as exc:
                raise PassError(f"pass ledger {self.path}: cannot open: {exc}") from exc
            self._db, self._synced = db, synced
            self._version = row[0] if row else None
        return self

    def close(self) -> None:
        """Close the file. Idempotent."""
        with self._lock:
            db, self._db = self._db, None
        if db is not None:
            db.close()

    def __enter__(self) -> "PassLedger":
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise PassError(f"pass ledger {self.path} is not open")
        return self._db

    # -- decisions ------------------------------------------------------------------------------

    def status(self, pass_id: str) -> str | None:
        """Why ``pass_id`` may not go out: ``"revoked"``, ``"already_used"`` (released here or,
        per the last snapshot, at another gate), or None."""
        with self._lock:
            reason = self._synced.get(pass_id)
            if reason == "revoked":
                return reason
            try:
                row = self._conn().execute("SELECT 1 FROM released WHERE pass_id=?",
                                           (pass_id,)).fetchone()
            except sqlite3.Error as exc:
                raise PassError(f"pass ledger {self.path}: cannot read: {exc}") from exc
            return "already_used" if row is not None else reason

    def claim(self, pass_id: str, *, at_ms: int, valid_until_ms: int) -> bool:
        """Record ``pass_id`` as released (durable on return); False if it already was."""
        with self._lock:
            try:
                cur = self._conn().execute(
                    "INSERT OR IGNORE INTO released (pass_id, released_at, valid_until) VALUES (?, ?, ?)",
                    (pass_id, at_ms, valid_until_ms))
            except sqlite3.Error as exc:
                raise PassError(f"pass ledger {self.path}: cannot write: {exc}") from exc
            return cur.rowcount == 1

    def record_released(self, rows: Iterable[tuple[str, int, int]]) -> int:
        """Bulk-record ``(pass_id, released_at_ms, valid_until_ms)`` rows in one transaction
        (restoring a ledger, benches); returns how many were new."""
        with self._lock:
            db = self._conn()
            try:
                before = db.total_changes
                db.execute("BEGIN")
                db.executemany("INSERT OR IGNORE INTO released VALUES (?, ?, ?)", rows)
                db.execute("COMMIT")
                return db.total_changes - before
            except sqlite3.Error as exc:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise PassError(f"pass ledger {self.path}: cannot write: {exc}") from exc

    def prune(self, *, before_ms: int) -> int:
        """Forget released passes whose validity ended before ``before_ms``; returns how many."""
        with self._lock:
            try:
                cur = self._conn().execute("DELETE FROM released WHERE valid_until < ?", (before_ms,))
            except sqlite3.Error as exc:
                raise PassError(f"pass ledger {self.path}: cannot write: {exc}") from exc
            return cur.rowcount

    # -- revocations ----------------------------------------------------------------------------

    @property
    def revocations_version(self) -> int | None:
        """The version of the snapshot in use, None before any."""
        with self._lock:
            return self._version

    def apply(self, revocations: Revocations) -> bool:
        """Replace the synced ids if ``revocations.version`` is above the one in use (durable on
        return); False (nothing changed) for an older or equal version."""
        synced = {p: "already_used" for p in revocations.used}
        synced.update({p: "revoked" for p in revocations.revoked})
        with self._lock:
            if self._version is not None and revocations.version <= self._version:
                return False
            db = self._conn()
            try:
                db.execute("BEGIN")
                db.execute("DELETE FROM synced")
                db.executemany("INSERT INTO synced VALUES (?, ?)", synced.items())
                db.execute("INSERT OR REPLACE INTO meta VALUES ('revocations_version', ?)",
                           (revocations.version,))
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise PassError(f"pass ledger {self.path}: cannot write: {exc}") from exc
            self._synced, self._version = synced, revocations.version
            return True

    def counts(self) -> dict[str, int]:
        """``released`` (rows here), ``revoked`` and ``used_elsewhere`` (from the snapshot)."""
        with self._lock:
            released = self._conn().execute("SELECT count(*) FROM released").fetchone()[0]
            revoked = sum(1 for r in self._synced.values() if r == "revoked")
            return {"released": released, "revoked": revoked,
                    "used_elsewhere": len(self._synced) - revoked}

    def __repr__(self) -> str:
        return f"<PassLedger {self.path} revocations v{self._version}>"
