"""Payload types of the contract: one frozen dataclass per payload.

Each has ``to_json() -> bytes`` and ``from_json(raw) -> instance``; ``from_json`` checks
size, JSON syntax, required fields, types and value ranges and raises
:class:`~mqtt_topics.errors.ContractError` naming the offending field.  Timestamps are
integer UTC milliseconds since the epoch.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, TypeVar

from .errors import ContractError
from .topics import check_id, check_name, check_node_id

#: Largest payload accepted on any topic but ``sync/`` (bytes).
MAX_PAYLOAD_BYTES = 64 * 1024
#: Largest ``sync/`` snapshot accepted (bytes); credential lists can be large.
MAX_SYNC_BYTES = 16 * 1024 * 1024
#: Largest integer timestamp accepted (year ~2286) in ms; smaller than 0 is refused too.
_MAX_TS = 10**13

_T = TypeVar("_T")


def dumps(obj: Any) -> bytes:
    """Compact canonical JSON (sorted keys, UTF-8) as bytes."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def _load(raw: bytes | str, what: str, *, limit: int = MAX_PAYLOAD_BYTES) -> dict[str, Any]:
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise ContractError(f"{what}: payload must be bytes, got {type(raw).__name__}")
    if len(raw) > limit:
        raise ContractError(f"{what}: payload of {len(raw)} bytes exceeds the {limit}-byte limit")
    try:
        obj = json.loads(bytes(raw).decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise ContractError(f"{what}: not valid UTF-8 JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise ContractError(f"{what}: payload must be a JSON object, got {type(obj).__name__}")
    return obj


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


class _Fields:
    """Reads typed fields out of a decoded object, collecting the payload name for errors."""

    def __init__(self, obj: Mapping[str, Any], what: str, allowed: set[str]) -> None:
        self.obj, self.what = obj, what
        extra = set(obj) - allowed
        if extra:
            raise ContractError(f"{what}: unknown field(s) {sorted(extra)}")

    def _get(self, key: str, optional: bool) -> Any:
        if key not in self.obj:
            if optional:
                return None
            raise ContractError(f"{self.what}: missing field {key!r}")
        return self.obj[key]

    def str(self, key: str, *, optional: bool = False, max_len: int = 256) -> Any:
        v = self._get(key, optional)
        if v is None and optional:
            return None
        if not isinstance(v, str):
            raise ContractError(f"{self.what}: {key!r} must be a string")
        if len(v) > max_len:
            raise ContractError(f"{self.what}: {key!r} longer than {max_len} characters")
        return v

    def int(self, key: str, *, lo: int = 0, hi: int = 2**63 - 1, optional: bool = False) -> Any:
        v = self._get(key, optional)
        if v is None and optional:
            return None
        if isinstance(v, bool) or not isinstance(v, int):
            raise ContractError(f"{self.what}: {key!r} must be an integer")
        if not lo <= v <= hi:
            raise ContractError(f"{self.what}: {key!r}={v} out of range [{lo}, {hi}]")
        return v

    def ts(self, key: str, *, optional: bool = False) -> Any:
        return self.int(key, lo=0, hi=_MAX_TS, optional=optional)

    def bool(self, key: str) -> bool:
        v = self._get(key, False)
        if not isinstance(v, bool):
            raise ContractError(f"{self.what}: {key!r} must be true or false")
        return v

    def obj_(self, key: str, *, optional: bool = False) -> Any:
        v = self._get(key, optional)
        if v is None and optional:
            return {}
        if not isinstance(v, dict):
            raise ContractError(f"{self.what}: {key!r} must be a JSON object")
        return v


def _check_values(values: Mapping[str, Any], what: str) -> None:
    for k, v in values.items():
        if not isinstance(k, str) or not k:
            raise ContractError(f"{what}: keys must be non-empty strings")
        if isinstance(v, float) and not math.isfinite(v):
            raise ContractError(f"{what}: {k!r} must be finite")


# -- node status ----------------------------------------------------------------------------

NODE_STATES = ("online", "offline")


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """Retained on ``…/status``; the offline form is the node's MQTT Will.

    ``boot_id``: random id of this boot (``[a-z0-9-]{1,32}``); ``ts``: UTC ms;
    ``version``: the lobbygate version running on the node."""

    state: str
    boot_id: str
    ts: int
    version: str

    def __post_init__(self) -> None:
        if self.state not in NODE_STATES:
            raise ContractError(f"status: 'state' must be one of {NODE_STATES}, got {self.state!r}")
        check_id(self.boot_id, "status: boot_id")

    def to_json(self) -> bytes:
        return dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes | str) -> "NodeStatus":
        f = _Fields(_load(raw, "status"), "status", {"state", "boot_id", "ts", "version"})
        return cls(state=f.str("state"), boot_id=f.str("boot_id"), ts=f.ts("ts"),
                   version=f.str("version", max_len=64))


@dataclass(frozen=True, slots=True)
class ConsoleStatus:
    """Retained on ``console/status``; the offline form is the console's Will."""

    state: str
    ts: int
    version: str

    def __post_init__(self) -> None:
        if self.state not in NODE_STATES:
            raise ContractError(f"console status: 'state' must be one of {NODE_STATES}")

    def to_json(self) -> bytes:
        return dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes | str) -> "ConsoleStatus":
        f = _Fields(_load(raw, "console status"), "console status", {"state", "ts", "version"})
        return cls(state=f.str("state"), ts=f.ts("ts"), version=f.str("version", max_len=64))


# -- events ----------------------------------------------------------------------------------


def make_event_id(node: str, boot_id: str, seq: int) -> str:
    """``"<node>:<boot_id>:<seq>"``, unique across restarts because ``seq`` never repeats."""
    return f"{node}:{boot_id}:{seq}"


@dataclass(frozen=True, slots=True)
class EventEnvelope:
    """One event on ``…/event/{kind}``.

    ``seq`` rises by one per event per node and survives restarts; ``ts`` is the node's
    UTC ms when the event happened; ``data`` is the kind's own object (at most 64 KiB)."""

    event_id: str
    node: str
    kind: str
    ts: int
    seq: int
    data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_node_id(self.node)
        check_name(self.kind, "event kind")
        parts = self.event_id.split(":") if isinstance(self.event_id, str) else []
        if len(parts) != 3 or parts[0] != self.node or parts[2] != str(self.seq):
            raise ContractError(
                f"event: event_id must be '<node>:<boot_id>:<seq>' matching node and seq, got {self.event_id!r}")
        check_id(parts[1], "event: boot_id")
        if not isinstance(self.data, Mapping):
            raise ContractError("event: 'data' must be a JSON object")

    @property
    def boot_id(self) -> str:
        """The boot the event was recorded in."""
        return self.event_id.split(":")[1]

    def to_dict(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "node": self.node, "kind": self.kind, "ts": self.ts,
                "seq": self.seq, "data": dict(self.data)}

    def to_json(self) -> bytes:
        return dumps(self.to_dict())

    @classmethod
    def from_json(cls, raw: bytes | str) -> "EventEnvelope":
        f = _Fields(_load(raw, "event"), "event", {"event_id", "node", "kind", "ts", "seq", "data"})
        return cls(event_id=f.str("event_id", max_len=100), node=f.str("node", max_len=32),
                   kind=f.str("kind", max_len=140), ts=f.ts("ts"), seq=f.int("seq", lo=1),
                   data=f.obj_("data"))


# -- telemetry -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Telemetry:
    """Readings on ``…/telemetry/{device}``: ``values`` maps a figure named with its unit
    (``voltage_v``, ``journal_depth``) to a number or short string."""

    device: str
    ts: int
    values: Mapping[str, Any]

    def __post_init__(self) -> None:
        check_name(self.device, "telemetry: device")
        if not isinstance(self.values, Mapping):
            raise ContractError("telemetry: 'values' must be a JSON object")
        _check_values(self.values, "telemetry: values")

    def to_json(self) -> bytes:
        return dumps({"device": self.device, "ts": self.ts, "values": dict(self.values)})

    @classmethod
    def from_json(cls, raw: bytes | str) -> "Telemetry":
        f = _Fields(_load(raw, "telemetry"), "telemetry", {"device", "ts", "values"})
        return cls(device=f.str("device", max_len=140), ts=f.ts("ts"), values=f.obj_("values"))


# -- command result ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommandResult:
    """A node's answer on ``…/cmd_result``: ``error`` is ``None`` when ``ok``, else a
    reason word (``expired``, ``replayed``, ``bad_signature``, ``unsigned``, ``bad_payload``,
    ``unknown_action``, ``failed``) optionally followed by ``: detail``."""

    cmd_id: str
    ok: bool
    error: str | None = None
    ts: int = 0

    def __post_init__(self) -> None:
        if self.ok and self.error:
            raise ContractError("cmd_result: an ok result carries no error")
        if not self.ok and not self.error:
            raise ContractError("cmd_result: a failed result must say why in 'error'")

    @property
    def reason(self) -> str | None:
        """The reason word of ``error`` (before any ``:``)."""
        return self.error.split(":", 1)[0] if self.error else None

    def to_json(self) -> bytes:
        return dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes | str) -> "CommandResult":
        f = _Fields(_load(raw, "cmd_result"), "cmd_result", {"cmd_id", "ok", "error", "ts"})
        return cls(cmd_id=f.str("cmd_id", max_len=64), ok=f.bool("ok"),
                   error=f.str("error", optional=True, max_len=512), ts=f.ts("ts", optional=True) or 0)


# -- sync snapshot -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SyncSnapshot:
    """Retained on ``sync/{dataset}``: the whole dataset at ``version`` (rises by one per
    change). Nodes keep the highest version they have seen and ignore older ones."""

    dataset: str
    version: int
    ts: int
    data: Mapping[str, Any]

    def __post_init__(self) -> None:
        check_name(self.dataset, "sync: dataset")
        if not isinstance(self.data, Mapping):
            raise ContractError("sync: 'data' must be a JSON object")

    def to_json(self) -> bytes:
        return dumps({"dataset": self.dataset, "version": self.version, "ts": self.ts,
                      "data": dict(self.data)})

    @classmethod
    def from_json(cls, raw: bytes | str) -> "SyncSnapshot":
        f = _Fields(_load(raw, "sync", limit=MAX_SYNC_BYTES), "sync", {"dataset", "version", "ts", "data"})
        return cls(dataset=f.str("dataset", max_len=140), version=f.int("version", lo=0),
                   ts=f.ts("ts"), data=f.obj_("data"))
