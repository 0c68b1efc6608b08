"""create_app: refuses without a secret, builds and stops its own services, pages render."""

from __future__ import annotations

import dataclasses

import pytest

from web import close_app, create_app
from web.config import parse_config
from web.errors import ConsoleConfigError
from web.state import console

from mqtt_topics import NodeStatus, Telemetry

from console_helpers import T0, console_dict, login, make_event


def test_app_refuses_to_start_without_a_secret_key(config, services) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConsoleConfigError, match="secret_key"):
        create_app(dataclasses.replace(config, secret_key=""), services=services)


def test_app_builds_starts_and_stops_its_own_services(tmp_path, user_store) -> None:  # type: ignore[no-untyped-def]
    cfg = parse_config(console_dict(), base_dir=tmp_path)
    app = create_app(cfg)
    services = console(app).services
    assert services.ingest is None            # no [mqtt]: no broker
    assert services.db.is_open
    client = app.test_client()
    login(client, "admin1")
    assert client.get("/").status_code == 200
    close_app(app)
    assert not services.db.is_open
    close_app(app)                            # idempotent


def test_app_leaves_services_it_was_given_running(config, services, user_store) -> None:  # type: ignore[no-untyped-def]
    app = create_app(config, services=services)
    close_app(app)
    assert services.db.is_open


def _node_row(client, node: str) -> str:  # type: ignore[no-untyped-def]
    page = client.get("/nodes").get_data(as_text=True)
    return page.split(f'data-node="{node}"')[1].split("</tr>")[0]


def _health(services, node: str, *, offset_ms: int, **values) -> None:  # type: ignore[no-untyped-def]
    services.nodes.update_status(node, NodeStatus(state="online", boot_id="b7", ts=T0,
                                                  version="0.1.0"), received_at=T0, retained=False)
    services.nodes.update_health(node, Telemetry(device="health", ts=T0 + offset_ms,
                                                 values=values), received_at=T0)


def test_nodes_page_shows_state_health_and_gaps(client, services) -> None:  # type: ignore[no-untyped-def]
    _health(services, "gate", offset_ms=1_000, journal_depth=12, oldest_unsent_age_s=30.0,
            reader_errors=2, mqtt_disconnects=0, reader_reads=40)
    make_event(services, node="gate", seq=1)
    make_event(services, node="gate", seq=4)
    login(client, "desk1")
    row = _node_row(client, "gate")
    assert "b7" in row and "0.1.0" in row and "在线" in row
    assert '<td class="num">12</td>' in row
    # non-zero error counters stand out; the other figures are one click away
    assert '<span class="counter counter-hot">reader_errors=2</span>' in row
    assert 'counter-hot">mqtt_disconnects' not in row and 'counter-hot">reader_reads' not in row
    assert '<span class="counter">reader_reads=40</span>' in row.split("<details")[1]
    assert "序号 2–3（缺 2 条）" in row
    assert "+1.0 s" in row and "flagged" not in row


def test_nodes_page_flags_clock_offset_beyond_the_limit_in_red(client, services) -> None:  # type: ignore[no-untyped-def]
    _health(services, "gate", offset_ms=90_000)
    login(client, "desk1")
    row = _node_row(client, "gate")
    assert 'class="num flagged"' in row and "+90.0 s" in row


def test_dashboard_shows_latest_events(client, services) -> None:  # type: ignore[no-untyped-def]
    make_event(services, seq=1, data={"reader": "front", "card": "0099887766"})
    login(client, "patrol1")
    page = client.get("/").get_data(as_text=True)
    assert "0099887766" in page and "刷卡" in page
