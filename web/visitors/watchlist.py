"""The visitor watchlist (关注名单): names, ID tails and vehicle plates the desk wants to be
warned about. A match never blocks a registration: the visit is saved, flagged with the hits,
and the desk sees the warning with the entry's note."""

from __future__ import annotations

import sqlite3
import unicodedata
from dataclasses import dataclass
from typing import Callable

from ..db import Database, register_schema
from ..errors import NotFound
from .model import ID_TAIL_CHARS, VisitError, VisitInput, normalise_name, normalise_plate

__all__ = ["Watchlist", "WatchEntry", "WATCH_KINDS", "normalise_watch"]

#: What an entry matches.
WATCH_KINDS = ("name", "id_tail", "plate")

register_schema("visitor_watchlist", """
CREATE TABLE IF NOT EXISTS visitor_watchlist (
    id       INTEGER PRIMARY KEY,
    kind     TEXT    NOT NULL,
    value    TEXT    NOT NULL,       -- normalised (see normalise_watch)
    shown    TEXT    NOT NULL,       -- as typed
    note     TEXT    NOT NULL DEFAULT '',
    added_at INTEGER NOT NULL,
    added_by TEXT    NOT NULL,
    UNIQUE (kind, value)
);
""")


def normalise_watch(kind: str, value: str) -> str:
    """``value`` as compared: names case-folded without spaces, ID tails the last characters
    upper case, plates upper case without separators."""
    if kind == "name":
        return normalise_name(value)
    if kind == "id_tail":
        return "".join(value.split()).upper()[-ID_TAIL_CHARS:]
    if kind == "plate":
        return normalise_plate(value)
    raise ValueError(f"unknown watchlist kind {kind!r}")


@dataclass(frozen=True)
class WatchEntry:
    id: int
    kind: str
    value: str
    shown: str
    note: str
    added_at: int
    added_by: str


class Watchlist:
    """Watchlist entries.  ``clock``: UTC ms.  The constructor does no I/O."""

    def __init__(self, db: Database, *, clock: Callable[[], int]) -> None:
        self._db = db
        self._clock = clock

    def add(self, kind: str, value: str, *, note: str, by: str) -> WatchEntry:
        """Add an entry; :class:`VisitError` for a bad kind/value or a duplicate."""
        shown = value.strip()
        errors: dict[str, list[str]] = {}
        if kind not in WATCH_KINDS:
            errors["kind"] = ["bad_kind"]
        elif not shown or len(shown) > 40 or any(
                unicodedata.category(c) in ("Cc", "Cf") for c in shown):
            errors["value"] = ["required" if not shown else "too_long" if len(shown) > 40
                               else "control"]
        elif kind == "id_tail" and len(normalise_watch(kind, shown)) < ID_TAIL_CHARS:
            errors["value"] = ["bad_id"]
        if len(note) > 200:
            errors["note"] = ["too_long"]
        if errors:
            raise VisitError(errors)
        norm = normalise_watch(kind, shown)
        try:
            with self._db.transaction() as c:
                cur = c.execute("INSERT INTO visitor_watchlist (kind, value, shown, note, added_at, "
                                "added_by) VALUES (?, ?, ?, ?, ?, ?)",
                                (kind, norm, shown, note.strip(), self._clock(), by))
        except sqlite3.IntegrityError:
            raise VisitError({"value": ["duplicate"]}) from None
        return self.require(int(cur.lastrowid or 0))

    def remove(self, entry_id: int) -> WatchEntry:
        entry = self.require(entry_id)
        with self._db.transaction() as c:
            c.execute("DELETE FROM visitor_watchlist WHERE id = ?", (entry_id,))
        return entry

    def require(self, entry_id: int) -> WatchEntry:
        r = self._db.conn().execute("SELECT id, kind, value, shown, note, added_at, added_by "
                                    "FROM visitor_watchlist WHERE id = ?", (entry_id,)).fetchone()
        if r is None:
            raise NotFound(f"no watchlist entry {entry_id}")
        return WatchEntry(**{k: r[k] for k in r.keys()})

    def all(self) -> list[WatchEntry]:
        rows = self._db.conn().execute("SELECT id, kind, value, shown, note, added_at, added_by "
                                       "FROM visitor_watchlist ORDER BY kind, value").fetchall()
        return [WatchEntry(**{k: r[k] for k in r.keys()}) for r in rows]

    def matches(self, v: VisitInput) -> list[WatchEntry]:
        """Entries the registration ``v`` matches (name, ID tail or plate)."""
        wanted = [("name", normalise_name(v.name)), ("id_tail", v.id_tail)]
        if v.plate:
            wanted.append(("plate", normalise_plate(v.plate)))
        out: list[WatchEntry] = []
        for kind, value in wanted:
            if not value:
                continue
            rows = self._db.conn().execute(
                "SELECT id, kind, value, shown, note, added_at, added_by FROM visitor_watchlist "
                "WHERE kind = ? AND value = ?", (kind, value)).fetchall()
            out += [WatchEntry(**{k: r[k] for k in r.keys()}) for r in rows]
        return out
