"""An intercom panel on the lobby node (simulated pins), a hand-moved monotonic clock, and
helpers to send the desk's signed commands and wait for their results/events."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from edge.extensions.intercom import IntercomExtension
from edge.journal import utc_ms
from edge.node import Node
from edge_helpers import KEYS, SITE, events, node_config
from firmware.mosquitto import MosquittoBroker
from firmware.probe import MqttProbe
from hardware.sim import SimFactory, press, release
from mqtt_topics import CommandEnvelope, CommandResult, EventEnvelope
from mqtt_topics import topics as T

BUTTON_1201, BUTTON_1202 = 17, 27
KEYPAD_D0, KEYPAD_D1 = 5, 6
HELP, LED, BUZZER, DOOR = 22, 23, 24, 25
RESULT_TOPIC = T.command_result(SITE, "lobby")
INTERCOM: dict[str, Any] = {"intercom": {
    "name": "lobby-panel", "buttons": {"1201": BUTTON_1201, "1202": BUTTON_1202},
    "keypad_d0": KEYPAD_D0, "keypad_d1": KEYPAD_D1, "keypad_units": ["1201", "1202", "801"],
    "emergency_pin": HELP, "led_pin": LED, "buzzer_pin": BUZZER, "door_pin": DOOR,
    "bounce_ms": 0, "door_pulse_s": 30.0, "ring_s": 30.0,
    "call_window_s": 30.0, "answer_timeout_s": 60.0, "emergency_window_s": 10.0}}


class FakeMonotonic:
    """Seconds that only move when a test moves them."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def start_panel(broker: MosquittoBroker, tmp_path: Path, start_node: Callable[..., Node], **over: Any
                ) -> tuple[Node, IntercomExtension, SimFactory, FakeMonotonic]:
    """The lobby node with the panel of :data:`INTERCOM` (``over`` merged into ``[intercom]``)."""
    factory = SimFactory()
    section = {"intercom": {**INTERCOM["intercom"], **over}}
    node = start_node(node_config(broker, tmp_path, **section), pin_factory=factory)
    panel = node.extensions["intercom"]
    clock = FakeMonotonic()
    panel.monotonic = clock
    return node, panel, factory, clock


def send(console: MqttProbe, action: str, *, args: dict | None = None, signed: bool = True,
         issued_by: str = "desk-li") -> CommandEnvelope:
    """Publish the desk's command ``action`` to the lobby node; returns the envelope."""
    env = CommandEnvelope.create(node="lobby", action=action, issued_by=issued_by, now_ms=utc_ms(),
                                 ttl_ms=60_000, args=args or {})
    if signed:
        env = env.signed(KEYS["lobby"])
    assert console.publish(T.command(SITE, "lobby", action), env.to_json())
    return env


def result_for(console: MqttProbe, cmd_id: str) -> CommandResult:
    found: list[CommandResult] = []

    def arrived(ms: list) -> bool:
        found[:] = [r for r in (CommandResult.from_json(m.payload) for m in ms
                                if m.topic == RESULT_TOPIC) if r.cmd_id == cmd_id]
        return bool(found)
    assert console.wait_for(arrived), f"no result for {cmd_id}"
    return found[0]


def wait_events(probe: MqttProbe, kind: str, n: int = 1) -> list[EventEnvelope]:
    """At least ``n`` events of ``kind`` (waits for them)."""
    assert probe.wait_for(lambda ms: len(events(ms, kind)) >= n), f"fewer than {n} {kind}"
    return events(probe.messages, kind)


def wait_event(sub: Any, kind: str, timeout_s: float = 10.0) -> dict[str, Any]:
    """The first live ``event`` of ``kind`` on the console's live-feed subscription ``sub``
    (fails after ``timeout_s`` seconds, default 10)."""
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        item = sub.get(timeout_s=left)
        if item and item[0] == "event" and item[1].get("kind") == kind:
            return item[1]
    raise AssertionError(f"no {kind} reached the console")


def push(factory: SimFactory, pin: int) -> None:
    """Press and release the simulated button on ``pin``."""
    press(factory, pin)
    release(factory, pin)


def call_1201(factory: SimFactory, sub: Any) -> tuple[dict[str, Any], str]:
    """A visitor presses and releases the lobby panel's 1201 button: the ``intercom.call``
    event the console received (on its live-feed subscription ``sub``) and the call's key
    (``lobby:<call_id>``)."""
    push(factory, BUTTON_1201)
    ev = wait_event(sub, "intercom.call")
    return ev, f"lobby:{ev['data']['call_id']}"
