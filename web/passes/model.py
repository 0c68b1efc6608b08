"""Goods passes (物品放行) on the console: the values and the desk's rules.

A :class:`PassDraft` is what the desk typed; :func:`check_draft` applies the desk manual's
rules (DOMAIN.md, "Goods release") and returns every problem as a code per field, so the page
shows them all at once:

- the unit must be in the unit registry;
- an ``owner`` or ``household`` carrier must be a resident of the unit registered as owner or
  household member (they show ID and sign); anyone else (tenant, helper, mover, other) needs
  the owner's written authorisation letter (授权委托书) with its reference;
- at least one item, each with a description and a quantity (1..9999, 9,999 in total);
- a validity window of at least a minute and at most 366 days that has not already ended.

A renovation tool pass (``kind="tools"``) names a worker, the unit and the tools; the desk
clears it with the owner's confirmation, so no letter is asked for; it is valid one day.

A stored :class:`GoodsPass` also carries the signed QR text (``LG1.``, :mod:`mqtt_topics.passes`)
and its state: ``issued`` → ``released`` (a gate's ``goods_pass.released``) / ``cancelled``
(the desk, with a reason) / ``expired`` (its window ended unused).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from mqtt_topics.passes import MAX_ITEM_COUNT, MAX_UNIT_BYTES, MAX_VALID_MIN

from ..errors import ConsoleError
from ..units import Unit

__all__ = ["KINDS", "CARRIER_RELATIONS", "OWNER_RELATIONS", "AUTHORISATIONS", "STATES",
           "MAX_ITEMS", "MAX_TEXT", "PassLine", "PassDraft", "GoodsPass", "PassProblems",
           "check_draft", "normalise_name", "MINUTE_MS", "DAY_MS"]

#: ``goods``: a goods pass (物品持出证); ``tools``: a renovation worker's tool pass.
KINDS = ("goods", "tools")
#: Who carries the goods out (``worker``: tool passes only).
CARRIER_RELATIONS = ("owner", "household", "tenant", "helper", "mover", "other")
#: Carriers who may apply in person with ID (registered as owner / household in the unit).
OWNER_RELATIONS = ("owner", "household")
#: ``in_person``: the owner (or household member) applied and signs; ``letter``: the owner's
#: written authorisation (授权委托书); ``desk``: a tool pass cleared by the desk.
AUTHORISATIONS = ("in_person", "letter", "desk")
STATES = ("issued", "released", "cancelled", "expired")
#: Most item lines on one pass.
MAX_ITEMS = 12
#: Longest free-text field (characters): names, descriptions, references.
MAX_TEXT = 100
MINUTE_MS = 60_000
DAY_MS = 86_400_000

_LAST4_RE = re.compile(r"^[0-9]{3}[0-9Xx]$")
_PLATE_RE = re.compile(r"^[0-9A-Z\u4e00-\u9fff·-]{2,12}$")


class PassProblems(ConsoleError, ValueError):
    """A draft broke the rules: ``errors`` maps a field name to problem codes
    (``{"carrier_name": ["not_resident"]}``); see :data:`web.passes.messages.PROBLEMS`."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class PassLine:
    """One item line: ``description``, ``quantity`` (>= 1), ``large`` (large or valuable:
    needs the owner's signature on the pass)."""

    description: str
    quantity: int = 1
    large: bool = False

    def to_json_obj(self) -> dict[str, Any]:
        return {"description": self.description, "quantity": self.quantity, "large": self.large}


@dataclass(frozen=True)
class PassDraft:
    """What the desk entered. Times are UTC ms (whole minutes); ``carrier_id_last4``: the last
    four characters of the carrier's ID number (never the whole number)."""

    unit: str
    carrier_name: str
    carrier_relation: str
    carrier_id_last4: str
    items: tuple[PassLine, ...]
    valid_from_ms: int
    valid_until_ms: int
    authorisation: str = "in_person"
    letter_ref: str = ""
    vehicle_plate: str = ""
    note: str = ""
    kind: str = "goods"


@dataclass(frozen=True)
class GoodsPass:
    """A stored pass (see the module note). ``items_digest``: hex; ``letter_scan``: the stored
    scan's file name ("" without); times UTC ms; ``release_count``: ``goods_pass.released``
    events seen for it (2 or more: used twice)."""

    pass_id: str
    kind: str
    unit: str
    carrier_name: str
    carrier_relation: str
    carrier_id_last4: str
    authorisation: str
    letter_ref: str
    letter_scan: str
    items: tuple[PassLine, ...]
    item_count: int
    items_digest: str
    vehicle_plate: str
    valid_from: int
    valid_until: int
    note: str
    qr_text: str
    state: str
    issued_at: int
    issued_by: str
    cancelled_at: int | None = None
    cancelled_by: str = ""
    cancel_reason: str = ""
    released_at: int | None = None
    released_gate: str = ""
    release_count: int = 0
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def state_at(self, now_ms: int) -> str:
        """The state at ``now_ms``: an ``issued`` pass past its window is ``expired``."""
        if self.state == "issued" and now_ms > self.valid_until:
            return "expired"
        return self.state

    def valid_at(self, now_ms: int) -> bool:
        """Issued, not cancelled or released, and inside its window at ``now_ms``."""
        return self.state == "issued" and self.valid_from <= now_ms <= self.valid_until

    @property
    def has_large_items(self) -> bool:
        return any(i.large for i in self.items)


def normalise_name(name: str) -> str:
    """A name compared with the registry: NFKC, white space removed, case-folded."""
    return "".join(unicodedata.normalize("NFKC", name).split()).casefold()


def _text(value: str, name: str, errors: dict[str, list[str]], *, required: bool,
          limit: int = MAX_TEXT) -> None:
    if required and not value:
        errors.setdefault(name, []).append("required")
    elif len(value) > limit:
        errors.setdefault(name, []).append("too_long")
    elif any(unicodedata.category(c) in ("Cc", "Cf") for c in value):
        errors.setdefault(name, []).append("bad_text")


def check_draft(draft: PassDraft, *, unit: Unit | None, now_ms: int) -> dict[str, list[str]]:
    """Every problem of ``draft`` as ``{field: [code, ...]}`` (empty: it may be issued).
    ``unit``: the registry's entry for ``draft.unit`` (None: not registered); ``now_ms``: the
    console clock (a window that already ended is refused)."""
    errors: dict[str, list[str]] = {}

    def add(name: str, code: str) -> None:
        errors.setdefault(name, []).append(code)

    if draft.kind not in KINDS:
        add("kind", "bad_kind")
    if not draft.unit:
        add("unit", "required")
    elif unit is None:
        add("unit", "unknown_unit")
    elif len(draft.unit.encode("utf-8")) > MAX_UNIT_BYTES:
        add("unit", "unit_too_long")
    _text(draft.carrier_name, "carrier_name", errors, required=True, limit=64)
    if not draft.carrier_id_last4:
        add("carrier_id_last4", "required")
    elif not _LAST4_RE.match(draft.carrier_id_last4):
        add("carrier_id_last4", "bad_last4")
    relations = ("worker",) if draft.kind == "tools" else CARRIER_RELATIONS
    if draft.carrier_relation not in relations:
        add("carrier_relation", "bad_relation")
    if draft.authorisation not in AUTHORISATIONS:
        add("authorisation", "bad_authorisation")
    _text(draft.letter_ref, "letter_ref", errors, required=False, limit=64)
    if draft.kind == "goods" and draft.carrier_relation in CARRIER_RELATIONS:
        if draft.carrier_relation in OWNER_RELATIONS:
            if unit is not None and "carrier_name" not in errors:
                wanted = normalise_name(draft.carrier_name)
                if not any(r.relation in OWNER_RELATIONS and normalise_name(r.name) == wanted
                           for r in unit.residents):
                    add("carrier_name", "not_resident")
            if draft.authorisation == "desk":
                add("authorisation", "bad_authorisation")
        elif draft.authorisation != "letter":
            add("authorisation", "letter_required")
        if draft.authorisation == "letter" and not draft.letter_ref and "letter_ref" not in errors:
            add("letter_ref", "letter_ref_required")
    if not draft.items:
        add("items", "no_items")
    elif len(draft.items) > MAX_ITEMS:
        add("items", "too_many_items")
    else:
        for line in draft.items:
            if not line.description.strip():
                add("items", "item_description")
            elif len(line.description) > MAX_TEXT:
                add("items", "too_long")
            if not 1 <= line.quantity <= MAX_ITEM_COUNT:
                add("items", "item_quantity")
        if "items" not in errors and sum(i.quantity for i in draft.items) > MAX_ITEM_COUNT:
            add("items", "item_quantity")
    if draft.vehicle_plate and not _PLATE_RE.match(draft.vehicle_plate):
        add("vehicle_plate", "bad_plate")
    _text(draft.note, "note", errors, required=False, limit=200)
    start, end = draft.valid_from_ms, draft.valid_until_ms
    if start % MINUTE_MS or end % MINUTE_MS or start < 0:
        add("valid_from", "bad_time")
    elif end <= start:
        add("valid_until", "until_before_from")
    elif (end - start) // MINUTE_MS > MAX_VALID_MIN:
        add("valid_until", "too_long_window")
    elif end < now_ms:
        add("valid_until", "until_past")
    return errors
