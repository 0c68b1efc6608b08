"""A real Mosquitto running the mosquitto.conf `lobbygate broker-config` renders, with the
accounts and ACL `lobbygate provision` made: TLS required, the site CA only, each node confined
to its own topics (MQTT 3.1.1 and 5), a revoked node refused after the broker reloads."""

from __future__ import annotations

import getpass
import socket
import ssl

import paho.mqtt.client as mqtt
import pytest

from firmware import broker_config, provision
from firmware.probe import MqttProbe, wait_until
from mqtt_topics import topics as T

from fw_helpers import NODES, SITE_ID, TLS_ERRORS, Session, other_ca

PROTOCOLS = pytest.mark.parametrize("protocol", [mqtt.MQTTv311, mqtt.MQTTv5], ids=["3.1.1", "5"])
PREFIX = f"lobbygate/v1/{SITE_ID}"


def _console(tls_site, **kw) -> MqttProbe:
    site = tls_site.site
    return MqttProbe(host="localhost", port=tls_site.port, username="console",
                     password=site.console_password(), topic_filter=T.site_filter(SITE_ID),
                     ca_file=str(site.console_dir / "ca.crt"), **kw)


def _foreign_topics(node: str) -> list[str]:
    """Topics a node must not publish to: everything of another node, and the site's own."""
    topics = [f"{PREFIX}/console/status", f"{PREFIX}/sync/credentials", f"{PREFIX}/{node}/cmd/open"]
    for other in NODES:
        if other != node:
            topics += [f"{PREFIX}/{other}/status", f"{PREFIX}/{other}/event/door.open",
                       f"{PREFIX}/{other}/telemetry/meter", f"{PREFIX}/{other}/cmd_result",
                       f"{PREFIX}/{other}/cmd/open"]
    return topics


@PROTOCOLS
def test_provisioned_node_connects_over_tls_with_its_bundle(tls_site, protocol):
    with tls_site.node_client("lobby", protocol=protocol) as s:
        assert not s.connect().is_failure
        assert not s.publish(f"{PREFIX}/lobby/event/door.open").is_failure


def test_plain_tcp_gets_no_connack_on_the_tls_port(tls_site):
    with socket.create_connection(("127.0.0.1", tls_site.port), timeout=5) as sock:
        # an MQTT 3.1.1 CONNECT in clear: the TLS listener answers with a TLS alert or closes
        sock.sendall(bytes([0x10, 12, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 30, 0, 0]))
        try:
            reply = sock.recv(64)
        except ConnectionResetError:
            reply = b""
    assert not reply.startswith(b"\x20")  # never a CONNACK


def test_client_trusting_another_ca_refuses_the_broker(tls_site, tmp_path):
    s = Session(tls_site.port, username="lobby", password="irrelevant", ca_file=other_ca(tmp_path))
    with pytest.raises(ssl.SSLCertVerificationError):
        s.connect()


def test_server_certificate_names_the_broker_host(tls_site):
    ctx = ssl.create_default_context(cafile=str(tls_site.bundle("gate") / "ca.crt"))
    with socket.create_connection(("127.0.0.1", tls_site.port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.version() in ("TLSv1.2", "TLSv1.3")


def _handshake(tls_site, max_version: ssl.TLSVersion) -> str:
    ctx = ssl.create_default_context(cafile=str(tls_site.bundle("gate") / "ca.crt"))
    ctx.maximum_version = max_version
    with socket.create_connection(("127.0.0.1", tls_site.port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            return tls.version()


def test_tls_version_option_is_the_minimum_the_broker_accepts(tls_site):
    assert _handshake(tls_site, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"  # default minimum: 1.2
    tls_site.broker.stop()
    assert broker_config.main(["--dir", str(tls_site.dir), "--bind", "127.0.0.1",
                               "--tls-version", "tlsv1.3", "--data-dir", str(tls_site.dir / "data"),
                               "--run-as", getpass.getuser(), "--pid-file", str(tls_site.pid_file)]) == 0
    tls_site.broker.start()
    assert _handshake(tls_site, ssl.TLSVersion.TLSv1_3) == "TLSv1.3"
    with pytest.raises(TLS_ERRORS):
        _handshake(tls_site, ssl.TLSVersion.TLSv1_2)


@PROTOCOLS
def test_wrong_password_is_refused_over_tls(tls_site, protocol):
    s = Session(tls_site.port, username="lobby", password="not-it",
                ca_file=tls_site.bundle("lobby") / "ca.crt", protocol=protocol)
    try:
        rc = s.connect()
        assert rc is None or rc.is_failure
    finally:
        s.close()


@PROTOCOLS
def test_no_node_can_publish_under_another_node_or_the_site(tls_site, protocol):
    with _console(tls_site) as console:
        for node in NODES:
            sentinel = f"{PREFIX}/{node}/event/sentinel.{protocol}"
            with tls_site.node_client(node, protocol=protocol) as s:
                assert not s.connect().is_failure
                for topic in _foreign_topics(node):
                    rc = s.publish(topic, b"forged")
                    if protocol == mqtt.MQTTv5:
                        assert rc == "Not authorized", (node, topic, rc)
                s.publish(sentinel, b"ok")
            # the broker handles one connection's packets in order: once the sentinel is here,
            # any forged message delivered would already have been
            assert console.wait_count(1, topic_contains=sentinel)
        forged = [m.topic for m in console.messages if m.payload == b"forged"]
        assert forged == []


@PROTOCOLS
def test_a_node_reads_only_its_own_commands_and_the_sync_datasets(tls_site, protocol):
    received: list[str] = []
    with tls_site.node_client("lobby", protocol=protocol) as s:
        s.client.on_message = lambda c, u, m: received.append(m.topic)
        assert not s.connect().is_failure
        s.subscribe(f"{PREFIX}/#")
        with _console(tls_site) as console:
            for other in ("gate", "cabinet"):
                for sub in ("cmd/open", "event/door.open", "status", "cmd_result"):
                    assert console.publish(f"{PREFIX}/{other}/{sub}", b"x")
            assert console.publish(f"{PREFIX}/sync/credentials", b"snapshot")
            assert console.publish(f"{PREFIX}/lobby/cmd/open", b"last")
        assert wait_until(lambda: f"{PREFIX}/lobby/cmd/open" in received, timeout_s=5)
    assert sorted(received) == [f"{PREFIX}/lobby/cmd/open", f"{PREFIX}/sync/credentials"]


def test_revoked_node_is_refused_after_the_broker_reloads(tls_site):
    password = tls_site.site.node_password("gate")
    with tls_site.node_client("gate") as s:
        assert not s.connect().is_failure
    # `provision node revoke` finds the PID file broker-config recorded and SIGHUPs the broker
    assert provision.main(["node", "revoke", "gate", "--dir", str(tls_site.dir)]) == 0

    def refused() -> bool:
        s = Session(tls_site.port, username="gate", password=password,
                    ca_file=tls_site.dir / "broker" / "ca.crt")
        try:
            rc = s.connect(timeout_s=2)
            return rc is None or rc.is_failure
        finally:
            s.close()

    assert wait_until(refused, timeout_s=5)
    with tls_site.node_client("lobby") as s:  # the others keep their access
        assert not s.connect().is_failure


def test_node_added_while_the_broker_runs_is_accepted_after_reload(tls_site):
    assert provision.main(["node", "add", "patrol-1", "--dir", str(tls_site.dir)]) == 0

    def accepted() -> bool:
        with tls_site.node_client("patrol-1") as s:
            rc = s.connect(timeout_s=2)
            return rc is not None and not rc.is_failure

    assert wait_until(accepted, timeout_s=5)
