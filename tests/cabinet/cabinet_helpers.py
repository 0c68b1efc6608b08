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


# -- a console connected to the test broker ---------------------------------------------------------

from contextlib import contextmanager  # noqa: E402
from typing import Iterator, Mapping  # noqa: E402


@contextmanager
def live_services(broker: Any, db_path: Path, *, node_keys: Mapping[str, bytes] | None = None,
                  clock: Callable[[], int] | None = None) -> Iterator[Any]:
    """Console services on ``db_path`` started against ``broker`` (as user "console"), connected
    (10 s at most), stopped on exit; ``node_keys``: node id -> command key (default none);
    ``clock``: UTC ms (default the wall clock)."""
    from edge_helpers import SITE
    from web.ingest import BrokerSettings
    from web.services import ServicesConfig, build_services

    c = broker.credentials("console")
    svc = build_services(ServicesConfig(
        db_path=db_path, site=SITE, node_keys=dict(node_keys or {}), clock_settle_ms=0,
        broker=BrokerSettings(host=str(c["host"]), port=int(c["port"]), username="console",
                              password=str(c["password"]))), clock=clock)
    svc.start()
    try:
        assert svc.ingest is not None and svc.ingest.wait_connected(10)
        yield svc
    finally:
        svc.stop()


def wait_stored(sub: Any, kind: str, timeout_s: float = 10.0) -> dict:
    """Wait on the console's live feed subscription ``sub`` for a stored event of ``kind`` (the
    handlers have run: the feed is told after the ingest's transaction commits)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        item = sub.get(timeout_s=deadline - time.monotonic())
        if item is not None and item[0] == "event" and item[1]["kind"] == kind:
            return item[1]
    raise AssertionError(f"the console stored no {kind} within {timeout_s} s")


def modbus_cabinet_table(tmp_path: Path, sim: Any, *, slave: int, timeout_s: float | None = None,
                         **extra: Any) -> dict:
    """The ``[cabinet]`` table of cabinet "main" on the Modbus I/O module ``sim`` (a
    ``hardware.sim.modbus_io.ModbusIoSim``, TCP or RTU) at ``slave``: coils door lock 0, slot
    solenoids 1..3; inputs contact 0, key-present 1..3; ``timeout_s``: the module's (default
    the settings'); ``extra``: more cabinet keys (e.g. ``fault_retry_s``)."""
    module: dict[str, Any] = ({"kind": "tcp", "host": sim.host, "tcp_port": sim.port, "slave": slave}
                              if sim.transport == "tcp" else
                              {"kind": "rtu", "port": sim.device_path, "baud": 115200, "slave": slave})
    if timeout_s is not None:
        module["timeout_s"] = timeout_s
    return {"id": "main", "io": "modbus", "door_lock": 0, "door_contact": 0, "poll_s": 0.01,
            **extra, "cache": str(tmp_path / "perm.json"), "state": str(tmp_path / "state.json"),
            "slots": [{"slot": s, "lock": s, "present": s} for s in (1, 2, 3)], "modbus": module}


def cabinet_node_config(broker: Any, tmp_path: Path, *, key: bytes, cabinet: dict,
                        **sections: Any) -> Any:
    """The parsed config of node "cabinet" on ``broker`` (its own credentials, fast reconnects,
    journal under ``tmp_path``) with command key ``key``, the ``[cabinet]`` table ``cabinet``
    and any other ``sections`` (e.g. ``gpio``)."""
    from edge.config import parse_config
    from edge_helpers import SITE

    creds = broker.credentials("cabinet")
    return parse_config({
        "node": {"id": "cabinet", "site": SITE, "journal": str(tmp_path / "cab-journal.db"),
                 "health_interval_s": 3600},
        "mqtt": {"host": creds["host"], "port": creds["port"], "password": creds["password"],
                 "reconnect_min_s": 0.05, "reconnect_max_s": 0.25},
        "commands": {"key": key.hex()},
        **sections,
        "cabinet": cabinet,
    }, base_dir=tmp_path)


# -- a cabinet on GPIO (gpiozero MockFactory pins) --------------------------------------------------

#: Door lock relay and door contact pins; slot -> (solenoid pin, key-present pin).
DOOR_LOCK, CONTACT = 5, 6
SLOTS = {1: (12, 13), 2: (16, 19), 3: (20, 21)}


def gpio_settings(tmp_path: Path) -> Any:
    """Cabinet "main" on the GPIO pins above (release 30 s, polled every 5 ms), its cache and
    state files under ``tmp_path``."""
    from edge.cabinet.io import SlotWiring
    from edge.cabinet.settings import CabinetSettings

    return CabinetSettings(id="main", door_lock=DOOR_LOCK, door_contact=CONTACT,
                           slots=tuple(SlotWiring(slot=s, lock=lock, present=present)
                                       for s, (lock, present) in SLOTS.items()),
                           release_s=30, poll_s=0.005, cache=tmp_path / "perm.json",
                           state=tmp_path / "state.json")


def energised(factory: Any, pin: int) -> bool:
    """Is the MockFactory output ``pin`` driven?"""
    return bool(factory.pin(pin).state)
