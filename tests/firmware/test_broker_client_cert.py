"""Client-certificate nodes (`provision node add --auth cert`) against a REAL Mosquitto running
the mosquitto.conf `lobbygate broker-config` renders: the second TLS listener requires a
certificate from the site CA, takes the user name from its CN, confines the node to its own
topics (MQTT 3.1.1 and 5), and refuses a revoked certificate through the CRL."""

from __future__ import annotations

import shutil
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from firmware import provision
from firmware.probe import MqttProbe, wait_until
from mqtt_topics import topics as T

from fw_helpers import NODES, SITE_ID, TLS_ERRORS, Session, foreign_client_cert

PROTOCOLS = pytest.mark.parametrize("protocol", [mqtt.MQTTv311, mqtt.MQTTv5], ids=["3.1.1", "5"])
PREFIX = f"lobbygate/v1/{SITE_ID}"


def _console(tls_site) -> MqttProbe:
    site = tls_site.site
    return MqttProbe(host="localhost", port=tls_site.port, username="console",
                     password=site.console_password(), topic_filter=T.site_filter(SITE_ID),
                     ca_file=str(site.console_dir / "ca.crt"))


def _refused(session, timeout_s: float = 2.0) -> bool:
    """True if the broker refuses the session: a failed TLS handshake, no CONNACK, or a
    failing CONNACK."""
    try:
        rc = session.connect(timeout_s=timeout_s)
        return rc is None or rc.is_failure
    except TLS_ERRORS:
        return True
    finally:
        session.close()


def _keep_copy(tls_site, node: str, tmp_path: Path) -> Path:
    """The node's bundle as its card holds it (kept after the hub deletes it on revocation)."""
    card = tmp_path / f"card-{node}"
    shutil.copytree(tls_site.bundle(node), card)
    return card


@PROTOCOLS
def test_cert_node_connects_and_publishes_under_its_own_path(tls_site, protocol):
    topic = f"{PREFIX}/door-1/event/door.open"
    with _console(tls_site) as console:
        with tls_site.cert_client("door-1", protocol=protocol) as s:
            assert not s.connect().is_failure
            assert not s.publish(topic, b"hello").is_failure
        assert [m.payload for m in console.wait_count(1, topic_contains=topic)] == [b"hello"]


@PROTOCOLS
def test_cert_node_cannot_publish_under_another_node_or_the_site(tls_site, protocol):
    node = "door-1"
    forged_topics = [f"{PREFIX}/{other}/{sub}" for other in (*NODES, "door-2")
                     for sub in ("status", "event/door.open", "telemetry/meter", "cmd_result")]
    forged_topics += [f"{PREFIX}/sync/credentials", f"{PREFIX}/{node}/cmd/open"]
    sentinel = f"{PREFIX}/{node}/event/sentinel.{protocol}"
    with _console(tls_site) as console:
        with tls_site.cert_client(node, protocol=protocol) as s:
            assert not s.connect().is_failure
            for topic in forged_topics:
                rc = s.publish(topic, b"forged")
                if protocol == mqtt.MQTTv5:
                    assert rc == "Not authorized", (topic, rc)
            s.publish(sentinel, b"ok")
        # one connection's packets are handled in order: the sentinel arrives after any forgery
        assert console.wait_count(1, topic_contains=sentinel)
        assert [m.topic for m in console.messages if m.payload == b"forged"] == []


@PROTOCOLS
def test_the_user_name_comes_from_the_certificate_not_the_connect_packet(tls_site, protocol):
    # door-1's certificate, claiming to be the console: the broker uses the CN, so no site rights
    with tls_site.cert_client("door-1", username="console", protocol=protocol) as s:
        assert not s.connect().is_failure
        rc = s.publish(f"{PREFIX}/lobby/cmd/open", b"forged")
        if protocol == mqtt.MQTTv5:
            assert rc == "Not authorized"
        assert not s.publish(f"{PREFIX}/door-1/status", b"mine").is_failure


def test_cert_from_another_ca_is_refused(tls_site, tmp_path):
    cert, key = foreign_client_cert(tmp_path, "door-1")
    files = tmp_path / "foreign"
    files.mkdir()
    shutil.copy(tls_site.bundle("door-1") / "ca.crt", files / "ca.crt")
    shutil.copy(cert, files / "mqtt-client.crt")
    shutil.copy(key, files / "mqtt-client.key")
    assert _refused(tls_site.cert_client("door-1", files=files))


def test_the_brokers_own_server_certificate_is_no_client_certificate(tls_site, tmp_path):
    # issued by the site CA too, but for serverAuth only (and its CN names no node)
    files = tmp_path / "server-as-client"
    files.mkdir()
    broker = tls_site.dir / "broker"
    shutil.copy(broker / "ca.crt", files / "ca.crt")
    shutil.copy(broker / "server.crt", files / "mqtt-client.crt")
    shutil.copy(broker / "server.key", files / "mqtt-client.key")
    assert _refused(tls_site.cert_client("door-1", files=files))


def test_the_cert_listener_refuses_a_password_without_a_certificate(tls_site):
    s = Session(tls_site.cert_port, username="lobby", password=tls_site.site.node_password("lobby"),
                ca_file=tls_site.bundle("lobby") / "ca.crt")
    assert _refused(s)


def test_a_cert_node_has_no_account_on_the_password_listener(tls_site):
    s = Session(tls_site.port, username="door-1", password=None,
                ca_file=tls_site.bundle("door-1") / "ca.crt",
                certfile=tls_site.bundle("door-1") / "mqtt-client.crt",
                keyfile=tls_site.bundle("door-1") / "mqtt-client.key")
    assert _refused(s)


def test_revoked_cert_is_refused_after_broker_config_and_restart(tls_site, tmp_path):
    card = _keep_copy(tls_site, "door-2", tmp_path)
    assert not _refused(tls_site.cert_client("door-2", files=card))
    assert provision.main(["node", "revoke", "door-2", "--dir", str(tls_site.dir), "--no-reload"]) == 0
    tls_site.render_and_restart()
    assert _refused(tls_site.cert_client("door-2", files=card))
    assert not _refused(tls_site.cert_client("door-1"))  # the others keep their access
    with tls_site.node_client("lobby") as s:  # and password nodes theirs
        assert not s.connect().is_failure


def test_revoked_cert_is_refused_once_provision_reloads_the_broker(tls_site, tmp_path):
    card = _keep_copy(tls_site, "door-1", tmp_path)
    assert not _refused(tls_site.cert_client("door-1", files=card))
    # `provision node revoke` rewrites the CRL and SIGHUPs the broker (PID file from broker-config)
    assert provision.main(["node", "revoke", "door-1", "--dir", str(tls_site.dir)]) == 0
    assert wait_until(lambda: _refused(tls_site.cert_client("door-1", files=card)), timeout_s=5)
    assert not _refused(tls_site.cert_client("door-2"))


def test_rotated_cert_replaces_the_old_one(tls_site, tmp_path):
    old = _keep_copy(tls_site, "door-1", tmp_path)
    assert provision.main(["node", "add", "door-1", "--dir", str(tls_site.dir), "--rotate"]) == 0
    assert wait_until(lambda: _refused(tls_site.cert_client("door-1", files=old)), timeout_s=5)
    assert not _refused(tls_site.cert_client("door-1"))


def test_node_switched_to_a_certificate_connects_on_the_cert_listener(tls_site):
    password = tls_site.site.node_password("cabinet")
    assert provision.main(["node", "add", "cabinet", "--dir", str(tls_site.dir), "--auth", "cert"]) == 0
    assert wait_until(lambda: not _refused(tls_site.cert_client("cabinet")), timeout_s=5)
    old = Session(tls_site.port, username="cabinet", password=password,
                  ca_file=tls_site.bundle("cabinet") / "ca.crt")
    assert wait_until(lambda: _refused(old), timeout_s=5)  # its password is gone
