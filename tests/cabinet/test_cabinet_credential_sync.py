"""A credential change reaches the cabinet's ``sync/key-permissions`` at once, through a REAL
Mosquitto: ``services.publish_credentials()`` (what the credentials pages call after every
change) also republishes the key permissions, without waiting for the once-a-minute job."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from cabinet_helpers import live_services
from firmware.probe import MqttProbe
from mqtt_topics import topics as T
from edge_helpers import SITE
from web.access import CredentialRecord
from web.keys import DATASET
from web.keys.model import KeyRecord
from web.services import ConsoleServices

CARD = "0A00000001"
T0 = 1_772_413_200_000


@pytest.fixture
def services(broker, tmp_path: Path) -> Iterator[ConsoleServices]:  # type: ignore[no-untyped-def]
    with live_services(broker, tmp_path / "console.db", clock=lambda: T0) as svc:
        yield svc


def _cards(probe: MqttProbe, version: int) -> list[str] | None:
    """The cards of the retained key-permissions snapshot ``version``, once seen."""
    topic = T.sync(SITE, DATASET)
    for m in reversed(probe.messages):
        if m.topic == topic:
            doc = json.loads(m.payload)
            if doc["version"] == version:
                return [c["card"] for c in doc["data"]["cards"]]
    return None


def test_a_disabled_credential_leaves_the_cabinet_snapshot_at_once(services: ConsoleServices,
                                                                   probe: MqttProbe) -> None:
    alice = CredentialRecord(credential_id="c-alice", cards=(f"em:{CARD}",), holder="王芳",
                             kind="staff")
    services.credentials.save(alice, by="admin1", create=True)
    services.keys.register.save(KeyRecord(number="K-001", label="A-1201", cabinet="main",
                                          slot=1, takers=("cred:c-alice",)),
                                by="admin1", create=True)
    assert services.keys.publish()
    assert probe.wait_for(lambda _: _cards(probe, 1) == [CARD])
    services.credentials.save(alice.with_changes(enabled=False), by="admin1", create=False)
    services.publish_credentials()          # what the credentials pages do; no job runs here
    assert probe.wait_for(lambda _: _cards(probe, 2) == [])
