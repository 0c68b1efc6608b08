"""Fixtures for the firmware tests: a provisioned site, and a REAL Mosquitto running the exact
``mosquitto.conf`` that ``lobbygate broker-config`` renders for it (TLS listener only)."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from firmware import broker_config, provision
from firmware.broker_process import MosquittoProcess
from firmware.mosquitto import free_port
from firmware.site import Site

from fw_helpers import CERT_NODES, FIXED_NOW, NODES, SITE_ID, Session


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    return tmp_path / "site"


@pytest.fixture
def fixed_clock():
    return lambda: FIXED_NOW


@dataclass
class TlsSite:
    """A provisioned site and its running broker."""

    site: Site
    dir: Path
    port: int
    broker: MosquittoProcess
    pid_file: Path
    cert_port: int = 0

    def bundle(self, node: str) -> Path:
        return self.dir / "bundles" / node

    def node_client(self, node: str, **kw) -> Session:
        b = self.bundle(node)
        return Session(self.port, username=node, password=(b / "mqtt.password").read_text().strip(),
                       ca_file=b / "ca.crt", **kw)

    def cert_client(self, node: str, *, files: Path | None = None, **kw) -> Session:
        """A session on the client-certificate listener with the node's bundled certificate and
        key (or those in ``files``, e.g. a copy kept after revocation); no password."""
        b = files or self.bundle(node)
        kw.setdefault("username", node)
        return Session(self.cert_port, password=None, ca_file=b / "ca.crt",
                       certfile=b / "mqtt-client.crt", keyfile=b / "mqtt-client.key", **kw)

    def render_and_restart(self) -> None:
        """Re-render mosquitto.conf with ``broker-config`` (as the fixture did) and restart."""
        self.broker.stop()
        assert broker_config.main(_broker_config_args(self.dir, self.pid_file)) == 0
        self.broker.start()


def _broker_config_args(site_dir: Path, pid_file: Path) -> list[str]:
    return ["--dir", str(site_dir), "--bind", "127.0.0.1", "--data-dir", str(site_dir / "data"),
            "--run-as", getpass.getuser(), "--pid-file", str(pid_file),
            "--log-file", str(site_dir / "mosquitto.log")]


@pytest.fixture
def tls_site(site_dir: Path) -> Iterator[TlsSite]:
    """Site ``oak-court`` with NODES provisioned through the CLI (passwords) and CERT_NODES
    (``--auth cert``), and Mosquitto started with the configuration ``lobbygate broker-config``
    wrote (both TLS listeners on 127.0.0.1 only, no plain listener)."""
    port = free_port()
    cert_port = free_port()
    while cert_port == port:
        cert_port = free_port()
    assert provision.main(["init", "--dir", str(site_dir), "--site", SITE_ID,
                           "--broker-host", "localhost", "--tls-port", str(port),
                           "--cert-port", str(cert_port)]) == 0
    for node in NODES:
        assert provision.main(["node", "add", node, "--dir", str(site_dir)]) == 0
    for node in CERT_NODES:
        assert provision.main(["node", "add", node, "--dir", str(site_dir), "--auth", "cert"]) == 0
    pid_file = site_dir / "mosquitto.pid"
    assert broker_config.main(_broker_config_args(site_dir, pid_file)) == 0
    (site_dir / "data").mkdir()
    proc = MosquittoProcess(conf=site_dir / "broker" / "mosquitto.conf", host="127.0.0.1", port=port,
                            other_ports=[cert_port])
    with proc:
        yield TlsSite(Site(site_dir), site_dir, port, proc, pid_file, cert_port)
