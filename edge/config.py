"""Node configuration: a TOML file validated against a schema written as data.

:data:`SCHEMA` lists every section and key with its type, default, range or choices and a
one-line description; :func:`load_config` reads a file and :func:`parse_config` a mapping, check
*everything* and raise one :class:`~edge.errors.ConfigError` whose ``errors`` name each offending
key by its path (``readers[1].baud: must be one of 1200, 2400, ... got 9601``), so an operator
fixes them all in one go. The result is a tree of frozen dataclasses (:class:`NodeConfig`).

Relative paths (``node.journal``, ``mqtt.password_file``, ``mqtt.ca_file``,
``commands.key_file``) are taken relative to the config file's directory. Secrets given as files
are read when the config is loaded, so a missing file is reported with the other errors.

See ``edge/samples/node.toml`` for a documented example.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from mqtt_topics import ContractError
from mqtt_topics.topics import check_id, check_node_id

from .errors import ConfigError

__all__ = ["Key", "Section", "SCHEMA", "NodeConfig", "MqttSettings", "CommandSettings",
           "GpioSettings", "ReaderSettings", "InputSettings", "RelaySettings",
           "SimulationSettings", "load_config", "parse_config"]

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_CARD_RE = re.compile(r"^[0-9A-Fa-f]{10}$")
_HEX_RE = re.compile(r"^(?:[0-9A-Fa-f]{2})+$")
MIN_COMMAND_KEY_BYTES = 16
STANDARD_BAUDS = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)


# -- the schema, as data ------------------------------------------------------------------------

@dataclass(frozen=True)
class Key:
    """One setting.

    ``type``: ``"str"``, ``"int"``, ``"float"`` (an int is accepted), ``"bool"``, ``"path"``
    (a string, made absolute against the config's directory), ``"pin"`` (an int or a gpiozero
    pin name string), ``"list[str]"``; ``required``; ``default`` (used when absent and not
    required); ``choices``; ``min`` / ``max`` (inclusive, numbers); ``check``: a function that
    returns an error sentence for a bad value or None; ``doc``: one line for the sample/docs."""

    type: str
    required: bool = False
    default: Any = None
    choices: tuple[Any, ...] = ()
    min: float | None = None
    max: float | None = None
    check: Callable[[Any], str | None] | None = None
    doc: str = ""


@dataclass(frozen=True)
class Section:
    """A ``[table]`` (``array=False``) or an ``[[array of tables]]`` (``array=True``)."""

    keys: Mapping[str, Key]
    array: bool = False
    required: bool = False
    doc: str = ""


def _check_node_id(v: str) -> str | None:
    try:
        check_node_id(v)
    except ContractError as exc:
        return str(exc)
    return None


def _check_site(v: str) -> str | None:
    try:
        check_id(v, "site")
    except ContractError as exc:
        return str(exc)
    return None


def _check_name(v: str) -> str | None:
    return None if _NAME_RE.match(v) else f"must match [a-z0-9][a-z0-9_-]{{0,31}}, got {v!r}"


def _check_hex_key(v: str) -> str | None:
    if not _HEX_RE.match(v):
        return "must be an even number of hex digits"
    if len(v) // 2 < MIN_COMMAND_KEY_BYTES:
        return (f"must be at least {MIN_COMMAND_KEY_BYTES} bytes "
                f"({2 * MIN_COMMAND_KEY_BYTES} hex digits), got {len(v) // 2}")
    return None


def _check_cards(v: list[str]) -> str | None:
    bad = [c for c in v if not _CARD_RE.match(c)]
    return f"cards must be 10 hex digits each, bad: {bad}" if bad else None


def _check_nonempty(v: str) -> str | None:
    return None if v.strip() else "must not be empty"


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
        "host": Key("str", required=True, check=_check_nonempty, doc="broker host name or address"),
        "port": Key("int", min=1, max=65_535, doc="broker port (default 1883, or 8883 with tls)"),
        "username": Key("str", doc="broker user (default: the node id)"),
        "password": Key("str", doc="broker password (or password_file)"),
        "password_file": Key("path", doc="file holding the broker password (first line)"),
        "keepalive_s": Key("int", default=30, min=5, max=3_600, doc="MQTT keep-alive, seconds"),
        "tls": Key("bool", default=False, doc="connect with TLS"),
        "ca_file": Key("path", doc="CA certificate bundle for TLS (default: the system's)"),
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
        "port": Key("str", required=True, check=_check_nonempty,
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
}


# -- the result ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class MqttSettings:
    """Broker connection. Delays in seconds."""

    host: str
    port: int
    username: str
    password: str = field(repr=False, default="")
    keepalive_s: int = 30
    tls: bool = False
    ca_file: Path | None = None
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
    simulation: SimulationSettings = SimulationSettings()
    source: Path | None = None


# -- validation ----------------------------------------------------------------------------------

_TYPE_WORDS = {"str": "a string", "int": "an integer", "float": "a number", "bool": "true or false",
               "path": "a path string", "pin": "a pin number or name", "list[str]": "a list of strings"}


def _coerce(key: Key, value: Any, base_dir: Path) -> tuple[Any, str | None]:
    """(value converted, None) or (None, error sentence)."""
    t = key.type
    ok = {
        "str": isinstance(value, str),
        "path": isinstance(value, str) and bool(value),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "pin": (isinstance(value, int) and not isinstance(value, bool) and value >= 0)
               or (isinstance(value, str) and bool(value.strip())),
        "list[str]": isinstance(value, list) and all(isinstance(v, str) for v in value),
    }[t]
    if not ok:
        return None, f"must be {_TYPE_WORDS[t]}, got {_show(value)}"
    if t == "float":
        value = float(value)
        if not math.isfinite(value):
            return None, f"must be a finite number, got {value}"
    if t == "path":
        p = Path(os.path.expanduser(value))
        value = p if p.is_absolute() else (base_dir / p)
    if key.choices and value not in key.choices:
        return None, f"must be one of {', '.join(str(c) for c in key.choices)}, got {_show(value)}"
    if key.min is not None and value < key.min:
        return None, f"must be >= {key.min:g}, got {value}"
    if key.max is not None and value > key.max:
        return None, f"must be <= {key.max:g}, got {value}"
    if key.check is not None:
        problem = key.check(value)
        if problem:
            return None, problem
    if t == "list[str]":
        value = tuple(value)
    return value, None


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return f"a {'table' if isinstance(value, dict) else 'list'}"
    return repr(value)


def _unknown(path: str, name: str, known: Any) -> str:
    near = difflib.get_close_matches(name, list(known), n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    return f"{path}: unknown key{hint}"


def _validate_table(prefix: str, table: Any, section: Section, base_dir: Path,
                    errors: list[str]) -> dict[str, Any]:
    if not isinstance(table, dict):
        errors.append(f"{prefix}: must be a table, got {_show(table)}")
        return {}
    out: dict[str, Any] = {}
    for name in table:
        if name not in section.keys:
            errors.append(_unknown(f"{prefix}.{name}", name, section.keys))
    for name, key in section.keys.items():
        path = f"{prefix}.{name}"
        if name not in table:
            if key.required:
                errors.append(f"{path}: required")
            out[name] = key.default
            continue
        value, problem = _coerce(key, table[name], base_dir)
        if problem:
            errors.append(f"{path}: {problem}")
        out[name] = value
    return out


def _read_secret(path: Path | None, where: str, errors: list[str]) -> str | None:
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        errors.append(f"{where}: cannot read {path}: {exc.strerror or exc}")
        return None
    line = text.strip().splitlines()[0].strip() if text.strip() else ""
    if not line:
        errors.append(f"{where}: {path} is empty")
        return None
    return line


def parse_config(data: Mapping[str, Any], *, base_dir: str | os.PathLike[str] = ".",
                 source: Path | None = None) -> NodeConfig:
    """Validate a decoded TOML document; return a :class:`NodeConfig` or raise
    :class:`ConfigError` listing every problem."""
    base = Path(base_dir).resolve()
    errors: list[str] = []
    if not isinstance(data, Mapping):
        raise ConfigError(["config: must be a table"])
    for name in data:
        if name not in SCHEMA:
            errors.append(_unknown(name, name, SCHEMA).replace(": unknown key", ": unknown section"))
    values: dict[str, Any] = {}
    for sname, section in SCHEMA.items():
        raw = data.get(sname)
        if section.array:
            if raw is None:
                values[sname] = []
            elif not isinstance(raw, list):
                errors.append(f"{sname}: must be an array of tables ([[{sname}]]), got {_show(raw)}")
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
        if len(given) == 2:
            errors.append("mqtt.password_file: give password or password_file, not both")
        elif not given:
            errors.append("mqtt.password: required (or mqtt.password_file)")
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
                          ca_file=mqtt["ca_file"], reconnect_min_s=mqtt["reconnect_min_s"],
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
        source=source,
    )


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
    try:
        with p.open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError([f"{p}: cannot read: {exc.strerror or exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{p}: not valid TOML: {exc}"]) from None
    return parse_config(data, base_dir=p.resolve().parent, source=p.resolve())
