"""The goods_gate extension in a node against a real broker: pass QR lines typed into a pty by a
simulated scanner, verdict LEDs on mock pins, goods.* events published; revocations from the
retained sync snapshot; decisions with the broker down, published afterwards."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.config import parse_config
from edge.errors import ConfigError
from edge.extensions.goods_gate import GoodsGateExtension
from edge.node import Node
from edge_helpers import SessionProbe, config_dict, events
from firmware.mosquitto import MosquittoBroker
from firmware.probe import MqttProbe, wait_until
from hardware.sim import PtyPair, ScannerSimulator, SimFactory, pin_state
from mqtt_topics import is_alarm
from mqtt_topics import topics as T
from mqtt_topics.passes import REVOCATIONS_DATASET, revocations_snapshot
from pass_helpers import DAY_MS, NOW_MS, SITE, make_token, public_pem, sign

GREEN, RED, BUZZER = 23, 24, 25


@pytest.fixture
def factory():
    f = SimFactory()
    yield f
    f.close()


def gate_dict(broker: MosquittoBroker, tmp_path: Path, pty: PtyPair, key: Ed25519PrivateKey,
              **extra) -> dict:
    (tmp_path / "site-signing.pub").write_bytes(public_pem(key))
    section = {"scanner_port": pty.device_path, "public_key_file": str(tmp_path / "site-signing.pub"),
               "ledger": str(tmp_path / "goods-gate.db"), "green_pin": GREEN, "red_pin": RED,
               "buzzer_pin": BUZZER, "repeat_window_s": 0, "show_s": 60, **extra}
    return config_dict(broker, tmp_path, "gate", goods_gate=section)


class Gate:
    """A started gate node, its scanner simulator and its extension."""

    def __init__(self, node: Node, pty: PtyPair) -> None:
        self.node = node
        self.ext: GoodsGateExtension = node.extensions["goods_gate"]  # type: ignore[assignment]
        self.scanner = ScannerSimulator(pty.write)

    def scan(self, text: str) -> None:
        """Scan ``text`` and wait until the gate has decided on it."""
        before = self.verdicts()
        self.scanner.scan(text)
        assert wait_until(lambda: self.verdicts() > before)

    def verdicts(self) -> int:
        c = self.ext.counters()
        return c["released"] + c["refused"] + c["forged"]


@pytest.fixture
def gate(broker, tmp_path, pty, site_key, factory, ms_clock, start_node) -> Callable[..., Gate]:
    def start(**extra) -> Gate:
        config = parse_config(gate_dict(broker, tmp_path, pty, site_key, **extra))
        return Gate(start_node(config, clock=ms_clock, pin_factory=factory), pty)
    return start


def refused(probe: MqttProbe, reason: str, kind: str = "goods.refused") -> bool:
    return probe.wait_for(lambda ms: any(e.data["reason"] == reason for e in events(ms, kind)))


def test_a_valid_pass_is_released_with_green_light_and_the_item_count(
        gate, probe, site_key, factory) -> None:
    g = gate()
    g.scan(sign(site_key, make_token()))
    assert probe.wait_for(lambda ms: events(ms, "goods.released"))
    [ev] = events(probe.messages, "goods.released")
    assert ev.node == "gate" and ev.data["pass_id"] == "gp-2611-0007"
    assert ev.data["items"] == 4 and ev.data["unit"] == "3-2-501" and ev.data["gate"] == "gate"
    assert pin_state(factory, GREEN) and not pin_state(factory, RED)


def test_the_second_scan_of_a_pass_is_already_used(gate, probe, site_key, factory) -> None:
    g = gate()
    text = sign(site_key, make_token())
    g.scan(text)
    g.scan(text)
    assert refused(probe, "already_used")
    assert len(events(probe.messages, "goods.released")) == 1
    assert pin_state(factory, RED) and not pin_state(factory, GREEN)


def test_a_pass_released_here_stays_used_after_a_restart(
        broker, tmp_path, pty, site_key, factory, ms_clock, probe) -> None:
    config = parse_config(gate_dict(broker, tmp_path, pty, site_key))
    text = sign(site_key, make_token())
    with Node(config, clock=ms_clock, pin_factory=factory, drain_s=0.5) as first:
        Gate(first, pty).scan(text)
    with Node(config, clock=ms_clock, pin_factory=factory, drain_s=0.5) as again:
        Gate(again, pty).scan(text)
        assert refused(probe, "already_used")


def test_a_pass_revoked_by_the_console_is_refused(gate, probe, console, site_key, factory) -> None:
    g = gate()
    snap = revocations_snapshot(version=1, ts=NOW_MS, revoked=["gp-2611-0007"])
    assert console.publish(T.sync(SITE, REVOCATIONS_DATASET), snap.to_json(), retain=True)
    assert wait_until(lambda: g.ext.counters()["snapshots_applied"] == 1)
    g.scan(sign(site_key, make_token()))
    assert refused(probe, "revoked")
    assert not events(probe.messages, "goods.released")


def test_a_pass_released_at_another_gate_is_already_used_once_synced(
        gate, probe, console, site_key) -> None:
    g = gate()
    snap = revocations_snapshot(version=1, ts=NOW_MS, revoked=[], used=["gp-2611-0007"])
    assert console.publish(T.sync(SITE, REVOCATIONS_DATASET), snap.to_json(), retain=True)
    assert wait_until(lambda: g.ext.counters()["snapshots_applied"] == 1)
    g.scan(sign(site_key, make_token()))
    assert refused(probe, "already_used")


def test_a_forged_pass_is_refused_as_an_alarm(gate, probe, factory) -> None:
    g = gate()
    g.scan(sign(Ed25519PrivateKey.generate(), make_token()))
    assert refused(probe, "bad_signature", kind="goods.forged")
    assert is_alarm("goods.forged") and not is_alarm("goods.refused")
    assert pin_state(factory, RED) and not pin_state(factory, GREEN)


def test_an_expired_pass_is_refused(gate, probe, site_key, ms_clock) -> None:
    g = gate()
    ms_clock.now_ms = NOW_MS + 2 * DAY_MS
    g.scan(sign(site_key, make_token()))
    assert refused(probe, "expired")


def test_a_pass_for_later_is_not_yet_valid(gate, probe, site_key) -> None:
    g = gate()
    g.scan(sign(site_key, make_token(valid_from_ms=NOW_MS + DAY_MS,
                                     valid_until_ms=NOW_MS + 2 * DAY_MS)))
    assert refused(probe, "not_yet_valid")


def test_a_pass_of_another_site_is_wrong_site(gate, probe, site_key) -> None:
    g = gate()
    g.scan(sign(site_key, make_token(site="other-site")))
    assert refused(probe, "wrong_site")


def test_a_product_barcode_is_malformed(gate, probe) -> None:
    g = gate()
    g.scan("6901234567892")
    assert refused(probe, "malformed")
    [ev] = events(probe.messages, "goods.refused")
    assert ev.data["pass_id"] is None and "prefix" in ev.data["detail"]


def test_scanner_noise_is_counted_and_the_gate_goes_on(gate, probe, site_key) -> None:
    g = gate(max_line=256)
    g.scanner.garbage(b"\x00\x13\xff\r\n")
    g.scanner.overlong(300)
    g.scan(sign(site_key, make_token()))
    assert probe.wait_for(lambda ms: events(ms, "goods.released"))
    c = g.ext.counters()
    assert c["scanner_garbage"] == 1 and c["scanner_overlong"] == 1


def test_decisions_go_on_with_the_broker_down_and_are_published_afterwards(
        gate, broker, site_key, factory) -> None:
    g = gate()
    with SessionProbe(broker) as session:
        broker.stop()
        g.scan(sign(site_key, make_token()))
        assert pin_state(factory, GREEN)                          # released with no broker
        broker.start()
        assert session.wait_for(lambda ms: events(ms, "goods.released"), timeout_s=20)


def test_config_without_a_scanner_port_or_with_a_bad_key_is_refused(broker, tmp_path, pty) -> None:
    data = gate_dict(broker, tmp_path, pty, Ed25519PrivateKey.generate())
    del data["goods_gate"]["scanner_port"]
    (tmp_path / "site-signing.pub").write_text("not a key")
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    assert any("goods_gate.scanner_port: required" in e for e in err.value.errors)
    assert any("goods_gate.public_key_file" in e and "Ed25519" in e for e in err.value.errors)


def test_config_refuses_a_verdict_pin_used_twice(broker, tmp_path, pty, site_key) -> None:
    data = gate_dict(broker, tmp_path, pty, site_key, red_pin=GREEN)
    with pytest.raises(ConfigError, match="goods_gate.red_pin: pin 23 is already used"):
        parse_config(data)


def test_a_node_without_the_section_has_no_gate(broker, tmp_path) -> None:
    assert parse_config(config_dict(broker, tmp_path, "gate")).goods_gate is None
