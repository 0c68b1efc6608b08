"""The meter registry's values (远程抄表): which meter belongs to which unit, validated.

A meter is named by its ``meter_id``: the name the node gives it (``[[meters]] name`` in the
node's ``node.toml``, ``[a-z0-9-]{1,32}``), which is also its telemetry device and the
``meter`` field of its ``meter.*`` events.  The registry adds what the console needs: the unit
(``services.units`` code, e.g. ``A-1201``), the kind (water / electricity), the register map,
the node and bus it hangs on, the Modbus slave id and the billed register (the cumulative total
the statements use; default by kind: ``import_energy_kwh`` / ``total_volume_m3``).

Validation returns problem *codes* per field (see :mod:`web.meters.messages` for the sentences),
so the form, the CSV import and the tests share one set of rules.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from typing import Any, Mapping

from ..errors import ConsoleError
from ..units.model import check_code

__all__ = ["Meter", "MeterError", "KINDS", "UNIT_OF_KIND", "DEFAULT_REGISTER", "KNOWN_MAPS",
           "validate_meter", "METER_ID_RE"]

#: Meter kinds and the unit their billed total is counted in.
KINDS = ("electricity", "water")
UNIT_OF_KIND: Mapping[str, str] = {"electricity": "kWh", "water": "m³"}
#: The cumulative register billed when none is named.
DEFAULT_REGISTER: Mapping[str, str] = {"electricity": "import_energy_kwh",
                                       "water": "total_volume_m3"}
#: The node's built-in register maps (``hardware/meters/*.toml``) and their kind; a site's own
#: map is accepted by name too (the console does not read map files).
KNOWN_MAPS: Mapping[str, str] = {"eastron_sdm120": "electricity", "eastron_sdm630": "electricity",
                                 "water_generic": "water"}

METER_ID_RE = re.compile(r"^[a-z0-9-]{1,32}$")
_NODE_RE = re.compile(r"^[a-z0-9-]{1,32}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class MeterError(ConsoleError, ValueError):
    """A meter failed validation; ``errors`` maps each field to its problem codes."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {','.join(v)}" for k, v in errors.items()))
        self.errors = dict(errors)


@dataclass(frozen=True)
class Meter:
    """One registered meter.  ``slave``: Modbus slave id 1..247 (0: not known); ``register``:
    the billed cumulative total; ``updated_at`` (UTC ms) / ``updated_by`` are set by the store."""

    meter_id: str
    unit: str
    kind: str
    map: str = ""
    node: str = ""
    bus: str = ""
    slave: int = 0
    register: str = ""
    note: str = ""
    updated_at: int = 0
    updated_by: str = ""

    @property
    def billed_register(self) -> str:
        return self.register or DEFAULT_REGISTER.get(self.kind, "")

    @property
    def quantity_unit(self) -> str:
        """kWh or m³."""
        return UNIT_OF_KIND.get(self.kind, "")

    def with_changes(self, **changes: Any) -> "Meter":
        return replace(self, **changes)


def _text(values: Mapping[str, Any], name: str) -> str:
    v = values.get(name)
    return "" if v is None else str(v).strip()


def validate_meter(values: Mapping[str, Any]) -> tuple[Meter | None, dict[str, list[str]]]:
    """A :class:`Meter` from form / CSV values (``meter_id``, ``unit``, ``kind``, ``map``,
    ``node``, ``bus``, ``slave``, ``register``, ``note``), or None and the problem codes by field.
    Whether the unit is registered is checked by the store's caller (``unit_unknown``)."""
    errors: dict[str, list[str]] = {}

    def bad(field: str, code: str) -> None:
        errors.setdefault(field, []).append(code)

    meter_id = _text(values, "meter_id").lower()
    if not meter_id:
        bad("meter_id", "required")
    elif not METER_ID_RE.match(meter_id):
        bad("meter_id", "bad_meter_id")
    unit = _text(values, "unit")
    if not unit:
        bad("unit", "required")
    elif check_code(unit):
        bad("unit", "bad_unit")
    map_name = _text(values, "map")
    kind = _text(values, "kind").lower() or KNOWN_MAPS.get(map_name, "")
    if not kind:
        bad("kind", "required")
    elif kind not in KINDS:
        bad("kind", "bad_kind")
    if map_name and not _NAME_RE.match(map_name):
        bad("map", "bad_name")
    elif map_name in KNOWN_MAPS and kind in KINDS and KNOWN_MAPS[map_name] != kind:
        bad("map", "map_kind")
    node = _text(values, "node")
    if node and not _NODE_RE.match(node):
        bad("node", "bad_node")
    bus = _text(values, "bus")
    if bus and not _NAME_RE.match(bus):
        bad("bus", "bad_name")
    slave_text = _text(values, "slave")
    slave = 0
    if slave_text:
        try:
            slave = int(slave_text)
        except ValueError:
            bad("slave", "bad_slave")
        else:
            if not 1 <= slave <= 247:
                bad("slave", "bad_slave")
    register = _text(values, "register")
    if register and not _NAME_RE.match(register):
        bad("register", "bad_name")
    note = _text(values, "note")
    if len(note) > 200:
        bad("note", "too_long")
    elif any(unicodedata.category(c) in ("Cc", "Cf") for c in note):
        bad("note", "bad_text")
    if errors:
        return None, errors
    return Meter(meter_id=meter_id, unit=unit, kind=kind, map=map_name, node=node, bus=bus,
                 slave=slave, register=register or DEFAULT_REGISTER[kind], note=note), {}
