"""The door extension in a node, against a real broker: Wiegand pulse trains on mock pins in,
lock relay and published events out; credentials from the retained sync snapshot or the cache."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import pytest

from edge.access import DoorConfig, hash_pin
from edge.errors import ConfigError
from edge.extensions.door import (DoorExtension, DoorInputSettings, DoorOutputSettings,
                                  DoorReaderSettings, DoorSettings)
from edge.node import Node
from edge_helpers import SITE, SessionProbe, command, events, node_config
from firmware.mosquitto import MosquittoBroker
from firmware.probe import MqttProbe, wait_until
from hardware.sim import SimFactory, WiegandSimulator, pin_state, press
from mqtt_topics import CommandResult, SyncSnapshot
from mqtt_topics import topics as T

D0, D1, LOCK, CONTACT = 5, 6, 22, 17
PIN_HASH = hash_pin("4821", iterations=1000)


def snapshot(version: int = 1) -> SyncSnapshot:
    creds = [{"id": "c-1", "cards": ["w26:123:4567"], "doors": ["lobby"], "holder": "王芳",
              "unit": "3-2-501", "kind": "resident", "pin": PIN_HASH},
             {"id": "c-2", "cards": ["w26:123:4568"], "doors": ["gate-north"], "kind": "staff"}]
    return SyncSnapshot(dataset="credentials", version=version, ts=int(time.time() * 1000),
                        data={"format": 1, "timezone": "Asia/Shanghai", "credentials": creds})


def settings(tmp_path: Path, **kw) -> DoorSettings:
    base = dict(door=DoorConfig(door_id="lobby", unlock_s=60, debounce_s=0.0),
                lock=DoorOutputSettings(pin=LOCK), cache_path=tmp_path / "credentials.json",
                readers=(DoorReaderSettings(name="lobby-in", d0=D0, d1=D1, direction="in"),),
                inputs={"contact": DoorInputSettings(pin=CONTACT)})
    return DoorSettings(**{**base, **kw})


@pytest.fixture
def factory():
    f = SimFactory()
    yield f
    f.close()


def start_door(start_node: Callable[..., Node], broker: MosquittoBroker, tmp_path: Path,
               factory: SimFactory, **kw) -> tuple[Node, DoorExtension]:
    door = DoorExtension(settings(tmp_path, **kw))
    node = start_node(node_config(broker, tmp_path), pin_factory=factory, extensions=[door])
    return node, door


def sync(console: MqttProbe, snap: SyncSnapshot) -> None:
    assert console.publish(T.sync(SITE, "credentials"), snap.to_json(), retain=True)


def applied(door: DoorExtension, n: int = 1) -> bool:
    return wait_until(lambda: door.counters()["snapshots_applied"] >= n)


def test_card_from_the_synced_snapshot_unlocks_and_the_grant_is_published(
        broker, console, probe, tmp_path, factory, start_node) -> None:
    node, door = start_door(start_node, broker, tmp_path, factory)
    assert not pin_state(factory, LOCK)                     # fail-secure strike: unpowered
    sync(console, snapshot())
    assert applied(door)
    WiegandSimulator(factory, D0, D1).present_card(123, 4567)
    assert probe.wait_for(lambda ms: events(ms, "door.granted"))
    assert pin_state(factory, LOCK)                         # unlocked (unlock_s = 60)
    [granted] = events(probe.messages, "door.granted")
    assert granted.data["credential_id"] == "c-1" and granted.data["reader"] == "lobby-in"
    assert granted.data["card"] == "w26:123:4567" and granted.data["holder"] == "王芳"


def test_card_for_another_door_is_denied_and_the_lock_stays_locked(
        broker, console, probe, tmp_path, factory, start_node) -> None:
    node, door = start_door(start_node, broker, tmp_path, factory)
    sync(console, snapshot())
    assert applied(door)
    WiegandSimulator(factory, D0, D1).present_card(123, 4568)
    assert probe.wait_for(lambda ms: events(ms, "door.denied"))
    assert events(probe.messages, "door.denied")[0].data["reason"] == "door_not_allowed"
    assert not pin_state(factory, LOCK)


def test_card_and_pin_on_the_wiegand_keypad(broker, console, probe, tmp_path, factory,
                                            start_node) -> None:
    node, door = start_door(start_node, broker, tmp_path, factory, require_pin=True)
    sync(console, snapshot())
    assert applied(door)
    sim = WiegandSimulator(factory, D0, D1)
    sim.present_card(123, 4567)
    assert wait_until(lambda: door.counters()["pin_pending"] == 1)
    assert not pin_state(factory, LOCK)
    sim.press_keys("4821#")
    assert probe.wait_for(lambda ms: events(ms, "door.granted"))
    assert pin_state(factory, LOCK)


def test_decisions_go_on_with_the_broker_down_and_are_published_afterwards(
        broker, console, tmp_path, factory, start_node) -> None:
    node, door = start_door(start_node, broker, tmp_path, factory)
    sync(console, snapshot())
    assert applied(door)
    with SessionProbe(broker) as session:
        broker.stop()
        WiegandSimulator(factory, D0, D1).present_card(123, 4567)
        assert wait_until(lambda: pin_state(factory, LOCK))   # opened with no broker
        broker.start()
        assert session.wait_for(lambda ms: events(ms, "door.granted"), timeout_s=20)


def test_reboot_without_network_uses_the_cached_credentials(
        broker, console, tmp_path, factory, start_node) -> None:
    first, door = start_door(start_node, broker, tmp_path, factory)
    sync(console, snapshot(version=4))
    assert applied(door)
    first.stop()
    broker.stop()                                           # the console is unreachable
    second_dir = tmp_path / "reboot"
    second_dir.mkdir()
    door2 = DoorExtension(settings(tmp_path))               # same cache file
    start_node(node_config(broker, second_dir), pin_factory=factory, extensions=[door2])
    assert door2.decider.credentials.version == 4
    WiegandSimulator(factory, D0, D1).present_card(123, 4567)
    assert wait_until(lambda: pin_state(factory, LOCK))


def test_door_forced_open_is_an_alarm_event(broker, probe, tmp_path, factory, start_node) -> None:
    start_door(start_node, broker, tmp_path, factory)
    press(factory, CONTACT)                                 # the contact reports "open"
    assert probe.wait_for(lambda ms: events(ms, "door.forced"))


def test_remote_unlock_command_unlocks_and_records_the_operator(
        broker, console, probe, tmp_path, factory, start_node) -> None:
    node, door = start_door(start_node, broker, tmp_path, factory)
    assert node.bridge.wait_ready(10)
    cmd = command("lobby", "door.unlock", int(time.time() * 1000), args={"seconds": 30})
    assert console.publish(T.command(SITE, "lobby", "door.unlock"), cmd.to_json())
    assert probe.wait_for(lambda ms: events(ms, "door.remote"))
    remote = events(probe.messages, "door.remote")[0]
    assert (remote.data["action"], remote.data["by"], remote.data["cmd_id"]) == \
        ("unlock", "tester", cmd.cmd_id)
    assert pin_state(factory, LOCK)


def _result(probe: MqttProbe, cmd_id: str) -> CommandResult:
    found: list[CommandResult] = []

    def arrived(ms: list) -> bool:  # type: ignore[type-arg]
        found[:] = [r for r in (CommandResult.from_json(m.payload) for m in ms
                                if m.topic.endswith("/lobby/cmd_result")) if r.cmd_id == cmd_id]
        return bool(found)
    assert probe.wait_for(arrived), f"no cmd_result for {cmd_id}"
    return found[0]


def test_hold_open_keeps_the_door_unlocked_until_release(
        broker, console, probe, tmp_path, factory, start_node) -> None:
    node, door = start_door(start_node, broker, tmp_path, factory)
    assert node.bridge.wait_ready(10)
    hold = command("lobby", "door.hold_open", int(time.time() * 1000),
                   args={"door": "lobby", "seconds": 1800})
    assert console.publish(T.command(SITE, "lobby", "door.hold_open"), hold.to_json())
    assert _result(probe, hold.cmd_id).ok
    assert pin_state(factory, LOCK)
    release = command("lobby", "door.release", int(time.time() * 1000), args={"door": "lobby"})
    assert console.publish(T.command(SITE, "lobby", "door.release"), release.to_json())
    assert _result(probe, release.cmd_id).ok
    assert wait_until(lambda: not pin_state(factory, LOCK))
    assert probe.wait_for(lambda ms: len(events(ms, "door.remote")) >= 2)
    actions = [(e.data["action"], e.data["by"]) for e in events(probe.messages, "door.remote")]
    assert actions == [("hold_open", "tester"), ("release", "tester")]


@pytest.mark.parametrize("args", [{}, {"seconds": 2 * 24 * 3600}, {"seconds": 60, "door": "gate"}])
def test_hold_open_without_a_valid_time_or_for_another_door_is_refused(
        broker, console, probe, tmp_path, factory, start_node, args) -> None:
    node, door = start_door(start_node, broker, tmp_path, factory)
    assert node.bridge.wait_ready(10)
    hold = command("lobby", "door.hold_open", int(time.time() * 1000), args=args)
    assert console.publish(T.command(SITE, "lobby", "door.hold_open"), hold.to_json())
    result = _result(probe, hold.cmd_id)
    assert not result.ok and result.error
    assert not pin_state(factory, LOCK)


def test_fail_safe_maglock_is_locked_before_node_started_and_after_stop(
        broker, probe, tmp_path, factory, start_node) -> None:
    node, door = start_door(start_node, broker, tmp_path, factory,
                            door=DoorConfig(door_id="lobby", fail_mode="fail_safe"))
    assert pin_state(factory, LOCK)                         # maglock powered = locked
    assert probe.wait_for(lambda ms: events(ms, "node.started"))
    started = events(probe.messages, "node.started")[0]
    assert "door lobby lock (fail_safe): on" in started.data["safe_outputs"]
    node.stop()
    assert door.lock_relay.is_safe


def test_reader_health_counts_bad_frames_per_reader_and_reason(
        broker, tmp_path, factory, start_node) -> None:
    node, door = start_door(start_node, broker, tmp_path, factory)
    sim = WiegandSimulator(factory, D0, D1)
    sim.send_bits("0" + "01111011" + "0001000111010111" + "0")   # parity wrong
    sim.send_bits("10111")                                      # 5 bits: bad length
    assert wait_until(lambda: door.counters()["reader_errors"] == 2)
    assert door.counters()["lobby-in_parity"] == 1 and door.counters()["lobby-in_bad_length"] == 1


# -- settings from a [door] table ----------------------------------------------------------------

def test_settings_from_a_door_table(tmp_path: Path) -> None:
    s = DoorSettings.from_mapping({
        "id": "lobby", "fail_mode": "fail_safe", "unlock_s": 4, "cache": "creds.json",
        "lock": {"pin": 22, "active_high": False},
        "inputs": {"contact": {"pin": 17, "invert": True}, "rex": {"pin": 27}},
        "readers": [{"name": "lobby-in", "kind": "wiegand", "d0": 5, "d1": 6, "direction": "in"},
                    {"name": "lobby-out", "kind": "rdm6300", "port": "/dev/ttyUSB0",
                     "direction": "out"}],
        "antipassback": "soft", "require_pin": True}, base_dir=tmp_path)
    assert (s.door.door_id, s.door.fail_mode, s.door.unlock_s) == ("lobby", "fail_safe", 4)
    assert s.cache_path == tmp_path / "creds.json" and not s.lock.active_high
    assert s.inputs["contact"].invert and [r.kind for r in s.readers] == ["wiegand", "rdm6300"]
    assert s.antipassback == "soft" and s.require_pin


@pytest.mark.parametrize("table,problem", [
    ({"id": "lobby"}, "lock"),
    ({"id": "lobby", "lock": {"pin": 22}, "inputs": {"doorbell": {"pin": 3}}}, "doorbell"),
    ({"id": "lobby", "lock": {"pin": 22}, "readers": [{"name": "r", "kind": "wiegand", "d0": 5}]},
     "d0 and d1"),
    ({"id": "lobby", "lock": {"pin": 22}, "debounce_s": 1.0}, "debounce"),
    ({"id": "lobby", "lock": {"pin": 22},
      "readers": [{"name": "r", "kind": "wiegand", "d0": 5, "d1": 6, "eof_intervals": 0.5}]},
     "eof_intervals must be 0"),
    ({"id": "lobby", "lock": {"pin": 22},
      "readers": [{"name": "r", "kind": "wiegand", "d0": 5, "d1": 6, "gap_s": 0}]}, "gap_s"),
])
def test_bad_door_tables_are_refused_with_the_problem_named(table: dict, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        DoorSettings.from_mapping(table)
