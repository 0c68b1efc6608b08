"""Alarms the desk must see and acknowledge.

Two sources: node events whose kind is an alarm (:func:`mqtt_topics.is_alarm`: a refused
command, a full node journal...), one alarm per event (raising it again for the same event is
a no-op), and console-side conditions (:data:`SEQ_GAP`, :data:`NODE_OFFLINE`,
:data:`CLOCK_SKEW`).  An alarm stays open until a user acknowledges it with a note.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from ..db import Database, register_schema
from ..errors import AlreadyDone, NotFound

if TYPE_CHECKING:  # pragma: no cover
    from ..live import LiveFeed
    from .events import StoredEvent

__all__ = ["AlarmStore", "Alarm", "SEQ_GAP", "NODE_OFFLINE", "CLOCK_SKEW", "CONSOLE_ALARM_KINDS",
           "MAX_NOTE_CHARS"]

#: A node's events skipped seqs (some never reached the console).
SEQ_GAP = "console.seq_gap"
#: A node went offline (its Will was published).
NODE_OFFLINE = "console.node_offline"
#: A node's clock differs from the console's by more than allowed.
CLOCK_SKEW = "console.clock_skew"
CONSOLE_ALARM_KINDS = (SEQ_GAP, NODE_OFFLINE, CLOCK_SKEW)
#: Longest acknowledgement note, characters.
MAX_NOTE_CHARS = 500

SCHEMA = """
CREATE TABLE IF NOT EXISTS alarms (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL,
    node            TEXT,
    event_id        TEXT    UNIQUE,            -- the node event that raised it (NULL: console)
    ts              INTEGER NOT NULL,          -- when it happened (node clock for events), UTC ms
    data            TEXT    NOT NULL,
    raised_at       INTEGER NOT NULL,          -- console clock, UTC ms
    acknowledged_at INTEGER,
    acknowledged_by TEXT,
    note            TEXT
);
CREATE INDEX IF NOT EXISTS alarms_open ON alarms(id) WHERE acknowledged_at IS NULL;
"""
register_schema("alarms", SCHEMA)

_COLS = "id, kind, node, event_id, ts, data, raised_at, acknowledged_at, acknowledged_by, note"


@dataclass(frozen=True, slots=True)
class Alarm:
    """One alarm.  ``ts``: when it happened (the event's node clock, or the console clock for
    console alarms); ``raised_at``/``acknowledged_at``: console clock; all UTC ms."""

    id: int
    kind: str
    node: str | None
    event_id: str | None
    ts: int
    data: dict[str, Any]
    raised_at: int
    acknowledged_at: int | None = None
    acknowledged_by: str | None = None
    note: str | None = None

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "node": self.node, "event_id": self.event_id,
                "ts": self.ts, "data": self.data, "raised_at": self.raised_at,
                "acknowledged_at": self.acknowledged_at, "acknowledged_by": self.acknowledged_by,
                "note": self.note}

    @classmethod
    def _from_row(cls, r: sqlite3.Row) -> "Alarm":
        return cls(id=r["id"], kind=r["kind"], node=r["node"], event_id=r["event_id"], ts=r["ts"],
                   data=json.loads(r["data"]), raised_at=r["raised_at"],
                   acknowledged_at=r["acknowledged_at"], acknowledged_by=r["acknowledged_by"],
                   note=r["note"])


class AlarmStore:
    """Open and acknowledged alarms.

    :param db: the console database (opened by the caller).
    :param live: if given, :meth:`acknowledge` publishes ``("alarm_ack", alarm)`` on it
        and :meth:`announce` ``("alarm", alarm)``, both once the transaction commits (the
        ingest publishes the alarms it raises itself, after its transaction commits)."""

    def __init__(self, db: Database, *, live: "LiveFeed | None" = None) -> None:
        self._db = db
        self._live = live

    def raise_for_event(self, ev: "StoredEvent") -> Alarm:
        """The alarm of an alarm-class event (created on first call, returned after)."""
        with self._db.transaction() as c:
            c.execute("INSERT INTO alarms (kind, node, event_id, ts, data, raised_at) "
                      "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(event_id) DO NOTHING",
                      (ev.kind, ev.node, ev.event_id, ev.ts, json.dumps(ev.data, sort_keys=True),
                       ev.received_at))
            r = c.execute(f"SELECT {_COLS} FROM alarms WHERE event_id = ?", (ev.event_id,)).fetchone()
            return Alarm._from_row(r)

    def raise_console(self, kind: str, *, node: str | None, data: Mapping[str, Any],
                      now: int) -> Alarm:
        """A console-side alarm (``console.seq_gap``, ``console.node_offline``,
        ``console.clock_skew``...) at console time ``now`` (UTC ms)."""
        if not kind:
            raise ValueError("alarm kind must not be empty")
        with self._db.transaction() as c:
            cur = c.execute("INSERT INTO alarms (kind, node, event_id, ts, data, raised_at) "
                            "VALUES (?, ?, NULL, ?, ?, ?)",
                            (kind, node, now, json.dumps(dict(data), sort_keys=True), now))
            return Alarm(id=cur.lastrowid or 0, kind=kind, node=node, event_id=None, ts=now,
                         data=json.loads(json.dumps(dict(data))), raised_at=now)

    def acknowledge(self, alarm_id: int, *, user: str, note: str, now: int) -> Alarm:
        """Acknowledge an open alarm.  ``note`` (required, 1..500 characters once stripped)
        says what was done; ``user``: who; ``now``: console clock, UTC ms.

        Raises ``ValueError`` for a missing/too long note or no user, :class:`NotFound` for
        an unknown id and :class:`AlreadyDone` if it was acknowledged before."""
        if not isinstance(note, str) or not 1 <= len(note.strip()) <= MAX_NOTE_CHARS:
            raise ValueError(f"an acknowledgement needs a note of 1 to {MAX_NOTE_CHARS} characters")
        note = note.strip()
        if not isinstance(user, str) or not user.strip():
            raise ValueError("an acknowledgement needs the user who made it")
        with self._db.transaction() as c:
            cur = c.execute("UPDATE alarms SET acknowledged_at = ?, acknowledged_by = ?, note = ? "
                            "WHERE id = ? AND acknowledged_at IS NULL", (now, user, note, alarm_id))
            r = c.execute(f"SELECT {_COLS} FROM alarms WHERE id = ?", (alarm_id,)).fetchone()
        if r is None:
            raise NotFound(f"no alarm {alarm_id}")
        alarm = Alarm._from_row(r)
        if cur.rowcount == 0:
            raise AlreadyDone(f"alarm {alarm_id} was acknowledged by {alarm.acknowledged_by} "
                              f"at {alarm.acknowledged_at}")
        if self._live is not None:   # once committed (a caller's transaction may roll back)
            self._db.after_commit(lambda: self._live.publish("alarm_ack", alarm.to_dict()))
        return alarm

    def announce(self, alarm: Alarm, live: "LiveFeed | None" = None) -> None:
        """Publish ``("alarm", alarm)`` on ``live`` (default: this store's feed) once the
        current transaction commits (at once outside one; never if it rolls back): how a
        feature shows an alarm it raised with :meth:`raise_console` inside a transaction."""
        feed = live if live is not None else self._live
        if feed is not None:
            self._db.after_commit(lambda: feed.publish("alarm", alarm.to_dict()))

    def get(self, alarm_id: int) -> Alarm:
        """The alarm with ``alarm_id`` (raises :class:`NotFound`)."""
        r = self._db.conn().execute(f"SELECT {_COLS} FROM alarms WHERE id = ?", (alarm_id,)).fetchone()
        if r is None:
            raise NotFound(f"no alarm {alarm_id}")
        return Alarm._from_row(r)

    def open(self) -> list[Alarm]:
        """Every unacknowledged alarm, newest first."""
        rows = self._db.conn().execute(f"SELECT {_COLS} FROM alarms INDEXED BY alarms_open "
                                       "WHERE acknowledged_at IS NULL ORDER BY id DESC").fetchall()
        return [Alarm._from_row(r) for r in rows]

    def count_open(self) -> int:
        """How many alarms are unacknowledged."""
        return self._db.conn().execute("SELECT count(*) FROM alarms INDEXED BY alarms_open "
                                       "WHERE acknowledged_at IS NULL").fetchone()[0]

    def recent(self, limit: int = 100) -> list[Alarm]:
        """The ``limit`` newest alarms, open or not, newest first."""
        rows = self._db.conn().execute(f"SELECT {_COLS} FROM alarms ORDER BY id DESC LIMIT ?",
                                       (int(limit),)).fetchall()
        return [Alarm._from_row(r) for r in rows]
