"""Helpers for the meter tests: an injected clock, a recorder of events and telemetry, and bus /
meter settings pointing at a simulator."""

from __future__ import annotations

import threading
from typing import Any, Mapping

from edge.config import MeterBusSettings, MeterSettings
from hardware.meters import RegisterMap
from hardware.modbus import ModbusBus, rtu_bus, tcp_bus
from hardware.sim.modbus_meter import ModbusMeterSim

#: 2026-11-25 10:00:00 UTC, an hour boundary (ms).
HOUR_START_MS = 1_795_600_800_000 - (1_795_600_800_000 % 3_600_000)


class FakeTime:
    """Monotonic seconds and UTC ms that move only when the code under test waits (``wait``)
    or the test calls :meth:`advance`. ``waits`` records every wait asked for (seconds)."""

    def __init__(self, start_ms: int = HOUR_START_MS + 60_000) -> None:
        self.now = 1000.0
        self._t0 = self.now
        self._start_ms = start_ms
        self.waits: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def ms(self) -> int:
        return self._start_ms + int(round((self.now - self._t0) * 1000))

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return False

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Recorder:
    """Stands in for ``NodeContext.emit`` / ``publish_telemetry``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.telemetry: list[tuple[str, dict[str, Any]]] = []

    def emit(self, kind: str, data: Mapping[str, Any]) -> None:
        with self.lock:
            self.events.append((kind, dict(data)))

    def publish(self, device: str, values: Mapping[str, Any]) -> bool:
        with self.lock:
            self.telemetry.append((device, dict(values)))
        return True

    def kinds(self) -> list[str]:
        return [k for k, _ in self.events]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [d for k, d in self.events if k == kind]


#: Short enough to keep the fault tests fast, long enough for a loaded CI machine.
TIMEOUT_S = 0.4



def bus_for(sim: ModbusMeterSim, timeout_s: float = TIMEOUT_S) -> ModbusBus:
    if sim.transport == "tcp":
        return tcp_bus(sim.host, sim.port, timeout_s=timeout_s)
    return rtu_bus(sim.device_path, baudrate=sim.baudrate, timeout_s=timeout_s)


def bus_settings(sim: ModbusMeterSim, **overrides: Any) -> MeterBusSettings:
    if sim.transport == "tcp":
        base: dict[str, Any] = dict(name="bus-1", kind="tcp", host=sim.host, tcp_port=sim.port)
    else:
        base = dict(name="bus-1", kind="rtu", port=sim.device_path, baud=115200)
    base.update(timeout_s=TIMEOUT_S, gap_ms=50, switch_gap_ms=100, retries=1, backoff_min_s=10.0,
                backoff_max_s=40.0)
    base.update(overrides)
    return MeterBusSettings(**base)


def meter(name: str, slave: int, register_map: RegisterMap, **overrides: Any) -> MeterSettings:
    values: dict[str, Any] = dict(name=name, bus="bus-1", slave=slave, map=register_map.name,
                                  register_map=register_map, unit="0101", period_s=10.0,
                                  total_interval_s=900.0)
    values.update(overrides)
    return MeterSettings(**values)
