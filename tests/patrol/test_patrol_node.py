"""The patrol check-point on a node, against a real broker: a card presented to a simulated
RDM6300 becomes a ``patrol.tap`` event; repeats within the window are counted, not sent."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from edge.config import parse_config
from edge.errors import ConfigError
from edge.journal import utc_ms
from edge.node import Node
from edge_helpers import SessionProbe, config_dict, events, node_config
from firmware.mosquitto import MosquittoBroker
from firmware.probe import MqttProbe, wait_until

CARD_A, CARD_B = "0A00B1C2D3", "0A00000042"
PATROL = {"readers": [{"name": "cp-east", "port": "sim"}, {"name": "desk", "port": "sim"}],
          "patrol": {"readers": ["cp-east=b1-f3-east"], "collapse_s": 60.0,
                     "buzzer_pin": 20, "led_pin": 21, "confirm_s": 10.0},
          "simulation": {"enabled": True, "activity": "idle"}}


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def start_patrol_node(broker: MosquittoBroker, tmp_path: Path, start_node: Callable[..., Node]
                      ) -> tuple[Node, FakeMonotonic]:
    node = start_node(node_config(broker, tmp_path, **PATROL))
    clock = FakeMonotonic()
    node.extensions["patrol"].monotonic = clock
    assert node.simulation.wait_port_open()
    return node, clock


def taps(messages):
    return events(messages, "patrol.tap")


def test_a_tap_at_a_check_point_reader_is_a_patrol_tap_event_with_the_node_timestamp(
        broker: MosquittoBroker, probe: MqttProbe, tmp_path: Path, start_node) -> None:
    node, _ = start_patrol_node(broker, tmp_path, start_node)
    node.simulation.present(CARD_A, reader="cp-east", repeats=3)
    assert probe.wait_for(lambda ms: taps(ms))
    (tap,) = taps(probe.messages)
    assert tap.data == {"checkpoint": "b1-f3-east", "reader": "cp-east", "card": CARD_A,
                        "collapsed": 0}
    assert tap.node == "lobby" and tap.ts > 0
    assert not events(probe.messages, "card.read")          # a check-point tap is not a card.read


def test_other_readers_on_the_node_still_send_card_read(
        broker: MosquittoBroker, probe: MqttProbe, tmp_path: Path, start_node) -> None:
    node, _ = start_patrol_node(broker, tmp_path, start_node)
    node.simulation.present(CARD_A, reader="desk")
    assert probe.wait_for(lambda ms: events(ms, "card.read"))
    assert events(probe.messages, "card.read")[0].data["reader"] == "desk"
    assert not taps(probe.messages)


def test_repeat_taps_within_the_window_are_counted_into_the_next_tap(
        broker: MosquittoBroker, probe: MqttProbe, tmp_path: Path, start_node) -> None:
    node, clock = start_patrol_node(broker, tmp_path, start_node)
    patrol = node.extensions["patrol"]
    # A, B, A, B, A: the reader reports each (the card changed); A and B repeat within 60 s
    for card in (CARD_A, CARD_B, CARD_A, CARD_B, CARD_A):
        node.simulation.present(card, reader="cp-east")
        clock.now += 5
    assert wait_until(lambda: patrol.counters()["reads"] == 5)
    assert patrol.counters()["collapsed"] == 3
    clock.now += 60                                           # the window has passed
    node.simulation.present(CARD_B, reader="cp-east")
    assert probe.wait_for(lambda ms: len(taps(ms)) == 3)
    sent = [(t.data["card"], t.data["collapsed"]) for t in taps(probe.messages)]
    assert sent == [(CARD_A, 0), (CARD_B, 0), (CARD_B, 1)]


def test_a_tap_pulses_the_confirm_buzzer_and_led(
        broker: MosquittoBroker, probe: MqttProbe, tmp_path: Path, start_node) -> None:
    node, _ = start_patrol_node(broker, tmp_path, start_node)
    patrol = node.extensions["patrol"]
    assert not patrol.buzzer.is_energised and not patrol.led.is_energised   # safe at boot
    node.simulation.present(CARD_A, reader="cp-east")
    assert wait_until(lambda: patrol.buzzer.is_energised and patrol.led.is_energised)


def test_taps_made_while_the_broker_is_down_arrive_afterwards_with_their_tap_time(
        broker: MosquittoBroker, tmp_path: Path, start_node) -> None:
    with SessionProbe(broker) as watcher:
        node, _ = start_patrol_node(broker, tmp_path, start_node)
        assert node.bridge.wait_ready(10)
        broker.stop()
        assert wait_until(lambda: not node.bridge.connected)
        node.simulation.present(CARD_A, reader="cp-east")
        assert wait_until(lambda: node.extensions["patrol"].counters()["taps"] == 1)
        assert node.journal.stats().unsent >= 1
        back_at = utc_ms()
        broker.start()
        assert watcher.wait_for(lambda ms: taps(ms), timeout_s=20)
        tap = taps(watcher.messages)[0]
        assert tap.data["card"] == CARD_A and tap.ts <= back_at   # stamped at the tap, not at sending


def test_config_rejects_a_check_point_that_is_not_a_reader(broker: MosquittoBroker,
                                                           tmp_path: Path) -> None:
    data = config_dict(broker, tmp_path, readers=[{"name": "cp-east", "port": "sim"}],
                       patrol={"readers": ["cp-west"], "buzzer_pin": 20},
                       relays=[{"name": "strike", "pin": 20}])
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert any("patrol.readers: 'cp-west'" in e for e in info.value.errors)
    assert any("patrol.buzzer_pin: pin 20 is already used" in e for e in info.value.errors)


def test_config_defaults_the_check_point_id_to_the_reader_name(broker: MosquittoBroker,
                                                               tmp_path: Path) -> None:
    cfg = parse_config(config_dict(broker, tmp_path, readers=[{"name": "cp-east", "port": "sim"}],
                                   patrol={"readers": ["cp-east"]}))
    assert dict(cfg.patrol.checkpoints) == {"cp-east": "cp-east"}
    assert cfg.patrol.collapse_s == 60.0
