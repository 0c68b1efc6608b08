"""Visitor invites: the token format, the offline decision, and a scan at the panel's scanner
(a pty carrying real scanner lines) opening the door through a node on a real broker."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.extensions.intercom_invites import InviteDoor, InviteLedger
from edge.journal import utc_ms
from edge_helpers import SITE
from firmware.probe import MqttProbe, wait_until
from hardware.sim import PtyPair, ScannerSimulator
from intercom_helpers import start_panel, wait_events
from mqtt_topics import ContractError
from mqtt_topics import topics as T
from mqtt_topics.invites import InviteToken, invite_revocations_snapshot
from mqtt_topics.kinds import is_alarm
from mqtt_topics.passes import GoodsPassToken, describe_items

MIN, HOUR, DAY = 60_000, 3_600_000, 86_400_000
NOW = 1_795_000_000_000 - (1_795_000_000_000 % MIN)


def invite(key: Ed25519PrivateKey, invite_id: str = "iv-1", *, site: str = SITE, uses: int = 1,
           valid_from_ms: int | None = None, valid_until_ms: int | None = None, now: int = NOW) -> str:
    start = valid_from_ms if valid_from_ms is not None else now - now % MIN - HOUR
    token = InviteToken(invite_id=invite_id, site=site, unit="1201", valid_from_ms=start,
                        valid_until_ms=valid_until_ms if valid_until_ms is not None else start + DAY,
                        uses=uses)
    return token.to_qr_text(key.sign(token.signing_bytes()))


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def door(key: Ed25519PrivateKey, tmp_path: Path) -> Iterator[InviteDoor]:
    ledger = InviteLedger(tmp_path / "invites.db").open()
    yield InviteDoor(key.public_key().public_bytes_raw(), site=SITE, ledger=ledger)
    ledger.close()


# -- the token ---------------------------------------------------------------------------------

def test_an_invite_round_trips_through_its_qr_text(key: Ed25519PrivateKey) -> None:
    token, sig = InviteToken.from_qr_text(invite(key, uses=3))
    assert (token.invite_id, token.unit, token.uses) == ("iv-1", "1201", 3)
    key.public_key().verify(sig, token.signing_bytes())


def test_a_goods_pass_is_not_an_invite(key: Ed25519PrivateKey) -> None:
    gp = GoodsPassToken(pass_id="gp-1", site=SITE, unit="1201", valid_from_ms=NOW,
                        valid_until_ms=NOW + DAY, **describe_items([("tv", 1)]))
    with pytest.raises(ContractError):
        InviteToken.from_qr_text(gp.to_qr_text(key.sign(gp.signing_bytes())))


# -- the decision (offline) -------------------------------------------------------------------

def test_a_valid_invite_is_admitted_once_per_use_then_used_up(door: InviteDoor,
                                                              key: Ed25519PrivateKey) -> None:
    code = invite(key, uses=2)
    assert [door.decide(code, NOW).reason for _ in range(3)] == ["admitted", "admitted", "used_up"]


def test_an_invite_outside_its_window_is_refused(door: InviteDoor, key: Ed25519PrivateKey) -> None:
    assert door.decide(invite(key, valid_from_ms=NOW + HOUR), NOW).reason == "not_yet_valid"
    assert door.decide(invite(key, valid_from_ms=NOW - DAY, valid_until_ms=NOW), NOW).reason == "expired"


def test_a_forged_invite_is_bad_signature(door: InviteDoor) -> None:
    assert door.decide(invite(Ed25519PrivateKey.generate()), NOW).reason == "bad_signature"


def test_a_revoked_invite_is_refused_and_an_older_list_is_ignored(door: InviteDoor,
                                                                  key: Ed25519PrivateKey) -> None:
    assert door.ledger.apply_revocations(2, frozenset({"iv-1"}))
    assert not door.ledger.apply_revocations(1, frozenset())
    assert door.decide(invite(key), NOW).reason == "revoked"


def test_another_sites_invite_and_garbage_are_refused(door: InviteDoor, key: Ed25519PrivateKey) -> None:
    assert door.decide(invite(key, site="other-site"), NOW).reason == "wrong_site"
    assert door.decide("LI1.!!!", NOW).reason == "malformed"


def test_uses_survive_a_restart(key: Ed25519PrivateKey, tmp_path: Path) -> None:
    code = invite(key)
    for expected in ("admitted", "used_up"):
        ledger = InviteLedger(tmp_path / "invites.db").open()
        assert InviteDoor(key.public_key().public_bytes_raw(), site=SITE,
                          ledger=ledger).decide(code, NOW).reason == expected
        ledger.close()


# -- at the panel, through the broker ---------------------------------------------------------


def scanner_panel(broker, tmp_path, start_node, pty: PtyPair, key: Ed25519PrivateKey):
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "site-signing.pub").write_bytes(pem)
    node, panel, factory, _ = start_panel(
        broker, tmp_path, start_node, scanner_port=pty.device_path, scanner_repeat_s=0,
        public_key_file=str(tmp_path / "site-signing.pub"),
        invite_ledger=str(tmp_path / "invites.db"))
    assert wait_until(lambda: panel.scanner.alive)
    return node, panel, ScannerSimulator(pty.write)


def test_a_scanned_invite_opens_the_door_and_is_journaled(
        broker, probe: MqttProbe, tmp_path: Path, start_node, pty: PtyPair,
        key: Ed25519PrivateKey) -> None:
    _, panel, scanner = scanner_panel(broker, tmp_path, start_node, pty, key)
    scanner.scan(invite(key, "iv-7", uses=1, now=utc_ms()))
    (admitted,) = wait_events(probe, "intercom.invite_admitted")
    assert admitted.data["invite_id"] == "iv-7" and admitted.data["use"] == 1
    assert panel.door.is_energised
    scanner.scan(invite(key, "iv-7", uses=1, now=utc_ms()))
    (refused,) = wait_events(probe, "intercom.invite_refused")
    assert refused.data["reason"] == "used_up"


def test_a_forged_invite_at_the_panel_is_an_alarm_and_the_door_stays_shut(
        broker, probe: MqttProbe, tmp_path: Path, start_node, pty: PtyPair,
        key: Ed25519PrivateKey) -> None:
    _, panel, scanner = scanner_panel(broker, tmp_path, start_node, pty, key)
    scanner.scan(invite(Ed25519PrivateKey.generate(), now=utc_ms()))
    (forged,) = wait_events(probe, "intercom.invite_forged")
    assert is_alarm("intercom.invite_forged") and forged.data["reason"] == "bad_signature"
    assert panel.door.is_safe


def test_an_invite_revoked_by_the_console_snapshot_is_refused(
        broker, probe: MqttProbe, console: MqttProbe, tmp_path: Path, start_node, pty: PtyPair,
        key: Ed25519PrivateKey) -> None:
    node, panel, scanner = scanner_panel(broker, tmp_path, start_node, pty, key)
    assert node.bridge.wait_ready(10)
    snap = invite_revocations_snapshot(version=1, ts=utc_ms(), revoked=["iv-9"])
    assert console.publish(T.sync(SITE, snap.dataset), snap.to_json(), retain=True)
    assert wait_until(lambda: panel.counters()["snapshots_applied"] == 1)
    scanner.scan(invite(key, "iv-9", now=utc_ms()))
    (refused,) = wait_events(probe, "intercom.invite_refused")
    assert refused.data["reason"] == "revoked" and panel.door.is_safe
