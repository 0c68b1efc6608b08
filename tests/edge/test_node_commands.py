"""Signed commands end to end: console -> broker -> node -> cmd_result (+ command.refused)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pytest

from edge.errors import EdgeError
from edge.extensions import Extension, NodeContext
from edge.journal import utc_ms
from edge.node import Node
from edge_helpers import KEYS, SITE, command, events, node_config
from firmware.mosquitto import MosquittoBroker
from firmware.probe import MqttProbe
from hardware.sim.pins import pin_state
from mqtt_topics import CommandEnvelope, CommandResult, EventEnvelope
from mqtt_topics import topics as T

RESULT_TOPIC = T.command_result(SITE, "lobby")
RELAYS = {"relays": [{"name": "strike", "pin": 22, "max_pulse_s": 5}]}


class Exploding(Extension):
    """An extension whose command handler always raises."""

    name = "exploding"

    def start(self, ctx: NodeContext) -> None:
        ctx.register_command("test.explode", self.explode)

    def explode(self, cmd: CommandEnvelope) -> dict:
        raise RuntimeError("boom")


@pytest.fixture
def node(broker: MosquittoBroker, tmp_path: Path, start_node: Callable[..., Node]) -> Node:
    n = start_node(node_config(broker, tmp_path, **RELAYS), extensions=[Exploding()])
    assert n.bridge.wait_ready(10)
    return n


def send(console: MqttProbe, cmd: CommandEnvelope, *, action: str | None = None) -> None:
    """Publish ``cmd`` on lobby's ``cmd/{action}`` topic (default: the envelope's action)."""
    assert console.publish(T.command(SITE, "lobby", action or cmd.action), cmd.to_json())


def result_for(console: MqttProbe, cmd_id: str, *, nth: int = 1) -> CommandResult:
    """The ``nth`` result for ``cmd_id`` (waits for it)."""
    found: list[CommandResult] = []

    def arrived(ms: list) -> bool:
        found[:] = [r for r in (CommandResult.from_json(m.payload) for m in ms
                                if m.topic == RESULT_TOPIC) if r.cmd_id == cmd_id]
        return len(found) >= nth
    assert console.wait_for(arrived), f"no result #{nth} for {cmd_id}"
    return found[nth - 1]


def refused_events(console: MqttProbe, cmd_id: str) -> list[EventEnvelope]:
    """The ``command.refused`` events about ``cmd_id`` (waits for one)."""
    found: list[EventEnvelope] = []

    def arrived(ms: list) -> bool:
        found[:] = [e for e in events(ms, "command.refused") if e.data.get("cmd_id") == cmd_id]
        return bool(found)
    assert console.wait_for(arrived), f"no command.refused for {cmd_id}"
    return found


def test_signed_command_runs_and_gets_an_ok_result(node: Node, console: MqttProbe) -> None:
    cmd = command("lobby", "node.ping", utc_ms())
    send(console, cmd)
    result = result_for(console, cmd.cmd_id)
    assert result.ok and result.error is None


def test_relay_pulse_drives_the_relay_and_journals_relay_pulsed(node: Node, console: MqttProbe) -> None:
    assert pin_state(node.pin_factory, 22) is False  # safe state: off
    cmd = command("lobby", "relay.pulse", utc_ms(), args={"relay": "strike", "seconds": 4})
    send(console, cmd)
    assert result_for(console, cmd.cmd_id).ok
    assert pin_state(node.pin_factory, 22) is True
    assert console.wait_for(lambda ms: events(ms, "relay.pulsed"))
    pulsed = events(console.messages, "relay.pulsed")[0]
    assert dict(pulsed.data) == {"relay": "strike", "seconds": 4, "cmd_id": cmd.cmd_id}


def test_pulse_longer_than_max_pulse_is_refused(node: Node, console: MqttProbe) -> None:
    cmd = command("lobby", "relay.pulse", utc_ms(), args={"relay": "strike", "seconds": 6})
    send(console, cmd)
    result = result_for(console, cmd.cmd_id)
    assert result.reason == "bad_payload" and "max_pulse_s" in result.error
    assert pin_state(node.pin_factory, 22) is False


def _unsigned(now: int) -> CommandEnvelope:
    return CommandEnvelope.create(node="lobby", action="node.ping", issued_by="x", now_ms=now)


@pytest.mark.parametrize("reason, make", [
    ("unsigned", _unsigned),
    ("bad_signature", lambda now: command("lobby", "node.ping", now, key=b"k" * 32)),
    ("expired", lambda now: command("lobby", "node.ping", now, issued_at=now - 600_000)),
    ("not_yet_valid", lambda now: command("lobby", "node.ping", now, issued_at=now + 600_000)),
    ("wrong_node", lambda now: command("gate", "node.ping", now, key=KEYS["lobby"])),
    ("unknown_action", lambda now: command("lobby", "door.fly", now)),
], ids=lambda v: v if isinstance(v, str) else "")
def test_refused_command_is_answered_with_the_reason_and_journalled(
        node: Node, console: MqttProbe, reason: str, make: Callable[[int], CommandEnvelope]) -> None:
    cmd = make(utc_ms())
    send(console, cmd, action=cmd.action)
    result = result_for(console, cmd.cmd_id)
    assert not result.ok and result.reason == reason
    [event] = refused_events(console, cmd.cmd_id)
    assert event.data["reason"] == reason and event.data["action"] == cmd.action


def test_replayed_command_is_refused(node: Node, console: MqttProbe) -> None:
    cmd = command("lobby", "node.ping", utc_ms())
    send(console, cmd)
    assert result_for(console, cmd.cmd_id).ok
    send(console, cmd)
    again = result_for(console, cmd.cmd_id, nth=2)
    assert again.reason == "replayed"
    assert refused_events(console, cmd.cmd_id)[0].data["reason"] == "replayed"


def test_failing_handler_gives_a_failed_result_and_the_node_goes_on(node: Node, console: MqttProbe) -> None:
    bad = command("lobby", "test.explode", utc_ms())
    send(console, bad)
    result = result_for(console, bad.cmd_id)
    assert result.reason == "failed" and "boom" in result.error
    assert node.dispatcher.counters["failed"] == 1
    ping = command("lobby", "node.ping", utc_ms())
    send(console, ping)
    assert result_for(console, ping.cmd_id).ok


BAD_ID = "feedbeef0001"


@pytest.mark.parametrize("counter, topic_action, payload", [
    pytest.param("not_json", "node.ping", b'{"cmd_id": "feedbeef0001", "action": "node.ping", oops',
                 id="not_json"),
    pytest.param("bad_schema", "node.ping", json.dumps({"cmd_id": BAD_ID, "node": "lobby"}).encode(),
                 id="bad_schema"),
    pytest.param("oversized", "node.ping",
                 json.dumps({"cmd_id": BAD_ID, "pad": "x" * 256 * 1024}).encode(), id="oversized_256kb"),
    pytest.param("bad_topic", "Not!An!Action", json.dumps({"cmd_id": BAD_ID}).encode(), id="bad_topic"),
])
def test_bad_payload_is_counted_answered_and_the_node_keeps_working(
        node: Node, console: MqttProbe, counter: str, topic_action: str, payload: bytes) -> None:
    topic = T.command(SITE, "lobby", "node.ping").rsplit("/", 1)[0] + "/" + topic_action
    assert console.publish(topic, payload)
    result = result_for(console, BAD_ID)
    assert result.reason == "bad_payload" and counter in result.error
    assert refused_events(console, BAD_ID)[0].data["reason"] == "bad_payload"
    assert node.bridge.counters[f"bad_payload_{counter}"] == 1
    ping = command("lobby", "node.ping", utc_ms())
    send(console, ping)
    assert result_for(console, ping.cmd_id).ok


def test_command_sent_to_another_actions_topic_is_refused(node: Node, console: MqttProbe) -> None:
    cmd = command("lobby", "relay.pulse", utc_ms(), args={"relay": "strike", "seconds": 1})
    send(console, cmd, action="node.ping")
    assert result_for(console, cmd.cmd_id).reason == "bad_payload"
    assert pin_state(node.pin_factory, 22) is False


def test_a_second_handler_for_an_action_is_refused(node: Node) -> None:
    with pytest.raises(EdgeError):
        node.dispatcher.register("node.ping", lambda cmd: None)
