"""Client-certificate expiry at the console: a node's ``node.cert_expiring`` (from the node's
real certificate check, through a real Mosquitto and the ingest) is an alarm shown with its
label on the alarms and events pages, and the nodes page shows each cert node's days left
(red under its ``cert_warn_days``), counted on the console's clock."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from edge.config import parse_config as parse_node_config
from edge.extensions.cert_expiry import DAY_MS, CertExpiryExtension
from edge.node import Node
from firmware import pki
from firmware.mosquitto import MosquittoBroker
from mqtt_topics import NodeStatus, Telemetry
from web import close_app, create_app
from web.config import ConsoleConfig
from web.ingest import BrokerSettings
from web.live import Subscription
from web.services import ConsoleServices, ServicesConfig, build_services

from console_helpers import T0, login

SITE = "test-site"
KEY = bytes(range(1, 33))
EXPIRES_MS = T0 + 12 * DAY_MS + DAY_MS // 2        # 12.5 days after the console's T0


def _wait(sub: Subscription, channel: str, pred: Any = lambda p: True, timeout_s: float = 10.0) -> dict:
    """The first live update on ``channel`` whose payload satisfies ``pred`` (or fail)."""
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        item = sub.get(timeout_s=left)
        if item is not None and item[0] == channel and pred(item[1]):
            return item[1]
    raise AssertionError(f"no {channel!r} update within {timeout_s} s")


@pytest.fixture
def cert_path(tmp_path: Path) -> Path:
    """A real node certificate from a site CA that expires at EXPIRES_MS."""
    expires = dt.datetime.fromtimestamp(EXPIRES_MS / 1000, tz=dt.timezone.utc)
    issued = expires - dt.timedelta(days=40)
    ca_key, ca_cert = pki.new_ca(SITE, now=issued)
    _, cert = pki.new_client_cert(ca_key, ca_cert, "lobby", now=issued, days=40)
    path = tmp_path / "mqtt-client.crt"
    path.write_bytes(pki.cert_pem(cert))
    return path


@pytest.fixture
def live_services(config: ConsoleConfig, broker: MosquittoBroker, clock) -> Iterator[ConsoleServices]:  # type: ignore[no-untyped-def]
    c = broker.credentials("console")
    cfg = ServicesConfig(db_path=config.db_path, site=SITE, node_keys={"lobby": KEY},
                         broker=BrokerSettings(host=str(c["host"]), port=int(c["port"]),
                                               username="console", password=str(c["password"]),
                                               client_id="console-cert-test"),
                         clock_settle_ms=0)
    svc = build_services(cfg, clock=clock)
    svc.start()
    assert svc.ingest is not None and svc.ingest.wait_connected(10)
    yield svc
    svc.stop()


@pytest.fixture
def live_client(config, live_services, user_store, clock):  # type: ignore[no-untyped-def]
    app = create_app(config, services=live_services, clock=clock,
                     settings={"LIVE_HEARTBEAT_S": 0.05})
    client = app.test_client()
    assert login(client, "desk1").status_code == 303
    yield client
    close_app(app)


@pytest.fixture
def cert_node(broker: MosquittoBroker, tmp_path: Path, cert_path: Path,
              live_services: ConsoleServices) -> Iterator[tuple[Node, dict]]:
    """The lobby node (password login to the test broker) running the certificate check on
    ``cert_path``, its clock at the console's T0; returns it with the alarm it raised."""
    creds = broker.credentials("lobby")
    config = parse_node_config({
        "node": {"id": "lobby", "site": SITE, "journal": str(tmp_path / "lobby-journal.db"),
                 "health_interval_s": 3600},
        "mqtt": {"host": creds["host"], "port": creds["port"], "password": creds["password"],
                 "reconnect_min_s": 0.05, "reconnect_max_s": 0.25},
        "commands": {"key": KEY.hex()},
        "gpio": {"pin_factory": "mock"}})
    with live_services.live.subscribe() as sub:
        node = Node(config, clock=lambda: T0, drain_s=0.5,
                    extensions=[CertExpiryExtension(cert_path, warn_days=30)]).start()
        try:
            alarm = _wait(sub, "alarm", lambda p: p["kind"] == "node.cert_expiring")
            yield node, alarm
        finally:
            node.stop()


def test_cert_expiring_from_a_node_raises_an_alarm(cert_node, live_services) -> None:  # type: ignore[no-untyped-def]
    _, alarm = cert_node
    assert alarm["node"] == "lobby" and alarm["acknowledged_at"] is None
    [open_alarm] = [a for a in live_services.alarms.open() if a.kind == "node.cert_expiring"]
    assert open_alarm.data["days_left"] == 12 and open_alarm.data["cn"] == "lobby"


def test_alarms_page_shows_the_cert_expiring_label(cert_node, live_client) -> None:  # type: ignore[no-untyped-def]
    page = live_client.get("/alarms").get_data(as_text=True)
    assert "节点证书即将过期" in page


def test_events_page_shows_the_cert_expiring_label(cert_node, live_client) -> None:  # type: ignore[no-untyped-def]
    page = live_client.get("/events").get_data(as_text=True)
    assert "节点证书即将过期" in page


def test_nodes_page_shows_days_left_from_health_telemetry(cert_node, live_services, live_client) -> None:  # type: ignore[no-untyped-def]
    node, _ = cert_node
    with live_services.live.subscribe() as sub:
        assert node.extensions["health"].publish_now()  # type: ignore[attr-defined]
        _wait(sub, "node", lambda p: "cert_expires" in p["counters"])
    row = _node_row(live_client, "lobby")
    assert "剩 12 天" in row and "cert flagged" in row


# -- the nodes page on its own (stores filled directly, no broker) -------------------------------

def _node_row(client, node: str) -> str:  # type: ignore[no-untyped-def]
    page = client.get("/nodes").get_data(as_text=True)
    return page.split(f'data-node="{node}"')[1].split("</tr>")[0]


def _health(services, node: str, **values: Any) -> None:  # type: ignore[no-untyped-def]
    services.nodes.update_status(node, NodeStatus(state="online", boot_id="b7", ts=T0,
                                                  version="0.1.0"), received_at=T0, retained=False)
    services.nodes.update_health(node, Telemetry(device="health", ts=T0, values=values),
                                 received_at=T0)


def _cert_cell(row: str) -> str:
    return row.split('<td class="num nowrap cert')[1].split("</td>")[0]


def test_nodes_page_does_not_flag_a_certificate_with_plenty_of_days(client, services) -> None:  # type: ignore[no-untyped-def]
    _health(services, "gate", cert_expires=T0 + 400 * DAY_MS, cert_days_left=400, cert_warn_days=30)
    login(client, "desk1")
    cell = _cert_cell(_node_row(client, "gate"))
    assert "剩 400 天" in cell and "flagged" not in cell


def test_nodes_page_flags_days_under_the_node_threshold(client, services) -> None:  # type: ignore[no-untyped-def]
    _health(services, "gate", cert_expires=T0 + 45 * DAY_MS, cert_days_left=45, cert_warn_days=60)
    login(client, "desk1")
    cell = _cert_cell(_node_row(client, "gate"))
    assert cell.startswith(" flagged") and "剩 45 天" in cell


def test_nodes_page_counts_days_on_the_console_clock(client, services, clock) -> None:  # type: ignore[no-untyped-def]
    _health(services, "gate", cert_expires=T0 + 5 * DAY_MS, cert_days_left=5, cert_warn_days=30)
    clock.advance(7 * DAY_MS)                       # the node stopped reporting: it expired
    login(client, "desk1")
    cell = _cert_cell(_node_row(client, "gate"))
    assert "已过期 2 天" in cell and cell.startswith(" flagged")


def test_nodes_page_shows_a_dash_for_a_node_without_a_client_certificate(client, services) -> None:  # type: ignore[no-untyped-def]
    _health(services, "gate", journal_depth=0)
    login(client, "desk1")
    assert '<span class="muted">—</span>' in _cert_cell(_node_row(client, "gate"))
