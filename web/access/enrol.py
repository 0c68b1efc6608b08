"""Card enrolment by presenting the card: the desk picks a node (and optionally a reader) and
the next card read there within :data:`WINDOW_MS` fills the credential form.

What counts as "a card read there": a ``card.read`` event (a node with plain readers) or a
``door.granted`` / ``door.denied`` decision (a door node; an unknown card is
``door.denied`` ``unknown_card``) from that node, stored after the moment the desk pressed the
button. The search is stateless: :func:`start` hands the page the newest stored event row id
and the console time, the page passes both back on every poll, and :func:`poll` looks only at
rows after that id (a range scan of the primary key, whatever the size of the events table).

The card is given as its card key (``w26:F:N``, ``em:HEX``... see :mod:`mqtt_topics.cards`),
with the credential that already holds it, if any.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Mapping

from mqtt_topics.cards import EM4100, WIEGAND26, WIEGAND34, normalize_card

from ..db import Database

__all__ = ["WINDOW_MS", "POLL_MS", "EnrolState", "start", "poll", "card_key_of", "READ_KINDS",
           "NODE_RE", "READER_RE"]

#: How long after the button a card read is taken, ms.
WINDOW_MS = 30_000
#: How often the page asks, ms (a hint for the page).
POLL_MS = 1_000
#: Event kinds that carry a presented card.
READ_KINDS = ("card.read", "door.denied", "door.granted")
NODE_RE = re.compile(r"[a-z0-9-]{1,32}")
READER_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
#: Most new rows of the node one poll looks through.
_SCAN = 200
_FORMAT_PREFIX = {"wiegand26": WIEGAND26, "wiegand34": WIEGAND34}


@dataclass(frozen=True, slots=True)
class EnrolState:
    """What the page shows: ``state`` (``waiting`` / ``found`` / ``expired``); ``after`` (event
    row id) and ``since`` (console UTC ms) to pass back; ``expires_at`` (UTC ms); when found:
    ``card`` (card key), ``reader``, ``owner`` (credential id already holding it, or None)."""

    state: str
    after: int
    since: int
    expires_at: int
    card: str | None = None
    reader: str | None = None
    owner: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "after": self.after, "since": self.since,
                "expires_at": self.expires_at, "card": self.card, "reader": self.reader,
                "owner": self.owner, "poll_ms": POLL_MS}


def card_key_of(kind: str, data: Mapping[str, Any]) -> str | None:
    """The card key an event reports, or None (no card, or a malformed one)."""
    if kind == "card.read":
        fmt, card = data.get("format"), data.get("card")
        if fmt in _FORMAT_PREFIX:
            text = f"{_FORMAT_PREFIX[fmt]}:{data.get('facility')}:{data.get('number')}"
        elif fmt == "em4100":
            text = f"{EM4100}:{card}"
        else:
            text = f"{fmt}:{card}"
    elif kind in ("door.denied", "door.granted"):
        text = data.get("card")
    else:
        return None
    if not isinstance(text, str):
        return None
    try:
        return normalize_card(text)
    except ValueError:
        return None


def start(db: Database, *, now_ms: int) -> EnrolState:
    """Begin waiting: from the newest stored event on, for :data:`WINDOW_MS`."""
    r = db.conn().execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()
    return EnrolState(state="waiting", after=int(r[0]), since=now_ms,
                      expires_at=now_ms + WINDOW_MS)


def poll(db: Database, *, node: str, reader: str | None, after: int, since: int, now_ms: int
         ) -> EnrolState:
    """The first card read at ``node`` (and ``reader``, if given) stored after row ``after``,
    or ``waiting``; ``expired`` once :data:`WINDOW_MS` has passed since ``since`` with none
    (a read stored before the deadline still counts when the poll comes late)."""
    expires_at = since + WINDOW_MS
    marks = ",".join("?" * len(READ_KINDS))
    rows = db.conn().execute(
        f"SELECT id, kind, data, received_at FROM events WHERE id > ? AND node = ? "
        f"AND kind IN ({marks}) ORDER BY id LIMIT ?", (after, node, *READ_KINDS, _SCAN)).fetchall()
    for r in rows:
        if r["received_at"] > expires_at:
            break
        data = json.loads(r["data"])
        if not isinstance(data, dict):
            continue
        if reader and data.get("reader") != reader:
            continue
        key = card_key_of(r["kind"], data)
        if key is None:
            continue
        owner = db.conn().execute("SELECT credential_id FROM credential_cards WHERE card = ?",
                                  (key,)).fetchone()
        return EnrolState(state="found", after=after, since=since, expires_at=expires_at,
                          card=key, reader=str(data.get("reader") or "") or None,
                          owner=owner[0] if owner else None)
    state = "expired" if now_ms > expires_at else "waiting"
    return EnrolState(state=state, after=after, since=since, expires_at=expires_at)
