"""End to end through a REAL Mosquitto: a cabinet node with its slots on a Modbus I/O module (a
REAL pymodbus server, hardware.sim.modbus_io) loses the module; the console stores
``cabinet.fault``, raises the alarm and shows the slots as ``fault``; the module answers again
and the board shows the keys in."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from edge.config import parse_config
from edge_helpers import SITE
from firmware.probe import wait_until
from hardware.sim.modbus_io import ModbusIoSim
from web.ingest import BrokerSettings
from web.keys.model import KeyRecord
from web.services import ConsoleServices, ServicesConfig, build_services

KEY = bytes(range(101, 133))
SLAVE = 1


@pytest.fixture
def services(broker, tmp_path: Path) -> Iterator[ConsoleServices]:  # type: ignore[no-untyped-def]
    c = broker.credentials("console")
    svc = build_services(ServicesConfig(
        db_path=tmp_path / "console.db", site=SITE, node_keys={"cabinet": KEY}, clock_settle_ms=0,
        broker=BrokerSettings(host=str(c["host"]), port=int(c["port"]), username="console",
                              password=str(c["password"]))))
    svc.start()
    assert svc.ingest is not None and svc.ingest.wait_connected(10)
    yield svc
    svc.stop()


@pytest.fixture
def sim() -> Iterator[ModbusIoSim]:
    with ModbusIoSim(slaves=(SLAVE,), coils=8, inputs=8) as s:
        for slot in (1, 2):
            s.set_input(SLAVE, slot, True)             # both keys in
        yield s


def _node_config(broker: Any, tmp_path: Path, sim: ModbusIoSim):  # type: ignore[no-untyped-def]
    creds = broker.credentials("cabinet")
    return parse_config({
        "node": {"id": "cabinet", "site": SITE, "journal": str(tmp_path / "cab-journal.db"),
                 "health_interval_s": 3600},
        "mqtt": {"host": creds["host"], "port": creds["port"], "password": creds["password"],
                 "reconnect_min_s": 0.05, "reconnect_max_s": 0.25},
        "commands": {"key": KEY.hex()},
        "cabinet": {"id": "main", "io": "modbus", "door_lock": 0, "door_contact": 0,
                    "poll_s": 0.01, "fault_retry_s": 0.05,
                    "slots": [{"slot": s, "lock": s, "present": s} for s in (1, 2)],
                    "modbus": {"kind": "tcp", "host": sim.host, "tcp_port": sim.port,
                               "slave": SLAVE, "timeout_s": 0.1}},
    }, base_dir=tmp_path)


def _wait_stored(svc: ConsoleServices, sub: Any, kind: str, timeout_s: float = 10.0) -> dict:
    """Wait on the live feed for a stored event of ``kind`` (its handlers have run)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        item = sub.get(timeout_s=deadline - time.monotonic())
        if item is not None and item[0] == "event" and item[1]["kind"] == kind:
            return item[1]
    raise AssertionError(f"the console stored no {kind} within {timeout_s} s")


def _states(svc: ConsoleServices) -> dict[int, str]:
    return {s.slot: s.state for s in svc.keys.board.board()[0].slots}


def test_module_fault_reaches_the_board_and_clears(broker, services, start_node, sim,  # type: ignore[no-untyped-def]
                                                   tmp_path) -> None:
    for n in (1, 2):
        services.keys.register.save(KeyRecord(number=f"K-00{n}", label=f"key {n}", cabinet="main",
                                              slot=n, takers=(), max_loan_min=60),
                                    by="admin1", create=True)
    assert services.keys.publish()
    sub = services.live.subscribe()
    try:
        node = start_node(_node_config(broker, tmp_path, sim))
        cabinet = node.extensions["cabinet"]
        assert wait_until(lambda: cabinet.counters().get("snapshots_applied") >= 1)
        _wait_stored(services, sub, "cabinet.inventory")

        sim.set_fault(SLAVE, "exception")
        fault = _wait_stored(services, sub, "cabinet.fault")
        assert (fault["data"]["slots"], fault["data"]["reason"]) == ("all", "exception")
        assert _states(services) == {1: "fault", 2: "fault"}
        assert [a.kind for a in services.alarms.open()] == ["cabinet.fault"]

        sim.set_fault(SLAVE, None)
        _wait_stored(services, sub, "cabinet.fault_cleared")
        assert _states(services) == {1: "present", 2: "present"}
    finally:
        sub.close()
