"""The [[meter_buses]] / [[meters]] config sections."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import parse_config
from edge.errors import ConfigError


def _config(tmp_path: Path, buses: list[dict], meters: list[dict]) -> dict:
    return {
        "node": {"id": "lobby", "site": "test-site", "journal": str(tmp_path / "j.db")},
        "mqtt": {"host": "localhost", "password": "x"},
        "commands": {"key": "00" * 16},
        "meter_buses": buses, "meters": meters,
    }


def test_a_meter_config_is_parsed_with_its_map_loaded(tmp_path):
    cfg = parse_config(_config(tmp_path, [{"name": "rs485-1", "kind": "rtu", "port": "/dev/ttyUSB0"}],
                               [{"name": "e-0101", "bus": "rs485-1", "slave": 1, "map": "eastron_sdm120"}]))
    (bus,), (m,) = cfg.meter_buses, cfg.meters
    assert (bus.baud, bus.parity, bus.gap_ms, bus.retries) == (9600, "N", 50, 2)
    assert m.register_map.model == "Eastron SDM120" and m.period_s == 10.0


def test_meter_config_problems_are_all_reported(tmp_path):
    buses = [{"name": "rs485-1", "kind": "rtu"}, {"name": "gw", "kind": "tcp", "backoff_min_s": 60,
                                                  "backoff_max_s": 30}]
    meters = [{"name": "a", "bus": "nope", "slave": 1, "map": "eastron_sdm120"},
              {"name": "b", "bus": "gw", "slave": 2, "map": "no_such_map"},
              {"name": "c", "bus": "gw", "slave": 2, "map": "water_generic"},
              {"name": "Bad_Name", "bus": "gw", "slave": 300, "map": "water_generic"}]
    with pytest.raises(ConfigError) as info:
        parse_config(_config(tmp_path, buses, meters))
    text = "\n".join(info.value.errors)
    for expected in ["meter_buses[0].port: required for an rtu bus", "meter_buses[1].host: required",
                     "meter_buses[1].backoff_max_s", "meters[0].bus: 'nope' is not",
                     "meters[1].map: no such map", "meters[2].slave: 2 on bus 'gw' is already meters[1]",
                     "meters[3].name", "meters[3].slave: must be <= 247"]:
        assert expected in text
