"""A node with a TLS client certificate warns before it expires: ``cert_expires`` /
``cert_days_left`` in its health figures, ``node.cert_expiring`` under ``[mqtt] cert_warn_days``
(at most once a day, restarts included), ``node.cert_expired`` once it has passed, and an
unreadable certificate file is counted without stopping the node.  Real short-lived
certificates from the site-CA helpers; the node's clock is injected and moved by hand (the
broker is unreachable: the events are read from the node's journal; two nodes started one after
the other share the journal directory, so its ``cert-warnings.json``)."""

from __future__ import annotations

import datetime as dt
import json
import socket
from pathlib import Path
from typing import Any, Iterator

import pytest

from edge.config import parse_config
from edge.errors import ConfigError
from edge.extensions.cert_expiry import DAY_MS, EXPIRED_KIND, EXPIRING_KIND
from edge.node import Node
from firmware import pki
from mqtt_topics import is_alarm

NODE = "door-1"
T0 = dt.datetime(2030, 3, 1, 12, 0, tzinfo=dt.timezone.utc)   # the certificate's issue time
T0_MS = int(T0.timestamp() * 1000)
LIFETIME_DAYS = 40                                               # short-lived: expires T0 + 40 d
EXPIRES_MS = T0_MS + LIFETIME_DAYS * DAY_MS


class Clock:
    """The node's injected UTC-ms clock, moved by the test."""

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms

    def at_days_left(self, days: float) -> None:
        self.ms = EXPIRES_MS - int(days * DAY_MS)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cert_files(tmp_path: Path) -> tuple[Path, Path, str]:
    """A site CA and a node certificate valid for LIFETIME_DAYS from T0: (cert, key, serial hex)."""
    ca_key, ca_cert = pki.new_ca("garden", now=T0)
    key, cert = pki.new_client_cert(ca_key, ca_cert, NODE, now=T0, days=LIFETIME_DAYS)
    cert_path, key_path = tmp_path / "mqtt-client.crt", tmp_path / "mqtt-client.key"
    cert_path.write_bytes(pki.cert_pem(cert))
    key_path.write_bytes(pki.private_pem(key))
    return cert_path, key_path, format(cert.serial_number, "x")


def _config_dict(tmp_path: Path, cert_files: tuple[Path, Path, str], **mqtt: Any) -> dict:
    cert, key, _ = cert_files
    return {"node": {"id": NODE, "site": "garden", "journal": str(tmp_path / "journal.db"),
                     "health_interval_s": 3600},
            "mqtt": {"host": "127.0.0.1", "port": _free_port(), "tls": True,
                     "certfile": str(cert), "keyfile": str(key), "reconnect_min_s": 1,
                     "reconnect_max_s": 5, **mqtt},
            "commands": {"key": "ab" * 16},
            "gpio": {"pin_factory": "mock"}}


@pytest.fixture
def run_node(tmp_path: Path, cert_files) -> Iterator:
    """``run_node(clock, **mqtt) -> Node``: a started cert node on ``clock``; stopped at teardown."""
    nodes: list[Node] = []

    def run(clock: Clock, **mqtt: Any) -> Node:
        node = Node(parse_config(_config_dict(tmp_path, cert_files, **mqtt)), clock=clock, drain_s=0)
        nodes.append(node)
        return node.start()

    yield run
    for node in nodes:
        node.stop()


def _events(node: Node, kind: str) -> list[dict]:
    assert node.journal is not None
    return [json.loads(r.payload)["data"] for r in node.journal.unsent(limit=10_000) if r.kind == kind]


def _check(node: Node) -> str | None:
    return node.extensions["cert"].check()  # type: ignore[attr-defined]


def test_plenty_of_days_left_sends_no_event(run_node):
    clock = Clock(T0_MS)
    node = run_node(clock)
    assert _events(node, EXPIRING_KIND) == [] and _events(node, EXPIRED_KIND) == []


def test_health_figures_carry_expiry_and_days_left(run_node):
    clock = Clock(T0_MS)
    clock.at_days_left(35.5)
    node = run_node(clock)
    figures = node.health_figures()
    assert figures["cert_expires"] == EXPIRES_MS
    assert figures["cert_days_left"] == 35
    assert figures["cert_warn_days"] == 30


def test_days_left_in_health_figures_follow_the_node_clock(run_node):
    clock = Clock(T0_MS)
    node = run_node(clock)
    clock.at_days_left(3.2)
    assert node.health_figures()["cert_days_left"] == 3


def test_under_the_threshold_journals_cert_expiring_at_start(run_node, cert_files):
    clock = Clock(T0_MS)
    clock.at_days_left(12.5)
    node = run_node(clock, cert_warn_days=20)
    (data,) = _events(node, EXPIRING_KIND)
    assert data == {"expires": EXPIRES_MS, "days_left": 12, "cn": NODE, "serial": cert_files[2]}


def test_cert_expiring_is_sent_once_a_day_not_per_check(run_node):
    clock = Clock(T0_MS)
    clock.at_days_left(10)
    node = run_node(clock)                          # the check at start warns
    for _ in range(5):                              # more checks the same day: nothing new
        clock.ms += DAY_MS // 10
        assert _check(node) is None
    clock.ms = EXPIRES_MS - 10 * DAY_MS + DAY_MS    # a day after the first warning
    assert _check(node) == EXPIRING_KIND
    assert [d["days_left"] for d in _events(node, EXPIRING_KIND)] == [10, 9]


def test_crossing_the_threshold_later_warns_at_the_next_check(run_node):
    clock = Clock(T0_MS)
    clock.at_days_left(31)
    node = run_node(clock)
    assert _events(node, EXPIRING_KIND) == []
    clock.at_days_left(29.9)
    assert _check(node) == EXPIRING_KIND
    assert [d["days_left"] for d in _events(node, EXPIRING_KIND)] == [29]


def test_after_expiry_journals_cert_expired(run_node, cert_files):
    clock = Clock(T0_MS)
    clock.at_days_left(2)
    node = run_node(clock)
    clock.ms = EXPIRES_MS + DAY_MS // 2
    assert _check(node) == EXPIRED_KIND
    (data,) = _events(node, EXPIRED_KIND)
    assert data == {"expires": EXPIRES_MS, "days_left": -1, "cn": NODE, "serial": cert_files[2]}
    assert node.health_figures()["cert_days_left"] == -1


def test_cert_expired_is_also_sent_at_most_once_a_day(run_node):
    clock = Clock(EXPIRES_MS + 1)
    node = run_node(clock)
    clock.ms += DAY_MS - 1
    assert _check(node) is None
    assert len(_events(node, EXPIRED_KIND)) == 1


def test_a_restart_the_same_day_does_not_repeat_the_warning(run_node):
    clock = Clock(T0_MS)
    clock.at_days_left(10)
    run_node(clock).stop()                          # warns at start
    clock.ms += DAY_MS // 4                         # restarted six hours later
    node = run_node(clock)
    assert len(_events(node, EXPIRING_KIND)) == 1   # the same journal: both starts' events


def test_a_restart_the_next_day_warns_again(run_node):
    clock = Clock(T0_MS)
    clock.at_days_left(10)
    run_node(clock).stop()
    clock.ms += DAY_MS
    node = run_node(clock)
    assert [d["days_left"] for d in _events(node, EXPIRING_KIND)] == [10, 9]


def test_cert_expired_is_not_repeated_by_a_restart_the_same_day(run_node):
    clock = Clock(EXPIRES_MS + 1)
    run_node(clock).stop()
    clock.ms += DAY_MS // 2
    node = run_node(clock)
    assert len(_events(node, EXPIRED_KIND)) == 1


def test_a_corrupt_warning_state_file_is_counted_and_the_warning_sent(run_node, tmp_path):
    (tmp_path / "cert-warnings.json").write_text("{not json")
    clock = Clock(T0_MS)
    clock.at_days_left(10)
    node = run_node(clock)
    assert len(_events(node, EXPIRING_KIND)) == 1
    assert node.health_figures()["cert_state_errors"] == 1
    assert (tmp_path / "cert-warnings.json.corrupt").read_text() == "{not json"
    assert EXPIRING_KIND in json.loads((tmp_path / "cert-warnings.json").read_text())


def test_both_kinds_are_alarms():
    assert is_alarm(EXPIRING_KIND) and is_alarm(EXPIRED_KIND)


def test_unreadable_certificate_is_counted_and_the_node_keeps_running(run_node, cert_files):
    clock = Clock(T0_MS)
    node = run_node(clock)
    cert_files[0].write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    assert _check(node) is None
    cert_files[0].unlink()
    assert _check(node) is None
    figures = node.health_figures()
    assert figures["cert_read_errors"] == 2
    assert "cert_days_left" not in figures and "cert_expires" not in figures
    assert node.extensions["cert"].alive()
    assert node.emit("input.changed", {"input": "x", "active": True}).seq > 0  # still journalling


def test_a_node_without_a_client_certificate_has_no_cert_check(tmp_path):
    data = {"node": {"id": NODE, "site": "garden", "journal": str(tmp_path / "j.db"),
                     "health_interval_s": 3600},
            "mqtt": {"host": "127.0.0.1", "port": _free_port(), "password": "pw"},
            "commands": {"key": "ab" * 16}, "gpio": {"pin_factory": "mock"}}
    node = Node(parse_config(data), drain_s=0).start()
    try:
        assert "cert" not in node.extensions
        assert "cert_days_left" not in node.health_figures()
    finally:
        node.stop()


def test_cert_warn_days_defaults_to_30(tmp_path, cert_files):
    assert parse_config(_config_dict(tmp_path, cert_files)).mqtt.cert_warn_days == 30


@pytest.mark.parametrize("value", [0, -5])
def test_cert_warn_days_must_be_positive(tmp_path, cert_files, value):
    with pytest.raises(ConfigError) as info:
        parse_config(_config_dict(tmp_path, cert_files, cert_warn_days=value))
    assert any(e.startswith("mqtt.cert_warn_days: must be >= 1") for e in info.value.errors)
