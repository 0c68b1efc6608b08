"""Phone links for visitor invites: a public capability URL ``/v/<token>`` per invite that shows
the visitor their QR code without a console log-in.

The token is 128 random bits (``secrets.token_urlsafe(16)``, 22 characters); only its SHA-256
is stored, so the desk sees a link once, when it is made (making a new one replaces the old
one, which stops working). A link works only while its invite is valid or not yet valid: a
revoked, used-up or expired invite's link answers 404 like an unknown one.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Callable

from ..db import Database, register_schema
from ..errors import NotFound

__all__ = ["InviteLinkStore", "InviteLink", "TOKEN_BYTES", "looks_like_token", "token_hash"]

#: Random bytes per token (128 bits).
TOKEN_BYTES = 16
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{22}")

register_schema("visitor_invite_links", """
CREATE TABLE IF NOT EXISTS visitor_invite_links (
    invite_id   TEXT PRIMARY KEY,           -- one live link per invite
    token_hash  TEXT    NOT NULL UNIQUE,    -- sha256 hex of the token; the token is never stored
    created_at  INTEGER NOT NULL,           -- UTC ms
    created_by  TEXT    NOT NULL
);
""")


def token_hash(token: str) -> str:
    """SHA-256 hex of a link token."""
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def looks_like_token(token: str) -> bool:
    """True if ``token`` has the shape of a link token (22 URL-safe base64 characters)."""
    return bool(_TOKEN_RE.fullmatch(token))


@dataclass(frozen=True)
class InviteLink:
    """The invite's current phone link (without its token); ``created_at`` UTC ms."""

    invite_id: str
    created_at: int
    created_by: str


class InviteLinkStore:
    """Link token hashes in the console database.  ``clock``: UTC ms.  No I/O in the
    constructor."""

    def __init__(self, db: Database, *, clock: Callable[[], int]) -> None:
        self._db = db
        self._clock = clock

    def issue(self, invite_id: str, *, by: str) -> str:
        """A new token for the invite (replacing its previous link); the caller shows it once.
        :class:`NotFound` if there is no such invite."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        with self._db.transaction() as c:
            if c.execute("SELECT 1 FROM visitor_invites WHERE invite_id = ?",
                         (invite_id,)).fetchone() is None:
                raise NotFound(f"no invite {invite_id!r}")
            c.execute("INSERT INTO visitor_invite_links (invite_id, token_hash, created_at, "
                      "created_by) VALUES (?, ?, ?, ?) ON CONFLICT(invite_id) DO UPDATE SET "
                      "token_hash = excluded.token_hash, created_at = excluded.created_at, "
                      "created_by = excluded.created_by",
                      (invite_id, token_hash(token), self._clock(), by))
        return token

    def invite_for(self, token: str) -> str | None:
        """The invite id a token opens, None if the token is malformed or unknown."""
        if not looks_like_token(token):
            return None
        r = self._db.conn().execute("SELECT invite_id FROM visitor_invite_links "
                                    "WHERE token_hash = ?", (token_hash(token),)).fetchone()
        return r[0] if r else None

    def current(self, invite_id: str) -> InviteLink | None:
        """The invite's live link (who made it and when), None if it has none."""
        r = self._db.conn().execute("SELECT invite_id, created_at, created_by FROM "
                                    "visitor_invite_links WHERE invite_id = ?",
                                    (invite_id,)).fetchone()
        return InviteLink(r[0], r[1], r[2]) if r else None
