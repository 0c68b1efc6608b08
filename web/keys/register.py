"""The key register in the console's SQLite database, and the ``key-permissions`` snapshot the
cabinet nodes decide from (its shape: ``edge/cabinet/permissions.py``)::

    {"keys":  [{"key": "K-001", "cabinet": "main", "slot": 1, "two_person": false, "label": "..."}],
     "cards": [{"card": "0A1B2C3D4E", "holder": "c-1001", "keys": ["K-001"]}]}

Cards come from the credentials registry (:mod:`web.access`): the cabinet's reader is an
RDM6300, so only a credential's ``em:`` cards are listed (as their 10 hex digits). Only
enabled credentials, currently valid, are listed; ``holder`` is the credential id. A card that
any key names is listed even when it may take nothing now (an entrusted key whose
authorisation ended): it may still open the cabinet to return a key.

The snapshot depends on the time (authorisations and credentials end) and on the credentials
registry, so besides the version bump with every register change (:meth:`KeyRegister.save`,
:meth:`KeyRegister.delete`), :meth:`KeyRegister.refresh` (a console job, every minute) bumps
the version when the content changed by itself; the stored digest says what was last
versioned.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from typing import TYPE_CHECKING, Any, Callable, Iterator

from mqtt_topics import SyncSnapshot

from ..db import Database, Filters, register_schema
from ..errors import StoreError
from ..sync import bump_version, current_version
from .model import KeyRecord

if TYPE_CHECKING:  # pragma: no cover
    from ..access.store import CredentialStore

__all__ = ["KeyRegister", "KeyRegisterError", "KeyExists", "KeyNotFound", "SlotTaken", "KeyOnLoan",
           "DATASET", "cabinet_card"]

DATASET = "key-permissions"

SCHEMA = """
CREATE TABLE IF NOT EXISTS key_register (
    number           TEXT PRIMARY KEY,
    label            TEXT    NOT NULL DEFAULT '',
    unit             TEXT    NOT NULL DEFAULT '',
    kind             TEXT    NOT NULL,
    cabinet          TEXT    NOT NULL,
    slot             INTEGER NOT NULL,
    takers           TEXT    NOT NULL,        -- JSON list of taker tokens
    two_person       INTEGER NOT NULL,
    max_loan_min     INTEGER NOT NULL,
    authorised_by    TEXT    NOT NULL DEFAULT '',
    authorised_until INTEGER,                 -- UTC ms (owner-entrusted keys)
    borrowers        TEXT    NOT NULL DEFAULT '',
    note             TEXT    NOT NULL DEFAULT '',
    updated_at       INTEGER NOT NULL,
    updated_by       TEXT    NOT NULL,
    UNIQUE (cabinet, slot)
);
CREATE INDEX IF NOT EXISTS key_register_unit ON key_register(unit);
CREATE TABLE IF NOT EXISTS key_sync_digest (
    dataset TEXT PRIMARY KEY,
    digest  TEXT NOT NULL
);
"""
register_schema("keys", SCHEMA)

_COLS = ("number, label, unit, kind, cabinet, slot, takers, two_person, max_loan_min, "
         "authorised_by, authorised_until, borrowers, note, updated_at, updated_by")


class KeyRegisterError(StoreError):
    """A register change was refused."""


class KeyExists(KeyRegisterError):
    """A new key's number is taken."""


class KeyNotFound(KeyRegisterError):
    """No key with that number."""


class SlotTaken(KeyRegisterError):
    """The cabinet slot already holds another key (``owner``)."""

    def __init__(self, cabinet: str, slot: int, owner: str) -> None:
        super().__init__(f"slot {slot} of cabinet {cabinet} already holds key {owner}")
        self.owner = owner


class KeyOnLoan(KeyRegisterError):
    """The key is out; it cannot be deleted."""


def cabinet_card(card: str) -> str | None:
    """A credential card key as the cabinet's RDM6300 reader reports it (``em:0A1B2C3D4E`` ->
    ``0A1B2C3D4E``); None for cards a cabinet cannot read (Wiegand...)."""
    prefix, _, rest = card.partition(":")
    return rest.upper() if prefix == "em" and rest else None


def _row(r: sqlite3.Row) -> KeyRecord:
    return KeyRecord(number=r["number"], label=r["label"], unit=r["unit"], kind=r["kind"],
                     cabinet=r["cabinet"], slot=r["slot"], takers=tuple(json.loads(r["takers"])),
                     two_person=bool(r["two_person"]), max_loan_min=r["max_loan_min"],
                     authorised_by=r["authorised_by"], authorised_until=r["authorised_until"],
                     borrowers=r["borrowers"], note=r["note"], updated_at=r["updated_at"],
                     updated_by=r["updated_by"])


class KeyRegister:
    """Keys in ``db`` (opened by the caller).

    :param db: the console database.
    :param clock: UTC ms (``updated_at``, snapshot ``ts``, authorisation ends).
    :param credentials: the credentials registry the takers are resolved in (None: no cards).
    The constructor does no I/O."""

    def __init__(self, db: Database, *, clock: Callable[[], int],
                 credentials: "CredentialStore | None" = None) -> None:
        self._db = db
        self._clock = clock
        self._credentials = credentials

    # -- reads ----------------------------------------------------------------------------
    def get(self, number: str) -> KeyRecord | None:
        r = self._db.conn().execute(f"SELECT {_COLS} FROM key_register WHERE number = ?",
                                    (number,)).fetchone()
        return _row(r) if r else None

    def search(self, *, text: str | None = None, kind: str | None = None,
               cabinet: str | None = None, limit: int = 500) -> list[KeyRecord]:
        """Keys by cabinet and slot; ``text``: substring of number, label, unit or takers."""
        f = Filters()
        if text:
            f.contains(text, "number", "label", "unit", "takers")
        if kind:
            f.add("kind = ?", kind)
        if cabinet:
            f.add("cabinet = ?", cabinet)
        sql = f"SELECT {_COLS} FROM key_register{f.sql} ORDER BY cabinet, slot LIMIT ?"
        return [_row(r) for r in self._db.conn().execute(sql, (*f.args, max(1, min(limit, 5000))))]

    def __iter__(self) -> Iterator[KeyRecord]:
        for r in self._db.conn().execute(f"SELECT {_COLS} FROM key_register ORDER BY cabinet, slot"):
            yield _row(r)

    def count(self) -> int:
        return self._db.conn().execute("SELECT count(*) FROM key_register").fetchone()[0]

    def version(self) -> int:
        """The current ``key-permissions`` snapshot version (0 before the first change)."""
        return current_version(self._db.conn(), DATASET)

    # -- writes ---------------------------------------------------------------------------
    def save(self, record: KeyRecord, *, by: str, create: bool) -> int:
        """Add (``create``) or replace a key; returns the new snapshot version. Raises
        :class:`KeyExists`, :class:`KeyNotFound` or :class:`SlotTaken`."""
        now = self._clock()
        with self._db.transaction() as c:
            exists = c.execute("SELECT 1 FROM key_register WHERE number = ?",
                               (record.number,)).fetchone() is not None
            if create and exists:
                raise KeyExists(record.number)
            if not create and not exists:
                raise KeyNotFound(record.number)
            other = c.execute("SELECT number FROM key_register WHERE cabinet = ? AND slot = ? "
                              "AND number != ?", (record.cabinet, record.slot, record.number)).fetchone()
            if other is not None:
                raise SlotTaken(record.cabinet, record.slot, other[0])
            c.execute(f"INSERT OR REPLACE INTO key_register ({_COLS}) VALUES "
                      "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      (record.number, record.label, record.unit, record.kind, record.cabinet,
                       record.slot, json.dumps(list(record.takers)), int(record.two_person),
                       record.max_loan_min, record.authorised_by, record.authorised_until,
                       record.borrowers, record.note, now, by))
            return self._bump(c, now)

    def delete(self, number: str, *, by: str, open_loan: bool = False) -> int:
        """Remove a key (``open_loan``: the caller found it out: :class:`KeyOnLoan`); returns
        the new snapshot version. Raises :class:`KeyNotFound`."""
        if open_loan:
            raise KeyOnLoan(f"key {number} is out; it can be removed once returned")
        with self._db.transaction() as c:
            if c.execute("DELETE FROM key_register WHERE number = ?", (number,)).rowcount == 0:
                raise KeyNotFound(number)
            return self._bump(c, self._clock())

    def _bump(self, c: sqlite3.Connection, now: int) -> int:
        version = bump_version(c, DATASET)
        self._store_digest(c, _digest(self._data(c, now)))
        return version

    def refresh(self, now_ms: int | None = None) -> bool:
        """Bump the version if the snapshot's content changed by itself (an authorisation or a
        credential ended, a credential changed); True if it did (the caller publishes)."""
        now = self._clock() if now_ms is None else now_ms
        with self._db.transaction() as c:
            if current_version(c, DATASET) == 0:
                return False
            digest = _digest(self._data(c, now))
            r = c.execute("SELECT digest FROM key_sync_digest WHERE dataset = ?", (DATASET,)).fetchone()
            if r is not None and r[0] == digest:
                return False
            bump_version(c, DATASET)
            self._store_digest(c, digest)
            return True

    @staticmethod
    def _store_digest(c: sqlite3.Connection, digest: str) -> None:
        c.execute("INSERT INTO key_sync_digest (dataset, digest) VALUES (?, ?) ON CONFLICT(dataset) "
                  "DO UPDATE SET digest = excluded.digest", (DATASET, digest))

    # -- the snapshot ---------------------------------------------------------------------
    def snapshot(self) -> SyncSnapshot:
        """The ``key-permissions`` snapshot at the current version (read in one transaction)."""
        now = self._clock()
        with self._db.transaction() as c:
            version = current_version(c, DATASET)
            data = self._data(c, now)
        return SyncSnapshot(dataset=DATASET, version=version, ts=now, data=data)

    def _data(self, c: sqlite3.Connection, now: int) -> dict[str, Any]:
        keys = [_row(r) for r in c.execute(f"SELECT {_COLS} FROM key_register ORDER BY number")]
        people = _People(c if self._credentials is not None else None, now)
        cards: dict[str, dict[str, Any]] = {}
        for key in keys:
            active = key.active(now)
            for card, holder in people.cards(key.takers):
                entry = cards.setdefault(card, {"card": card, "holder": holder, "keys": []})
                if active and key.number not in entry["keys"]:
                    entry["keys"].append(key.number)
        out_keys = [{"key": k.number, "cabinet": k.cabinet, "slot": k.slot,
                     "two_person": k.two_person, "label": k.label} for k in keys]
        for entry in cards.values():
            entry["keys"].sort()
        return {"keys": out_keys, "cards": [cards[c] for c in sorted(cards)]}


class _People:
    """Resolves taker tokens to ``(cabinet card, holder id)`` through the credentials table,
    reading it once per snapshot."""

    def __init__(self, c: sqlite3.Connection | None, now: int) -> None:
        self._by_id: dict[str, list[str]] = {}
        self._by_kind: dict[str, list[str]] = {}
        if c is None:
            return
        try:
            rows = c.execute("SELECT id, kind, cards, enabled, valid_from, valid_until "
                             "FROM credentials").fetchall()
        except sqlite3.OperationalError:          # the credentials feature is not installed
            return
        for r in rows:
            if not r["enabled"] or (r["valid_from"] is not None and now < r["valid_from"]) or \
                    (r["valid_until"] is not None and now >= r["valid_until"]):
                continue
            self._by_id[r["id"]] = [c2 for c2 in (cabinet_card(x) for x in json.loads(r["cards"])) if c2]
            self._by_kind.setdefault(r["kind"], []).append(r["id"])

    def cards(self, takers: tuple[str, ...]) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for token in takers:
            kind, _, rest = token.partition(":")
            ids = self._by_kind.get(rest, []) if kind == "role" else [rest]
            for cid in ids:
                out += [(card, cid) for card in self._by_id.get(cid, [])]
        return out


def _digest(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
