"""The console's event journal: every node event stored once, searchable, with seq gaps.

Events are de-duplicated on ``event_id`` (a redelivered event is counted by the caller, not
stored twice).  Each node's ``seq`` rises by one per event and survives restarts, so the store
keeps the highest seq seen per node: a new event above ``highest + 1`` opens a
:class:`SeqGap` (the missing seqs), and a late event inside an open gap shrinks, splits or
closes it.  The first event ever seen from a node sets its baseline (no gap before it).

Search is newest first with keyset pagination on ``(ts, id)``: indexes on ``(ts)``,
``(node, ts)`` and ``(kind, ts)`` keep every page a bounded index range scan, whatever the
table size.  Text search matches a case-insensitive substring of ``kind + " " + data JSON``.
A trigram FTS5 index finds the candidate rows of a rare term (3+ characters) directly; a
frequent term (more than :data:`FTS_CANDIDATE_LIMIT` candidates) or a shorter one is matched
with ``LIKE`` while walking the same index as the other filters, which stops after ``limit``
matches.  Both paths apply the same ``LIKE``, so results do not depend on the path.

A term shorter than 3 characters cannot use the trigram index, and one that matches little
would walk every row (about 300 ms per million).  :meth:`EventStore.search` therefore looks
at most at the newest ``short_text_scan_rows`` rows (default
:data:`SHORT_TEXT_SCAN_ROWS`) that match the other filters (node, kind, time range): the
*window*.  Older rows are not examined, and the page that runs out of matches inside the
window says so with :attr:`EventPage.scan_limited`.  The window is fixed by the newest rows
when each page is asked for, and a cursor pages on inside it; if new events arrive while
someone pages, the window slides down by that many rows, so a deep page may end a little
earlier.  :meth:`EventStore.iter_search` (the CSV export) is not bounded: it returns every
match, as before, reading page by page.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any, Iterator

from mqtt_topics import EventEnvelope, event_class
from mqtt_topics.payloads import dumps

from ..db import Database, like_contains, register_schema
from ..errors import BadCursor

__all__ = ["EventStore", "StoredEvent", "EventPage", "SeqGap", "RecordResult",
           "FTS_CANDIDATE_LIMIT", "MAX_PAGE", "SHORT_TEXT_SCAN_ROWS", "MIN_INDEXED_TEXT"]

#: A text term with at most this many FTS candidates is resolved through the FTS index;
#: above it the term is frequent enough that an index walk with LIKE finds a page quickly.
FTS_CANDIDATE_LIMIT = 2000
#: Shortest text term (characters) the trigram index can look up.
MIN_INDEXED_TEXT = 3
#: How many of the newest rows (matching the other filters) :meth:`EventStore.search` examines
#: for a text term shorter than :data:`MIN_INDEXED_TEXT`.
SHORT_TEXT_SCAN_ROWS = 200_000
#: Largest page :meth:`EventStore.search` returns.
MAX_PAGE = 1000
#: Page size :meth:`EventStore.iter_search` reads with.
ITER_PAGE = 500

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id          INTEGER PRIMARY KEY,           -- insertion order; keyset tie-breaker
    event_id    TEXT    NOT NULL UNIQUE,       -- '<node>:<boot_id>:<seq>'
    node        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    ts          INTEGER NOT NULL,              -- node clock, UTC ms
    seq         INTEGER NOT NULL,
    data        TEXT    NOT NULL,              -- the event's data object, canonical JSON
    received_at INTEGER NOT NULL,              -- console clock, UTC ms
    event_class TEXT    NOT NULL,              -- mqtt_topics.EventClass value
    search_text TEXT GENERATED ALWAYS AS (kind || ' ' || data) VIRTUAL
);
CREATE INDEX IF NOT EXISTS events_ts ON events(ts);
CREATE INDEX IF NOT EXISTS events_node_ts ON events(node, ts);
CREATE INDEX IF NOT EXISTS events_kind_ts ON events(kind, ts);
CREATE VIRTUAL TABLE IF NOT EXISTS events_fts USING fts5(
    search_text, content='events', content_rowid='id', tokenize='trigram');
CREATE TRIGGER IF NOT EXISTS events_fts_insert AFTER INSERT ON events BEGIN
    INSERT INTO events_fts(rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER IF NOT EXISTS events_fts_delete AFTER DELETE ON events BEGIN
    INSERT INTO events_fts(events_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
END;
CREATE TABLE IF NOT EXISTS node_seq (
    node     TEXT PRIMARY KEY,
    max_seq  INTEGER NOT NULL,                 -- highest seq stored for the node
    boot_id  TEXT    NOT NULL                  -- boot of that event
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS seq_gaps (
    id          INTEGER PRIMARY KEY,
    node        TEXT    NOT NULL,
    boot_id     TEXT,                          -- boot of the event that revealed the gap
    from_seq    INTEGER NOT NULL,              -- first missing seq
    to_seq      INTEGER NOT NULL,              -- last missing seq
    detected_at INTEGER NOT NULL,              -- console clock, UTC ms
    closed_at   INTEGER                        -- when the last missing event arrived
);
CREATE INDEX IF NOT EXISTS seq_gaps_open ON seq_gaps(node, from_seq) WHERE closed_at IS NULL;
"""
register_schema("events", SCHEMA)

_COLS = "id, event_id, node, kind, ts, seq, data, received_at, event_class"
_SQL_INSERT = ("INSERT INTO events (event_id, node, kind, ts, seq, data, received_at, event_class) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(event_id) DO NOTHING")
_SQL_GAP_COLS = "id, node, boot_id, from_seq, to_seq, detected_at, closed_at"


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One stored event.  ``ts``: node clock, ``received_at``: console clock (UTC ms);
    ``data``: the event's own object; ``event_class``: ``alarm``/``access``/``routine``;
    ``id``: the row id (insertion order), 0 when not known."""

    event_id: str
    node: str
    kind: str
    ts: int
    seq: int
    data: dict[str, Any]
    received_at: int
    event_class: str
    id: int = 0

    @property
    def boot_id(self) -> str:
        """The boot the event was recorded in."""
        return self.event_id.split(":")[1]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for the live feed, the JSON API and CSV export)."""
        return {"event_id": self.event_id, "node": self.node, "kind": self.kind, "ts": self.ts,
                "seq": self.seq, "data": self.data, "received_at": self.received_at,
                "event_class": self.event_class}

    @classmethod
    def _from_row(cls, r: sqlite3.Row) -> "StoredEvent":
        return cls(event_id=r["event_id"], node=r["node"], kind=r["kind"], ts=r["ts"],
                   seq=r["seq"], data=json.loads(r["data"]), received_at=r["received_at"],
                   event_class=r["event_class"], id=r["id"])


@dataclass(frozen=True, slots=True)
class EventPage:
    """One page of :meth:`EventStore.search`: ``next_cursor`` asks for the following
    (older) page and is ``None`` on the last one.  ``scan_limited``: True when this page ran
    out of matches at the short-text window (older rows exist that were not examined, see
    :class:`EventStore`); only ever True on a page with ``has_more`` False."""

    items: list[StoredEvent]
    has_more: bool
    next_cursor: str | None
    scan_limited: bool = False


@dataclass(frozen=True, slots=True)
class SeqGap:
    """Seqs ``from_seq..to_seq`` (inclusive) of ``node`` were never received.

    ``boot_id``: the boot of the event that revealed the gap; ``detected_at`` /
    ``closed_at``: console clock, UTC ms (``closed_at`` is ``None`` while any seq is missing).
    A late event in the middle of a gap splits it in two rows that keep ``detected_at``."""

    node: str
    boot_id: str | None
    from_seq: int
    to_seq: int
    detected_at: int
    closed_at: int | None = None
    id: int = 0

    @property
    def missing(self) -> int:
        """How many seqs the gap covers."""
        return self.to_seq - self.from_seq + 1

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "node": self.node, "boot_id": self.boot_id,
                "from_seq": self.from_seq, "to_seq": self.to_seq, "missing": self.missing,
                "detected_at": self.detected_at, "closed_at": self.closed_at}

    @classmethod
    def _from_row(cls, r: sqlite3.Row) -> "SeqGap":
        return cls(node=r["node"], boot_id=r["boot_id"], from_seq=r["from_seq"],
                   to_seq=r["to_seq"], detected_at=r["detected_at"], closed_at=r["closed_at"],
                   id=r["id"])


@dataclass(frozen=True, slots=True)
class RecordResult:
    """What :meth:`EventStore.record` did: ``event`` is ``None`` for a duplicate;
    ``new_gap``: the gap this event revealed; ``filled``: True if it was a late event that
    filled (part of) an open gap; ``gap_closed``: True if that emptied the gap."""

    event: StoredEvent | None
    new_gap: SeqGap | None = None
    filled: bool = False
    gap_closed: bool = False


def _encode_cursor(ts: int, row_id: int) -> str:
    return f"{ts}.{row_id}"


def _decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        ts_s, id_s = cursor.split(".")
        ts, row_id = int(ts_s), int(id_s)
    except (AttributeError, ValueError):
        raise BadCursor(f"not a search cursor: {cursor!r}") from None
    if ts < 0 or row_id < 0:
        raise BadCursor(f"not a search cursor: {cursor!r}")
    return ts, row_id


class EventStore:
    """Stored node events (the console's event journal).

    :param db: the console :class:`~web.db.Database` (opened by the caller).
    :param fts_candidate_limit: see :data:`FTS_CANDIDATE_LIMIT` (default 2000).
    :param short_text_scan_rows: for a text term of 1-2 characters, :meth:`search` examines at
        most this many of the newest rows matching the other filters (default 200,000, see
        :data:`SHORT_TEXT_SCAN_ROWS`); ``None``: no bound.

    Writes join the caller's transaction if there is one (the ingest batches many events per
    transaction); reads may run on any thread."""

    def __init__(self, db: Database, *, fts_candidate_limit: int = FTS_CANDIDATE_LIMIT,
                 short_text_scan_rows: int | None = SHORT_TEXT_SCAN_ROWS) -> None:
        if short_text_scan_rows is not None and (
                isinstance(short_text_scan_rows, bool) or not isinstance(short_text_scan_rows, int)
                or short_text_scan_rows < 1):
            raise ValueError(f"short_text_scan_rows must be a positive integer or None, "
                             f"got {short_text_scan_rows!r}")
        self._db = db
        self._fts_limit = fts_candidate_limit
        self._short_scan_rows = short_text_scan_rows

    @property
    def db(self) -> Database:
        """The database this store lives in."""
        return self._db

    @property
    def short_text_scan_rows(self) -> int | None:
        """How many of the newest rows a 1-2 character text search examines (``None``: all)."""
        return self._short_scan_rows

    # -- writing ---------------------------------------------------------------------------
    def add(self, env: EventEnvelope, *, received_at: int) -> StoredEvent | None:
        """Store ``env`` once; ``None`` if an event with its ``event_id`` is already stored.
        ``received_at``: console clock, UTC ms.  Updates the node's seq gaps."""
        return self.record(env, received_at=received_at).event

    def record(self, env: EventEnvelope, *, received_at: int) -> RecordResult:
        """Like :meth:`add`, also telling what happened to the node's seq gaps."""
        data_json = dumps(dict(env.data)).decode("utf-8")
        cls = event_class(env.kind).value
        with self._db.transaction() as c:
            cur = c.execute(_SQL_INSERT, (env.event_id, env.node, env.kind, env.ts, env.seq,
                                          data_json, received_at, cls))
            if cur.rowcount == 0:
                return RecordResult(None)
            stored = StoredEvent(event_id=env.event_id, node=env.node, kind=env.kind, ts=env.ts,
                                 seq=env.seq, data=json.loads(data_json), received_at=received_at,
                                 event_class=cls, id=cur.lastrowid or 0)
            return self._track_seq(c, stored)

    def _track_seq(self, c: sqlite3.Connection, ev: StoredEvent) -> RecordResult:
        row = c.execute("SELECT max_seq FROM node_seq WHERE node = ?", (ev.node,)).fetchone()
        if row is None:  # first event ever seen from this node: its baseline
            c.execute("INSERT INTO node_seq (node, max_seq, boot_id) VALUES (?, ?, ?)",
                      (ev.node, ev.seq, ev.boot_id))
            return RecordResult(ev)
        top = row[0]
        if ev.seq > top:
            c.execute("UPDATE node_seq SET max_seq = ?, boot_id = ? WHERE node = ?",
                      (ev.seq, ev.boot_id, ev.node))
            if ev.seq == top + 1:
                return RecordResult(ev)
            cur = c.execute(
                "INSERT INTO seq_gaps (node, boot_id, from_seq, to_seq, detected_at) "
                "VALUES (?, ?, ?, ?, ?)", (ev.node, ev.boot_id, top + 1, ev.seq - 1, ev.received_at))
            gap = SeqGap(node=ev.node, boot_id=ev.boot_id, from_seq=top + 1, to_seq=ev.seq - 1,
                         detected_at=ev.received_at, id=cur.lastrowid or 0)
            return RecordResult(ev, new_gap=gap)
        # a late event: does it fill an open gap?
        g = c.execute(f"SELECT {_SQL_GAP_COLS} FROM seq_gaps INDEXED BY seq_gaps_open "
                      "WHERE node = ? AND closed_at IS NULL AND from_seq <= ? "
                      "ORDER BY from_seq DESC LIMIT 1", (ev.node, ev.seq)).fetchone()
        if g is None or g["to_seq"] < ev.seq:
            return RecordResult(ev)
        lo, hi = g["from_seq"], g["to_seq"]
        if lo == hi:
            c.execute("UPDATE seq_gaps SET closed_at = ? WHERE id = ?", (ev.received_at, g["id"]))
            return RecordResult(ev, filled=True, gap_closed=True)
        if ev.seq == lo:
            c.execute("UPDATE seq_gaps SET from_seq = ? WHERE id = ?", (lo + 1, g["id"]))
        elif ev.seq == hi:
            c.execute("UPDATE seq_gaps SET to_seq = ? WHERE id = ?", (hi - 1, g["id"]))
        else:  # split: this row keeps the lower part, a new row the upper part
            c.execute("UPDATE seq_gaps SET to_seq = ? WHERE id = ?", (ev.seq - 1, g["id"]))
            c.execute("INSERT INTO seq_gaps (node, boot_id, from_seq, to_seq, detected_at) "
                      "VALUES (?, ?, ?, ?, ?)", (ev.node, g["boot_id"], ev.seq + 1, hi, g["detected_at"]))
        return RecordResult(ev, filled=True)

    # -- reading ---------------------------------------------------------------------------
    def get(self, event_id: str) -> StoredEvent | None:
        """The stored event with ``event_id``, or ``None``."""
        r = self._db.conn().execute(f"SELECT {_COLS} FROM events WHERE event_id = ?",
                                    (event_id,)).fetchone()
        return StoredEvent._from_row(r) if r else None

    def count(self) -> int:
        """How many events are stored."""
        return self._db.conn().execute("SELECT count(*) FROM events").fetchone()[0]

    def search(self, *, since_ms: int | None = None, until_ms: int | None = None,
               node: str | None = None, kind: str | None = None, text: str | None = None,
               cursor: str | None = None, limit: int = 50) -> EventPage:
        """Events matching every given filter, newest ``ts`` first (ties: newest stored first).

        ``since_ms`` (inclusive) / ``until_ms`` (exclusive): bounds on the event's ``ts``, UTC
        ms; ``node``/``kind``: exact; ``text``: case-insensitive substring of the kind and the
        data JSON (blank = no text filter); ``cursor``: ``next_cursor`` of the previous page;
        ``limit``: page size, 1..1000 (default 50).  Raises :class:`~web.errors.BadCursor` for
        a cursor this store did not produce and ``ValueError`` for a bad limit.

        A ``text`` of 1-2 characters is looked for only among the newest
        ``short_text_scan_rows`` rows matching the other filters; the page that runs out of
        matches there has ``scan_limited`` True (see :class:`EventStore`)."""
        return self._search(since_ms=since_ms, until_ms=until_ms, node=node, kind=kind, text=text,
                            cursor=cursor, limit=limit, scan_rows=self._short_scan_rows)

    def _search(self, *, since_ms: int | None, until_ms: int | None, node: str | None,
                kind: str | None, text: str | None, cursor: str | None, limit: int,
                scan_rows: int | None) -> EventPage:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"limit must be an integer in 1..{MAX_PAGE}, got {limit!r}")
        where: list[str] = []
        args: list[Any] = []
        if since_ms is not None:
            where.append("ts >= ?")
            args.append(int(since_ms))
        if until_ms is not None:
            where.append("ts < ?")
            args.append(int(until_ms))
        if node:
            where.append("node = ?")
            args.append(node)
        if kind:
            where.append("kind = ?")
            args.append(kind)
        c = self._db.conn()
        text = (text or "").strip()
        window: tuple[int, int] | None = None
        if text and len(text) < MIN_INDEXED_TEXT and scan_rows is not None:
            window = self._window_floor(c, where, args, scan_rows)
        if cursor:
            where.append("(ts, id) < (?, ?)")
            args.extend(_decode_cursor(cursor))
        if window is not None:
            where.append("ts >= ? AND (ts, id) >= (?, ?)")
            args.extend((window[0], *window))
        if text:
            where.append("search_text LIKE ? ESCAPE '\\'")
            args.append(like_contains(text))
            candidates = self._fts_candidates(c, text)
            if candidates is not None:
                if not candidates:
                    return EventPage([], False, None)
                where.append("id IN (SELECT value FROM json_each(?))")
                args.append(json.dumps(candidates))
        sql = (f"SELECT {_COLS} FROM events"
               + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY ts DESC, id DESC LIMIT ?")
        rows = c.execute(sql, (*args, limit + 1)).fetchall()
        items = [StoredEvent._from_row(r) for r in rows[:limit]]
        more = len(rows) > limit
        return EventPage(items, more, _encode_cursor(items[-1].ts, items[-1].id) if more else None,
                         scan_limited=window is not None and not more)

    @staticmethod
    def _window_floor(c: sqlite3.Connection, where: list[str], args: list[Any],
                      rows: int) -> tuple[int, int] | None:
        """``(ts, id)`` of the ``rows``-th newest row matching ``where`` (the oldest row of the
        short-text window), or ``None`` when no older row matches (the window holds them all).
        Walks ``rows`` entries of the same index the search uses (a few ms per 100,000)."""
        sql = ("SELECT ts, id FROM events" + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY ts DESC, id DESC LIMIT 2 OFFSET ?")
        found = c.execute(sql, (*args, rows - 1)).fetchall()
        if len(found) < 2:
            return None
        return found[0][0], found[0][1]

    def _fts_candidates(self, c: sqlite3.Connection, text: str) -> list[int] | None:
        """Row ids whose text contains ``text`` per the trigram index, or ``None`` when the
        index cannot narrow the search (term shorter than 3 characters, or frequent)."""
        if len(text) < 3:
            return None
        phrase = '"' + text.replace('"', '""') + '"'
        try:
            rows = c.execute("SELECT rowid FROM events_fts WHERE events_fts MATCH ? LIMIT ?",
                             (phrase, self._fts_limit + 1)).fetchall()
        except sqlite3.OperationalError:  # a term FTS5 cannot parse: LIKE decides alone
            return None
        if len(rows) > self._fts_limit:
            return None
        return [r[0] for r in rows]

    def iter_search(self, *, page_size: int = ITER_PAGE, **filters: Any) -> Iterator[StoredEvent]:
        """Every event matching ``filters`` (those of :meth:`search`, no ``cursor``/``limit``),
        newest first, read page by page (``page_size`` rows, default 500) so an export of
        millions of rows holds neither memory nor a long read transaction.

        Unlike :meth:`search`, a 1-2 character ``text`` is NOT limited to the newest
        ``short_text_scan_rows`` rows: an export is complete (it may take seconds per
        million rows for such a term)."""
        filters.pop("limit", None)
        cursor = filters.pop("cursor", None)
        args: dict[str, Any] = {k: filters.pop(k, None)
                                for k in ("since_ms", "until_ms", "node", "kind", "text")}
        if filters:
            raise TypeError(f"unexpected filters: {', '.join(sorted(filters))}")
        while True:
            page = self._search(**args, cursor=cursor, limit=page_size, scan_rows=None)
            yield from page.items
            if not page.has_more:
                return
            cursor = page.next_cursor

    def kinds(self) -> list[str]:
        """Every event kind stored, sorted (a skip-scan of the kind index: fast at any size)."""
        return self._distinct("kind")

    def nodes(self) -> list[str]:
        """Every node with stored events, sorted."""
        return self._distinct("node")

    def _distinct(self, col: str) -> list[str]:
        sql = (f"WITH RECURSIVE d(v) AS (SELECT min({col}) FROM events UNION ALL "
               f"SELECT (SELECT min({col}) FROM events WHERE {col} > d.v) FROM d WHERE d.v IS NOT NULL) "
               "SELECT v FROM d WHERE v IS NOT NULL")
        return [r[0] for r in self._db.conn().execute(sql)]

    def gaps(self, *, node: str | None = None, open_only: bool = True) -> list[SeqGap]:
        """Seq gaps, by node then ``from_seq``; only the open ones unless ``open_only=False``."""
        where, args = [], []
        if node:
            where.append("node = ?")
            args.append(node)
        if open_only:
            where.append("closed_at IS NULL")
        sql = (f"SELECT {_SQL_GAP_COLS} FROM seq_gaps" + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY node, from_seq, id")
        return [SeqGap._from_row(r) for r in self._db.conn().execute(sql, args)]

    def rebuild_text_index(self) -> None:
        """Rebuild the trigram text index from the events table (after a bulk load made with
        the insert trigger dropped, or a restore).  Minutes for tens of millions of rows."""
        with self._db.transaction() as c:
            c.execute("INSERT INTO events_fts(events_fts) VALUES ('rebuild')")

    def highest_seq(self, node: str) -> int | None:
        """The highest seq stored for ``node``, or ``None`` if none."""
        r = self._db.conn().execute("SELECT max_seq FROM node_seq WHERE node = ?", (node,)).fetchone()
        return r[0] if r else None
