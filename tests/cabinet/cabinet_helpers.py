"""Builders for the key cabinet tests: permissions, a fake clock, machines."""

from __future__ import annotations

from typing import Any

from edge.cabinet import CabinetMachine, KeyPermissions

ALICE, BOB, CAROL, VISITOR = "0A00000001", "0A00000002", "0A00000003", "0A00000009"
RETURNER = "0A00000004"


class FakeClock:
    """Monotonic seconds moved by hand."""

    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def permissions_data() -> dict[str, Any]:
    """Slots 1..4 of cabinet "main": k1 (alice, bob), k2 (alice, carol), k3 two-person (alice,
    bob), slot 4 unassigned; the RETURNER card may take nothing (return only)."""
    return {
        "keys": [{"key": "k1", "cabinet": "main", "slot": 1},
                 {"key": "k2", "cabinet": "main", "slot": 2},
                 {"key": "k3", "cabinet": "main", "slot": 3, "two_person": True},
                 {"key": "elsewhere", "cabinet": "other", "slot": 1}],
        "cards": [{"card": ALICE, "holder": "alice", "keys": ["k1", "k2", "k3"]},
                  {"card": BOB, "holder": "bob", "keys": ["k1", "k3"]},
                  {"card": CAROL, "holder": "carol", "keys": ["k2"]},
                  {"card": RETURNER, "holder": "ret", "keys": []}],
    }


def permissions(version: int = 1) -> KeyPermissions:
    return KeyPermissions.from_data(permissions_data(), cabinet="main", slots=[1, 2, 3, 4],
                                    version=version)


def machine(clock: FakeClock, **kwargs: Any) -> CabinetMachine:
    """A machine with slots 1..3 full, 4 empty, door closed, after power-up."""
    m = CabinetMachine(cabinet="main", slots=[1, 2, 3, 4], permissions=permissions(), clock=clock,
                       wall=lambda: int(clock() * 1000), **kwargs)
    m.power_up({1: True, 2: True, 3: True, 4: False})
    return m


def kinds(events: list[dict]) -> list[str]:
    return [e["kind"] for e in events]


# -- an extension outside a node: a NodeContext whose emit records events --------------------------

import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable  # noqa: E402

from edge.counters import CounterRegistry  # noqa: E402
from edge.extensions.base import NodeContext  # noqa: E402
from mqtt_topics import EventEnvelope, SyncSnapshot  # noqa: E402


class Recorder:
    """Events an extension emits, with waiting on a condition (no sleeps)."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self._cond = threading.Condition()

    def emit(self, kind: str, data: dict) -> EventEnvelope:
        with self._cond:
            self.events.append({"kind": kind, "data": dict(data)})
            seq = len(self.events)
            self._cond.notify_all()
        return EventEnvelope(event_id=f"cabinet:test:{seq}", node="cabinet", kind=kind,
                             ts=int(time.time() * 1000), seq=seq, data=dict(data))

    def wait_kind(self, kind: str, *, count: int = 1, timeout_s: float = 5.0) -> list[dict]:
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self.of(kind)) >= count, timeout_s)
        assert ok, f"no {count}x {kind} in {kinds(self.events)}"
        return self.of(kind)

    def of(self, kind: str) -> list[dict]:
        return [e for e in list(self.events) if e["kind"] == kind]


def context(recorder: Recorder, pin_factory: object = None,
            syncs: dict[str, Callable] | None = None,
            commands: dict[str, Callable] | None = None) -> NodeContext:
    """A NodeContext for an extension under test; ``syncs`` collects the sync handlers,
    ``commands`` the command handlers."""
    handlers = syncs if syncs is not None else {}
    cmd_handlers = commands if commands is not None else {}
    return NodeContext(config=None, boot_id="testboot", emit=recorder.emit,  # type: ignore[arg-type]
                       publish_telemetry=lambda d, v: False, register_command=lambda a, h: cmd_handlers.__setitem__(a, h),
                       register_sync=lambda ds, h: handlers.__setitem__(ds, h),
                       open_serial=lambda r: None, pin_factory=pin_factory,  # type: ignore[arg-type]
                       counters=CounterRegistry(), health_figures=dict,
                       clock=lambda: int(time.time() * 1000))


def write_permissions_cache(path: Path, version: int = 1) -> None:
    """The cached key-permissions snapshot a node would have written (offline start)."""
    path.write_bytes(SyncSnapshot(dataset="key-permissions", version=version,
                                  ts=int(time.time() * 1000), data=permissions_data()).to_json())
