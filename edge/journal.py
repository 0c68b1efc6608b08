"""The node's event journal and outbox: every event is on disk before it is published.

One SQLite file per node (WAL, ``synchronous=FULL``, locked exclusively by the node process).
:meth:`EventJournal.append` gives each event the next ``seq`` (it rises by one per event,
survives restarts and is never reused, even after rows are pruned), builds and validates its
:class:`~mqtt_topics.EventEnvelope`, stores the envelope's JSON exactly as it will be published
and commits before returning. The MQTT bridge reads :meth:`~EventJournal.unsent` rows in ``seq``
order, publishes them (QoS 1) and calls :meth:`~EventJournal.mark_sent` when the broker
acknowledges them.

The journal is bounded by ``capacity`` unsent rows. When it is full, the oldest unsent
*routine* rows are dropped to make room (alarm and access rows never are: with nothing
routine left the bound is exceeded and a warning logged) and, once per fill episode, a
``journal.full`` alarm ``{"dropped", "capacity"}`` is journalled. A new episode starts after
the unsent count has fallen below 90 % of ``capacity``.

Usage::

    with EventJournal("/var/lib/lobbygate/journal.db", node="lobby") as journal:
        env = journal.append("card.read", {"reader": "r1", "card": "123"}, boot_id=boot_id)
        rows = journal.unsent(limit=100)
        journal.mark_sent(row.seq for row in rows)
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from mqtt_topics import ContractError, EventClass, EventEnvelope, event_class, make_event_id
from mqtt_topics.topics import check_node_id

from .errors import ConfigError, JournalError

__all__ = ["EventJournal", "JournalRow", "JournalStats", "JOURNAL_FULL_KIND", "utc_ms"]

log = logging.getLogger(__name__)

#: Layout version of the journal file (``PRAGMA user_version``).
SCHEMA_VERSION = 1
#: Kind of the alarm journalled when routine events had to be dropped.
JOURNAL_FULL_KIND = "journal.full"
#: A new fill episode (and so a new ``journal.full`` alarm) starts only once the unsent count
#: has fallen below this fraction of ``capacity`` (as tenths, to keep the arithmetic integral).
REARM_TENTHS = 9
#: Shortest interval between two "over capacity, keeping alarm/access rows" warnings (ms).
OVER_CAPACITY_WARN_INTERVAL_MS = 60_000
#: Size the WAL file is truncated back to after a checkpoint (bytes).
WAL_SIZE_LIMIT_BYTES = 16 * 1024 * 1024

_ROUTINE = EventClass.ROUTINE.value

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID",
    """CREATE TABLE IF NOT EXISTS events (
        seq        INTEGER PRIMARY KEY,  -- the event's seq (rowid): never reused
        kind       TEXT    NOT NULL,
        class      TEXT    NOT NULL,     -- mqtt_topics.EventClass value
        payload    BLOB    NOT NULL,     -- the EventEnvelope JSON exactly as published
        created_ms INTEGER NOT NULL,     -- journal clock when appended, UTC ms
        sent       INTEGER NOT NULL DEFAULT 0
    )""",
    # unsent() pages and the replay after a reconnect: only unsent rows are indexed.
    "CREATE INDEX IF NOT EXISTS events_unsent ON events(seq) WHERE sent = 0",
    # What may be dropped when the journal is full.
    f"CREATE INDEX IF NOT EXISTS events_unsent_routine ON events(seq) "
    f"WHERE sent = 0 AND class = '{_ROUTINE}'",
)

_SQL_INSERT = "INSERT INTO events (seq, kind, class, payload, created_ms) VALUES (?, ?, ?, ?, ?)"
_SQL_SET_META = "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)"
_SQL_DROP_ROUTINE = (
    "DELETE FROM events WHERE seq IN (SELECT seq FROM events INDEXED BY events_unsent_routine "
    f"WHERE sent = 0 AND class = '{_ROUTINE}' ORDER BY seq LIMIT ?)")
_SQL_UNSENT = ("SELECT seq, kind, payload, created_ms FROM events INDEXED BY events_unsent "
               "WHERE sent = 0 AND seq > ? ORDER BY seq LIMIT ?")
_SQL_OLDEST_UNSENT = ("SELECT created_ms FROM events INDEXED BY events_unsent "
                      "WHERE sent = 0 ORDER BY seq LIMIT 1")
_SQL_MARK = "UPDATE events SET sent = 1 WHERE seq = ? AND sent = 0"
_SQL_PRUNE = "DELETE FROM events WHERE seq <= ? AND sent = 1"


def utc_ms() -> int:
    """Wall-clock time as integer UTC milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class JournalRow:
    """One journalled event as the MQTT bridge publishes it."""

    seq: int
    kind: str
    payload: bytes  #: the EventEnvelope JSON exactly as it will be published
    created_ms: int  #: journal clock when the event was appended, UTC ms


@dataclass(frozen=True, slots=True)
class JournalStats:
    """Figures for health telemetry and diagnostics."""

    unsent: int  #: rows not yet acknowledged by the broker
    total: int  #: rows stored (sent rows kept for diagnostics + unsent)
    capacity: int  #: bound on unsent rows
    dropped_total: int  #: routine events dropped because the journal was full, ever
    oldest_unsent_ms: int | None  #: created_ms of the oldest unsent row
    next_seq: int  #: seq the next appended event will get


class EventJournal:
    """The node's durable event journal and outbox.

    :param path: the SQLite file (created by :meth:`open`, with its parent directory).
    :param node: this node's id; events are stamped with it and a file written by another
        node is refused.
    :param capacity: bound on unsent rows (events), default 1,000,000.
    :param keep_sent: how many of the newest sent rows are kept for diagnostics (default 10,000).
    :param prune_every: sent rows are pruned once this many rows have been marked sent since the
        last prune (default 1,000).
    :param clock: returns the current UTC time in integer ms (default :func:`utc_ms`); sets
        ``created_ms`` and the default event ``ts``.
    :param lock_timeout_s: how long :meth:`open` waits for another process holding the file
        before failing (seconds, default 2.0).

    Thread-safe: one connection guarded by a lock (device threads append while the MQTT thread
    reads and marks). The constructor does no I/O; :meth:`open` (or ``with``) does.
    """

    def __init__(self, path: str | os.PathLike[str], *, node: str, capacity: int = 1_000_000,
                 keep_sent: int = 10_000, prune_every: int = 1_000,
                 clock: Callable[[], int] = utc_ms, lock_timeout_s: float = 2.0) -> None:
        problems: list[str] = []
        try:
            check_node_id(node)
        except ContractError as exc:
            problems.append(f"journal: {exc}")
        for name, value, least in (("capacity", capacity, 1), ("keep_sent", keep_sent, 0),
                                   ("prune_every", prune_every, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                problems.append(f"journal: {name} must be an integer >= {least}, got {value!r}")
        if problems:
            raise ConfigError(problems)
        self.path = Path(path)
        self.node = node
        self.capacity = capacity
        self.keep_sent = keep_sent
        self.prune_every = prune_every
        self._clock = clock
        self._lock_timeout_s = lock_timeout_s
        self._cond = threading.Condition(threading.Lock())
        self._conn: sqlite3.Connection | None = None
        # Mirrors of the file's state; only this process writes it (exclusive lock), and they
        # change only after a successful commit.
        self._next_seq = 1
        self._unsent = 0
        self._total = 0
        self._dropped_total = 0
        self._full_episode = False
        self._max_sent_seq = 0
        self._marked_since_prune = 0
        self._last_over_warn_ms: int | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def open(self) -> "EventJournal":
        """Open (creating if needed) the file: schema, WAL, ``synchronous=FULL``, exclusive lock.

        Idempotent. Raises :class:`JournalError` if the file is corrupt, not a journal, written
        by another node, of a newer layout, or held by another process."""
        with self._cond:
            if self._conn is not None:
                return self
            conn: sqlite3.Connection | None = None
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=self._lock_timeout_s,
                                       isolation_level=None, check_same_thread=False)
                # Exclusive before WAL: no shared-memory index, and no second writer that could
                # hand out the same seq.
                conn.execute("PRAGMA locking_mode = EXCLUSIVE")
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise JournalError(f"journal {self.path}: could not switch to WAL (got {mode!r})")
                conn.execute("PRAGMA synchronous = FULL")
                conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT_BYTES}")
                self._load(conn)
            except OSError as exc:
                _close_quietly(conn)
                raise JournalError(f"journal {self.path}: open failed: {exc}") from exc
            except sqlite3.Error as exc:
                _close_quietly(conn)
                if getattr(exc, "sqlite_errorname", None) in ("SQLITE_BUSY", "SQLITE_LOCKED"):
                    raise JournalError(f"journal {self.path}: open failed: the file is in use by "
                                       f"another process or connection (one node process per "
                                       f"journal): {_describe(exc)}") from exc
                raise JournalError(f"journal {self.path}: open failed: {_describe(exc)}") from exc
            except BaseException:
                _close_quietly(conn)
                raise
            self._conn = conn
            log.debug("journal %s open: next_seq=%d unsent=%d total=%d", self.path,
                      self._next_seq, self._unsent, self._total)
            return self

    def _load(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise JournalError(f"journal {self.path}: layout version {version} is newer than "
                                   f"this software's ({SCHEMA_VERSION})")
            for statement in _SCHEMA:
                conn.execute(statement)
            if version < SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            stored_node = meta.get("node")
            if stored_node is None:
                conn.execute(_SQL_SET_META, ("node", self.node))
            elif stored_node != self.node:
                raise JournalError(f"journal {self.path}: belongs to node {stored_node!r}, "
                                   f"not {self.node!r}")
            max_seq = conn.execute("SELECT max(seq) FROM events").fetchone()[0] or 0
            next_seq = max(int(meta.get("next_seq", 1)), max_seq + 1)
            unsent = conn.execute(
                "SELECT count(*) FROM events INDEXED BY events_unsent WHERE sent = 0").fetchone()[0]
            total = conn.execute("SELECT count(*) FROM events").fetchone()[0]
            max_sent = conn.execute(
                "SELECT seq FROM events WHERE sent = 1 ORDER BY seq DESC LIMIT 1").fetchone()
            full_episode = bool(meta.get("full_episode", 0))
            if full_episode and not self._still_full(unsent):
                full_episode = False
            conn.execute(_SQL_SET_META, ("next_seq", next_seq))
            conn.execute(_SQL_SET_META, ("full_episode", int(full_episode)))
            conn.execute("COMMIT")
        except BaseException:
            _rollback_quietly(conn)
            raise
        self._next_seq = next_seq
        self._unsent = unsent
        self._total = total
        self._dropped_total = int(meta.get("dropped_total", 0))
        self._full_episode = full_episode
        self._max_sent_seq = max_sent[0] if max_sent else 0
        self._marked_since_prune = 0

    def close(self) -> None:
        """Close the file (a checkpoint folds the WAL back in). Idempotent."""
        with self._cond:
            conn, self._conn = self._conn, None
            self._cond.notify_all()
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error as exc:
                raise JournalError(f"journal {self.path}: close failed: {_describe(exc)}") from exc

    @property
    def closed(self) -> bool:
        """True until :meth:`open` succeeds, and again after :meth:`close`."""
        return self._conn is None

    def __enter__(self) -> "EventJournal":
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._conn is None else f"next_seq={self._next_seq} unsent={self._unsent}"
        return f"<EventJournal {str(self.path)!r} node={self.node!r} {state}>"

    # -- writing ----------------------------------------------------------------------------

    def append(self, kind: str, data: Mapping[str, Any], *, boot_id: str,
               ts: int | None = None) -> EventEnvelope:
        """Journal one event and return its envelope; it is on disk when this returns.

        :param kind: the event kind (``card.read``); its class (:func:`mqtt_topics.event_class`)
            decides whether it may be dropped when the journal is full.
        :param data: the kind's JSON object.
        :param boot_id: this boot's id (``[a-z0-9-]{1,32}``), part of the ``event_id``.
        :param ts: when the event happened, UTC ms (default: the journal clock).
        :raises ContractError: the envelope is invalid (bad kind, boot_id, ts, data not JSON,
            over 64 KiB); nothing is written and no seq is used.
        :raises JournalError: the journal is not open or the write failed.
        """
        with self._cond:
            conn = self._require_open("append")
            now = int(self._clock())
            seq = self._next_seq
            envelope, payload = _build(self.node, kind, data, boot_id,
                                       now if ts is None else ts, seq)
            klass = event_class(kind).value
            dropped = 0
            emit_full = False
            need = self._unsent + 1 - self.capacity
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    if need > 0:
                        emit_full = not self._full_episode
                        want = need + (1 if emit_full else 0)
                        dropped = conn.execute(_SQL_DROP_ROUTINE, (want,)).rowcount
                        emit_full = emit_full and dropped > 0
                    conn.execute(_SQL_INSERT, (seq, envelope.kind, klass, payload, now))
                    last_seq = seq
                    if emit_full:
                        last_seq = seq + 1
                        _, alarm = _build(self.node, JOURNAL_FULL_KIND,
                                          {"dropped": dropped, "capacity": self.capacity},
                                          boot_id, now, last_seq)
                        conn.execute(_SQL_INSERT, (last_seq, JOURNAL_FULL_KIND,
                                                   event_class(JOURNAL_FULL_KIND).value, alarm, now))
                        conn.execute(_SQL_SET_META, ("full_episode", 1))
                    if dropped:
                        conn.execute(_SQL_SET_META, ("dropped_total", self._dropped_total + dropped))
                    conn.execute(_SQL_SET_META, ("next_seq", last_seq + 1))
                    conn.execute("COMMIT")
                except BaseException:
                    _rollback_quietly(conn)
                    raise
            except sqlite3.Error as exc:
                raise JournalError(
                    f"journal {self.path}: append of {kind} seq {seq} failed: {_describe(exc)}") from exc
            added = last_seq - seq + 1
            self._next_seq = last_seq + 1
            self._unsent += added - dropped
            self._total += added - dropped
            self._dropped_total += dropped
            if emit_full:
                self._full_episode = True
                log.warning("journal %s full (capacity %d unsent events): dropped the %d oldest "
                            "routine event(s); journal.full alarm is seq %d", self.path,
                            self.capacity, dropped, last_seq)
            if self._unsent > self.capacity:
                self._warn_over_capacity(now)
            self._cond.notify_all()
            return envelope

    def _warn_over_capacity(self, now: int) -> None:
        last = self._last_over_warn_ms
        if last is None or now - last >= OVER_CAPACITY_WARN_INTERVAL_MS or now < last:
            self._last_over_warn_ms = now
            log.warning("journal %s holds %d unsent events, over its capacity of %d: nothing "
                        "routine is left to drop and alarm/access events are never dropped",
                        self.path, self._unsent, self.capacity)

    def mark_sent(self, seqs: Iterable[int]) -> int:
        """Flag rows as acknowledged by the broker, in one transaction; returns rows changed.

        Seqs that are unknown, pruned or already sent are ignored. Every ``prune_every`` marked
        rows, sent rows older than the newest ``keep_sent`` are deleted in the same transaction.
        """
        wanted = sorted({int(s) for s in seqs})
        with self._cond:
            conn = self._require_open("mark_sent")
            if not wanted:
                return 0
            known = [s for s in wanted if 0 < s < self._next_seq]
            max_sent = max(self._max_sent_seq, known[-1]) if known else self._max_sent_seq
            pruned = 0
            rearm = False
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    changed = conn.executemany(_SQL_MARK, ((s,) for s in known)).rowcount if known else 0
                    unsent = self._unsent - changed
                    if self._full_episode and not self._still_full(unsent):
                        rearm = True
                        conn.execute(_SQL_SET_META, ("full_episode", 0))
                    prune_due = self._marked_since_prune + changed >= self.prune_every
                    if prune_due:
                        pruned = conn.execute(_SQL_PRUNE, (max_sent - self.keep_sent,)).rowcount
                    conn.execute("COMMIT")
                except BaseException:
                    _rollback_quietly(conn)
                    raise
            except sqlite3.Error as exc:
                raise JournalError(f"journal {self.path}: mark_sent of {len(wanted)} seq(s) "
                                   f"failed: {_describe(exc)}") from exc
            self._unsent = unsent
            self._total -= pruned
            self._max_sent_seq = max_sent
            self._marked_since_prune = 0 if prune_due else self._marked_since_prune + changed
            if rearm:
                self._full_episode = False
                log.info("journal %s below %d%% of capacity again (%d unsent): the next drop "
                         "raises a new journal.full alarm", self.path, REARM_TENTHS * 10, unsent)
            return changed

    def _still_full(self, unsent: int) -> bool:
        """True while a fill episode lasts: ``unsent`` not yet below 90 % of capacity."""
        return unsent * 10 >= self.capacity * REARM_TENTHS

    # -- reading ----------------------------------------------------------------------------

    def unsent(self, *, after_seq: int = 0, limit: int = 1000) -> list[JournalRow]:
        """Up to ``limit`` unsent rows with ``seq > after_seq``, in ``seq`` order."""
        with self._cond:
            conn = self._require_open("unsent")
            if limit <= 0:
                return []
            try:
                rows = conn.execute(_SQL_UNSENT, (after_seq, limit)).fetchall()
            except sqlite3.Error as exc:
                raise JournalError(f"journal {self.path}: reading unsent rows failed: "
                                   f"{_describe(exc)}") from exc
        return [JournalRow(seq, kind, bytes(payload), created_ms)
                for seq, kind, payload, created_ms in rows]

    def stats(self) -> JournalStats:
        """Current figures (one indexed read for ``oldest_unsent_ms``)."""
        with self._cond:
            conn = self._require_open("stats")
            oldest = None
            if self._unsent:
                try:
                    row = conn.execute(_SQL_OLDEST_UNSENT).fetchone()
                except sqlite3.Error as exc:
                    raise JournalError(f"journal {self.path}: reading stats failed: "
                                       f"{_describe(exc)}") from exc
                oldest = row[0] if row else None
            return JournalStats(unsent=self._unsent, total=self._total, capacity=self.capacity,
                                dropped_total=self._dropped_total, oldest_unsent_ms=oldest,
                                next_seq=self._next_seq)

    def sqlite_settings(self) -> dict[str, str]:
        """The durability settings in force, read back from SQLite (for diagnostics):
        ``{"journal_mode": "wal", "synchronous": "full", "locking_mode": "exclusive"}``."""
        names = {0: "off", 1: "normal", 2: "full", 3: "extra"}
        with self._cond:
            conn = self._require_open("sqlite_settings")
            try:
                mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
                sync = conn.execute("PRAGMA synchronous").fetchone()[0]
                locking = conn.execute("PRAGMA locking_mode").fetchone()[0]
            except sqlite3.Error as exc:
                raise JournalError(f"journal {self.path}: reading settings failed: "
                                   f"{_describe(exc)}") from exc
        return {"journal_mode": str(mode).lower(), "synchronous": names.get(sync, str(sync)),
                "locking_mode": str(locking).lower()}

    def wait_for_append(self, after_seq: int, timeout_s: float) -> bool:
        """Block until an event with ``seq > after_seq`` has been appended (True) or
        ``timeout_s`` seconds pass or the journal is closed (False).

        Lets the MQTT thread sleep between events instead of polling :meth:`unsent`."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._conn is None or self._next_seq - 1 > after_seq,
                timeout_s) and self._conn is not None

    def _require_open(self, what: str) -> sqlite3.Connection:
        if self._conn is None:
            raise JournalError(f"journal {self.path}: {what} on a journal that is not open")
        return self._conn


# -- helpers ---------------------------------------------------------------------------------


def _build(node: str, kind: str, data: Mapping[str, Any], boot_id: str, ts: int,
           seq: int) -> tuple[EventEnvelope, bytes]:
    """The envelope as the console will parse it, and its JSON; raises ContractError."""
    draft = EventEnvelope(event_id=make_event_id(node, boot_id, seq), node=node, kind=kind,
                          ts=ts, seq=seq, data=data)
    try:
        payload = draft.to_json()
    except (TypeError, ValueError) as exc:
        raise ContractError(f"event {kind}: data is not a JSON object ({exc})") from None
    # Round trip: refuses what the console would (size, ts range, lengths), and the envelope
    # returned holds exactly what is stored rather than the caller's (mutable) mapping.
    return EventEnvelope.from_json(payload), payload


def _describe(exc: sqlite3.Error) -> str:
    code = getattr(exc, "sqlite_errorname", None)
    return f"{exc} ({code})" if code else str(exc)


def _rollback_quietly(conn: sqlite3.Connection) -> None:
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except sqlite3.Error:
        pass


def _close_quietly(conn: sqlite3.Connection | None) -> None:
    if conn is not None:
        try:
            conn.close()
        except sqlite3.Error:
            pass
