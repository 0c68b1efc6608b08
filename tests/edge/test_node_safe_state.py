"""Outputs are in their declared safe state at boot, before any network activity, and again
when the node stops."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Callable, Iterator

import pytest
from gpiozero.pins.mock import MockFactory

from edge.extensions import Extension, NodeContext
from edge.node import Node
from edge_helpers import node_config
from firmware.mosquitto import MosquittoBroker, free_port
from hardware.sim.pins import pin_state

RELAYS = [
    {"name": "strike", "pin": 22, "active_high": True, "safe_state": "off"},    # low
    {"name": "maglock", "pin": 23, "active_high": True, "safe_state": "on"},    # high
    {"name": "gate", "pin": 24, "active_high": False, "safe_state": "off"},     # high (active-low)
]
SAFE_LEVELS = {22: False, 23: True, 24: True}


class PinWitness(Extension):
    """Records the relay pins as the extensions start (which is before the network starts)."""

    name = "witness"

    def __init__(self, factory: MockFactory) -> None:
        self.factory = factory
        self.seen: dict[int, bool] = {}
        self.network_threads: list[str] = []

    def start(self, ctx: NodeContext) -> None:
        self.seen = {pin: pin_state(self.factory, pin) for pin in SAFE_LEVELS}
        self.network_threads = [t.name for t in threading.enumerate()
                                if t.name.startswith("paho") or t.name == "outbox-pump"]


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    f = MockFactory()
    yield f
    f.close()


def test_outputs_are_safe_before_the_network_starts(
        broker: MosquittoBroker, tmp_path: Path, factory: MockFactory,
        start_node: Callable[..., Node]) -> None:
    witness = PinWitness(factory)
    # a broker that is down: the node cannot have talked to anything
    config = node_config(broker, tmp_path, relays=RELAYS, mqtt={"port": free_port()})
    node = start_node(config, pin_factory=factory, extensions=[witness])
    assert witness.seen == SAFE_LEVELS
    assert witness.network_threads == []
    assert {pin: pin_state(factory, pin) for pin in SAFE_LEVELS} == SAFE_LEVELS
    assert node.bridge.counters["connects"] == 0
    first = node.journal.unsent(limit=1)[0]
    assert first.kind == "node.started"
    assert json.loads(first.payload)["data"]["safe_outputs"] == [
        "relay strike: off", "relay maglock: on", "relay gate: off"]


def test_stop_returns_a_pulsed_relay_to_its_safe_state(
        broker: MosquittoBroker, tmp_path: Path, factory: MockFactory,
        start_node: Callable[..., Node]) -> None:
    node = start_node(node_config(broker, tmp_path, relays=RELAYS[:1]), pin_factory=factory)
    node.extensions["relays"].relays["strike"].pulse(60)
    assert pin_state(factory, 22) is True
    node.stop()
    assert [s.state for s in factory.pin(22).states] == [False, True, False]
