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

from fw_helpers import FIXED_NOW, NODES, SITE_ID, Session


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

    def bundle(self, node: str) -> Path:
        return self.dir / "bundles" / node

    def node_client(self, node: str, **kw) -> Session:
        b = self.bundle(node)
        return Session(self.port, username=node, password=(b / "mqtt.password").read_text().strip(),
                       ca_file=b / "ca.crt", **kw)


@pytest.fixture
def tls_site(site_dir: Path) -> Iterator[TlsSite]:
    """Site ``oak-court`` with NODES provisioned through the CLI, and Mosquitto started with the
    configuration ``lobbygate broker-config`` wrote (TLS on 127.0.0.1 only, no plain listener)."""
    port = free_port()
    assert provision.main(["init", "--dir", str(site_dir), "--site", SITE_ID,
                           "--broker-host", "localhost", "--tls-port", str(port)]) == 0
    for node in NODES:
        assert provision.main(["node", "add", node, "--dir", str(site_dir)]) == 0
    pid_file = site_dir / "mosquitto.pid"
    assert broker_config.main(["--dir", str(site_dir), "--bind", "127.0.0.1",
                               "--data-dir", str(site_dir / "data"), "--run-as", getpass.getuser(),
                               "--pid-file", str(pid_file),
                               "--log-file", str(site_dir / "mosquitto.log")]) == 0
    (site_dir / "data").mkdir()
    proc = MosquittoProcess(conf=site_dir / "broker" / "mosquitto.conf", host="127.0.0.1", port=port)
    with proc:
        yield TlsSite(Site(site_dir), site_dir, port, proc, pid_file)
