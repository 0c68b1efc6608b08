"""Client-certificate expiry in the browser: the Nodes page shows each cert node's days left,
red under its threshold, and a ``node.cert_expiring`` alarm is listed with its label."""

from __future__ import annotations

import pytest

from mqtt_topics import NodeStatus, Telemetry

from browser_helpers import DESKTOP, PHONE, add_event, login, now_ms, shot

VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}
DAY_MS = 86_400_000


def _cert_node(services, node: str, days: float, warn: int = 30) -> None:  # type: ignore[no-untyped-def]
    now = now_ms()
    services.nodes.update_status(node, NodeStatus(state="online", boot_id="a1b2c3", ts=now,
                                                  version="0.1.0"), received_at=now, retained=False)
    services.nodes.update_health(node, Telemetry(device="health", ts=now, values={
        "journal_depth": 0, "oldest_unsent_age_s": 0, "cert_expires": now + int(days * DAY_MS),
        "cert_days_left": int(days), "cert_warn_days": warn}), received_at=now)


@pytest.mark.parametrize("size", VIEWPORTS)
def test_nodes_page_shows_certificate_days_left(console_server, new_page, tmp_path, size) -> None:  # type: ignore[no-untyped-def]
    services = console_server.services
    _cert_node(services, "lobby", 400.5)
    _cert_node(services, "gate", 12.5)
    page = new_page(VIEWPORTS[size])
    login(page, console_server.url, "admin1")
    page.goto(console_server.url + "/nodes")
    gate = page.locator('tr[data-node="gate"] td.cert')
    lobby = page.locator('tr[data-node="lobby"] td.cert')
    assert gate.inner_text().strip() == "剩 12 天" and "flagged" in gate.get_attribute("class")
    assert lobby.inner_text().strip() == "剩 400 天" and "flagged" not in lobby.get_attribute("class")
    assert gate.evaluate("e => getComputedStyle(e).color") != lobby.evaluate("e => getComputedStyle(e).color")
    shot(page, tmp_path, f"nodes-cert-{size}")


def test_alarms_page_lists_cert_expiring_with_its_label(console_server, new_page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    services = console_server.services
    ev = add_event(services, 1, "node.cert_expiring", {"expires": now_ms() + 12 * DAY_MS,
                                                       "days_left": 12, "cn": "gate", "serial": "1a2b"},
                   node="gate")
    services.alarms.raise_for_event(ev)
    page = new_page()
    login(page, console_server.url, "desk1")
    page.goto(console_server.url + "/alarms")
    assert "节点证书即将过期" in page.locator("tr.alarm-row").first.inner_text()
    shot(page, tmp_path, "alarms-cert")
