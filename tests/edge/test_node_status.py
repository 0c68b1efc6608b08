"""The node's retained status: online on every (re)connect, offline on a clean stop, and the
Will (offline) when the process dies without a word."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from edge.node import Node
from edge_helpers import NodeProcess, config_dict, node_config, probe_for, statuses, write_config
from firmware.mosquitto import MosquittoBroker
from firmware.probe import MqttProbe, wait_until


def retained_status(broker: MosquittoBroker, node: str = "lobby") -> dict | None:
    """What a client subscribing now is told: the retained status, or None."""
    with probe_for(broker, "observer") as fresh:
        fresh.wait_for(lambda ms: statuses(ms, node), timeout_s=2)
        found = statuses(fresh.messages, node)
    if not found:
        return None
    payload, retained = found[-1]
    assert retained
    return payload


def test_online_status_is_retained_with_the_boot_id(
        broker: MosquittoBroker, tmp_path: Path, start_node: Callable[..., Node]) -> None:
    node = start_node(node_config(broker, tmp_path))
    assert node.bridge.wait_ready(10)
    status = retained_status(broker)
    assert status["state"] == "online" and status["boot_id"] == node.boot_id


def test_clean_stop_leaves_a_retained_offline_status(
        broker: MosquittoBroker, tmp_path: Path, start_node: Callable[..., Node]) -> None:
    node = start_node(node_config(broker, tmp_path))
    assert node.bridge.wait_ready(10)
    node.stop()
    status = retained_status(broker)
    assert status["state"] == "offline" and status["boot_id"] == node.boot_id


def test_will_marks_the_node_offline_when_its_process_is_killed(
        broker: MosquittoBroker, probe: MqttProbe, tmp_path: Path,
        node_processes: list[NodeProcess]) -> None:
    path = write_config(tmp_path / "node.toml", config_dict(broker, tmp_path))
    proc = NodeProcess(path, tmp_path / "node.log").start()
    node_processes.append(proc)
    assert probe.wait_for(lambda ms: any(s["state"] == "online" for s, _ in statuses(ms)),
                          timeout_s=15), proc.log()
    boot_id = next(s["boot_id"] for s, _ in statuses(probe.messages) if s["state"] == "online")
    proc.kill()
    assert probe.wait_for(lambda ms: any(s["state"] == "offline" for s, _ in statuses(ms)))
    status = retained_status(broker)
    assert status["state"] == "offline" and status["boot_id"] == boot_id


def test_status_is_published_again_after_a_broker_restart(
        broker: MosquittoBroker, tmp_path: Path, start_node: Callable[..., Node]) -> None:
    node = start_node(node_config(broker, tmp_path))
    assert node.bridge.wait_ready(10)
    first = retained_status(broker)
    broker.stop()
    assert wait_until(lambda: not node.bridge.connected)
    broker.start()
    assert wait_until(lambda: node.bridge.counters["connects"] == 2 and node.bridge.ready, timeout_s=10)
    again = retained_status(broker)
    assert again["state"] == "online" and again["boot_id"] == node.boot_id
    assert again["ts"] > first["ts"]  # a new publication, not the copy the broker persisted
