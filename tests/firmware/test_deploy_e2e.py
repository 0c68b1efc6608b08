"""The deploy path end to end: a node provisioned with `lobbygate provision node add`, run as
`lobbygate node --config <bundle>/node.toml` (a real process), reaches the real broker over TLS
with its bundle's credentials (a password, or a client certificate) and shows as online to the
console; after `provision node revoke`
and a restart it no longer can."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from firmware import provision
from firmware.probe import MqttProbe, wait_until
from lobbygate.cli import COMMANDS
from mqtt_topics import topics as T
from fw_helpers import SITE_ID, Session

pytest.importorskip("edge.node")


def _card_copy(tls_site, node: str, tmp_path: Path) -> Path:
    """The bundle as the node's card holds it (the journal moved from /var/lib to tmp)."""
    card = tmp_path / f"card-{node}"
    card.mkdir()
    for f in tls_site.bundle(node).iterdir():
        (card / f.name).write_bytes(f.read_bytes())
    conf = card / "node.toml"
    conf.write_text(conf.read_text().replace("/var/lib/lobbygate/journal.sqlite",
                                             str(card / "journal.sqlite")))
    return conf


class NodeProcess:
    def __init__(self, conf: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "lobbygate.cli", "node", "--config", str(conf)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, start_new_session=True,
                                     env={**os.environ, "LOBBYGATE_LOG_LEVEL": "WARNING"})

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        return self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""


def _console(tls_site) -> MqttProbe:
    site = tls_site.site
    return MqttProbe(host="localhost", port=tls_site.port, username="console",
                     password=site.console_password(), topic_filter=T.site_filter(SITE_ID),
                     ca_file=str(site.console_dir / "ca.crt"))


def _online(node: str):
    def pred(messages) -> bool:
        for m in messages:
            if m.topic == T.status(SITE_ID, node):
                try:
                    if json.loads(m.payload)["state"] == "online":
                        return True
                except (ValueError, KeyError):
                    pass
        return False
    return pred


def test_provisioned_node_comes_online_on_the_console_over_tls(tls_site, tmp_path):
    assert COMMANDS["node"] == "edge.cli:main"
    hw = tmp_path / "hw.toml"
    hw.write_text('[gpio]\npin_factory = "mock"\n')
    assert provision.main(["node", "add", "lobby", "--dir", str(tls_site.dir), "--hardware", str(hw)]) == 0
    node = NodeProcess(_card_copy(tls_site, "lobby", tmp_path))
    try:
        with _console(tls_site) as console:
            assert console.wait_for(_online("lobby"), timeout_s=15), node.stop()
    finally:
        node.stop()


def test_cert_node_comes_online_on_the_console_with_its_client_certificate(tls_site, tmp_path):
    hw = tmp_path / "hw.toml"
    hw.write_text('[gpio]\npin_factory = "mock"\n')
    assert provision.main(["node", "add", "door-1", "--dir", str(tls_site.dir), "--hardware", str(hw)]) == 0
    conf = _card_copy(tls_site, "door-1", tmp_path)
    assert not (conf.parent / "mqtt.password").exists()
    node = NodeProcess(conf)
    try:
        with _console(tls_site) as console:
            assert console.wait_for(_online("door-1"), timeout_s=15), node.stop()
    finally:
        node.stop()


def test_revoked_node_cannot_come_online_again(tls_site, tmp_path):
    hw = tmp_path / "hw.toml"
    hw.write_text('[gpio]\npin_factory = "mock"\n')
    assert provision.main(["node", "add", "gate", "--dir", str(tls_site.dir), "--hardware", str(hw)]) == 0
    conf = _card_copy(tls_site, "gate", tmp_path)
    password = (conf.parent / "mqtt.password").read_text().strip()
    assert provision.main(["node", "revoke", "gate", "--dir", str(tls_site.dir)]) == 0

    def refused() -> bool:  # the broker has processed the reload
        with Session(tls_site.port, username="gate", password=password, ca_file=conf.parent / "ca.crt") as s:
            rc = s.connect(timeout_s=2)
            return rc is None or rc.is_failure

    assert wait_until(refused, timeout_s=5)
    log = tls_site.dir / "mosquitto.log"
    refusals = log.read_text().count("not authorised")
    node = NodeProcess(conf)
    try:
        with _console(tls_site) as console:
            # the broker logs each refused attempt: wait for the node's, then check no status came
            assert wait_until(lambda: log.read_text().count("not authorised") > refusals,
                              timeout_s=15), node.stop()
            assert not _online("gate")(console.messages)
    finally:
        node.stop()
