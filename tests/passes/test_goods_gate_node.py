"""The goods_gate extension in a node against a real broker: pass QR lines typed into a pty by a
simulated scanner, the guard's release/deny buttons and the verdict LEDs on mock pins,
goods_pass.* events published; revocations from the retained sync snapshot; decisions with the
broker down, published afterwards."""

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
from hardware.sim import PtyPair, ScannerSimulator, SimFactory, pin_state, press
from mqtt_topics import is_alarm
from mqtt_topics import topics as T
from mqtt_topics.passes import REVOCATIONS_DATASET, revocations_snapshot
from pass_helpers import DAY_MS, NOW_MS, SITE, make_token, public_pem, sign

GREEN, RED, BUZZER, RELEASE, DENY = 23, 24, 25, 5, 6
PASS_ID = "gp-2611-0007"


@pytest.fixture
def factory():
    f = SimFactory()
    yield f
    f.close()


def gate_dict(broker: MosquittoBroker, tmp_path: Path, pty: PtyPair, key: Ed25519PrivateKey,
              node_id: str = "gate", **extra) -> dict:
    (tmp_path / "site-signing.pub").write_bytes(public_pem(key))
    section = {"name": node_id, "scanner_port": pty.device_path,
               "public_key_file": str(tmp_path / "site-signing.pub"),
               "ledger": str(tmp_path / f"{node_id}-goods-gate.db"), "green_pin": GREEN,
               "red_pin": RED, "buzzer_pin": BUZZER, "release_pin": RELEASE, "deny_pin": DENY,
               "repeat_window_s": 0, "show_s": 60, **extra}
    return config_dict(broker, tmp_path, node_id, goods_gate=section)


class Gate:
    """A started gate node, its scanner simulator, its extension and its button pins."""

    def __init__(self, node: Node, pty: PtyPair, factory: SimFactory) -> None:
        self.node = node
        self.factory = factory
        self.ext: GoodsGateExtension = node.extensions["goods_gate"]  # type: ignore[assignment]
        self.scanner = ScannerSimulator(pty.write)

    def scan(self, text: str) -> None:
        """Scan ``text`` and wait until the gate has shown its verdict."""
        before = self.verdicts()
        self.scanner.scan(text)
        assert wait_until(lambda: self.verdicts() > before)

    def verdicts(self) -> int:
        c = self.ext.counters()
        return c["valid"] + c["rejected"] + c["rescans"]

    def press_release(self) -> None:
        press(self.factory, RELEASE)

    def press_deny(self) -> None:
        press(self.factory, DENY)


@pytest.fixture
def gate(broker, tmp_path, pty, site_key, factory, ms_clock, start_node) -> Callable[..., Gate]:
    def start(**extra) -> Gate:
        config = parse_config(gate_dict(broker, tmp_path, pty, site_key, **extra))
        return Gate(start_node(config, clock=ms_clock, pin_factory=factory), pty, factory)
    return start


def has_event(probe: MqttProbe, kind: str, reason: str | None = None) -> bool:
    """Wait for an event of ``kind`` (with ``reason`` if given)."""
    return probe.wait_for(lambda ms: any(reason is None or e.data.get("reason") == reason
                                         for e in events(ms, kind)))


def rejected(probe: MqttProbe, reason: str) -> bool:
    return has_event(probe, "goods_pass.rejected", reason)


# -- a valid pass and the guard ---------------------------------------------------------------------

def test_a_valid_pass_lights_green_at_once_and_waits_for_the_guard(gate, site_key, factory) -> None:
    g = gate()
    g.scan(sign(site_key, make_token()))
    assert pin_state(factory, GREEN) and not pin_state(factory, RED)
    assert g.ext.pending is not None and g.ext.pending.current is not None
    assert g.ext.ledger.status(PASS_ID) is None                       # not used until released


def test_the_release_button_releases_the_pass_with_its_item_count(gate, probe, site_key) -> None:
    g = gate()
    g.scan(sign(site_key, make_token()))
    g.press_release()
    assert has_event(probe, "goods_pass.released")
    [ev] = events(probe.messages, "goods_pass.released")
    assert ev.node == "gate" and ev.data["pass_id"] == PASS_ID and ev.data["gate"] == "gate"
    assert ev.data["items"] == 4 and ev.data["unit"] == "3-2-501" and ev.data["items_digest"]


def test_the_release_button_marks_the_pass_used_in_the_ledger(gate, site_key) -> None:
    g = gate()
    g.scan(sign(site_key, make_token()))
    g.press_release()
    assert g.ext.ledger.status(PASS_ID) == "already_used"


def test_the_deny_button_denies_the_pass_with_red_light(gate, probe, site_key, factory) -> None:
    g = gate()
    g.scan(sign(site_key, make_token()))
    g.press_deny()
    assert has_event(probe, "goods_pass.denied", "guard")
    assert pin_state(factory, RED) and not pin_state(factory, GREEN)
    assert g.ext.ledger.status(PASS_ID) is None


def test_a_pass_nobody_decides_on_is_denied_for_timeout(gate, probe, site_key, factory) -> None:
    g = gate(decision_timeout_s=0.05)
    g.scan(sign(site_key, make_token()))
    assert has_event(probe, "goods_pass.denied", "timeout")
    assert g.ext.ledger.status(PASS_ID) is None
    assert pin_state(factory, RED) and not pin_state(factory, GREEN)


def test_a_button_pressed_with_no_pass_waiting_is_counted_and_ignored(gate) -> None:
    g = gate()
    g.press_release()
    assert g.ext.counters()["idle_presses"] == 1 and g.ext.counters()["released"] == 0


def test_another_pass_scanned_while_one_waits_supersedes_it(gate, probe, site_key) -> None:
    g = gate()
    g.scan(sign(site_key, make_token()))
    g.scan(sign(site_key, make_token("gp-2611-0008")))
    assert has_event(probe, "goods_pass.denied", "superseded")
    [ev] = events(probe.messages, "goods_pass.denied")
    assert ev.data["pass_id"] == PASS_ID
    assert g.ext.pending is not None and g.ext.pending.current.pass_id == "gp-2611-0008"


def test_a_pass_revoked_while_it_waits_is_rejected_at_release(
        gate, probe, console, site_key) -> None:
    g = gate()
    g.scan(sign(site_key, make_token()))
    snap = revocations_snapshot(version=1, ts=NOW_MS, revoked=[PASS_ID])
    assert console.publish(T.sync(SITE, REVOCATIONS_DATASET), snap.to_json(), retain=True)
    assert wait_until(lambda: g.ext.counters()["snapshots_applied"] == 1)
    g.press_release()
    assert rejected(probe, "revoked")
    assert g.ext.counters()["released"] == 0


# -- used passes ------------------------------------------------------------------------------------

def test_a_released_pass_scanned_again_at_the_same_gate_is_rejected_already_used(
        gate, probe, site_key, factory) -> None:
    g = gate()
    text = sign(site_key, make_token())
    g.scan(text)
    g.press_release()
    g.scan(text)
    assert rejected(probe, "already_used")
    assert pin_state(factory, RED) and not pin_state(factory, GREEN)


def test_a_pass_released_here_stays_used_after_a_restart(
        broker, tmp_path, pty, site_key, factory, ms_clock, probe) -> None:
    config = parse_config(gate_dict(broker, tmp_path, pty, site_key))
    text = sign(site_key, make_token())
    with Node(config, clock=ms_clock, pin_factory=factory, drain_s=0.5) as first:
        g = Gate(first, pty, factory)
        g.scan(text)
        g.press_release()
    with Node(config, clock=ms_clock, pin_factory=factory, drain_s=0.5) as again:
        Gate(again, pty, factory).scan(text)
        assert rejected(probe, "already_used")


def test_two_gates_offline_each_release_a_pass_once(
        broker, tmp_path, pty, site_key, ms_clock, factory) -> None:
    """Each gate has its own ledger: both release (the console flags the double use), and each
    then refuses the pass itself."""
    text = sign(site_key, make_token())
    factory2 = SimFactory()
    try:
        with SessionProbe(broker) as session, PtyPair() as pty2, \
                Node(parse_config(gate_dict(broker, tmp_path, pty, site_key)), clock=ms_clock,
                     pin_factory=factory, drain_s=0.5) as north, \
                Node(parse_config(gate_dict(broker, tmp_path, pty2, site_key, node_id="lobby")),
                     clock=ms_clock, pin_factory=factory2, drain_s=0.5) as south:
            broker.stop()
            for g in (Gate(north, pty, factory), Gate(south, pty2, factory2)):
                g.scan(text)
                g.press_release()
                g.scan(text)
            broker.start()
            assert session.wait_for(lambda ms: len(events(ms, "goods_pass.released")) == 2
                                    and len(events(ms, "goods_pass.rejected")) == 2, timeout_s=20)
            released = events(session.messages, "goods_pass.released")
            assert sorted(e.data["gate"] for e in released) == ["gate", "lobby"]
            assert {e.data["reason"] for e in events(session.messages, "goods_pass.rejected")} \
                == {"already_used"}
    finally:
        factory2.close()


def test_a_pass_revoked_by_the_console_is_rejected(gate, probe, console, site_key, factory) -> None:
    g = gate()
    snap = revocations_snapshot(version=1, ts=NOW_MS, revoked=[PASS_ID])
    assert console.publish(T.sync(SITE, REVOCATIONS_DATASET), snap.to_json(), retain=True)
    assert wait_until(lambda: g.ext.counters()["snapshots_applied"] == 1)
    g.scan(sign(site_key, make_token()))
    assert rejected(probe, "revoked")
    assert pin_state(factory, RED) and not pin_state(factory, GREEN)


def test_a_pass_released_at_another_gate_is_already_used_once_synced(
        gate, probe, console, site_key) -> None:
    g = gate()
    snap = revocations_snapshot(version=1, ts=NOW_MS, revoked=[], used=[PASS_ID])
    assert console.publish(T.sync(SITE, REVOCATIONS_DATASET), snap.to_json(), retain=True)
    assert wait_until(lambda: g.ext.counters()["snapshots_applied"] == 1)
    g.scan(sign(site_key, make_token()))
    assert rejected(probe, "already_used")


# -- rejected at once -------------------------------------------------------------------------------

def test_a_forged_pass_is_rejected_forged_with_red_light(gate, probe, factory) -> None:
    g = gate()
    g.scan(sign(Ed25519PrivateKey.generate(), make_token()))
    assert rejected(probe, "forged")
    assert pin_state(factory, RED) and not pin_state(factory, GREEN)


def test_a_forged_pass_raises_the_forged_alarm(gate, probe) -> None:
    g = gate()
    g.scan(sign(Ed25519PrivateKey.generate(), make_token()))
    assert has_event(probe, "goods_pass.forged", "forged")
    assert is_alarm("goods_pass.forged") and not is_alarm("goods_pass.rejected")


def test_a_pass_with_a_tampered_field_is_rejected_forged(gate, probe, site_key) -> None:
    g = gate()
    genuine = make_token()
    tampered = make_token(items=[("冰箱 refrigerator", 2), ("纸箱 cardboard boxes", 3)])
    g.scan(tampered.to_qr_text(site_key.sign(genuine.signing_bytes())))
    assert rejected(probe, "forged")


def test_an_expired_pass_is_rejected(gate, probe, site_key, ms_clock) -> None:
    g = gate()
    ms_clock.now_ms = NOW_MS + 2 * DAY_MS
    g.scan(sign(site_key, make_token()))
    assert rejected(probe, "expired")


def test_a_pass_for_later_is_not_yet_valid(gate, probe, site_key) -> None:
    g = gate()
    g.scan(sign(site_key, make_token(valid_from_ms=NOW_MS + DAY_MS,
                                     valid_until_ms=NOW_MS + 2 * DAY_MS)))
    assert rejected(probe, "not_yet_valid")


def test_a_pass_of_another_site_is_rejected_forged(gate, probe, site_key) -> None:
    g = gate()
    g.scan(sign(site_key, make_token(site="other-site")))
    assert probe.wait_for(lambda ms: any("other-site" in e.data["detail"]
                                         for e in events(ms, "goods_pass.rejected")))


def test_a_product_barcode_is_unreadable(gate, probe) -> None:
    g = gate()
    g.scan("6901234567892")
    assert rejected(probe, "unreadable")
    [ev] = events(probe.messages, "goods_pass.rejected")
    assert ev.data["pass_id"] is None and "prefix" in ev.data["detail"]


def test_scanner_noise_is_counted_and_the_gate_goes_on(gate, site_key) -> None:
    g = gate(max_line=256)
    g.scanner.garbage(b"\x00\x13\xff\r\n")
    g.scanner.overlong(300)
    g.scan(sign(site_key, make_token()))
    c = g.ext.counters()
    assert c["scanner_garbage"] == 1 and c["scanner_overlong"] == 1 and c["valid"] == 1


def test_decisions_go_on_with_the_broker_down_and_are_published_afterwards(
        gate, broker, site_key, factory) -> None:
    g = gate()
    with SessionProbe(broker) as session:
        broker.stop()
        g.scan(sign(site_key, make_token()))
        assert pin_state(factory, GREEN)                          # shown valid with no broker
        g.press_release()
        broker.start()
        assert session.wait_for(lambda ms: events(ms, "goods_pass.released"), timeout_s=20)


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


@pytest.mark.parametrize("key", ["release_pin", "deny_pin"])
def test_config_without_a_guard_button_is_refused(broker, tmp_path, pty, site_key, key) -> None:
    data = gate_dict(broker, tmp_path, pty, site_key)
    del data["goods_gate"][key]
    with pytest.raises(ConfigError, match=f"goods_gate.{key}: required"):
        parse_config(data)


def test_config_refuses_a_button_on_a_verdict_pin(broker, tmp_path, pty, site_key) -> None:
    data = gate_dict(broker, tmp_path, pty, site_key, deny_pin=RED)
    with pytest.raises(ConfigError, match="goods_gate.deny_pin: pin 24 is already used"):
        parse_config(data)
