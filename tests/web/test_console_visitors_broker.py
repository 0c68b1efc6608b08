"""Visitor invites against the real broker: revoking one publishes the retained
``sync/invite-revocations`` snapshot the door nodes load, and it is published again when the
console reconnects."""

from __future__ import annotations

from typing import Iterator

import pytest

from firmware.probe import MqttProbe
from mqtt_topics import SyncSnapshot
from mqtt_topics import topics as T
from mqtt_topics.invites import parse_invite_revocations
from web.services import ServicesConfig, build_services
from web.signing import SiteSigner

from console_helpers import T0
from visitor_helpers import LOBBY_KEY, add_unit, broker_settings

TOPIC = T.sync("test-site", "invite-revocations")


@pytest.fixture
def services(config, clock, broker) -> Iterator:  # type: ignore[no-untyped-def]
    cfg = ServicesConfig(db_path=config.db_path, site=config.site,
                         broker=broker_settings(broker), node_keys={"lobby": LOBBY_KEY},
                         clock_settle_ms=0)
    svc = build_services(cfg, clock=clock, signer=SiteSigner.generate())
    with svc:
        assert svc.ingest is not None and svc.ingest.wait_connected(10)
        add_unit(svc)
        yield svc


def _invite(services, name: str):  # type: ignore[no-untyped-def]
    return services.visitors.create_invite(
        signer=services.signer(), by="desk1", name=name, phone="", unit="A-1201", purpose="",
        valid_from=T0, valid_until=T0 + 86_400_000, uses=1)


def test_revoking_an_invite_publishes_the_retained_revocation_list(services,
                                                                   probe: MqttProbe) -> None:
    keep, gone = _invite(services, "甲"), _invite(services, "乙")
    version, published = services.visitors.revoke_invite(gone.invite_id, by="desk1")
    assert published and version == 1
    assert probe.wait_for(lambda ms: any(m.topic == TOPIC for m in ms))
    [msg] = [m for m in probe.messages if m.topic == TOPIC]
    snap = SyncSnapshot.from_json(msg.payload)
    assert snap.version == 1 and parse_invite_revocations(snap) == {gone.invite_id}
    assert keep.invite_id not in parse_invite_revocations(snap)


def test_the_revocation_list_is_retained_for_a_node_connecting_later(services, broker,
                                                                     probe: MqttProbe) -> None:
    gone = _invite(services, "乙")
    services.visitors.revoke_invite(gone.invite_id, by="desk1")
    assert probe.wait_for(lambda ms: any(m.topic == TOPIC for m in ms))   # the broker has it
    creds = broker.credentials("observer")
    with MqttProbe(host=creds["host"], port=creds["port"], username="observer",
                   password=creds["password"], topic_filter=TOPIC) as late:
        assert late.wait_for(lambda ms: any(m.retain for m in ms))
        snap = SyncSnapshot.from_json(late.messages[0].payload)
    assert parse_invite_revocations(snap) == {gone.invite_id}
