"""End to end through the real Mosquitto: a gate node's goods_pass.released reaches the
console's ingest and releases the pass; a second release at another gate raises the double-use
alarm; a cancel publishes the retained sync/pass-revocations snapshot the gates read."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Iterator

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from mqtt_topics import EventEnvelope
from mqtt_topics import topics as T
from mqtt_topics.passes import parse_revocations
from mqtt_topics.payloads import SyncSnapshot
from web.ingest import BrokerSettings
from web.passes.store import DATASET, DOUBLE_USE

from pc_helpers import SITE, T0, TZ, UNIT, FakeClock, add_unit, draft


class Node:
    """A paho client logged in as a node (the broker's ACL applies)."""

    def __init__(self, creds: dict[str, Any], node: str) -> None:
        self.node = node
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"node-{node}")
        self.c.username_pw_set(str(creds["username"]), str(creds["password"]))
        up = threading.Event()
        self.c.on_connect = lambda *a: up.set()
        self.c.connect(str(creds["host"]), int(creds["port"]))
        self.c.loop_start()
        assert up.wait(10), "node could not connect"

    def released(self, seq: int, pass_id: str, gate: str) -> None:
        env = EventEnvelope(event_id=f"{self.node}:b1:{seq}", node=self.node,
                            kind="goods_pass.released", ts=T0 + seq, seq=seq,
                            data={"gate": gate, "pass_id": pass_id, "unit": UNIT, "items": 4,
                                  "items_digest": "00" * 6, "valid_from": 0, "valid_until": 0})
        info = self.c.publish(T.event(SITE, self.node, env.kind), env.to_json(), qos=1)
        info.wait_for_publish(10)
        assert info.is_published()

    def close(self) -> None:
        self.c.loop_stop()
        self.c.disconnect()


def wait_live(sub: Any, channel: str, pred: Any, timeout_s: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        item = sub.get(timeout_s=left)
        if item is not None and item[0] == channel and pred(item[1]):
            return item[1]
    raise AssertionError(f"no {channel} update in {timeout_s} s")


@pytest.fixture
def live_services(tmp_path: Path, broker: Any) -> Iterator[Any]:
    from web.services import ServicesConfig, build_services
    from web.signing import SiteSigner

    c = broker.credentials("console")
    cfg = ServicesConfig(db_path=tmp_path / "console.db", site=SITE, timezone=TZ,
                         clock_settle_ms=0,
                         broker=BrokerSettings(host=str(c["host"]), port=int(c["port"]),
                                               username="console", password=str(c["password"]),
                                               client_id="lobbygate-console"))
    svc = build_services(cfg, clock=FakeClock(), signer=SiteSigner.generate())
    svc.start()
    try:
        assert svc.ingest is not None and svc.ingest.wait_connected(10)
        add_unit(svc)
        yield svc
    finally:
        svc.stop()


def test_gate_release_through_the_broker_releases_the_pass_and_a_second_one_alarms(live_services, broker) -> None:  # type: ignore[no-untyped-def]
    svc = live_services
    gp = svc.passes.issue(draft(), sign=svc.signer().sign, by="desk1")
    gate, lobby = Node(broker.credentials("gate"), "gate"), Node(broker.credentials("lobby"), "lobby")
    try:
        with svc.live.subscribe() as sub:
            gate.released(1, gp.pass_id, "gate-north")
            wait_live(sub, "event", lambda e: e["kind"] == "goods_pass.released")
            got = svc.passes.get(gp.pass_id)
            assert (got.state, got.released_gate) == ("released", "gate-north")
            lobby.released(1, gp.pass_id, "gate-south")
            # once the batch is committed: the ingest's event first, then the feature's alarm
            wait_live(sub, "event", lambda e: e["event_id"] == "lobby:b1:1")
            alarm = wait_live(sub, "alarm", lambda a: a["kind"] == DOUBLE_USE)
        assert alarm["data"]["gates"] == ["gate-north", "gate-south"]
        assert svc.passes.get(gp.pass_id).release_count == 2
    finally:
        gate.close()
        lobby.close()


def test_cancel_publishes_the_retained_revocations_snapshot(live_services, broker) -> None:  # type: ignore[no-untyped-def]
    from firmware.probe import MqttProbe

    svc = live_services
    gp = svc.passes.issue(draft(), sign=svc.signer().sign, by="desk1")
    topic = T.sync(SITE, DATASET)
    creds = broker.credentials("observer")
    probe_args = dict(host=creds["host"], port=creds["port"], username="observer",
                      password=creds["password"], topic_filter=topic)
    with MqttProbe(**probe_args) as early:
        version = svc.passes.cancel(gp.pass_id, by="desk1", reason="业主取消")
        assert svc.sync.publish(DATASET)
        # the broker stores a retained message before forwarding it: once this subscriber
        # has the new version, a later one must get it as retained
        assert early.wait_for(lambda ms: any(
            parse_revocations(SyncSnapshot.from_json(m.payload)).version == version
            for m in ms), timeout_s=10)
    # a gate connecting later gets the retained snapshot
    with MqttProbe(**probe_args) as late:
        msgs = late.wait_count(1, topic_contains=topic)
    assert msgs and msgs[-1].retain
    rev = parse_revocations(SyncSnapshot.from_json(msgs[-1].payload))
    assert (rev.version, rev.revoked) == (version, frozenset({gp.pass_id}))
