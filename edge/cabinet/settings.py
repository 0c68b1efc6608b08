"""``[cabinet]`` settings: :class:`CabinetSettings`, validated by :meth:`CabinetSettings.from_mapping`
(every problem listed in one :class:`~edge.errors.ConfigError`)::

    [cabinet]
    id = "main"                      # cabinet id, in every event
    io = "gpio"                      # or "modbus": the [cabinet.modbus] I/O module
    door_lock = 5                    # GPIO pin, or coil address with io = "modbus"
    door_contact = 6                 # GPIO pin, or discrete-input address
    release_s = 30                   # door + slots unlocked after a card, seconds
    readers = [{name = "cabinet-reader", port = "/dev/ttyAMA0"}]   # RDM6300
    slots = [{slot = 1, lock = 12, present = 13}, {slot = 2, lock = 16, present = 19}]
    fault_retry_s = 1.0              # I/O faulted: retry (lock + read) this often, seconds
    fault_clear_reads = 3            # good lock + read cycles in a row that end a fault episode
    output_refresh_s = 5.0           # write every output again this often (changed or not), s

    [cabinet.modbus]                 # with io = "modbus"
    kind = "tcp"                     # or "rtu" (port, baud, parity, stop_bits)
    host = "10.0.0.20"
    slave = 1

Paths (``cache``, ``state``) are relative to the config file's directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from mqtt_topics.schema import BASE_TYPES, Key, Section, ValueType, check_nonempty, validate_table

from ..errors import ConfigError
from .io import SlotWiring

__all__ = ["CabinetSettings", "CabinetReaderSettings", "ModbusModuleSettings", "SCHEMA"]

BAUDS = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)


def _is_pin(v: Any) -> bool:
    return (isinstance(v, int) and not isinstance(v, bool) and v >= 0) or \
        (isinstance(v, str) and bool(v.strip()))


_TYPES = {**BASE_TYPES, "pin": ValueType("a pin number or name (or an I/O address)", _is_pin),
          "list": ValueType("a list of tables", lambda v: isinstance(v, list)),
          "dict": ValueType("a table", lambda v: isinstance(v, dict))}

SCHEMA = Section(doc="key cabinet (钥匙委托管理)", keys={
    "id": Key("str", default="cabinet", check=check_nonempty, doc="cabinet id, in every event"),
    "io": Key("str", default="gpio", choices=("gpio", "modbus"), doc="where the locks and inputs are"),
    "door_lock": Key("pin", required=True, doc="door lock: GPIO pin, or coil address"),
    "door_contact": Key("pin", required=True, doc="door contact: GPIO pin, or discrete input"),
    "contact_invert": Key("bool", default=False, doc="true: an active contact means door closed"),
    "present_invert": Key("bool", default=False, doc="true: an active switch means slot empty"),
    "active_high": Key("bool", default=True, doc="GPIO: a high pin energises a solenoid"),
    "pull_up": Key("bool", default=True, doc="GPIO: inputs pulled up (active when low)"),
    "release_s": Key("float", default=30.0, min=1, max=600, doc="unlock time after a card, s"),
    "two_person_window_s": Key("float", default=30.0, min=1, max=600,
                               doc="time for the second card of a two-person key, s"),
    "door_held_s": Key("float", default=120.0, min=1, max=86_400, doc="door open this long: alarm, s"),
    "wrong_slot_repeat_s": Key("float", default=30.0, min=1, max=86_400,
                               doc="re-raise key.wrong_slot this often, s"),
    "poll_s": Key("float", default=0.05, min=0.005, max=10, doc="input polling interval, s"),
    "fault_retry_s": Key("float", default=1.0, min=0.01, max=600,
                         doc="while the I/O is faulted, retry it this often, s"),
    "fault_clear_reads": Key("int", default=3, min=1, max=1000,
                             doc="consecutive good I/O cycles (lock + read, fault_retry_s apart) "
                                 "that end a fault episode; until then cards stay refused"),
    "output_refresh_s": Key("float", default=5.0, min=0.5, max=3600,
                            doc="write every output again (changed or not) this often, so a "
                                "module that stops taking writes is a fault within that time, s"),
    "cache": Key("path", default="key-permissions.json", doc="cached key-permissions snapshot"),
    "state": Key("path", default="cabinet-state.json", doc="last known slot state and loans"),
    "readers": Key("list", default=(), doc="RDM6300 readers: [{name, port, baud?}]"),
    "slots": Key("list", required=True, doc="[{slot, lock, present}]"),
    "modbus": Key("dict", doc="the I/O module (io = modbus)"),
})
SLOT = Section(keys={"slot": Key("int", required=True, min=1, max=10_000),
                     "lock": Key("pin", required=True), "present": Key("pin", required=True)})
READER = Section(keys={"name": Key("str", required=True, check=check_nonempty),
                       "port": Key("str", required=True, check=check_nonempty),
                       "baud": Key("int", default=9600, choices=BAUDS)})
MODBUS = Section(keys={
    "kind": Key("str", required=True, choices=("rtu", "tcp")),
    "host": Key("str", check=check_nonempty), "tcp_port": Key("int", default=502, min=1, max=65_535),
    "port": Key("str", check=check_nonempty), "baud": Key("int", default=9600, choices=BAUDS),
    "parity": Key("str", default="N", choices=("N", "E", "O")),
    "stop_bits": Key("int", default=1, choices=(1, 2)),
    "slave": Key("int", default=1, min=1, max=247),
    "timeout_s": Key("float", default=0.5, min=0.01, max=30)})


@dataclass(frozen=True, kw_only=True)
class CabinetReaderSettings:
    """An RDM6300 reader at the cabinet: ``name``, serial ``port``, ``baud``."""

    name: str
    port: str
    baud: int = 9600


@dataclass(frozen=True, kw_only=True)
class ModbusModuleSettings:
    """The I/O module: ``kind`` rtu (``port``, ``baud``, ``parity``, ``stop_bits``) or tcp
    (``host``, ``tcp_port``); ``slave`` unit id; ``timeout_s`` per request."""

    kind: str
    host: str | None = None
    tcp_port: int = 502
    port: str | None = None
    baud: int = 9600
    parity: str = "N"
    stop_bits: int = 1
    slave: int = 1
    timeout_s: float = 0.5

    def make_bus(self) -> Any:
        """A new (unopened) :class:`hardware.modbus.PymodbusBus`."""
        from hardware.modbus import rtu_bus, tcp_bus
        if self.kind == "tcp":
            return tcp_bus(self.host or "", self.tcp_port, timeout_s=self.timeout_s)
        return rtu_bus(self.port or "", baudrate=self.baud, parity=self.parity,
                       stopbits=self.stop_bits, timeout_s=self.timeout_s)


@dataclass(frozen=True, kw_only=True)
class CabinetSettings:
    """One key cabinet (see the module note); times in seconds.

    ``fault_retry_s`` (default 1.0 s): while an I/O fault episode is open, lock + read this
    often. ``fault_clear_reads`` (default 3, at least 1): that many good lock + read cycles in a
    row end the episode (``cabinet.fault_cleared``); an error among them restarts the count, so
    the cabinet stays locked for at least ``(fault_clear_reads - 1) * fault_retry_s`` after the
    I/O answers again.

    ``output_refresh_s`` (default 5.0 s, at least 0.5, at most 3600): outputs are written when
    they change and, besides, every one of them (door lock and every slot solenoid, changed or
    not) is written again this often, so an I/O module (or GPIO) that stops taking writes while
    its inputs still read is a ``cabinet.fault`` (operation ``write``) within that time rather
    than at the next output change. Timed on the extension's monotonic clock."""

    id: str = "cabinet"
    io: str = "gpio"
    door_lock: int | str
    door_contact: int | str
    slots: tuple[SlotWiring, ...]
    readers: tuple[CabinetReaderSettings, ...] = ()
    modbus: ModbusModuleSettings | None = None
    contact_invert: bool = False
    present_invert: bool = False
    active_high: bool = True
    pull_up: bool = True
    release_s: float = 30.0
    two_person_window_s: float = 30.0
    door_held_s: float = 120.0
    wrong_slot_repeat_s: float = 30.0
    poll_s: float = 0.05
    fault_retry_s: float = 1.0
    fault_clear_reads: int = 3
    output_refresh_s: float = 5.0
    cache: Path = Path("key-permissions.json")
    state: Path = Path("cabinet-state.json")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, base_dir: Path = Path(".")) -> "CabinetSettings":
        """Validate a ``[cabinet]`` table; raise :class:`ConfigError` listing every problem."""
        errors: list[str] = []
        v = validate_table("cabinet", dict(data), SCHEMA, base_dir, errors, types=_TYPES)
        slots: list[SlotWiring] = []
        for i, raw in enumerate(v.get("slots") or []):
            s = validate_table(f"cabinet.slots[{i}]", raw, SLOT, base_dir, errors, types=_TYPES)
            if None not in (s["slot"], s["lock"], s["present"]):
                slots.append(SlotWiring(slot=s["slot"], lock=s["lock"], present=s["present"]))
        if "slots" in data and v.get("slots") is not None and not v["slots"]:
            errors.append("cabinet.slots: at least one slot is needed")
        numbers = [s.slot for s in slots]
        for n in sorted({n for n in numbers if numbers.count(n) > 1}):
            errors.append(f"cabinet.slots: slot {n} is listed twice")
        wires: dict[str, str] = {}
        modbus_io = v.get("io") == "modbus"
        for what, value in [("door_lock", v.get("door_lock")), ("door_contact", v.get("door_contact"))] + \
                [(f"slots[{i}].lock", s.lock) for i, s in enumerate(slots)] + \
                [(f"slots[{i}].present", s.present) for i, s in enumerate(slots)]:
            if value is None:
                continue
            if modbus_io and (isinstance(value, bool) or not isinstance(value, int)):
                errors.append(f"cabinet.{what}: with io = \"modbus\" give an address (int), got {value!r}")
            space = ("coil" if what.endswith("lock") else "input") if modbus_io else "pin"
            norm = f"{space}:{str(value).strip().upper().removeprefix('GPIO').removeprefix('BCM')}"
            if norm in wires:
                errors.append(f"cabinet.{what}: {value!r} is already used by cabinet.{wires[norm]}")
            wires.setdefault(norm, what)
        readers = []
        for i, raw in enumerate(v.get("readers") or []):
            r = validate_table(f"cabinet.readers[{i}]", raw, READER, base_dir, errors)
            if r["name"] and r["port"]:
                readers.append(CabinetReaderSettings(name=r["name"], port=r["port"], baud=r["baud"]))
        modbus = None
        if modbus_io:
            if v.get("modbus") is None:
                errors.append("cabinet.modbus: required with io = \"modbus\" ([cabinet.modbus])")
            else:
                m = validate_table("cabinet.modbus", v["modbus"], MODBUS, base_dir, errors)
                if m["kind"] == "tcp" and not m["host"]:
                    errors.append("cabinet.modbus.host: required for a tcp module")
                if m["kind"] == "rtu" and not m["port"]:
                    errors.append("cabinet.modbus.port: required for an rtu module")
                if m["kind"] is not None:
                    modbus = ModbusModuleSettings(**m)
        elif v.get("modbus") is not None:
            errors.append("cabinet.modbus: only used with io = \"modbus\"")
        if errors:
            raise ConfigError(errors)
        keep = {k: v[k] for k in ("id", "io", "door_lock", "door_contact", "contact_invert",
                                  "present_invert", "active_high", "pull_up", "release_s",
                                  "two_person_window_s", "door_held_s", "wrong_slot_repeat_s",
                                  "poll_s", "fault_retry_s", "fault_clear_reads",
                                  "output_refresh_s", "cache", "state")}
        for name in ("cache", "state"):
            keep[name] = Path(keep[name]) if Path(keep[name]).is_absolute() else base_dir / keep[name]
        return cls(slots=tuple(slots), readers=tuple(readers), modbus=modbus, **keep)
