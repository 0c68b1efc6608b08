"""End to end through a REAL Mosquitto: a cabinet node with its slots on a Modbus I/O module (a
REAL pymodbus server, hardware.sim.modbus_io) loses the module; the console stores
``cabinet.fault``, raises the alarm and shows the slots as ``fault``; the module answers again
and the board shows the keys in."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from cabinet_helpers import cabinet_node_config, live_services, wait_stored
from firmware.probe import wait_until
from hardware.sim.modbus_io import ModbusIoSim
from web.keys.model import KeyRecord
from web.services import ConsoleServices

KEY = bytes(range(101, 133))
SLAVE = 1


@pytest.fixture
def services(broker, tmp_path: Path) -> Iterator[ConsoleServices]:  # type: ignore[no-untyped-def]
    with live_services(broker, tmp_path / "console.db", node_keys={"cabinet": KEY}) as svc:
        yield svc


@pytest.fixture
def sim() -> Iterator[ModbusIoSim]:
    with ModbusIoSim(slaves=(SLAVE,), coils=8, inputs=8) as s:
        for slot in (1, 2):
            s.set_input(SLAVE, slot, True)             # both keys in
        yield s


def _node_config(broker: Any, tmp_path: Path, sim: ModbusIoSim):  # type: ignore[no-untyped-def]
    return cabinet_node_config(
        broker, tmp_path, key=KEY,
        cabinet={"id": "main", "io": "modbus", "door_lock": 0, "door_contact": 0,
                 "poll_s": 0.01, "fault_retry_s": 0.05,
                 "slots": [{"slot": s, "lock": s, "present": s} for s in (1, 2)],
                 "modbus": {"kind": "tcp", "host": sim.host, "tcp_port": sim.port,
                            "slave": SLAVE, "timeout_s": 0.1}})



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
        wait_stored(sub, "cabinet.inventory")

        sim.set_fault(SLAVE, "exception")
        fault = wait_stored(sub, "cabinet.fault")
        assert (fault["data"]["slots"], fault["data"]["reason"]) == ("all", "exception")
        assert _states(services) == {1: "fault", 2: "fault"}
        assert [a.kind for a in services.alarms.open()] == ["cabinet.fault"]

        sim.set_fault(SLAVE, None)
        wait_stored(sub, "cabinet.fault_cleared")
        assert _states(services) == {1: "present", 2: "present"}
    finally:
        sub.close()
