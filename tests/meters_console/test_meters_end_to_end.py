"""End to end: a pymodbus server acting as two meters -> the node's meters extension (a real
Node) -> the real Mosquitto -> the console's ingest -> readings journal, meter state, live
values, the reset alarm and a statement that sums the segments."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "edge"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "web_data"))

from edge.config import parse_config  # noqa: E402
from edge_helpers import config_dict, start_node  # noqa: E402,F401 - fixture
from hardware.meters import load_map  # noqa: E402
from hardware.sim.modbus_meter import ModbusMeterSim  # noqa: E402
from web.meters import period_of  # noqa: E402
from web.services import ServicesConfig, build_services  # noqa: E402
from wd_helpers import SITE, broker_settings  # noqa: E402

from mc_helpers import add_meter, add_unit  # noqa: E402


@pytest.fixture
def sim() -> Iterator[ModbusMeterSim]:
    s = ModbusMeterSim(meters={1: load_map("eastron_sdm120"), 2: load_map("water_generic")})
    with s:
        yield s


@pytest.fixture
def console(tmp_path: Path, broker: Any) -> Iterator[Any]:
    s = build_services(ServicesConfig(db_path=tmp_path / "console.db", site=SITE,
                                      broker=broker_settings(broker), clock_settle_ms=0,
                                      timezone="Asia/Shanghai"))
    s.start()
    assert s.ingest is not None and s.ingest.wait_connected(10)
    yield s
    s.stop()


def _node_config(broker: Any, tmp_path: Path, sim: ModbusMeterSim) -> Any:
    meters = [{"name": "e-a-101", "bus": "gw", "slave": 1, "map": "eastron_sdm120",
               "unit": "A-101", "period_s": 0.2, "total_interval_s": 1},
              {"name": "w-a-101", "bus": "gw", "slave": 2, "map": "water_generic",
               "unit": "A-101", "period_s": 0.2, "total_interval_s": 1}]
    return parse_config(config_dict(
        broker, tmp_path,
        meter_buses=[{"name": "gw", "kind": "tcp", "host": sim.host, "tcp_port": sim.port,
                      "timeout_s": 0.25, "gap_ms": 5, "switch_gap_ms": 10, "retries": 0,
                      "backoff_min_s": 30}],
        meters=meters))


def _wait_event(sub: Any, pred: Any, timeout_s: float = 15.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        item = sub.get(timeout_s=left)
        if item is not None and item[0] == "event" and pred(item[1]):
            return item[1]
    raise AssertionError("the console did not receive the expected meter event in time")


def _total_of(meter: str, value: float | None = None, reason: str | None = None) -> Any:
    def pred(ev: dict) -> bool:
        d = ev.get("data") or {}
        return (ev["kind"] == "meter.total" and d.get("meter") == meter
                and (value is None or value in d["totals"].values())
                and (reason is None or d.get("reason") == reason))
    return pred


def test_modbus_meters_reach_the_console_readings_and_a_reset_is_a_new_segment(
        sim, console, broker, start_node, tmp_path) -> None:
    add_unit(console, "A-101")
    add_meter(console, "e-a-101", "A-101", kind="electricity", node="lobby", bus="gw", slave=1)
    add_meter(console, "w-a-101", "A-101", kind="water", node="lobby", bus="gw", slave=2)
    with console.live.subscribe() as sub:
        start_node(_node_config(broker, tmp_path, sim))
        _wait_event(sub, _total_of("e-a-101"))
        _wait_event(sub, _total_of("w-a-101", 321.125))
        sim.set_value(2, "total_volume_m3", 322.0)
        _wait_event(sub, _total_of("w-a-101", 322.0))
        sim.reset_counters(2, 0.5)
        _wait_event(sub, lambda ev: ev["kind"] == "meter.reset")
        _wait_event(sub, _total_of("w-a-101", 0.5, reason="reset"))
        _wait_event(sub, _total_of("e-a-101"))       # telemetry before it is in too
    m = console.meters
    latest = m.readings.latest("w-a-101", "total_volume_m3")
    assert latest.value == 0.5 and latest.segment == 1 and latest.node == "lobby"
    assert m.readings.latest("e-a-101", "import_energy_kwh").value == pytest.approx(1234.5)
    assert m.readings.state("w-a-101").state == "online"
    assert m.readings.state("w-a-101").resets == 1
    ts, values = m.readings.live("e-a-101")
    assert values["voltage_v"] == 230.0
    assert any(a.kind == "meter.reset" for a in console.alarms.open())
    period = period_of(console.clock(), tz=m.timezone)      # the period running now
    usage = m.readings.usage("w-a-101", "total_volume_m3", period.start, period.end)
    assert usage.amount == pytest.approx(322.0 - 321.125) and usage.resets == 1
    assert m.ingest.counters().get("bad_events", 0) == 0
