"""Shared fixtures: a real Mosquitto per test with the project's generated config
(passwords, ACL by %u), and a probe subscribed to the whole site."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from firmware.mosquitto import MosquittoBroker
from hardware.serial_port import open_serial
from hardware.sim import PtyPair
from firmware.probe import MqttProbe
from mqtt_topics import topics as T

SITE = "test-site"
NODES = ("lobby", "gate", "cabinet")


@pytest.fixture
def site() -> str:
    return SITE


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    """A running Mosquitto with accounts for the console, an observer and NODES."""
    b = MosquittoBroker(directory=tmp_path / "broker", site=SITE, nodes=NODES)
    with b:
        yield b


@pytest.fixture
def probe(broker: MosquittoBroker) -> Iterator[MqttProbe]:
    """An observer subscribed to everything under the test site."""
    creds = broker.credentials("observer")
    with MqttProbe(host=creds["host"], port=creds["port"], username="observer",
                   password=creds["password"], topic_filter=T.site_filter(SITE)) as p:
        yield p


@pytest.fixture
def loop_port():
    """A pyserial ``loop://`` port: what is written to it can be read back."""
    port = open_serial("loop://")
    yield port
    port.close()


@pytest.fixture
def pty() -> Iterator[PtyPair]:
    """An open pty pair: a driver opens ``device_path``, the test writes the other side."""
    with PtyPair() as pair:
        yield pair
