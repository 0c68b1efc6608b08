"""Visitor invites at the intercom panel: a QR code scanned at the door opens it once per use.

:class:`InviteDoor` decides, offline, in this order: the text parses as an invite
(``malformed``), names this site (``wrong_site``), carries the site's Ed25519 signature
(``bad_signature``), is not revoked per the last ``sync/invite-revocations`` snapshot
(``revoked``), is inside its window on the node clock (``not_yet_valid``, ``expired``) and has a
use left (``used_up``). The use is recorded in :class:`InviteLedger` (SQLite, durable) *before*
the door opens, so an invite never opens more often than it says, even across a power cut. A
ledger that cannot be written refuses the invite (``ledger_error``).
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature

from mqtt_topics import ContractError
from mqtt_topics.invites import InviteToken

from ..passes.verify import load_public_key

__all__ = ["InviteLedger", "InviteDoor", "InviteVerdict"]


class InviteLedger:
    """Uses per invite and the revoked ids, in a SQLite file (WAL, ``synchronous=FULL``).
    :meth:`open` does the I/O; :meth:`close` is idempotent. Thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def open(self) -> "InviteLedger":
        with self._lock:
            if self._db is None:
                db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")
                db.execute("CREATE TABLE IF NOT EXISTS uses (invite_id TEXT PRIMARY KEY, used INTEGER NOT NULL)")
                db.execute("CREATE TABLE IF NOT EXISTS revoked (invite_id TEXT PRIMARY KEY)")
                db.execute("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER)")
                self._db = db
        return self

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise sqlite3.ProgrammingError("invite ledger is not open")
        return self._db

    def used(self, invite_id: str) -> int:
        with self._lock:
            row = self._conn().execute("SELECT used FROM uses WHERE invite_id=?", (invite_id,)).fetchone()
            return row[0] if row else 0

    def take_use(self, invite_id: str, uses: int) -> int | None:
        """Record one more use if fewer than ``uses`` were made; return its number (1-based) or
        None when used up. Durable on return."""
        with self._lock:
            db = self._conn()
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute("SELECT used FROM uses WHERE invite_id=?", (invite_id,)).fetchone()
                used = row[0] if row else 0
                if used >= uses:
                    db.execute("ROLLBACK")
                    return None
                db.execute("INSERT INTO uses(invite_id, used) VALUES(?, 1) ON CONFLICT(invite_id) "
                           "DO UPDATE SET used = used + 1", (invite_id,))
                db.execute("COMMIT")
                return used + 1
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def is_revoked(self, invite_id: str) -> bool:
        with self._lock:
            return self._conn().execute("SELECT 1 FROM revoked WHERE invite_id=?",
                                        (invite_id,)).fetchone() is not None

    @property
    def revocations_version(self) -> int | None:
        with self._lock:
            row = self._conn().execute("SELECT v FROM meta WHERE k='revocations'").fetchone()
            return row[0] if row else None

    def apply_revocations(self, version: int, revoked: frozenset[str]) -> bool:
        """Replace the revoked list with ``revoked`` at ``version``; False (ignored) if a
        version at least as new is stored."""
        with self._lock:
            db = self._conn()
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute("SELECT v FROM meta WHERE k='revocations'").fetchone()
                if row is not None and row[0] >= version:
                    db.execute("ROLLBACK")
                    return False
                db.execute("DELETE FROM revoked")
                db.executemany("INSERT INTO revoked(invite_id) VALUES(?)", [(i,) for i in revoked])
                db.execute("INSERT OR REPLACE INTO meta(k, v) VALUES('revocations', ?)", (version,))
                db.execute("COMMIT")
                return True
            except BaseException:
                db.execute("ROLLBACK")
                raise


@dataclass(frozen=True)
class InviteVerdict:
    """``reason``: ``admitted`` or why not; ``token`` when it parsed; ``use``: the use number
    taken (admitted only); ``detail``: a short explanation."""

    reason: str
    token: InviteToken | None = None
    use: int = 0
    detail: str = ""

    @property
    def admitted(self) -> bool:
        return self.reason == "admitted"


class InviteDoor:
    """Decide on scanned invite codes for ``site`` with the site's public key (PEM/raw/hex,
    see :func:`edge.passes.verify.load_public_key`) and a :class:`InviteLedger`."""

    def __init__(self, public_key: bytes, *, site: str, ledger: InviteLedger) -> None:
        self._key = load_public_key(public_key)
        self.site = site
        self.ledger = ledger

    def decide(self, code: str, now_ms: int) -> InviteVerdict:
        """The verdict on ``code`` at ``now_ms`` (UTC ms); takes a use when admitted."""
        try:
            token, signature = InviteToken.from_qr_text(code.strip())
        except ContractError as exc:
            return InviteVerdict("malformed", detail=str(exc)[:200])
        if token.site != self.site:
            return InviteVerdict("wrong_site", token, detail=f"invite is for site {token.site}")
        try:
            self._key.verify(signature, token.signing_bytes())
        except InvalidSignature:
            return InviteVerdict("bad_signature", token, detail="signature does not match the site key")
        try:
            if self.ledger.is_revoked(token.invite_id):
                return InviteVerdict("revoked", token)
            if now_ms < token.valid_from_ms:
                return InviteVerdict("not_yet_valid", token)
            if now_ms >= token.valid_until_ms:
                return InviteVerdict("expired", token)
            use = self.ledger.take_use(token.invite_id, token.uses)
        except sqlite3.Error as exc:
            return InviteVerdict("ledger_error", token, detail=str(exc)[:200])
        if use is None:
            return InviteVerdict("used_up", token, detail=f"all {token.uses} use(s) taken")
        return InviteVerdict("admitted", token, use=use)
