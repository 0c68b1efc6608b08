"""End to end through the real broker: a visitor presses the call button on a simulated lobby
node, the console's ingest stores the call, the desk page shows it with the unit's residents;
the desk records the resident's consent, registers the visitor and opens the door with a signed
``intercom.open`` naming the operator, and the node's door relay pulses. And an invite signed by
the console opens the node's door when scanned (checking the visitor in on the console), while
one the console revoked is refused at the door."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from console_client import post_form
from firmware.mosquitto import MosquittoBroker
from firmware.probe import wait_until
from hardware.sim import ScannerSimulator
from intercom_helpers import call_1201, start_panel, wait_event


def test_call_from_the_node_reaches_the_desk_page_and_the_desk_opens_the_door(
        broker: MosquittoBroker, tmp_path: Path, start_node, desk_console) -> None:
    services, client = desk_console
    _, panel, factory, _ = start_panel(broker, tmp_path, start_node)
    with services.live.subscribe() as sub:
        _, key = call_1201(factory, sub)
        page = client.get("/desk").get_data(as_text=True)
        assert f'data-call="{key}"' in page and "A-1201" in page
        assert "王芳" in page and "13800000000" in page
        assert post_form(client, "/desk", f"/desk/calls/{key}/answer", {}).status_code == 303
        wait_event(sub, "intercom.answered")
        assert wait_until(lambda: panel.panel_state == "answered")   # set just after the event
        post_form(client, "/desk", f"/desk/calls/{key}/confirm", {"via": "phone"})
        resp = post_form(client, f"/visitors/new?call={key}", "/visitors/new", {
            "name": "张伟", "id_type": "resident_id", "id_number": "110101199003074518",
            "phone": "", "unit": "A-1201", "purpose": "", "plate": "", "people": "1",
            "call_id": key})
        assert resp.status_code == 303
        visit_page = resp.headers["Location"]
        assert 'data-action="unlock"' in client.get(visit_page).get_data(as_text=True)
        assert not panel.door.is_energised
        post_form(client, visit_page, visit_page + "/unlock", {})
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
    post_form(client, f"/invites/{revoked.invite_id}", f"/invites/{revoked.invite_id}/revoke", {})
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
