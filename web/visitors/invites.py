"""Visitor invites (访客邀请): the desk pre-registers a visitor for a unit and a time window; the
console signs an ``LI1.`` invite token (:mod:`mqtt_topics.invites`) with the site key, and the
visitor shows it as a QR code at the lobby door, where the node verifies it offline.

Revoking an invite bumps the ``invite-revocations`` dataset (the caller publishes it through
:class:`~web.sync.SyncPublisher`); an ``intercom.invite_admitted`` event checks the visitor in
(see :class:`~web.visitors.desk.VisitorDesk`).
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from mqtt_topics import ContractError
from mqtt_topics.invites import (MAX_USES, REVOCATIONS_DATASET, InviteToken,
                                 invite_revocations_snapshot)
from mqtt_topics.payloads import SyncSnapshot

from ..db import Database, register_schema
from ..errors import AlreadyDone, NotFound
from ..signing import SiteSigner
from ..sync import bump_version, current_version
from .model import VisitError

__all__ = ["InviteStore", "Invite", "MINUTE_MS", "MAX_INVITE_DAYS"]

MINUTE_MS = 60_000
#: Longest window an invite may have, days (the token's own limit is 366).
MAX_INVITE_DAYS = 366

register_schema("visitor_invites", """
CREATE TABLE IF NOT EXISTS visitor_invites (
    invite_id   TEXT PRIMARY KEY,
    name        TEXT    NOT NULL,
    phone       TEXT    NOT NULL DEFAULT '',
    unit        TEXT    NOT NULL,
    purpose     TEXT    NOT NULL DEFAULT '',
    valid_from  INTEGER NOT NULL,          -- UTC ms, whole minutes
    valid_until INTEGER NOT NULL,
    uses        INTEGER NOT NULL,
    qr_text     TEXT    NOT NULL,          -- the signed LI1. token
    created_at  INTEGER NOT NULL,
    created_by  TEXT    NOT NULL,
    revoked_at  INTEGER,
    revoked_by  TEXT,
    admitted    INTEGER NOT NULL DEFAULT 0 -- doors opened for it (from the node's events)
);
CREATE INDEX IF NOT EXISTS visitor_invites_created ON visitor_invites(created_at);
""")

_COLS = ("invite_id, name, phone, unit, purpose, valid_from, valid_until, uses, qr_text, "
         "created_at, created_by, revoked_at, revoked_by, admitted")


@dataclass(frozen=True)
class Invite:
    """One invite; times UTC ms."""

    invite_id: str
    name: str
    phone: str
    unit: str
    purpose: str
    valid_from: int
    valid_until: int
    uses: int
    qr_text: str
    created_at: int
    created_by: str
    revoked_at: int | None = None
    revoked_by: str | None = None
    admitted: int = 0

    def state(self, now_ms: int) -> str:
        """``revoked``, ``used_up``, ``expired``, ``not_yet_valid`` or ``valid``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.admitted >= self.uses:
            return "used_up"
        if now_ms >= self.valid_until:
            return "expired"
        if now_ms < self.valid_from:
            return "not_yet_valid"
        return "valid"


def _invite(r: sqlite3.Row) -> Invite:
    return Invite(**{k: r[k] for k in r.keys()})


class InviteStore:
    """Invites in the console database.  ``site``: the site id signed into every token;
    ``clock``: UTC ms.  The constructor does no I/O."""

    def __init__(self, db: Database, *, site: str, clock: Callable[[], int]) -> None:
        self._db = db
        self._site = site
        self._clock = clock

    def create(self, *, name: str, phone: str, unit: str, purpose: str, valid_from: int,
               valid_until: int, uses: int, by: str, signer: SiteSigner) -> Invite:
        """Sign and store an invite valid from ``valid_from`` (rounded down to the minute) to
        ``valid_until`` (rounded up); :class:`VisitError` for a bad window or use count."""
        start = valid_from - valid_from % MINUTE_MS
        end = valid_until + (-valid_until % MINUTE_MS)
        errors: dict[str, list[str]] = {}
        if end <= start:
            errors["valid_until"] = ["before_start"]
        elif end - start > MAX_INVITE_DAYS * 86_400_000:
            errors["valid_until"] = ["too_long"]
        elif end <= self._clock():
            errors["valid_until"] = ["in_past"]
        if not 1 <= uses <= MAX_USES:
            errors["uses"] = ["bad_uses"]
        if errors:
            raise VisitError(errors)
        day = datetime.fromtimestamp(start / 1000, tz=timezone.utc).strftime("%Y%m%d")
        invite_id = f"iv-{day}-{secrets.token_hex(4)}"
        try:
            token = InviteToken(invite_id=invite_id, site=self._site, unit=unit,
                                valid_from_ms=start, valid_until_ms=end, uses=uses)
        except ContractError:
            raise VisitError({"unit": ["bad_unit"]}) from None
        qr = token.to_qr_text(signer.sign(token.signing_bytes()))
        with self._db.transaction() as c:
            c.execute(f"INSERT INTO visitor_invites ({_COLS}) VALUES "
                      "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, 0)",
                      (invite_id, name, phone, unit, purpose, start, end, uses, qr,
                       self._clock(), by))
        return self.require(invite_id)

    def get(self, invite_id: str) -> Invite | None:
        r = self._db.conn().execute(f"SELECT {_COLS} FROM visitor_invites WHERE invite_id = ?",
                                    (invite_id,)).fetchone()
        return _invite(r) if r else None

    def require(self, invite_id: str) -> Invite:
        inv = self.get(invite_id)
        if inv is None:
            raise NotFound(f"no invite {invite_id!r}")
        return inv

    def recent(self, *, limit: int = 200) -> list[Invite]:
        rows = self._db.conn().execute(f"SELECT {_COLS} FROM visitor_invites "
                                       "ORDER BY created_at DESC LIMIT ?", (limit,)).fetchall()
        return [_invite(r) for r in rows]

    def revoke(self, invite_id: str, *, by: str) -> int:
        """Revoke the invite; the new ``invite-revocations`` version (publish it after).
        :class:`AlreadyDone` if it was revoked before."""
        with self._db.transaction() as c:
            r = c.execute("SELECT revoked_at FROM visitor_invites WHERE invite_id = ?",
                          (invite_id,)).fetchone()
            if r is None:
                raise NotFound(f"no invite {invite_id!r}")
            if r[0] is not None:
                raise AlreadyDone(f"invite {invite_id} is already revoked")
            c.execute("UPDATE visitor_invites SET revoked_at = ?, revoked_by = ? "
                      "WHERE invite_id = ?", (self._clock(), by, invite_id))
            return bump_version(c, REVOCATIONS_DATASET)

    def admitted(self, invite_id: str) -> Invite | None:
        """Count one door opening for the invite (ingest transaction); None if unknown."""
        with self._db.transaction() as c:
            c.execute("UPDATE visitor_invites SET admitted = admitted + 1 WHERE invite_id = ?",
                      (invite_id,))
        return self.get(invite_id)

    # -- sync/invite-revocations ------------------------------------------------------------------

    def revocations_version(self) -> int:
        return current_version(self._db.conn(), REVOCATIONS_DATASET)

    def revocations_snapshot(self) -> SyncSnapshot:
        """Every revoked invite that has not expired yet (an expired one is refused anyway)."""
        now = self._clock()
        ids = [r[0] for r in self._db.conn().execute(
            "SELECT invite_id FROM visitor_invites WHERE revoked_at IS NOT NULL "
            "AND valid_until > ? ORDER BY invite_id", (now,))]
        return invite_revocations_snapshot(version=self.revocations_version(), ts=now, revoked=ids)
