"""The meters extension in a real Node, over a real broker, reading a pymodbus TCP simulator.
(``make_sim`` comes first so the node is stopped before the simulator.)"""

from __future__ import annotations

import json

from edge_helpers import config_dict, events

from edge.config import parse_config
from mqtt_topics import topics as T


def _node_config(broker, tmp_path, sim, **meter_overrides):
    meters = [{"name": "e-0101", "bus": "gw", "slave": 1, "map": "eastron_sdm120", "unit": "0101",
               "period_s": 0.2},
              {"name": "w-0102", "bus": "gw", "slave": 2, "map": "water_generic", "unit": "0102",
               "period_s": 0.2}]
    return parse_config(config_dict(
        broker, tmp_path,
        meter_buses=[{"name": "gw", "kind": "tcp", "host": sim.host, "tcp_port": sim.port,
                      "timeout_s": 0.25, "gap_ms": 5, "switch_gap_ms": 10, "retries": 0,
                      "backoff_min_s": 30}],
        meters=meters))


def test_node_publishes_meter_telemetry_and_journals_totals(make_sim, broker, probe, start_node,
                                                             tmp_path, sdm120, water):
    sim = make_sim(meters={1: sdm120, 2: water})
    start_node(_node_config(broker, tmp_path, sim))
    telemetry_topic = T.telemetry("test-site", "lobby", "e-0101")
    assert probe.wait_for(lambda ms: any(m.topic == telemetry_topic for m in ms)
                          and len(events(ms, "meter.total")) >= 2, timeout_s=10)
    reading = next(json.loads(m.payload) for m in probe.messages if m.topic == telemetry_topic)
    assert reading["values"]["voltage_v"] == 230.0
    totals = {e.data["meter"]: e.data for e in events(probe.messages, "meter.total")}
    assert totals["w-0102"]["totals"] == {"total_volume_m3": 321.125}
    assert totals["e-0101"]["unit"] == "0101"


def test_node_reports_a_silent_meter_offline_and_keeps_reading_the_other(
        make_sim, broker, probe, start_node, tmp_path, sdm120, water):
    sim = make_sim(meters={1: sdm120, 2: water})
    sim.set_fault(2, "silent")
    node = start_node(_node_config(broker, tmp_path, sim))
    telemetry_topic = T.telemetry("test-site", "lobby", "e-0101")
    assert probe.wait_for(lambda ms: len(events(ms, "meter.offline")) == 1
                          and sum(m.topic == telemetry_topic for m in ms) >= 3, timeout_s=10)
    (offline,) = events(probe.messages, "meter.offline")
    assert offline.data["meter"] == "w-0102" and offline.data["bus"] == "gw"
    assert node.healthy()
