"""The credentials registry in the console's SQLite database, with the version of the
``credentials`` snapshot: every change raises it by one in the same transaction, so the
published snapshot and the registry never disagree about which version holds what.

A card key belongs to one credential at most (the node would drop the second listing);
:class:`CardTaken` is raised otherwise.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Callable, Iterator

from mqtt_topics import SyncSnapshot

from ..db import Database, Filters, register_schema
from ..errors import StoreError
from ..sync import bump_version, current_version
from .model import ALL_DOORS, SNAPSHOT_FORMAT, CredentialRecord

__all__ = ["CredentialStore", "CredentialError", "CardTaken", "CredentialExists",
           "CredentialNotFound", "DATASET"]

DATASET = "credentials"

SCHEMA = """
CREATE TABLE IF NOT EXISTS credentials (
    id          TEXT PRIMARY KEY,
    holder      TEXT    NOT NULL DEFAULT '',
    unit        TEXT    NOT NULL DEFAULT '',
    kind        TEXT    NOT NULL,
    cards       TEXT    NOT NULL,           -- JSON list of card keys
    doors       TEXT    NOT NULL,           -- JSON: "*" or a list of door ids
    enabled     INTEGER NOT NULL,
    valid_from  INTEGER,                    -- UTC ms
    valid_until INTEGER,
    schedule    TEXT,
    pin         TEXT,                       -- PBKDF2 hash, never a PIN
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS credentials_unit ON credentials(unit);
CREATE TABLE IF NOT EXISTS credential_cards (
    card          TEXT PRIMARY KEY,
    credential_id TEXT NOT NULL REFERENCES credentials(id) ON DELETE CASCADE
);
-- a credential's cards are replaced on every save: without this index each save scans them all
CREATE INDEX IF NOT EXISTS credential_cards_owner ON credential_cards(credential_id);
"""
register_schema("credentials", SCHEMA)

_COLS = ("id, holder, unit, kind, cards, doors, enabled, valid_from, valid_until, schedule, pin, "
         "updated_at, updated_by")


class CredentialError(StoreError):
    """A credential change was refused."""


class CardTaken(CredentialError):
    """A card key already belongs to another credential (``card``, ``owner``)."""

    def __init__(self, card: str, owner: str) -> None:
        super().__init__(f"card {card} already belongs to {owner}")
        self.card, self.owner = card, owner


class CredentialExists(CredentialError):
    """A new credential's id is taken."""


class CredentialNotFound(CredentialError):
    """No credential with that id."""


def _row(r: sqlite3.Row) -> CredentialRecord:
    doors = json.loads(r["doors"])
    return CredentialRecord(
        credential_id=r["id"], holder=r["holder"], unit=r["unit"], kind=r["kind"],
        cards=tuple(json.loads(r["cards"])), doors=doors if doors == ALL_DOORS else tuple(doors),
        enabled=bool(r["enabled"]), valid_from=r["valid_from"], valid_until=r["valid_until"],
        schedule=r["schedule"], pin_hash=r["pin"], updated_at=r["updated_at"],
        updated_by=r["updated_by"])


def _snapshot_obj(r: tuple) -> dict:  # type: ignore[type-arg]
    """A row of (id, cards, doors, kind, holder, unit, enabled, valid_from, valid_until,
    schedule, pin) in the snapshot form: :meth:`CredentialRecord.to_json_obj` without building
    the record (100,000 of them per snapshot)."""
    out = {"id": r[0], "cards": json.loads(r[1]), "doors": json.loads(r[2]), "kind": r[3]}
    if r[4]:
        out["holder"] = r[4]
    if r[5]:
        out["unit"] = r[5]
    if not r[6]:
        out["enabled"] = False
    for key, value in zip(_OPTIONAL, r[7:]):
        if value is not None:
            out[key] = value
    return out


_OPTIONAL = ("valid_from", "valid_until", "schedule", "pin")


class CredentialStore:
    """Credentials in ``db`` (opened by the caller; the tables are registered schemas).

    ``clock``: UTC ms for ``updated_at`` and snapshot ``ts``; ``timezone``: the site's IANA
    zone written into each snapshot (schedules' default, default ``"UTC"``). No I/O in the
    constructor."""

    def __init__(self, db: Database, *, clock: Callable[[], int], timezone: str = "UTC") -> None:
        self._db = db
        self._clock = clock
        self.timezone = timezone

    # -- reads -----------------------------------------------------------------------------
    def get(self, credential_id: str) -> CredentialRecord | None:
        r = self._db.conn().execute(f"SELECT {_COLS} FROM credentials WHERE id = ?",
                                    (credential_id,)).fetchone()
        return _row(r) if r else None

    def search(self, *, text: str | None = None, kind: str | None = None,
               enabled: bool | None = None, limit: int = 200, offset: int = 0
               ) -> list[CredentialRecord]:
        """Credentials by unit then holder; ``text``: case-insensitive substring of the id,
        holder, unit or a card key; ``kind`` exact; ``enabled`` True/False; ``limit`` 1..1000."""
        if not 1 <= limit <= 1000:
            raise ValueError("limit must be in 1..1000")
        f = Filters()
        if text:
            f.contains(text, "id", "holder", "unit", "cards")
        if kind:
            f.add("kind = ?", kind)
        if enabled is not None:
            f.add("enabled = ?", int(enabled))
        sql = f"SELECT {_COLS} FROM credentials{f.sql} ORDER BY unit, holder, id LIMIT ? OFFSET ?"
        return [_row(r) for r in self._db.conn().execute(sql, (*f.args, limit, max(0, offset)))]

    def __iter__(self) -> Iterator[CredentialRecord]:
        for r in self._db.conn().execute(f"SELECT {_COLS} FROM credentials ORDER BY id"):
            yield _row(r)

    def count(self) -> int:
        return self._db.conn().execute("SELECT COUNT(*) FROM credentials").fetchone()[0]

    def version(self) -> int:
        """The current ``credentials`` snapshot version (0 before the first change)."""
        return current_version(self._db.conn(), DATASET)

    def snapshot(self) -> SyncSnapshot:
        """The whole registry as a ``credentials`` :class:`SyncSnapshot` (format 1) at the
        current version, with the schedules and holiday dates (:mod:`.schedules`), read in
        one transaction."""
        from .schedules import snapshot_parts    # that module builds on this one
        c = self._db.conn()
        own = not c.in_transaction
        if own:          # a read transaction (WAL snapshot): writers are never held up by it
            c.execute("BEGIN DEFERRED")
        try:
            version = current_version(c, DATASET)
            cur = c.cursor()
            cur.row_factory = None                     # plain tuples: faster at 100,000 rows
            creds = [_snapshot_obj(x) for x in cur.execute(
                "SELECT id, cards, doors, kind, holder, unit, enabled, valid_from, valid_until, "
                "schedule, pin FROM credentials ORDER BY id")]
            holidays, schedules = snapshot_parts(c)
        finally:
            if own:
                c.execute("COMMIT")
        data = {"format": SNAPSHOT_FORMAT, "timezone": self.timezone, "holidays": holidays,
                "schedules": schedules, "credentials": creds}
        return SyncSnapshot(dataset=DATASET, version=version, ts=self._clock(), data=data)

    # -- writes ----------------------------------------------------------------------------
    def save(self, record: CredentialRecord, *, by: str, create: bool) -> int:
        """Add (``create``) or replace a credential; returns the new snapshot version.
        Raises :class:`CredentialExists`, :class:`CredentialNotFound` or :class:`CardTaken`
        (nothing is changed then)."""
        with self._db.transaction() as c:
            exists = c.execute("SELECT 1 FROM credentials WHERE id = ?",
                               (record.credential_id,)).fetchone() is not None
            if create and exists:
                raise CredentialExists(record.credential_id)
            if not create and not exists:
                raise CredentialNotFound(record.credential_id)
            self._write(c, record, by=by)
            return bump_version(c, DATASET)

    def _write(self, c: sqlite3.Connection, record: CredentialRecord, *, by: str) -> None:
        for card in record.cards:
            owner = c.execute("SELECT credential_id FROM credential_cards WHERE card = ?",
                              (card,)).fetchone()
            if owner and owner[0] != record.credential_id:
                raise CardTaken(card, owner[0])
        now = self._clock()
        c.execute("DELETE FROM credential_cards WHERE credential_id = ?", (record.credential_id,))
        c.execute(f"INSERT OR REPLACE INTO credentials ({_COLS}) VALUES "
                  "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  (record.credential_id, record.holder, record.unit, record.kind,
                   json.dumps(list(record.cards)),
                   json.dumps(record.doors if record.doors == ALL_DOORS else list(record.doors)),
                   int(record.enabled), record.valid_from, record.valid_until,
                   record.schedule, record.pin_hash, now, by))
        c.executemany("INSERT INTO credential_cards (card, credential_id) VALUES (?, ?)",
                      [(card, record.credential_id) for card in record.cards])

    def set_enabled(self, credential_id: str, enabled: bool, *, by: str) -> int:
        """Enable or disable a credential; returns the new snapshot version (unchanged when
        it already was so). Raises :class:`CredentialNotFound`."""
        with self._db.transaction() as c:
            r = c.execute("SELECT enabled FROM credentials WHERE id = ?", (credential_id,)).fetchone()
            if r is None:
                raise CredentialNotFound(credential_id)
            if bool(r[0]) == enabled:
                return current_version(c, DATASET)
            c.execute("UPDATE credentials SET enabled = ?, updated_at = ?, updated_by = ? "
                      "WHERE id = ?", (int(enabled), self._clock(), by, credential_id))
            return bump_version(c, DATASET)

    def import_records(self, records: "list[tuple[int, CredentialRecord]]", *, by: str
                       ) -> tuple[dict[int, str], int, int]:
        """Add or replace many credentials (a CSV import) in one transaction, each row in its
        own savepoint: a refused row (card of another credential) never aborts the others.
        ``records``: (row number, record). Returns ``({row: problem code}, added, updated)``;
        the snapshot version rises by one for the whole import (not at all if nothing
        changed)."""
        problems: dict[int, str] = {}
        added = updated = 0
        with self._db.transaction() as c:
            for row, record in records:
                try:
                    with self._db.savepoint("cred_row"):
                        exists = c.execute("SELECT 1 FROM credentials WHERE id = ?",
                                           (record.credential_id,)).fetchone() is not None
                        self._write(c, record, by=by)
                except CardTaken:
                    problems[row] = "card_taken"
                    continue
                if exists:
                    updated += 1
                else:
                    added += 1
            if added or updated:
                bump_version(c, DATASET)
        return problems, added, updated
