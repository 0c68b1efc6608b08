"""Node configuration: a TOML file validated against a schema written as data.

:data:`SCHEMA` lists every section and key with its type, default, range or choices and a
one-line description; :func:`load_config` reads a file and :func:`parse_config` a mapping, check
*everything* and raise one :class:`~edge.errors.ConfigError` whose ``errors`` name each offending
key by its path (``readers[1].baud: must be one of 1200, 2400, ... got 9601``), so an operator
fixes them all in one go. The result is a tree of frozen dataclasses (:class:`NodeConfig`).

Relative paths (``node.journal``, ``mqtt.password_file``, ``mqtt.ca_file``, ``mqtt.certfile``,
``mqtt.keyfile``, ``commands.key_file``) are taken relative to the config file's directory. Secrets given as files
are read when the config is loaded, so a missing file is reported with the other errors.

See ``edge/samples/node.toml`` for a documented example.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from mqtt_topics.schema import (BASE_TYPES, Key, Section, ValueType, check_hex_key,
                                check_nonempty, contract_check, load_toml, read_secret, show,
                                unknown, validate_table)
from mqtt_topics.topics import check_id, check_node_id

from .errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from .extensions.door import DoorSettings

__all__ = ["Key", "Section", "SCHEMA", "NodeConfig", "MqttSettings", "CommandSettings",
           "GpioSettings", "ReaderSettings", "InputSettings", "RelaySettings",
           "SimulationSettings", "MeterBusSettings", "MeterSettings", "PatrolSettings", "GoodsGateSettings",
           "IntercomSettings", "NESTED_SECTIONS", "load_config", "parse_config"]

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_CARD_RE = re.compile(r"^[0-9A-Fa-f]{10}$")
MIN_COMMAND_KEY_BYTES = 16
STANDARD_BAUDS = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)


# -- the schema, as data ------------------------------------------------------------------------

def _is_pin(v: Any) -> bool:
    return (isinstance(v, int) and not isinstance(v, bool) and v >= 0) or \
        (isinstance(v, str) and bool(v.strip()))


#: The value types of :data:`SCHEMA`: the shared ones plus ``"pin"`` (an int >= 0 or a
#: gpiozero pin name string).
_TYPES = {**BASE_TYPES, "pin": ValueType("a pin number or name", _is_pin)}

_check_node_id = contract_check(check_node_id)
_check_site = contract_check(lambda v: check_id(v, "site"))


def _check_name(v: str) -> str | None:
    return None if _NAME_RE.match(v) else f"must match [a-z0-9][a-z0-9_-]{{0,31}}, got {v!r}"


def _check_hex_key(v: str) -> str | None:
    return check_hex_key(v, MIN_COMMAND_KEY_BYTES)


def _check_cards(v: list[str]) -> str | None:
    bad = [c for c in v if not _CARD_RE.match(c)]
    return f"cards must be 10 hex digits each, bad: {bad}" if bad else None


def _check_patrol_readers(v: list[str]) -> str | None:
    """``"reader"`` or ``"reader=checkpoint-id"`` each."""
    bad = []
    for item in v:
        reader, _, checkpoint = item.partition("=")
        if _check_name(reader) or (checkpoint and _check_site(checkpoint)):
            bad.append(item)
    return (f"each entry is \"reader\" or \"reader=checkpoint-id\" ([a-z0-9-]{{1,32}}), bad: {bad}"
            if bad else None)


SCHEMA: dict[str, Section] = {
    "node": Section(required=True, doc="who this node is and where it keeps its journal", keys={
        "id": Key("str", required=True, check=_check_node_id,
                  doc="node id, [a-z0-9-]{1,32}; also its broker user name"),
        "site": Key("str", required=True, check=_check_site, doc="site id, [a-z0-9-]{1,32}"),
        "journal": Key("path", required=True, doc="SQLite event journal file"),
        "journal_capacity": Key("int", default=1_000_000, min=100, max=100_000_000,
                                doc="bound on unsent events (routine ones are dropped first)"),
        "health_interval_s": Key("float", default=30.0, min=0.05, max=86_400,
                                 doc="seconds between health telemetry messages"),
        "clock_skew_s": Key("float", default=30.0, min=0, max=3_600,
                            doc="clock difference tolerated on signed commands, seconds"),
    }),
    "mqtt": Section(required=True, doc="the broker connection", keys={
        "host": Key("str", required=True, check=check_nonempty, doc="broker host name or address"),
        "port": Key("int", min=1, max=65_535, doc="broker port (default 1883, or 8883 with tls)"),
        "username": Key("str", doc="broker user (default: the node id)"),
        "password": Key("str", doc="broker password (or password_file)"),
        "password_file": Key("path", doc="file holding the broker password (first line)"),
        "keepalive_s": Key("int", default=30, min=5, max=3_600, doc="MQTT keep-alive, seconds"),
        "tls": Key("bool", default=False, doc="connect with TLS"),
        "ca_file": Key("path", doc="CA certificate bundle for TLS (default: the system's)"),
        "certfile": Key("path", doc="TLS client certificate (PEM; with keyfile, instead of a password)"),
        "keyfile": Key("path", doc="the TLS client certificate's private key (PEM)"),
        "cert_warn_days": Key("int", default=30, min=1, max=3_650,
                              doc="with a client certificate: warn (node.cert_expiring) when "
                                  "fewer than this many days remain before it expires"),
        "reconnect_min_s": Key("float", default=0.5, min=0.01, max=3_600,
                               doc="first reconnect delay, seconds"),
        "reconnect_max_s": Key("float", default=30.0, min=0.01, max=3_600,
                               doc="longest reconnect delay, seconds"),
        "protocol": Key("str", default="3.1.1", choices=("3.1.1", "5"), doc="MQTT protocol version"),
        "outbox_window": Key("int", default=100, min=1, max=1_000,
                             doc="events published but not yet acknowledged, at most"),
    }),
    "commands": Section(required=True, doc="signed commands from the console", keys={
        "key": Key("str", check=_check_hex_key, doc="HMAC key, hex, >= 16 bytes (or key_file)"),
        "key_file": Key("path", doc="file holding the HMAC key as hex"),
    }),
    "gpio": Section(doc="GPIO access", keys={
        "pin_factory": Key("str", default="lgpio", choices=("mock", "lgpio", "rpigpio", "native"),
                           doc="gpiozero pin factory"),
    }),
    "readers": Section(array=True, doc="card readers", keys={
        "name": Key("str", required=True, check=_check_name, doc="reader name, in every card.read"),
        "kind": Key("str", default="rdm6300", choices=("rdm6300",), doc="reader type"),
        "port": Key("str", required=True, check=check_nonempty,
                    doc="serial device path or pyserial URL (loop://, rfc2217://...)"),
        "baud": Key("int", default=9600, choices=STANDARD_BAUDS, doc="serial speed"),
    }),
    "inputs": Section(array=True, doc="supervised digital inputs", keys={
        "name": Key("str", required=True, check=_check_name, doc="input name"),
        "pin": Key("pin", required=True, doc="gpiozero pin: 17, \"GPIO17\", \"BOARD11\""),
        "pull_up": Key("bool", default=True, doc="internal pull-up: active when pulled low"),
        "bounce_ms": Key("int", default=20, min=0, max=10_000, doc="debounce time, ms (0: none)"),
    }),
    "relays": Section(array=True, doc="relay outputs", keys={
        "name": Key("str", required=True, check=_check_name, doc="relay name"),
        "pin": Key("pin", required=True, doc="gpiozero pin"),
        "active_high": Key("bool", default=True, doc="a high pin energises the coil"),
        "safe_state": Key("str", default="off", choices=("off", "on"),
                          doc="coil state at boot, on release and on stop"),
        "max_pulse_s": Key("float", default=10.0, min=0.01, max=3_600,
                           doc="longest pulse a command may ask for, seconds"),
    }),
    "simulation": Section(doc="simulated wires for demos and tests", keys={
        "enabled": Key("bool", default=False, doc="replace serial ports and GPIO by simulators"),
        "activity": Key("str", default="idle", choices=("idle", "random", "burst"),
                        doc="what the simulated people do"),
        "interval_ms": Key("int", default=3_000, min=1, max=3_600_000,
                           doc="mean time between simulated card reads (random), ms"),
        "cards": Key("list[str]", default=(), check=_check_cards,
                     doc="card ids presented at random (10 hex digits each)"),
        "count": Key("int", default=100, min=1, max=10_000_000, doc="card reads in a burst"),
        "seed": Key("int", default=0, min=0, doc="random seed (0: a random one)"),
    }),
    "patrol": Section(doc="patrol check-points (电子巡更): readers whose taps are patrol.tap", keys={
        "readers": Key("list[str]", default=(), check=_check_patrol_readers,
                       doc="[[readers]] that are check-points: \"reader\" or \"reader=checkpoint-id\""),
        "collapse_s": Key("float", default=60.0, min=0, max=86_400,
                          doc="repeat taps of one card at one check-point within this many seconds "
                              "are counted, not sent"),
        "buzzer_pin": Key("pin", doc="confirm beep output (optional)"),
        "led_pin": Key("pin", doc="confirm LED output (optional)"),
        "active_high": Key("bool", default=True, doc="a high pin drives the buzzer/LED"),
        "confirm_s": Key("float", default=0.15, min=0.01, max=10, doc="confirm beep/LED length, seconds"),
    }),
}


# -- the result ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class MqttSettings:
    """Broker connection. Delays in seconds; ``cert_warn_days``: days before the client
    certificate (``certfile``) expires from which the node warns (default 30)."""

    host: str
    port: int
    username: str
    password: str = field(repr=False, default="")
    keepalive_s: int = 30
    tls: bool = False
    ca_file: Path | None = None
    certfile: Path | None = None
    keyfile: Path | None = None
    cert_warn_days: int = 30
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0
    protocol: str = "3.1.1"
    outbox_window: int = 100


@dataclass(frozen=True)
class CommandSettings:
    """The node's HMAC command key (bytes, >= 16)."""

    key: bytes = field(repr=False)


@dataclass(frozen=True)
class GpioSettings:
    pin_factory: str = "lgpio"


@dataclass(frozen=True)
class ReaderSettings:
    name: str
    port: str
    kind: str = "rdm6300"
    baud: int = 9600


@dataclass(frozen=True)
class InputSettings:
    name: str
    pin: int | str
    pull_up: bool = True
    bounce_ms: int = 20


@dataclass(frozen=True)
class RelaySettings:
    name: str
    pin: int | str
    active_high: bool = True
    safe_state: str = "off"
    max_pulse_s: float = 10.0


@dataclass(frozen=True)
class SimulationSettings:
    enabled: bool = False
    activity: str = "idle"
    interval_ms: int = 3_000
    cards: tuple[str, ...] = ()
    count: int = 100
    seed: int = 0


@dataclass(frozen=True)
class PatrolSettings:
    """Check-points on this node. ``checkpoints``: reader name -> check-point id (default: the
    reader name); ``collapse_s``: seconds; pins optional; ``confirm_s``: seconds."""

    checkpoints: Mapping[str, str] = field(default_factory=dict)
    collapse_s: float = 60.0
    buzzer_pin: int | str | None = None
    led_pin: int | str | None = None
    active_high: bool = True
    confirm_s: float = 0.15


@dataclass(frozen=True)
class NodeConfig:
    """A validated node configuration. ``source``: the file it came from, if any."""

    node_id: str
    site: str
    journal: Path
    mqtt: MqttSettings
    commands: CommandSettings
    journal_capacity: int = 1_000_000
    health_interval_s: float = 30.0
    clock_skew_s: float = 30.0
    gpio: GpioSettings = GpioSettings()
    readers: tuple[ReaderSettings, ...] = ()
    inputs: tuple[InputSettings, ...] = ()
    relays: tuple[RelaySettings, ...] = ()
    meter_buses: tuple["MeterBusSettings", ...] = ()
    meters: tuple["MeterSettings", ...] = ()
    simulation: SimulationSettings = SimulationSettings()
    patrol: PatrolSettings = PatrolSettings()
    goods_gate: "GoodsGateSettings | None" = None
    intercom: "IntercomSettings | None" = None
    door: "DoorSettings | None" = None
    cabinet: "Any" = None  # edge.cabinet.settings.CabinetSettings (issue 8)
    source: Path | None = None


# -- meters (issue 10): [[meter_buses]] and [[meters]] ------------------------------------------

_check_meter_name = contract_check(lambda v: check_id(v, "meter name"))  # the telemetry device id


SCHEMA["meter_buses"] = Section(array=True, doc="Modbus buses: an RS-485 port (RTU) or a TCP gateway", keys={
    "name": Key("str", required=True, check=_check_name, doc="bus name, in meter events"),
    "kind": Key("str", required=True, choices=("rtu", "tcp"), doc="rtu (serial) or tcp (gateway)"),
    "port": Key("str", check=check_nonempty, doc="rtu: serial device path (/dev/ttyUSB0)"),
    "baud": Key("int", default=9600, choices=STANDARD_BAUDS, doc="rtu: serial speed"),
    "parity": Key("str", default="N", choices=("N", "E", "O"), doc="rtu: parity N, E or O"),
    "stop_bits": Key("int", default=1, choices=(1, 2), doc="rtu: stop bits"),
    "host": Key("str", check=check_nonempty, doc="tcp: gateway host name or address"),
    "tcp_port": Key("int", default=502, min=1, max=65_535, doc="tcp: gateway port"),
    "timeout_s": Key("float", default=0.5, min=0.01, max=30, doc="reply timeout per request, seconds"),
    "gap_ms": Key("int", default=50, min=0, max=10_000, doc="silence between two requests, ms"),
    "switch_gap_ms": Key("int", default=100, min=0, max=10_000,
                         doc="silence before a request to another slave id, ms"),
    "retries": Key("int", default=2, min=0, max=20,
                   doc="failed polls of a meter (one per cycle) before it is offline"),
    "backoff_min_s": Key("float", default=10.0, min=0.01, max=86_400,
                         doc="first wait before polling an offline meter again, seconds (doubles)"),
    "backoff_max_s": Key("float", default=600.0, min=0.01, max=86_400,
                         doc="longest wait between polls of an offline meter, seconds"),
})
SCHEMA["meters"] = Section(array=True, doc="meters read over Modbus (远程抄表)", keys={
    "name": Key("str", required=True, check=_check_meter_name,
                doc="meter id, [a-z0-9-]{1,32}: its telemetry device and event name"),
    "bus": Key("str", required=True, doc="the [[meter_buses]] name it hangs on"),
    "slave": Key("int", required=True, min=1, max=247, doc="Modbus slave (unit) id"),
    "map": Key("str", required=True, check=check_nonempty,
               doc="register map: a built-in name (eastron_sdm120, eastron_sdm630, water_generic) "
                   "or a .toml path"),
    "unit": Key("str", default="", doc="the residential unit it belongs to (informational)"),
    "period_s": Key("float", default=10.0, min=0.05, max=86_400, doc="seconds between polls"),
    "total_interval_s": Key("float", default=900.0, min=1, max=86_400,
                            doc="seconds between journalled meter.total events (also at each hour)"),
})


@dataclass(frozen=True)
class MeterBusSettings:
    """A Modbus bus. Times in seconds except the gaps (ms)."""

    name: str
    kind: str
    port: str | None = None
    baud: int = 9600
    parity: str = "N"
    stop_bits: int = 1
    host: str | None = None
    tcp_port: int = 502
    timeout_s: float = 0.5
    gap_ms: int = 50
    switch_gap_ms: int = 100
    retries: int = 2
    backoff_min_s: float = 10.0
    backoff_max_s: float = 600.0


@dataclass(frozen=True)
class MeterSettings:
    """A meter: ``register_map`` is the loaded :class:`hardware.meters.RegisterMap`."""

    name: str
    bus: str
    slave: int
    map: str
    register_map: Any = field(repr=False, default=None)
    unit: str = ""
    period_s: float = 10.0
    total_interval_s: float = 900.0


def _meter_sections(values: dict[str, Any], base: Path, errors: list[str]
                    ) -> tuple[tuple[MeterBusSettings, ...], tuple[MeterSettings, ...]]:
    """Cross-key rules of the meter sections; maps are loaded here so their errors are listed
    with the others."""
    from hardware.meters import MapError, load_map

    buses: dict[str, dict[str, Any]] = {}
    for i, b in enumerate(values["meter_buses"]):
        where = f"meter_buses[{i}]"
        name = b.get("name")
        if isinstance(name, str):
            if name in buses:
                errors.append(f"{where}.name: {name!r} is already used")
            buses.setdefault(name, b)
        if b.get("kind") == "rtu" and not b.get("port"):
            errors.append(f"{where}.port: required for an rtu bus")
        if b.get("kind") == "tcp" and not b.get("host"):
            errors.append(f"{where}.host: required for a tcp bus")
        lo, hi = b.get("backoff_min_s"), b.get("backoff_max_s")
        if isinstance(lo, float) and isinstance(hi, float) and lo > hi:
            errors.append(f"{where}.backoff_max_s: must be >= backoff_min_s ({lo:g}), got {hi:g}")
    names: set[str] = set()
    slaves: dict[tuple[str, int], int] = {}
    maps: list[Any] = []
    for i, m in enumerate(values["meters"]):
        where = f"meters[{i}]"
        name, bus, slave = m.get("name"), m.get("bus"), m.get("slave")
        if isinstance(name, str):
            if name in names:
                errors.append(f"{where}.name: {name!r} is already used")
            names.add(name)
        if isinstance(bus, str) and bus not in buses:
            errors.append(f"{where}.bus: {bus!r} is not a [[meter_buses]] name")
        if isinstance(bus, str) and isinstance(slave, int):
            if (bus, slave) in slaves:
                errors.append(f"{where}.slave: {slave} on bus {bus!r} is already meters[{slaves[bus, slave]}]")
            slaves.setdefault((bus, slave), i)
        loaded = None
        if isinstance(m.get("map"), str) and m["map"].strip():
            try:
                loaded = load_map(m["map"], base_dir=base)
            except MapError as exc:
                errors.extend(f"{where}.map: {e}" for e in exc.errors)
        maps.append(loaded)
    if errors:
        return (), ()
    return (tuple(MeterBusSettings(**b) for b in values["meter_buses"]),
            tuple(MeterSettings(register_map=loaded, **m) for m, loaded in zip(values["meters"], maps)))


# -- goods-pass gate (issue 7): [goods_gate] ---------------------------------------------------

SCHEMA["goods_gate"] = Section(doc="goods-pass gate (物品放行): a QR scanner, verdict LEDs and buzzer", keys={
    "name": Key("str", default="gate", check=_check_name, doc="the gate's name, in every goods_pass.* event"),
    "scanner_port": Key("str", check=check_nonempty,
                        doc="the scanner's serial device or pyserial URL (required with [goods_gate])"),
    "scanner_baud": Key("int", default=9600, choices=STANDARD_BAUDS, doc="scanner serial speed"),
    "terminator": Key("str", default="any", choices=("any", "cr", "lf", "crlf"),
                      doc="what ends a scanned line: CR, LF or CRLF (any: each of them)"),
    "max_line": Key("int", default=512, min=16, max=4096, doc="longest scanned line accepted, bytes"),
    "repeat_window_s": Key("float", default=2.0, min=0, max=60,
                           doc="the same code again within this many seconds is one scan"),
    "public_key_file": Key("path", default="site-signing.pub",
                           doc="the site's Ed25519 public key (PEM) that signs goods passes"),
    "ledger": Key("path", default="goods-gate.db",
                  doc="SQLite file of passes released here and the last revocations"),
    "green_pin": Key("pin", doc="green LED: pass released (optional)"),
    "red_pin": Key("pin", doc="red LED: pass refused (optional)"),
    "buzzer_pin": Key("pin", doc="buzzer: short beep released, long beep refused (optional)"),
    "active_high": Key("bool", default=True, doc="a high pin lights the LED / sounds the buzzer"),
    "show_s": Key("float", default=3.0, min=0.1, max=60, doc="how long the verdict LED stays lit, seconds"),
    "release_pin": Key("pin", doc="the guard's release button (required with [goods_gate])"),
    "deny_pin": Key("pin", doc="the guard's deny button (required with [goods_gate])"),
    "buttons_pull_up": Key("bool", default=True,
                           doc="button inputs use the internal pull-up: pressed when pulled low"),
    "decision_timeout_s": Key("float", default=60.0, min=0.01, max=3600,
                              doc="how long a valid pass waits for release/deny before it is "
                                  "denied (reason timeout), seconds"),
})


@dataclass(frozen=True)
class GoodsGateSettings:
    """The goods-pass gate on this node (see ``SCHEMA["goods_gate"]``). ``public_key``: the PEM
    bytes read from ``public_key_file`` at load time; times in seconds."""

    scanner_port: str
    public_key: bytes = field(repr=False)
    ledger: Path
    name: str = "gate"
    scanner_baud: int = 9600
    terminator: str = "any"
    max_line: int = 512
    repeat_window_s: float = 2.0
    public_key_file: Path | None = None
    green_pin: int | str | None = None
    red_pin: int | str | None = None
    buzzer_pin: int | str | None = None
    active_high: bool = True
    show_s: float = 3.0
    release_pin: int | str | None = None
    deny_pin: int | str | None = None
    buttons_pull_up: bool = True
    decision_timeout_s: float = 60.0


def _goods_gate_section(data: Mapping[str, Any], values: dict[str, Any], pins: dict[str, str],
                        errors: list[str]) -> GoodsGateSettings | None:
    """``[goods_gate]`` cross-key rules: only when the table is present; the key file is read
    (and checked to be an Ed25519 public key) here so its problems are listed with the others."""
    if "goods_gate" not in data:
        return None
    g = values["goods_gate"]
    if not g.get("scanner_port"):
        if "scanner_port" not in (data.get("goods_gate") or {}):
            errors.append("goods_gate.scanner_port: required")
    for key in ("release_pin", "deny_pin"):
        if g.get(key) is None:
            errors.append(f"goods_gate.{key}: required")
    for key in ("green_pin", "red_pin", "buzzer_pin", "release_pin", "deny_pin"):
        pin = g.get(key)
        if pin is not None:
            norm = _pin_key(pin)
            if norm in pins:
                errors.append(f"goods_gate.{key}: pin {pin!r} is already used by {pins[norm]}")
            else:
                pins[norm] = f"goods_gate.{key}"
    key_bytes = b""
    path = g.get("public_key_file")
    if isinstance(path, Path):
        from .passes.errors import PassError
        from .passes.verify import load_public_key
        try:
            key_bytes = path.read_bytes()
            load_public_key(key_bytes)
        except OSError as exc:
            errors.append(f"goods_gate.public_key_file: cannot read {path}: {exc.strerror or exc}")
        except PassError as exc:
            errors.append(f"goods_gate.public_key_file: {path}: {exc}")
    if errors:
        return None
    return GoodsGateSettings(
        name=g["name"], scanner_port=g["scanner_port"], scanner_baud=g["scanner_baud"],
        terminator=g["terminator"], max_line=g["max_line"], repeat_window_s=g["repeat_window_s"],
        public_key=key_bytes, public_key_file=path, ledger=g["ledger"], green_pin=g["green_pin"],
        red_pin=g["red_pin"], buzzer_pin=g["buzzer_pin"], active_high=g["active_high"],
        show_s=g["show_s"], release_pin=g["release_pin"], deny_pin=g["deny_pin"],
        buttons_pull_up=g["buttons_pull_up"], decision_timeout_s=g["decision_timeout_s"])


# -- intercom panel (issue 6): [intercom] -----------------------------------------------------

_UNIT_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")


def _is_unit_pins(v: Any) -> bool:
    return isinstance(v, dict) and all(isinstance(k, str) and _is_pin(p) for k, p in v.items())


_TYPES["table[pin]"] = ValueType("a table of unit = pin", _is_unit_pins)


def _check_units(v: Mapping[str, Any] | tuple[str, ...]) -> str | None:
    bad = [u for u in v if not _UNIT_RE.match(u)]
    return f"units must match [a-z0-9][a-z0-9-]{{0,31}}, bad: {bad}" if bad else None


SCHEMA["intercom"] = Section(doc="intercom panel (对讲): call buttons / keypad, help button, LED, buzzer, door", keys={
    "name": Key("str", default="panel", check=_check_name, doc="the panel's name, in every intercom.* event"),
    "buttons": Key("table[pin]", default={}, check=_check_units,
                   doc="one call button per unit: { \"1201\" = 17, ... } (unit -> gpiozero pin)"),
    "keypad_d0": Key("pin", doc="Wiegand keypad DATA0 pin: the visitor keys a unit number and #"),
    "keypad_d1": Key("pin", doc="Wiegand keypad DATA1 pin (with keypad_d0)"),
    "keypad_units": Key("list[str]", default=(), check=_check_units,
                        doc="units the keypad may call (empty: any number keyed)"),
    "keypad_max_digits": Key("int", default=6, min=1, max=16, doc="longest unit number keyed"),
    "keypad_timeout_s": Key("float", default=10.0, min=0.5, max=600,
                            doc="keys older than this many seconds are forgotten"),
    "emergency_pin": Key("pin", doc="emergency/help button (紧急求助): intercom.emergency alarm"),
    "pull_up": Key("bool", default=True, doc="buttons switch to ground (internal pull-up)"),
    "bounce_ms": Key("int", default=20, min=0, max=10_000, doc="button debounce, ms (0: none)"),
    "led_pin": Key("pin", doc="panel LED: on while calling/answered (optional)"),
    "buzzer_pin": Key("pin", doc="panel buzzer: ring, door-open buzz, no-answer beep (optional)"),
    "active_high": Key("bool", default=True, doc="a high pin lights the LED / sounds the buzzer"),
    "door_pin": Key("pin", doc="door strike relay the desk opens with intercom.open (optional)"),
    "door_active_high": Key("bool", default=True, doc="a high pin energises the strike relay"),
    "door_safe_state": Key("str", default="off", choices=("off", "on"),
                           doc="strike relay state at boot and at rest (on: maglock)"),
    "door_pulse_s": Key("float", default=5.0, min=0.1, max=60, doc="door strike pulse, seconds"),
    "ring_s": Key("float", default=1.0, min=0.05, max=30, doc="buzzer ring per call, seconds"),
    "call_window_s": Key("float", default=30.0, min=0, max=3_600,
                         doc="re-presses for a unit within this many seconds of its call are "
                             "counted, not a new call"),
    "answer_timeout_s": Key("float", default=60.0, min=1, max=3_600,
                            doc="a call not answered within this many seconds is intercom.timeout"),
    "emergency_window_s": Key("float", default=10.0, min=0, max=3_600,
                              doc="help presses within this many seconds of the last alarm are counted"),
    "scanner_port": Key("str", check=check_nonempty,
                        doc="QR scanner for visitor invites: serial device or pyserial URL (optional; needs door_pin)"),
    "scanner_baud": Key("int", default=9600, choices=STANDARD_BAUDS, doc="scanner serial speed"),
    "scanner_repeat_s": Key("float", default=2.0, min=0, max=60,
                            doc="the same code again within this many seconds is one scan"),
    "public_key_file": Key("path", default="site-signing.pub",
                           doc="the site's Ed25519 public key (PEM) that signs invites (with scanner_port)"),
    "invite_ledger": Key("path", default="intercom-invites.db",
                         doc="SQLite file of invite uses and revocations (with scanner_port)"),
})


@dataclass(frozen=True)
class IntercomSettings:
    """The intercom panel on this node (see ``SCHEMA["intercom"]``). ``buttons``: unit -> pin;
    times in seconds except ``bounce_ms``."""

    name: str = "panel"
    buttons: Mapping[str, int | str] = field(default_factory=dict)
    keypad_d0: int | str | None = None
    keypad_d1: int | str | None = None
    keypad_units: tuple[str, ...] = ()
    keypad_max_digits: int = 6
    keypad_timeout_s: float = 10.0
    emergency_pin: int | str | None = None
    pull_up: bool = True
    bounce_ms: int = 20
    led_pin: int | str | None = None
    buzzer_pin: int | str | None = None
    active_high: bool = True
    door_pin: int | str | None = None
    door_active_high: bool = True
    door_safe_state: str = "off"
    door_pulse_s: float = 5.0
    ring_s: float = 1.0
    call_window_s: float = 30.0
    answer_timeout_s: float = 60.0
    emergency_window_s: float = 10.0
    scanner_port: str | None = None
    scanner_baud: int = 9600
    scanner_repeat_s: float = 2.0
    public_key_file: Path | None = None
    invite_ledger: Path | None = None
    public_key: bytes = field(default=b"", repr=False)


def _intercom_section(data: Mapping[str, Any], values: dict[str, Any], pins: dict[str, str],
                      errors: list[str]) -> IntercomSettings | None:
    """``[intercom]`` cross-key rules (only when the table is present): keypad pins in pairs, at
    least one way to call, no pin used twice (here or by another section)."""
    if "intercom" not in data:
        return None
    s = values["intercom"]
    if (s.get("keypad_d0") is None) != (s.get("keypad_d1") is None):
        errors.append("intercom.keypad_d1: keypad_d0 and keypad_d1 go together")
    if not s.get("buttons") and s.get("keypad_d0") is None and s.get("emergency_pin") is None:
        errors.append("intercom.buttons: give call buttons, a keypad (keypad_d0/d1) or an emergency_pin")
    used = [(f"buttons.{u}", p) for u, p in (s.get("buttons") or {}).items()]
    used += [(k, s.get(k)) for k in ("keypad_d0", "keypad_d1", "emergency_pin", "led_pin",
                                     "buzzer_pin", "door_pin")]
    for key, pin in used:
        if pin is None:
            continue
        norm = _pin_key(pin)
        if norm in pins:
            errors.append(f"intercom.{key}: pin {pin!r} is already used by {pins[norm]}")
        else:
            pins[norm] = f"intercom.{key}"
    key_bytes = b""
    if s.get("scanner_port"):
        if s.get("door_pin") is None:
            errors.append("intercom.scanner_port: invites open the door, so door_pin is required")
        path = s.get("public_key_file")
        if isinstance(path, Path):
            from .passes.errors import PassError
            from .passes.verify import load_public_key
            try:
                key_bytes = path.read_bytes()
                load_public_key(key_bytes)
            except OSError as exc:
                errors.append(f"intercom.public_key_file: cannot read {path}: {exc.strerror or exc}")
            except PassError as exc:
                errors.append(f"intercom.public_key_file: {path}: {exc}")
    if errors:      # bad values are None in ``s``; the caller raises with every problem
        return None
    return IntercomSettings(**{**s, "buttons": dict(s["buttons"]), "public_key": key_bytes,
                               "keypad_units": tuple(s["keypad_units"])})


# -- validation ----------------------------------------------------------------------------------

def _validate_table(prefix: str, table: Any, section: Section, base_dir: Path,
                    errors: list[str]) -> dict[str, Any]:
    return validate_table(prefix, table, section, base_dir, errors, types=_TYPES)


def _read_secret(path: Path | None, where: str, errors: list[str]) -> str | None:
    return read_secret(path, where, errors)


def _check_client_cert(mqtt: Mapping[str, Any], errors: list[str]) -> bool:
    """Cross-key rules of ``mqtt.certfile``/``mqtt.keyfile``: both or neither, only with TLS,
    readable PEM files.  Returns True if a usable pair is configured."""
    cert, key = mqtt.get("certfile"), mqtt.get("keyfile")
    if cert is None and key is None:
        return False
    if (cert is None) != (key is None):
        missing = "mqtt.keyfile" if key is None else "mqtt.certfile"
        errors.append(f"{missing}: required with {'mqtt.certfile' if key is None else 'mqtt.keyfile'}")
        return False
    ok = True
    if not mqtt.get("tls"):
        errors.append("mqtt.certfile: only used with tls = true")
        ok = False
    for where, path, marker, what in (
            ("mqtt.certfile", cert, b"-----BEGIN CERTIFICATE-----", "certificate"),
            ("mqtt.keyfile", key, b"PRIVATE KEY-----", "private key")):
        try:
            if marker not in Path(path).read_bytes():
                errors.append(f"{where}: {path} is not a PEM {what}")
                ok = False
        except OSError as exc:
            errors.append(f"{where}: cannot read {path}: {exc.strerror or exc}")
            ok = False
    return ok


def parse_config(data: Mapping[str, Any], *, base_dir: str | os.PathLike[str] = ".",
                 source: Path | None = None) -> NodeConfig:
    """Validate a decoded TOML document; return a :class:`NodeConfig` or raise
    :class:`ConfigError` listing every problem."""
    base = Path(base_dir).resolve()
    errors: list[str] = []
    if not isinstance(data, Mapping):
        raise ConfigError(["config: must be a table"])
    for name in data:
        if name not in SCHEMA and name not in NESTED_SECTIONS:
            errors.append(unknown(name, name, SCHEMA, "section"))
    values: dict[str, Any] = {}
    for sname, section in SCHEMA.items():
        raw = data.get(sname)
        if section.array:
            if raw is None:
                values[sname] = []
            elif not isinstance(raw, list):
                errors.append(f"{sname}: must be an array of tables ([[{sname}]]), got {show(raw)}")
                values[sname] = []
            else:
                values[sname] = [_validate_table(f"{sname}[{i}]", item, section, base, errors)
                                 for i, item in enumerate(raw)]
        else:
            if raw is None:
                if section.required:
                    errors.append(f"{sname}: required section [{sname}] is missing")
                    values[sname] = {k: key.default for k, key in section.keys.items()}
                    values[sname]["__missing__"] = True
                    continue
                raw = {}
            values[sname] = _validate_table(sname, raw, section, base, errors)

    node, mqtt, cmds = values["node"], values["mqtt"], values["commands"]
    # -- cross-key rules ------------------------------------------------------------------
    password: str | None = None
    if "__missing__" not in mqtt:
        raw_mqtt = data["mqtt"] if isinstance(data.get("mqtt"), dict) else {}
        given = [k for k in ("password", "password_file") if k in raw_mqtt]
        client_cert = _check_client_cert(mqtt, errors)
        if len(given) == 2:
            errors.append("mqtt.password_file: give password or password_file, not both")
        elif not given:
            if not client_cert:
                errors.append("mqtt.password: required (or mqtt.password_file, or mqtt.certfile "
                              "and mqtt.keyfile)")
        elif mqtt.get("password_file") is not None:
            password = _read_secret(mqtt["password_file"], "mqtt.password_file", errors)
        else:
            password = mqtt.get("password")
        lo, hi = mqtt.get("reconnect_min_s"), mqtt.get("reconnect_max_s")
        if isinstance(lo, float) and isinstance(hi, float) and lo > hi:
            errors.append(f"mqtt.reconnect_max_s: must be >= reconnect_min_s ({lo:g}), got {hi:g}")
        if mqtt.get("ca_file") is not None and not mqtt.get("tls"):
            errors.append("mqtt.ca_file: only used with tls = true")
    key_bytes: bytes | None = None
    if "__missing__" not in cmds:
        raw_cmds = data["commands"] if isinstance(data.get("commands"), dict) else {}
        given = [k for k in ("key", "key_file") if k in raw_cmds]
        if len(given) == 2:
            errors.append("commands.key_file: give key or key_file, not both")
        elif not given:
            errors.append("commands.key: required (or commands.key_file)")
        elif cmds.get("key") is not None:
            key_bytes = bytes.fromhex(cmds["key"])
        elif cmds.get("key_file") is not None:
            text = _read_secret(cmds["key_file"], "commands.key_file", errors)
            if text is not None:
                problem = _check_hex_key(text)
                if problem:
                    errors.append(f"commands.key_file: the key in {cmds['key_file']} {problem}")
                else:
                    key_bytes = bytes.fromhex(text)
    for sname in ("readers", "inputs", "relays"):
        seen: dict[str, int] = {}
        for i, item in enumerate(values[sname]):
            name = item.get("name")
            if isinstance(name, str):
                if name in seen:
                    errors.append(f"{sname}[{i}].name: {name!r} is already used by {sname}[{seen[name]}]")
                seen.setdefault(name, i)
    pins: dict[str, str] = {}
    for sname in ("inputs", "relays"):
        for i, item in enumerate(values[sname]):
            pin = item.get("pin")
            if pin is None:
                continue
            norm = _pin_key(pin)
            if norm in pins:
                errors.append(f"{sname}[{i}].pin: pin {pin!r} is already used by {pins[norm]}")
            else:
                pins[norm] = f"{sname}[{i}]"
    patrol = values["patrol"]
    patrol_map: dict[str, str] = {}
    reader_names = {r.get("name") for r in values["readers"]}
    for item in patrol.get("readers") or ():
        reader, _, checkpoint = item.partition("=")
        if reader not in reader_names:
            errors.append(f"patrol.readers: {reader!r} is not a [[readers]] name")
        elif reader in patrol_map:
            errors.append(f"patrol.readers: {reader!r} is listed twice")
        patrol_map[reader] = checkpoint or reader
    for key in ("buzzer_pin", "led_pin"):
        pin = patrol.get(key)
        if pin is not None:
            norm = _pin_key(pin)
            if norm in pins:
                errors.append(f"patrol.{key}: pin {pin!r} is already used by {pins[norm]}")
            else:
                pins[norm] = f"patrol.{key}"
    meter_buses, meters = _meter_sections(values, base, errors)
    goods_gate = _goods_gate_section(data, values, pins, errors)
    intercom = _intercom_section(data, values, pins, errors)
    door = _door_section(data, base, errors)
    cabinet = _cabinet_section(data, base, errors)
    sim = values["simulation"]
    if sim.get("enabled") and sim.get("activity") in ("random", "burst") and not values["readers"]:
        errors.append(f"simulation.activity: {sim['activity']!r} presents cards, so at least one "
                      f"[[readers]] is needed")
    if errors:
        raise ConfigError(errors)

    port = mqtt["port"] if mqtt["port"] is not None else (8883 if mqtt["tls"] else 1883)
    return NodeConfig(
        node_id=node["id"], site=node["site"], journal=node["journal"],
        journal_capacity=node["journal_capacity"], health_interval_s=node["health_interval_s"],
        clock_skew_s=node["clock_skew_s"],
        mqtt=MqttSettings(host=mqtt["host"], port=port, username=mqtt["username"] or node["id"],
                          password=password or "", keepalive_s=mqtt["keepalive_s"], tls=mqtt["tls"],
                          ca_file=mqtt["ca_file"], certfile=mqtt["certfile"],
                          keyfile=mqtt["keyfile"], cert_warn_days=mqtt["cert_warn_days"],
                          reconnect_min_s=mqtt["reconnect_min_s"],
                          reconnect_max_s=mqtt["reconnect_max_s"], protocol=mqtt["protocol"],
                          outbox_window=mqtt["outbox_window"]),
        commands=CommandSettings(key=key_bytes or b""),
        gpio=GpioSettings(pin_factory=values["gpio"]["pin_factory"]),
        readers=tuple(ReaderSettings(name=r["name"], kind=r["kind"], port=r["port"], baud=r["baud"])
                      for r in values["readers"]),
        inputs=tuple(InputSettings(name=r["name"], pin=r["pin"], pull_up=r["pull_up"],
                                   bounce_ms=r["bounce_ms"]) for r in values["inputs"]),
        relays=tuple(RelaySettings(name=r["name"], pin=r["pin"], active_high=r["active_high"],
                                   safe_state=r["safe_state"], max_pulse_s=r["max_pulse_s"])
                     for r in values["relays"]),
        simulation=SimulationSettings(enabled=sim["enabled"], activity=sim["activity"],
                                      interval_ms=sim["interval_ms"], cards=tuple(sim["cards"]),
                                      count=sim["count"], seed=sim["seed"]),
        patrol=PatrolSettings(checkpoints=patrol_map, collapse_s=patrol["collapse_s"],
                              buzzer_pin=patrol["buzzer_pin"], led_pin=patrol["led_pin"],
                              active_high=patrol["active_high"], confirm_s=patrol["confirm_s"]),
        meter_buses=meter_buses, meters=meters,
        goods_gate=goods_gate,
        intercom=intercom,
        door=door,
        cabinet=cabinet,
        source=source,
    )


#: Sections with nested tables, validated by their own extension's settings class (which
#: reports every problem it finds); name -> what it configures.
NESTED_SECTIONS: dict[str, str] = {
    "door": "door access (门禁): readers, lock, contact/exit/fire inputs; see edge/extensions/door.py",
    "cabinet": "key cabinet (钥匙委托管理): door, slots on GPIO or Modbus, readers; see edge/cabinet/settings.py",
}


def _door_section(data: Mapping[str, Any], base: Path, errors: list[str]) -> "DoorSettings | None":
    """``[door]``: validated by :meth:`edge.extensions.door.DoorSettings.from_mapping`; its
    problems join the others so they are still all reported at once."""
    raw = data.get("door")
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        errors.append(f"door: must be a table ([door]), got {show(raw)}")
        return None
    from .extensions.door import DoorSettings  # late: the extension imports this module
    try:
        return DoorSettings.from_mapping(raw, base_dir=base)
    except ConfigError as exc:
        errors.extend(exc.errors)
        return None


def _cabinet_section(data: Mapping[str, Any], base: Path, errors: list[str]) -> Any:
    """``[cabinet]`` (issue 8): validated by :meth:`edge.cabinet.settings.CabinetSettings.from_mapping`."""
    raw = data.get("cabinet")
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        errors.append(f"cabinet: must be a table ([cabinet]), got {show(raw)}")
        return None
    from .cabinet.settings import CabinetSettings  # late: keeps this module's imports light
    try:
        return CabinetSettings.from_mapping(raw, base_dir=base)
    except ConfigError as exc:
        errors.extend(exc.errors)
        return None


def _pin_key(pin: int | str) -> str:
    """``17``, ``"17"``, ``"GPIO17"`` and ``"BCM17"`` are the same pin."""
    text = str(pin).strip().upper()
    for prefix in ("GPIO", "BCM"):
        if text.startswith(prefix) and text[len(prefix):].isdigit():
            return str(int(text[len(prefix):]))
    return str(int(text)) if text.isdigit() else text


def load_config(path: str | os.PathLike[str]) -> NodeConfig:
    """Read and validate a TOML config file; raise :class:`ConfigError` with every problem
    (including an unreadable file or a TOML syntax error)."""
    p = Path(path)
    data = load_toml(p, ConfigError)
    return parse_config(data, base_dir=p.resolve().parent, source=p.resolve())
