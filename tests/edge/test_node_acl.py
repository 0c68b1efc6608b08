"""The broker ACL, with a node's raw credentials: node "lobby" can neither publish under "gate"
nor read gate's commands, over MQTT 3.1.1 and MQTT 5. A marker on lobby's own topics, sent after
the forbidden message by the same client, proves delivery has caught up (the broker keeps a
client's messages in order), so "never arrives" needs no waiting."""

from __future__ import annotations

import threading
from typing import Any, Iterator

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge_helpers import SITE
from firmware.mosquitto import MosquittoBroker
from firmware.probe import MqttProbe
from mqtt_topics import topics as T

PROTOCOLS = [pytest.param(mqtt.MQTTv311, id="mqtt-3.1.1"), pytest.param(mqtt.MQTTv5, id="mqtt-5")]


class RawClient:
    """A bare paho client with a node's credentials that records what it gets."""

    def __init__(self, broker: MosquittoBroker, username: str, protocol: int) -> None:
        creds = broker.credentials(username)
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{username}-acl-test",
                                  protocol=protocol)
        self.client.username_pw_set(username, creds["password"])
        self.cond = threading.Condition()
        self.messages: list[str] = []
        self.subacks: dict[int, list[Any]] = {}
        self.connected = False
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.connect(creds["host"], creds["port"])
        self.client.loop_start()
        with self.cond:
            assert self.cond.wait_for(lambda: self.connected, 10)

    def _on_connect(self, client, userdata, flags, rc, props=None) -> None:
        with self.cond:
            self.connected = not rc.is_failure
            self.cond.notify_all()

    def _on_message(self, client, userdata, msg) -> None:
        with self.cond:
            self.messages.append(msg.topic)
            self.cond.notify_all()

    def _on_subscribe(self, client, userdata, mid, rcs, props=None) -> None:
        with self.cond:
            self.subacks[mid] = list(rcs)
            self.cond.notify_all()

    def subscribe(self, topic: str) -> list[Any]:
        _, mid = self.client.subscribe(topic, qos=1)
        with self.cond:
            assert self.cond.wait_for(lambda: mid in self.subacks, 10)
            return self.subacks[mid]

    def publish(self, topic: str, payload: bytes) -> None:
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture(params=PROTOCOLS)
def lobby(request: pytest.FixtureRequest, broker: MosquittoBroker) -> Iterator[RawClient]:
    client = RawClient(broker, "lobby", request.param)
    yield client
    client.close()


def test_node_cannot_publish_under_another_node(lobby: RawClient, probe: MqttProbe) -> None:
    forged = T.event(SITE, "gate", "card.read")
    marker = T.event(SITE, "lobby", "card.read")
    lobby.publish(forged, b'{"forged": true}')
    lobby.publish(marker, b'{"marker": true}')
    assert probe.wait_for(lambda ms: any(m.topic == marker for m in ms))
    assert [m.topic for m in probe.messages if m.topic == forged] == []


def test_node_cannot_read_another_nodes_commands(lobby: RawClient, console: MqttProbe) -> None:
    # Mosquitto 2.0 grants this SUBACK (QoS 1, both protocols) and filters at delivery; a
    # broker refusing it (0x80 / 0x87) would be fine too. What matters is that nothing arrives.
    lobby.subscribe(T.node_commands_filter(SITE, "gate"))
    ours = lobby.subscribe(T.node_commands_filter(SITE, "lobby"))
    assert not ours[0].is_failure
    assert console.publish(T.command(SITE, "gate", "relay.pulse"), b'{"for": "gate"}')
    assert console.publish(T.command(SITE, "lobby", "node.ping"), b'{"marker": true}')
    with lobby.cond:
        assert lobby.cond.wait_for(lambda: T.command(SITE, "lobby", "node.ping") in lobby.messages, 10)
        assert not [t for t in lobby.messages if "/gate/" in t]
