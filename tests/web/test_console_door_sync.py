"""End to end through a real Mosquitto: a card added on the console reaches a door node as the
retained ``sync/credentials`` snapshot and opens the door; the decision comes back to the
console's access log and doors board; a remote unlock from the board reaches the node."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from edge.access import DoorConfig
from edge.config import parse_config as parse_node_config
from edge.extensions.door import DoorExtension, DoorOutputSettings, DoorReaderSettings, DoorSettings
from edge.node import Node
from firmware.mosquitto import MosquittoBroker
from firmware.probe import wait_until
from hardware.sim import SimFactory, WiegandSimulator, pin_state
from web import close_app, create_app
from web.config import ConsoleConfig
from web.ingest import BrokerSettings
from web.services import ConsoleServices, ServicesConfig, build_services

from console_helpers import login, post_form

SITE = "test-site"
KEY = bytes(range(1, 33))
D0, D1, LOCK = 5, 6, 22


@pytest.fixture
def live_services(config: ConsoleConfig, broker: MosquittoBroker) -> Iterator[ConsoleServices]:
    c = broker.credentials("console")
    cfg = ServicesConfig(db_path=config.db_path, site=SITE, node_keys={"lobby": KEY},
                         broker=BrokerSettings(host=str(c["host"]), port=int(c["port"]),
                                               username="console", password=str(c["password"])),
                         clock_settle_ms=0, timezone="Asia/Shanghai")
    svc = build_services(cfg)
    svc.start()
    assert svc.ingest is not None and svc.ingest.wait_connected(10)
    yield svc
    svc.stop()


@pytest.fixture
def live_client(config, live_services, user_store):  # type: ignore[no-untyped-def]
    app = create_app(config, services=live_services, settings={"LIVE_HEARTBEAT_S": 0.05})
    client = app.test_client()
    assert login(client, "desk1").status_code == 303
    yield client
    close_app(app)


@pytest.fixture
def door_node(broker: MosquittoBroker, tmp_path: Path) -> Iterator[tuple[Node, DoorExtension, SimFactory]]:
    factory = SimFactory()
    creds = broker.credentials("lobby")
    config = parse_node_config({
        "node": {"id": "lobby", "site": SITE, "journal": str(tmp_path / "lobby-journal.db"),
                 "health_interval_s": 3600},
        "mqtt": {"host": creds["host"], "port": creds["port"], "password": creds["password"],
                 "reconnect_min_s": 0.05, "reconnect_max_s": 0.25},
        "commands": {"key": KEY.hex()},
        "gpio": {"pin_factory": "mock"}})
    door = DoorExtension(DoorSettings(
        door=DoorConfig(door_id="lobby", unlock_s=60, debounce_s=0.0),
        lock=DoorOutputSettings(pin=LOCK), cache_path=tmp_path / "credentials.json",
        readers=(DoorReaderSettings(name="lobby-in", d0=D0, d1=D1, direction="in"),)))
    node = Node(config, drain_s=0.5, pin_factory=factory, extensions=[door]).start()
    try:
        yield node, door, factory
    finally:
        node.stop()
        factory.close()


def _kinds(services: ConsoleServices, kind: str) -> list:  # type: ignore[type-arg]
    return services.events.search(kind=kind, limit=50).items


def test_card_added_on_the_console_opens_the_door_on_the_node(live_client, live_services,
                                                               door_node) -> None:
    node, door, factory = door_node
    resp = post_form(live_client, "/credentials/new", "/credentials/new", {
        "credential_id": "c-1001", "cards": "w26:123:4567", "holder": "王芳", "unit": "3-2-501",
        "kind": "resident", "doors": "lobby", "enabled": "y"})
    assert resp.status_code == 303
    assert wait_until(lambda: door.counters()["snapshots_applied"] >= 1, timeout_s=10)
    assert not pin_state(factory, LOCK)
    WiegandSimulator(factory, D0, D1).present_card(123, 4567)
    assert wait_until(lambda: pin_state(factory, LOCK), timeout_s=5)
    assert wait_until(lambda: _kinds(live_services, "door.granted"), timeout_s=10)
    [granted] = _kinds(live_services, "door.granted")
    assert granted.data["credential_id"] == "c-1001" and granted.data["holder"] == "王芳"
    page = live_client.get("/access-log?result=granted&holder=王").get_data(as_text=True)
    assert granted.event_id in page


def test_disabling_on_the_console_makes_the_node_deny_the_card(live_client, live_services,
                                                                door_node) -> None:
    node, door, factory = door_node
    post_form(live_client, "/credentials/new", "/credentials/new", {
        "credential_id": "c-1", "cards": "w26:1:2", "kind": "staff", "doors": "*", "enabled": "y"})
    post_form(live_client, "/credentials", "/credentials/c-1/disable", {})
    assert wait_until(lambda: door.counters()["snapshots_applied"] >= 2, timeout_s=10)
    WiegandSimulator(factory, D0, D1).present_card(1, 2)
    assert wait_until(lambda: _kinds(live_services, "door.denied"), timeout_s=10)
    [denied] = _kinds(live_services, "door.denied")
    assert denied.data["reason"] == "disabled" and not pin_state(factory, LOCK)


def _door_on_board(client, services: ConsoleServices, door, factory) -> None:  # type: ignore[no-untyped-def]
    """Enrol card 1:2 for every door and badge it once: the door reports, so it is on the
    board."""
    post_form(client, "/credentials/new", "/credentials/new", {
        "credential_id": "c-1", "cards": "w26:1:2", "kind": "staff", "doors": "*", "enabled": "y"})
    assert wait_until(lambda: door.counters()["snapshots_applied"] >= 1, timeout_s=10)
    WiegandSimulator(factory, D0, D1).present_card(1, 2)
    assert wait_until(lambda: _kinds(services, "door.granted"), timeout_s=10)


def test_remote_unlock_from_the_doors_board_reaches_the_node_and_is_audited(
        live_client, live_services, door_node) -> None:
    node, door, factory = door_node
    _door_on_board(live_client, live_services, door, factory)
    assert 'data-door="lobby"' in live_client.get("/doors").get_data(as_text=True)
    resp = post_form(live_client, "/doors", "/doors/lobby/unlock", {"reason": "快递员 delivery"})
    assert resp.status_code == 303
    assert wait_until(lambda: _kinds(live_services, "door.remote"), timeout_s=10)
    [remote] = _kinds(live_services, "door.remote")
    assert remote.data["by"] == "desk1" and remote.data["action"] == "unlock"
    entries = [e for e in live_services.db.conn().execute(
        "SELECT action, target, detail FROM audit_log WHERE action = 'door.unlock'")]
    assert len(entries) == 1 and "快递员 delivery" in entries[0]["detail"]


def test_changes_made_while_disconnected_are_published_on_connect(config, broker, door_node) -> None:
    from web.access import CredentialRecord

    node, door, factory = door_node
    c = broker.credentials("console")
    cfg = ServicesConfig(db_path=config.db_path, site=SITE, node_keys={"lobby": KEY},
                         broker=BrokerSettings(host=str(c["host"]), port=int(c["port"]),
                                               username="console", password=str(c["password"])),
                         clock_settle_ms=0)
    svc = build_services(cfg).open()
    svc.credentials.save(CredentialRecord(credential_id="c-9", cards=("w26:9:9",), doors=("lobby",)),
                         by="cli", create=True)
    try:
        svc.start()                                  # connects: the snapshot goes out now
        assert wait_until(lambda: door.counters()["snapshots_applied"] >= 1, timeout_s=10)
        WiegandSimulator(factory, D0, D1).present_card(9, 9)
        assert wait_until(lambda: pin_state(factory, LOCK), timeout_s=5)
    finally:
        svc.stop()


def _last_command(services: ConsoleServices, action: str):  # type: ignore[no-untyped-def]
    return next(r for r in services.commands.recent(20) if r.action == action)


def test_hold_open_and_release_from_the_board_reach_the_node_and_report_ok(
        live_client, live_services, door_node) -> None:
    node, door, factory = door_node
    _door_on_board(live_client, live_services, door, factory)
    resp = post_form(live_client, "/doors", "/doors/lobby/hold-open",
                     {"reason": "业主搬家", "minutes": "30"})
    assert resp.status_code == 303
    hold = _last_command(live_services, "door.hold_open")
    assert live_services.commands.wait(hold.cmd_id, timeout_s=10).state == "ok"
    assert live_client.get(f"/doors/commands/{hold.cmd_id}").json["state"] == "ok"
    assert pin_state(factory, LOCK)
    post_form(live_client, "/doors", "/doors/lobby/release", {"reason": "搬完了"})
    release = _last_command(live_services, "door.release")
    assert live_services.commands.wait(release.cmd_id, timeout_s=10).state == "ok"
    assert wait_until(lambda: not pin_state(factory, LOCK), timeout_s=5)


def test_a_schedule_change_on_the_console_reaches_the_node(live_client, live_services,
                                                           door_node) -> None:
    node, door, factory = door_node
    assert post_form(live_client, "/credentials/new", "/credentials/new", {
        "credential_id": "c-1", "cards": "w26:1:2", "kind": "staff", "doors": "*",
        "enabled": "y"}).status_code == 303
    from web.access.schedule_model import validate_schedule

    closed, _ = validate_schedule({"schedule_id": "never"})       # no interval on any day
    live_services.schedules.save(closed, by="admin1", create=True)
    record = live_services.credentials.get("c-1").with_changes(schedule="never")
    live_services.credentials.save(record, by="admin1", create=False)
    assert live_services.publish_credentials()
    assert wait_until(lambda: door.counters()["snapshots_applied"] >= 2, timeout_s=10)
    assert "never" in door.decider.credentials.schedules
    WiegandSimulator(factory, D0, D1).present_card(1, 2)
    assert wait_until(lambda: _kinds(live_services, "door.denied"), timeout_s=10)
    [denied] = _kinds(live_services, "door.denied")
    assert denied.data["reason"] == "outside_schedule" and not pin_state(factory, LOCK)
