"""A node in-process against a real broker: simulated wires in, valid event envelopes out."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

from edge.journal import utc_ms
from edge.node import Node
from edge_helpers import SITE, command, events, node_config
from firmware.mosquitto import MosquittoBroker
from firmware.probe import MqttProbe
from mqtt_topics import CommandResult, EventEnvelope, SyncSnapshot, Telemetry
from mqtt_topics import topics as T

SIM_READER = {"readers": [{"name": "lobby-in", "port": "sim"}],
              "inputs": [{"name": "door", "pin": 17, "bounce_ms": 0}],
              "simulation": {"enabled": True, "activity": "idle"}}


def test_simulated_card_read_arrives_as_a_valid_event_envelope(
        broker: MosquittoBroker, probe: MqttProbe, tmp_path: Path, start_node: Callable[..., Node]) -> None:
    node = start_node(node_config(broker, tmp_path, **SIM_READER))
    node.simulation.present("0A00B1C2D3", repeats=3)  # a card held on the antenna: one read
    assert probe.wait_for(lambda ms: events(ms, "card.read"))
    message = next(m for m in probe.messages if m.topic.endswith("/event/card.read"))
    assert message.topic == T.event(SITE, "lobby", "card.read")
    env = EventEnvelope.from_json(message.payload)
    assert env.node == "lobby" and env.boot_id == node.boot_id
    assert env.event_id == f"lobby:{node.boot_id}:{env.seq}"
    assert dict(env.data) == {"reader": "lobby-in", "card": "0A00B1C2D3", "number": 0x00B1C2D3,
                              "facility": 0x0A, "format": "em4100"}


def test_node_started_is_the_first_event_of_a_boot(
        broker: MosquittoBroker, probe: MqttProbe, tmp_path: Path, start_node: Callable[..., Node]) -> None:
    config = node_config(broker, tmp_path, relays=[{"name": "strike", "pin": 22}])
    node = start_node(config)
    assert probe.wait_for(lambda ms: events(ms, "node.started"))
    first = events(probe.messages)[0]
    assert (first.kind, first.seq) == ("node.started", 1)
    assert first.data["boot_id"] == node.boot_id
    assert first.data["safe_outputs"] == ["relay strike: off"]


def test_input_change_is_published(
        broker: MosquittoBroker, probe: MqttProbe, tmp_path: Path, start_node: Callable[..., Node]) -> None:
    node = start_node(node_config(broker, tmp_path, **SIM_READER))
    node.simulation.press("door")
    node.simulation.release("door")
    assert probe.wait_for(lambda ms: len(events(ms, "input.changed")) == 2)
    assert [e.data["active"] for e in events(probe.messages, "input.changed")] == [True, False]


def test_reader_faults_are_counted_and_reported_at_most_once_per_interval(
        broker: MosquittoBroker, probe: MqttProbe, tmp_path: Path, start_node: Callable[..., Node]) -> None:
    node = start_node(node_config(broker, tmp_path, **SIM_READER))
    sim = node.simulation.simulator()
    sim.bad_checksum("0A00B1C2D3")
    sim.bad_checksum("0A00B1C2D4")
    sim.present("0A00B1C2D5")  # journalled after both faults by the same reader thread
    assert probe.wait_for(lambda ms: events(ms, "card.read"))
    faults = events(probe.messages, "reader.fault")
    assert len(faults) == 1
    assert faults[0].data["reader"] == "lobby-in" and faults[0].data["count"] == 1
    assert node.counters.flat()["reader_lobby_in_checksum"] == 2


def test_health_telemetry_carries_the_figures(
        broker: MosquittoBroker, probe: MqttProbe, tmp_path: Path, start_node: Callable[..., Node]) -> None:
    start_node(node_config(broker, tmp_path, node={"health_interval_s": 0.05}))
    topic = T.telemetry(SITE, "lobby", "health")
    assert probe.wait_for(lambda ms: any(m.topic == topic for m in ms))
    health = Telemetry.from_json(next(m.payload for m in probe.messages if m.topic == topic))
    for figure in ("uptime_s", "journal_depth", "oldest_unsent_age_s", "dropped_total",
                   "mqtt_connects", "mqtt_bad_payload_not_json", "commands_refused",
                   "outbox_acked"):
        assert figure in health.values, figure
    assert health.values["mqtt_connects"] == 1


def test_sync_snapshots_reach_handlers_and_older_versions_are_ignored(
        broker: MosquittoBroker, console: MqttProbe, tmp_path: Path,
        start_node: Callable[..., Node]) -> None:
    got: list[int] = []
    arrived = threading.Condition()

    def handler(snapshot: SyncSnapshot) -> None:
        with arrived:
            got.append(snapshot.version)
            arrived.notify_all()

    node = start_node(node_config(broker, tmp_path))
    node.register_sync("credentials", handler)
    assert node.bridge.wait_ready(10)
    topic = T.sync(SITE, "credentials")
    for version in (2, 1, 3):  # 1 arrives after 2: stale
        console.publish(topic, SyncSnapshot(dataset="credentials", version=version, ts=1,
                                            data={"v": version}).to_json())
    with arrived:
        assert arrived.wait_for(lambda: 3 in got, 10)
    assert got == [2, 3]
    assert node.counters.flat()["node_sync_stale"] == 1


def test_node_speaks_mqtt_5_too(
        broker: MosquittoBroker, probe: MqttProbe, console: MqttProbe, tmp_path: Path,
        start_node: Callable[..., Node]) -> None:
    node = start_node(node_config(broker, tmp_path, mqtt={"protocol": "5"}, **SIM_READER))
    node.simulation.present("1F00000001")
    assert probe.wait_for(lambda ms: events(ms, "card.read"))
    ping = command("lobby", "node.ping", utc_ms())
    assert console.publish(T.command(SITE, "lobby", "node.ping"), ping.to_json())
    result_topic = T.command_result(SITE, "lobby")
    assert console.wait_for(lambda ms: any(
        m.topic == result_topic and CommandResult.from_json(m.payload).ok for m in ms))


def test_random_activity_presents_listed_cards_and_toggles_the_first_input(
        broker: MosquittoBroker, probe: MqttProbe, tmp_path: Path,
        start_node: Callable[..., Node]) -> None:
    cards = ["0A00000001", "0A00000002", "0A00000003"]
    start_node(node_config(broker, tmp_path, **{
        **SIM_READER, "simulation": {"enabled": True, "activity": "random", "interval_ms": 5,
                                     "cards": cards, "seed": 42}}))
    assert probe.wait_for(lambda ms: len(events(ms, "card.read")) >= 3 and events(ms, "input.changed"))
    assert {e.data["card"] for e in events(probe.messages, "card.read")} <= set(cards)
    assert events(probe.messages, "input.changed")[0].data == {"input": "door", "active": True}
