"""What the console knows about each node: online state, boot, version, clock, health.

Fed by the ingest from the node's retained ``status`` topic (and its Will), from ``health``
telemetry and from every message it sees from the node.

Clock: a *fresh* message (an ``online`` status or health telemetry delivered live, not a
retained copy) carries the node's clock in ``ts``; ``ts - received_at`` is the node's clock
offset (plus the transit delay, a few ms).  A node whose offset exceeds
``max_clock_skew_s`` is flagged; the flag clears once the offset is back within half of it
(hysteresis, so a clock hovering at the bound does not flap).  The offline Will is never a
clock sample: the broker sends it long after the node wrote its ``ts``.  An offline Will
naming another boot than the online one is stale (the node already came back) and ignored.
"""

from __future__ import annotations

import json
import numbers
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from mqtt_topics import NodeStatus, Telemetry

from ..db import Database, register_schema
from . import events as _events  # noqa: F401  (registers seq_gaps, counted in gaps_open)

__all__ = ["NodeStore", "NodeInfo", "NODE_STATES", "HEALTH_DEVICE"]

#: States a node can be in: ``unknown`` until its status has been seen.
NODE_STATES = ("online", "offline", "unknown")
#: Telemetry device that carries the node's own health figures.
HEALTH_DEVICE = "health"

SCHEMA = """
CREATE TABLE IF NOT EXISTS nodes (
    node                TEXT PRIMARY KEY,
    state               TEXT    NOT NULL DEFAULT 'unknown',
    boot_id             TEXT,
    version             TEXT,
    status_ts           INTEGER,             -- ts of the last status message (node clock)
    state_changed_at    INTEGER,             -- console clock when state last changed
    last_seen_ms        INTEGER,             -- console clock of the last live message
    clock_offset_ms     INTEGER,             -- node clock - console clock
    clock_flagged       INTEGER NOT NULL DEFAULT 0,
    journal_depth       INTEGER,
    oldest_unsent_age_s REAL,
    counters            TEXT    NOT NULL DEFAULT '{}',
    health_at           INTEGER              -- console clock of the last health telemetry
) WITHOUT ROWID;
"""
register_schema("nodes", SCHEMA)

_COLS = ("node, state, boot_id, version, status_ts, state_changed_at, last_seen_ms, clock_offset_ms, "
         "clock_flagged, journal_depth, oldest_unsent_age_s, counters, health_at")


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """One node as the console sees it.

    ``state``: ``online``/``offline``/``unknown``; ``last_seen_ms``: console clock of the last
    live message from the node (UTC ms); ``clock_offset_ms``: node clock minus console clock;
    ``clock_flagged``: offset beyond ``max_clock_skew_s``; ``journal_depth``: unsent events
    in the node's journal; ``oldest_unsent_age_s``: age of the oldest one (s); ``counters``:
    the other health figures; ``gaps_open``: open seq gaps."""

    node: str
    state: str = "unknown"
    boot_id: str | None = None
    version: str | None = None
    last_seen_ms: int | None = None
    clock_offset_ms: int | None = None
    clock_flagged: bool = False
    journal_depth: int | None = None
    oldest_unsent_age_s: float | None = None
    counters: dict[str, Any] = field(default_factory=dict)
    gaps_open: int = 0
    status_ts: int | None = None
    state_changed_at: int | None = None
    health_at: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"node": self.node, "state": self.state, "boot_id": self.boot_id,
                "version": self.version, "last_seen_ms": self.last_seen_ms,
                "clock_offset_ms": self.clock_offset_ms, "clock_flagged": self.clock_flagged,
                "journal_depth": self.journal_depth, "oldest_unsent_age_s": self.oldest_unsent_age_s,
                "counters": self.counters, "gaps_open": self.gaps_open, "status_ts": self.status_ts,
                "state_changed_at": self.state_changed_at, "health_at": self.health_at}

    @classmethod
    def _from_row(cls, r: sqlite3.Row) -> "NodeInfo":
        return cls(node=r["node"], state=r["state"], boot_id=r["boot_id"], version=r["version"],
                   last_seen_ms=r["last_seen_ms"], clock_offset_ms=r["clock_offset_ms"],
                   clock_flagged=bool(r["clock_flagged"]), journal_depth=r["journal_depth"],
                   oldest_unsent_age_s=r["oldest_unsent_age_s"], counters=json.loads(r["counters"]),
                   gaps_open=r["gaps_open"], status_ts=r["status_ts"],
                   state_changed_at=r["state_changed_at"], health_at=r["health_at"])


class NodeStore:
    """The console's view of every node.

    :param db: the console database (opened by the caller).
    :param max_clock_skew_s: clock offset beyond which a node is flagged (seconds, default 30).
    """

    def __init__(self, db: Database, *, max_clock_skew_s: float = 30.0) -> None:
        if max_clock_skew_s <= 0:
            raise ValueError("max_clock_skew_s must be > 0")
        self._db = db
        self.max_clock_skew_ms = int(max_clock_skew_s * 1000)

    # -- writing ---------------------------------------------------------------------------
    def update_status(self, node: str, status: NodeStatus, *, received_at: int,
                      retained: bool) -> NodeInfo:
        """Apply a status message (``retained``: delivered as the retained copy, so not
        fresh).  A fresh ``online`` status also counts as a clock sample and as "seen"."""
        fresh_online = status.state == "online" and not retained
        with self._db.transaction() as c:
            self._ensure(c, node)
            cur = c.execute("SELECT state, boot_id FROM nodes WHERE node = ?", (node,)).fetchone()
            if (status.state == "offline" and cur["state"] == "online"
                    and cur["boot_id"] not in (None, status.boot_id)):
                # the Will of an earlier boot, arriving after the new boot said online
                return self._get(c, node)  # type: ignore[return-value]
            c.execute(
                "UPDATE nodes SET state_changed_at = CASE WHEN state = ? THEN state_changed_at ELSE ? END, "
                "state = ?, boot_id = ?, version = ?, status_ts = ? WHERE node = ?",
                (status.state, received_at, status.state, status.boot_id, status.version,
                 status.ts, node))
            if fresh_online:
                self._seen(c, node, received_at)
                self._clock_sample(c, node, status.ts - received_at)
            return self._get(c, node)  # type: ignore[return-value]

    def update_health(self, node: str, telemetry: Telemetry, *, received_at: int,
                      retained: bool = False) -> NodeInfo:
        """Apply ``health`` telemetry: ``journal_depth`` and ``oldest_unsent_age_s`` go to
        their own fields, every other value to ``counters`` (replacing the previous set).
        Also a clock sample (unless ``retained``) and "seen"."""
        values = dict(telemetry.values)
        depth = values.pop("journal_depth", None)
        age = values.pop("oldest_unsent_age_s", None)
        depth = int(depth) if isinstance(depth, numbers.Real) and not isinstance(depth, bool) else None
        age = float(age) if isinstance(age, numbers.Real) and not isinstance(age, bool) else None
        with self._db.transaction() as c:
            self._ensure(c, node)
            c.execute("UPDATE nodes SET journal_depth = ?, oldest_unsent_age_s = ?, counters = ?, "
                      "health_at = ? WHERE node = ?",
                      (depth, age, json.dumps(values, sort_keys=True), received_at, node))
            if not retained:
                self._seen(c, node, received_at)
                self._clock_sample(c, node, telemetry.ts - received_at)
            return self._get(c, node)  # type: ignore[return-value]

    def seen(self, node: str, *, received_at: int) -> None:
        """The node sent something live at ``received_at`` (console clock, UTC ms)."""
        with self._db.transaction() as c:
            self._ensure(c, node)
            self._seen(c, node, received_at)

    def _ensure(self, c: sqlite3.Connection, node: str) -> None:
        c.execute("INSERT INTO nodes (node) VALUES (?) ON CONFLICT(node) DO NOTHING", (node,))

    def _seen(self, c: sqlite3.Connection, node: str, received_at: int) -> None:
        c.execute("UPDATE nodes SET last_seen_ms = max(coalesce(last_seen_ms, 0), ?) WHERE node = ?",
                  (received_at, node))

    def _clock_sample(self, c: sqlite3.Connection, node: str, offset_ms: int) -> None:
        bound = self.max_clock_skew_ms
        # flag beyond the bound; clear only once back within half of it
        c.execute("UPDATE nodes SET clock_offset_ms = ?, clock_flagged = CASE "
                  "WHEN ? > ? THEN 1 WHEN ? <= ? THEN 0 ELSE clock_flagged END WHERE node = ?",
                  (offset_ms, abs(offset_ms), bound, abs(offset_ms), bound // 2, node))

    # -- reading ---------------------------------------------------------------------------
    def _get(self, c: sqlite3.Connection, node: str) -> NodeInfo | None:
        r = c.execute(f"SELECT {_COLS}, (SELECT count(*) FROM seq_gaps g WHERE g.node = n.node "
                      "AND g.closed_at IS NULL) AS gaps_open FROM nodes n WHERE node = ?",
                      (node,)).fetchone()
        return NodeInfo._from_row(r) if r else None

    def get(self, node: str) -> NodeInfo | None:
        """The node, or ``None`` if the console never heard of it."""
        return self._get(self._db.conn(), node)

    def list(self) -> list[NodeInfo]:
        """Every known node, by id."""
        rows = self._db.conn().execute(
            f"SELECT {_COLS}, (SELECT count(*) FROM seq_gaps g WHERE g.node = n.node "
            "AND g.closed_at IS NULL) AS gaps_open FROM nodes n ORDER BY node").fetchall()
        return [NodeInfo._from_row(r) for r in rows]
