"""A credential as the console keeps it, validated field by field the way the node loads it
(``edge/access/credentials.py``, snapshot format 1), and its JSON form in the snapshot.

Validation returns problems per field (for forms and the CSV import report) instead of
raising one error, so a page can show them all at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, Mapping

# The card-key format is part of the contract: one implementation, shared with the node.
# It raises mqtt_topics.ContractError, a ValueError.
from mqtt_topics.cards import normalize_card

__all__ = ["CredentialRecord", "KINDS", "ALL_DOORS", "normalize_card", "validate",
           "ID_RE", "DOOR_RE", "SNAPSHOT_FORMAT", "MAX_CARDS", "MAX_DOORS"]

SNAPSHOT_FORMAT = 1
KINDS = ("resident", "household", "tenant", "staff", "contractor")
ALL_DOORS = "*"
ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
DOOR_RE = re.compile(r"[a-z0-9-]{1,32}")
_SCHEDULE_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
#: Most cards / doors one credential may list; longest holder / unit text (characters).
MAX_CARDS = 8
MAX_DOORS = 64
MAX_TEXT = 100

Kind = Literal["resident", "household", "tenant", "staff", "contractor"]


@dataclass(frozen=True, kw_only=True, slots=True)
class CredentialRecord:
    """One credential (see the node's ``Credential``): ``credential_id``; ``cards`` (card keys);
    ``holder``; ``unit`` (房号); ``kind``; ``doors`` (door ids, or ``"*"``); ``enabled``;
    ``valid_from`` / ``valid_until`` (UTC ms or None; valid while from <= now < until);
    ``schedule`` (schedule id or None); ``pin_hash`` (from :func:`web.access.pin.hash_pin`);
    ``updated_at`` (UTC ms) / ``updated_by`` (user name)."""

    credential_id: str
    cards: tuple[str, ...]
    doors: tuple[str, ...] | Literal["*"] = ALL_DOORS
    holder: str = ""
    unit: str = ""
    kind: Kind = "resident"
    enabled: bool = True
    valid_from: int | None = None
    valid_until: int | None = None
    schedule: str | None = None
    pin_hash: str | None = field(default=None, repr=False)
    updated_at: int = 0
    updated_by: str = ""

    def to_json_obj(self) -> dict[str, Any]:
        """The snapshot form (format 1), defaults left out, exactly the node's field names."""
        out: dict[str, Any] = {"id": self.credential_id, "cards": list(self.cards),
                               "doors": self.doors if self.doors == ALL_DOORS else list(self.doors),
                               "kind": self.kind}
        if self.holder:
            out["holder"] = self.holder
        if self.unit:
            out["unit"] = self.unit
        if not self.enabled:
            out["enabled"] = False
        for key, value in (("valid_from", self.valid_from), ("valid_until", self.valid_until),
                           ("schedule", self.schedule), ("pin", self.pin_hash)):
            if value is not None:
                out[key] = value
        return out

    def with_changes(self, **changes: Any) -> "CredentialRecord":
        return replace(self, **changes)

    @property
    def has_pin(self) -> bool:
        return self.pin_hash is not None

    @property
    def doors_text(self) -> str:
        return ALL_DOORS if self.doors == ALL_DOORS else " ".join(self.doors)

    @property
    def cards_text(self) -> str:
        return " ".join(self.cards)


def split_list(text: str) -> list[str]:
    """Items of a list typed as text: separated by spaces, commas, semicolons or new lines."""
    return [p for p in re.split(r"[\s,;，；]+", text or "") if p]


def _parse_time(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive")
        return round(value.timestamp() * 1000)
    raise ValueError(repr(value))


def validate(values: Mapping[str, Any]) -> tuple[CredentialRecord | None, dict[str, list[str]]]:
    """Build a record from loosely typed ``values`` (``credential_id``, ``cards`` (list or text),
    ``holder``, ``unit``, ``kind``, ``doors`` (``"*"``, list or text), ``enabled``,
    ``valid_from`` / ``valid_until`` (UTC ms or aware datetimes), ``schedule``, ``pin_hash``).

    Returns ``(record, {})`` or ``(None, {field: [problem codes]})``; the codes (``required``,
    ``bad_id``, ``bad_card``, ``too_many``, ``bad_door``, ``bad_kind``, ``too_long``,
    ``bad_time``, ``until_before_from``, ``contractor_until``, ``contractor_doors``,
    ``bad_schedule``) are turned into sentences by the caller (:mod:`web.access.messages`)."""
    errors: dict[str, list[str]] = {}

    def err(name: str, code: str) -> None:
        errors.setdefault(name, []).append(code)

    cid = str(values.get("credential_id") or "").strip()
    if not cid:
        err("credential_id", "required")
    elif not ID_RE.fullmatch(cid):
        err("credential_id", "bad_id")
    raw_cards = values.get("cards") or []
    cards_in = split_list(raw_cards) if isinstance(raw_cards, str) else list(raw_cards)
    cards: list[str] = []
    if not cards_in:
        err("cards", "required")
    elif len(cards_in) > MAX_CARDS:
        err("cards", "too_many")
    else:
        for c in cards_in:
            try:
                key = normalize_card(str(c))
            except ValueError:
                err("cards", "bad_card")
                break
            if key not in cards:
                cards.append(key)
    raw_doors = values.get("doors")
    doors: tuple[str, ...] | Literal["*"]
    doors_in = split_list(raw_doors) if isinstance(raw_doors, str) else list(raw_doors or [])
    if doors_in == [ALL_DOORS]:
        doors = ALL_DOORS
    elif not doors_in:
        err("doors", "required")
        doors = ()
    elif len(doors_in) > MAX_DOORS:
        err("doors", "too_many")
        doors = ()
    else:
        if not all(DOOR_RE.fullmatch(d) for d in doors_in):
            err("doors", "bad_door")
        doors = tuple(dict.fromkeys(doors_in))
    holder = str(values.get("holder") or "").strip()
    unit = str(values.get("unit") or "").strip()
    for name, text in (("holder", holder), ("unit", unit)):
        if len(text) > MAX_TEXT:
            err(name, "too_long")
        elif any(ord(ch) < 32 for ch in text):
            err(name, "bad_text")
    kind = str(values.get("kind") or "resident")
    if kind not in KINDS:
        err("kind", "bad_kind")
    times: dict[str, int | None] = {}
    for name in ("valid_from", "valid_until"):
        try:
            times[name] = _parse_time(values.get(name))
        except ValueError:
            err(name, "bad_time")
            times[name] = None
    if times["valid_from"] is not None and times["valid_until"] is not None \
            and times["valid_until"] <= times["valid_from"]:
        err("valid_until", "until_before_from")
    schedule = str(values.get("schedule") or "").strip() or None
    if schedule is not None and not _SCHEDULE_RE.fullmatch(schedule):
        err("schedule", "bad_schedule")
    if kind == "contractor":
        if times["valid_until"] is None and "valid_until" not in errors:
            err("valid_until", "contractor_until")
        if doors == ALL_DOORS:
            err("doors", "contractor_doors")
    enabled = values.get("enabled", True)
    if errors:
        return None, errors
    return CredentialRecord(
        credential_id=cid, cards=tuple(cards), doors=doors, holder=holder, unit=unit,
        kind=kind, enabled=bool(enabled), valid_from=times["valid_from"],  # type: ignore[arg-type]
        valid_until=times["valid_until"], schedule=schedule,
        pin_hash=values.get("pin_hash") or None), {}
