"""Fixtures for the meter tests: register maps, the pymodbus meter simulator (TCP and RTU over a
pty pair), an injected clock and a recorder standing in for the node's emit/telemetry."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "edge"))

from edge.config import MeterSettings  # noqa: E402
from edge.extensions.meters import BusPoller  # noqa: E402
from hardware.meters import RegisterMap, load_map  # noqa: E402
from hardware.sim.modbus_meter import ModbusMeterSim  # noqa: E402
from edge_helpers import start_node  # noqa: E402,F401 - fixture
from meter_helpers import FakeTime, Recorder, bus_for, bus_settings  # noqa: E402


@pytest.fixture
def sdm120() -> RegisterMap:
    return load_map("eastron_sdm120")


@pytest.fixture
def sdm630() -> RegisterMap:
    return load_map("eastron_sdm630")


@pytest.fixture
def water() -> RegisterMap:
    return load_map("water_generic")


@pytest.fixture(params=["tcp", "rtu"])
def transport(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_sim() -> Iterator[Callable[..., ModbusMeterSim]]:
    """``make_sim(meters={slave: map}, transport="tcp")`` -> an open simulator, closed at teardown."""
    sims: list[ModbusMeterSim] = []

    def make(**kwargs: Any) -> ModbusMeterSim:
        sim = ModbusMeterSim(**kwargs)
        sims.append(sim)
        return sim.open()

    yield make
    for sim in sims:
        sim.close()


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def make_poller(fake_time: FakeTime, recorder: Recorder) -> Iterator[Callable[..., BusPoller]]:
    """``make_poller(sim, [meters], clock=None, **bus_overrides)`` -> an opened :class:`BusPoller`
    on the injected clock (``fake_time`` unless ``clock`` is given), driven from the test thread with ``poller.cycle()``."""
    pollers: list[BusPoller] = []

    def make(sim: ModbusMeterSim, meters: list[MeterSettings], *, clock: FakeTime | None = None,
             **overrides: Any) -> BusPoller:
        t = clock or fake_time
        p = BusPoller(bus_settings(sim, **overrides), meters, emit=recorder.emit,
                      publish_telemetry=recorder.publish, clock=t.ms,
                      monotonic=t.monotonic, wait=t.wait,
                      bus_factory=lambda s: bus_for(sim, s.timeout_s))
        pollers.append(p)
        return p.open()

    yield make
    for p in pollers:
        p.close()
