"""The whole goods-pass path through the real broker: the console issues and signs a pass, its QR
text is scanned at a real gate node (scanner on a pty), the guard presses release (mock pin),
and the console shows the pass released."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.config import parse_config
from edge_helpers import SITE, config_dict
from firmware.mosquitto import MosquittoBroker
from firmware.probe import wait_until
from hardware.sim import PtyPair, ScannerSimulator, SimFactory, press
from pass_helpers import DAY_MS, NOW_MS, public_pem

RELEASE = 5


@pytest.fixture
def console_services(tmp_path: Path, broker: MosquittoBroker,
                     site_key: Ed25519PrivateKey) -> Iterator[Any]:
    from web.ingest import BrokerSettings
    from web.services import ServicesConfig, build_services
    from web.signing import SiteSigner
    from web.units import parse_unit

    c = broker.credentials("console")
    cfg = ServicesConfig(db_path=tmp_path / "console.db", site=SITE, clock_settle_ms=0,
                         broker=BrokerSettings(host=str(c["host"]), port=int(c["port"]),
                                               username="console", password=str(c["password"])))
    svc = build_services(cfg, clock=lambda: NOW_MS, signer=SiteSigner(site_key))
    svc.start()
    try:
        assert svc.ingest is not None and svc.ingest.wait_connected(10)
        svc.units.save(parse_unit({"building": "A", "number": "1201",
                                   "residents": [{"name": "王芳", "relation": "owner"}]}),
                       by="admin", create=True)
        yield svc
    finally:
        svc.stop()


def test_a_console_issued_pass_scanned_and_released_at_the_gate_shows_released(
        console_services: Any, broker: MosquittoBroker, tmp_path: Path, pty: PtyPair,
        site_key: Ed25519PrivateKey, start_node: Any, ms_clock: Any) -> None:
    from web.passes import PassDraft, PassLine

    svc = console_services
    gp = svc.passes.issue(PassDraft(unit="A-1201", carrier_name="王芳", carrier_relation="owner",
                                    carrier_id_last4="1234", items=(PassLine("冰箱", 1, True),),
                                    valid_from_ms=NOW_MS - 3_600_000,
                                    valid_until_ms=NOW_MS + DAY_MS),
                          sign=svc.signer().sign, by="desk1")
    (tmp_path / "site.pub").write_bytes(public_pem(site_key))
    gate_section = {"name": "gate", "scanner_port": pty.device_path,
                    "public_key_file": str(tmp_path / "site.pub"),
                    "ledger": str(tmp_path / "gate-ledger.db"), "green_pin": 23, "red_pin": 24,
                    "buzzer_pin": 25, "release_pin": RELEASE, "deny_pin": 6,
                    "repeat_window_s": 0, "show_s": 60}
    factory = SimFactory()
    try:
        node = start_node(parse_config(config_dict(broker, tmp_path, "gate",
                                                   goods_gate=gate_section)),
                          clock=ms_clock, pin_factory=factory)
        ext = node.extensions["goods_gate"]
        ScannerSimulator(pty.write).scan(gp.qr_text)
        assert wait_until(lambda: ext.counters()["valid"] == 1)
        press(factory, RELEASE)
        assert wait_until(lambda: svc.passes.get(gp.pass_id).state == "released", timeout_s=10)
        assert svc.passes.get(gp.pass_id).released_gate == "gate"
    finally:
        factory.close()
