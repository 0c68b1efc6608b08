"""End to end through the real broker: a visitor presses the call button on a simulated lobby
node, the console's ingest stores the call, the desk page shows it with the unit's residents;
the desk records the resident's consent, registers the visitor and opens the door with a signed
``intercom.open`` naming the operator, and the node's door relay pulses. And an invite signed by
the console opens the node's door when scanned (checking the visitor in on the console), while
one the console revoked is refused at the door."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from edge_helpers import KEYS, SITE
from firmware.mosquitto import MosquittoBroker
from firmware.probe import wait_until
from hardware.sim import ScannerSimulator, press, release
from intercom_helpers import BUTTON_1201, start_panel
from web import close_app, create_app
from web.auth.users import UserStore
from web.config import parse_config
from web.ingest import BrokerSettings
from web.live import Subscription
from web.services import ServicesConfig, build_services
from web.signing import SiteSigner
from web.units import parse_unit

PASSWORD = "correct horse battery"


def wait_event(sub: Subscription, kind: str, timeout_s: float = 10.0) -> dict[str, Any]:
    """The first live ``event`` of ``kind`` (fails after ``timeout_s``)."""
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        item = sub.get(timeout_s=left)
        if item and item[0] == "event" and item[1].get("kind") == kind:
            return item[1]
    raise AssertionError(f"no {kind} reached the console")


@pytest.fixture
def desk_console(broker: MosquittoBroker, tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    """(services, Flask test client logged in as desk1) on the test broker."""
    c = broker.credentials("console")
    cfg = parse_config({"console": {"site": SITE, "db": "console.db", "users_db": "users.json",
                                    "secret_key": "e2e-secret-" + "x" * 40}}, base_dir=tmp_path)
    services = build_services(ServicesConfig(
        db_path=cfg.db_path, site=SITE, clock_settle_ms=0, node_keys={"lobby": KEYS["lobby"]},
        broker=BrokerSettings(host=str(c["host"]), port=int(c["port"]), username="console",
                              password=str(c["password"]), client_id="console-e2e")),
        signer=SiteSigner.generate())
    services.start()
    assert services.ingest is not None and services.ingest.wait_connected(10)
    services.units.save(parse_unit({"building": "A", "number": "1201", "residents": [
        {"name": "王芳", "phone": "13800000000", "relation": "owner"}]}), by="admin", create=True)
    UserStore(cfg.users_db_path, hash_method="pbkdf2:sha256:1000").open().add(
        "desk1", PASSWORD, role="desk")
    app = create_app(cfg, services=services)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert client.post("/login", data={"csrf_token": token, "username": "desk1",
                                       "password": PASSWORD}).status_code == 303
    try:
        yield services, client
    finally:
        close_app(app)
        services.stop()


def _post(client: Any, page: str, action: str, data: dict[str, str]) -> Any:
    html = client.get(page).get_data(as_text=True)
    token = html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    return client.post(action, data={"csrf_token": token, **data})


def test_call_from_the_node_reaches_the_desk_page_and_the_desk_opens_the_door(
        broker: MosquittoBroker, tmp_path: Path, start_node, desk_console) -> None:
    services, client = desk_console
    _, panel, factory, _ = start_panel(broker, tmp_path, start_node)
    with services.live.subscribe() as sub:
        press(factory, BUTTON_1201)
        release(factory, BUTTON_1201)
        ev = wait_event(sub, "intercom.call")
        key = f"lobby:{ev['data']['call_id']}"
        page = client.get("/desk").get_data(as_text=True)
        assert f'data-call="{key}"' in page and "A-1201" in page
        assert "王芳" in page and "13800000000" in page
        assert _post(client, "/desk", f"/desk/calls/{key}/answer", {}).status_code == 303
        wait_event(sub, "intercom.answered")
        assert wait_until(lambda: panel.panel_state == "answered")   # set just after the event
        _post(client, "/desk", f"/desk/calls/{key}/confirm", {"via": "phone"})
        resp = _post(client, f"/visitors/new?call={key}", "/visitors/new", {
            "name": "张伟", "id_type": "resident_id", "id_number": "110101199003074518",
            "phone": "", "unit": "A-1201", "purpose": "", "plate": "", "people": "1",
            "call_id": key})
        assert resp.status_code == 303
        visit_page = resp.headers["Location"]
        assert 'data-action="unlock"' in client.get(visit_page).get_data(as_text=True)
        assert not panel.door.is_energised
        _post(client, visit_page, visit_page + "/unlock", {})
        opened = wait_event(sub, "intercom.door_opened")
    assert opened["data"]["by"] == "desk1" and opened["data"]["unit"] == "1201"
    assert panel.door.is_energised
    call = services.visitors.calls.require(key)
    assert (call.outcome, call.confirmed_via) == ("opened", "phone")
    [visit] = services.visitors.visits.for_call(key)
    assert visit.state == "on_site" and visit.unlocked_by == "desk1"


def test_console_invite_opens_the_door_and_a_revoked_one_is_refused(
        broker: MosquittoBroker, tmp_path: Path, start_node, pty, desk_console) -> None:
    services, client = desk_console
    (tmp_path / "site.pub").write_bytes(services.signer().public_key_pem())
    node, panel, _, _ = start_panel(broker, tmp_path, start_node, scanner_port=pty.device_path,
                                    scanner_repeat_s=0, public_key_file=str(tmp_path / "site.pub"),
                                    invite_ledger=str(tmp_path / "invites.db"))
    assert node.bridge.wait_ready(10) and wait_until(lambda: panel.scanner.alive)
    scanner = ScannerSimulator(pty.write)
    now = int(time.time() * 1000)

    def make(name: str) -> Any:
        return services.visitors.create_invite(
            signer=services.signer(), by="desk1", name=name, phone="", unit="A-1201",
            purpose="", valid_from=now - 60_000, valid_until=now + 3_600_000, uses=1)

    welcome, revoked = make("赵六"), make("钱七")
    _post(client, f"/invites/{revoked.invite_id}", f"/invites/{revoked.invite_id}/revoke", {})
    assert wait_until(lambda: panel.counters()["snapshots_applied"] >= 1)
    with services.live.subscribe() as sub:
        scanner.scan(welcome.qr_text)
        admitted = wait_event(sub, "intercom.invite_admitted")
        scanner.scan(revoked.qr_text)
        refused = wait_event(sub, "intercom.invite_refused")
    assert admitted["data"]["invite_id"] == welcome.invite_id
    assert refused["data"]["reason"] == "revoked"
    [visit] = services.visitors.visits.for_invite(welcome.invite_id)
    assert visit.state == "on_site" and visit.name == "赵六"
    assert services.visitors.visits.for_invite(revoked.invite_id) == []
    page = client.get("/on-site").get_data(as_text=True)
    assert "赵六" in page and "钱七" not in page
