"""The ``sync/key-permissions`` snapshot as the cabinet decides from it.

Snapshot ``data``::

    {"keys":  [{"key": "k-101", "cabinet": "main", "slot": 1, "two_person": false, "label": "..."}],
     "cards": [{"card": "0A1B2C3D4E", "holder": "alice", "keys": ["k-101", "k-102"]}]}

- a key belongs to the cabinet named by ``cabinet`` (left out: every cabinet); ``slot`` is its
  home slot (a slot number of this cabinet);
- every card listed is *registered* (it may open the door to return keys); ``keys`` are the keys
  its holder may take (empty: return only).

A bad entry is skipped, logged and listed in :attr:`KeyPermissions.rejected`; a snapshot whose
``keys``/``cards`` are not lists raises :class:`KeyPermissionError`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from mqtt_topics import SyncSnapshot

from .errors import KeyPermissionError

__all__ = ["DATASET", "KeyInfo", "Holder", "KeyPermissions", "normalise_card"]

log = logging.getLogger(__name__)

DATASET = "key-permissions"
_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_CARD_RE = re.compile(r"^[0-9A-Fa-f]{4,32}$")


def normalise_card(card: str) -> str:
    """Card ids compare as upper-case hex."""
    return card.strip().upper()


@dataclass(frozen=True)
class KeyInfo:
    """A registered key: ``key`` id, home ``slot``, ``two_person`` release, ``label``."""

    key: str
    slot: int
    two_person: bool = False
    label: str = ""


@dataclass(frozen=True)
class Holder:
    """A registered card: ``card`` (upper-case hex), ``holder`` (person id), ``keys`` it may take."""

    card: str
    holder: str
    keys: frozenset[str] = frozenset()


class KeyPermissions:
    """Keys and cards of one cabinet at one snapshot ``version``. Immutable after construction;
    lookups are dict lookups (the bench runs 5,000 cards and 200 keys)."""

    def __init__(self, keys: Iterable[KeyInfo] = (), holders: Iterable[Holder] = (), *,
                 version: int = 0, rejected: Iterable[str] = ()) -> None:
        self.version = version
        self.keys: dict[str, KeyInfo] = {k.key: k for k in keys}
        self.by_slot: dict[int, KeyInfo] = {k.slot: k for k in self.keys.values()}
        self.holders: dict[str, Holder] = {h.card: h for h in holders}
        self.rejected: tuple[str, ...] = tuple(rejected)

    def holder(self, card: str) -> Holder | None:
        """The registered card ``card``, or None."""
        return self.holders.get(normalise_card(card))

    def key_at(self, slot: int) -> KeyInfo | None:
        """The key whose home is ``slot``, or None (an unassigned slot)."""
        return self.by_slot.get(slot)

    def __len__(self) -> int:
        return len(self.holders)

    @classmethod
    def from_snapshot(cls, snapshot: SyncSnapshot, *, cabinet: str,
                      slots: Iterable[int] | None = None) -> "KeyPermissions":
        """Parse ``snapshot`` for ``cabinet``; ``slots``: this cabinet's slot numbers (keys homed
        elsewhere are rejected). Raises :class:`KeyPermissionError` for a wrong shape."""
        return cls.from_data(snapshot.data, cabinet=cabinet, slots=slots, version=snapshot.version)

    @classmethod
    def from_data(cls, data: Mapping[str, Any], *, cabinet: str, slots: Iterable[int] | None = None,
                  version: int = 0) -> "KeyPermissions":
        raw_keys, raw_cards = data.get("keys", []), data.get("cards", [])
        if not isinstance(raw_keys, list) or not isinstance(raw_cards, list):
            raise KeyPermissionError("key-permissions: 'keys' and 'cards' must be lists")
        valid_slots = set(slots) if slots is not None else None
        rejected: list[str] = []
        keys: list[KeyInfo] = []
        used_slots: set[int] = set()
        for i, k in enumerate(raw_keys):
            if not isinstance(k, Mapping):
                rejected.append(f"keys[{i}]: not an object")
                continue
            if k.get("cabinet") not in (None, cabinet):
                continue
            key, slot, two = k.get("key"), k.get("slot"), k.get("two_person", False)
            if not isinstance(key, str) or not _KEY_RE.match(key):
                rejected.append(f"keys[{i}].key: bad key id {key!r}")
            elif isinstance(slot, bool) or not isinstance(slot, int) or \
                    (valid_slots is not None and slot not in valid_slots):
                rejected.append(f"keys[{i}].slot: {slot!r} is not a slot of cabinet {cabinet}")
            elif slot in used_slots:
                rejected.append(f"keys[{i}].slot: slot {slot} already holds another key")
            elif not isinstance(two, bool):
                rejected.append(f"keys[{i}].two_person: must be true or false")
            else:
                used_slots.add(slot)
                keys.append(KeyInfo(key=key, slot=slot, two_person=two, label=str(k.get("label", ""))))
        known = {k.key for k in keys}
        holders: list[Holder] = []
        for i, c in enumerate(raw_cards):
            if not isinstance(c, Mapping):
                rejected.append(f"cards[{i}]: not an object")
                continue
            card, holder, may = c.get("card"), c.get("holder"), c.get("keys", [])
            if not isinstance(card, str) or not _CARD_RE.match(card.strip()):
                rejected.append(f"cards[{i}].card: bad card id {card!r}")
            elif not isinstance(holder, str) or not holder:
                rejected.append(f"cards[{i}].holder: required")
            elif not isinstance(may, list) or not all(isinstance(x, str) for x in may):
                rejected.append(f"cards[{i}].keys: must be a list of key ids")
            else:
                holders.append(Holder(card=normalise_card(card), holder=holder,
                                      keys=frozenset(x for x in may if x in known)))
        for problem in rejected:
            log.warning("key-permissions v%d: %s (skipped)", version, problem)
        return cls(keys, holders, version=version, rejected=rejected)
