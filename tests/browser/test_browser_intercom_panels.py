"""The intercom panels page (/visitors/panels) in a real browser: an administrator maps a panel
that has called to a building, and the next call keyed "1201" there shows that building's unit
on the desk page. Screenshots under tmp_path."""

from __future__ import annotations

import time
from typing import Any

from mqtt_topics import EventEnvelope
from web.units import parse_unit

from browser_helpers import DESKTOP, login


def _call(services: Any, seq: int, unit: str) -> None:
    now = time.time_ns() // 1_000_000
    env = EventEnvelope(event_id=f"lobby:b1:{seq}", node="lobby", kind="intercom.call", ts=now,
                        seq=seq, data={"panel": "lobby-panel", "call_id": f"b1-{seq}",
                                       "unit": unit, "via": "keypad"})
    with services.db.transaction():
        services.visitors.on_event(services.events.add(env, received_at=now))


def test_admin_maps_a_panel_and_the_next_call_finds_the_buildings_unit(
        console_server, new_page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    services = console_server.services
    for building, name in (("A", "王芳"), ("B", "陈静")):
        services.units.save(parse_unit({"building": building, "number": "1201", "vacant": False,
                                        "residents": [{"name": name, "phone": "13800000000",
                                                       "relation": "owner"}]}),
                            by="admin1", create=True)
    _call(services, 1, "1201")
    page = new_page(DESKTOP)
    login(page, console_server.url, "admin1")
    page.goto(console_server.url + "/visitors/watchlist")
    page.click("[data-panels-link]")
    page.click('[data-unmapped="lobby/lobby-panel"]')
    assert page.input_value("input[name=panel]") == "lobby-panel"
    page.select_option("select[name=building]", "B")
    page.click("form.grid-form button[type=submit]")
    page.wait_for_selector('tr[data-panel="lobby/lobby-panel"]')
    assert page.locator('[data-unmapped]').count() == 0
    path = tmp_path / "intercom-panels.png"
    page.screenshot(path=str(path), full_page=True)
    _call(services, 2, "1201")
    page.goto(console_server.url + "/desk")
    assert "陈静" in page.inner_text('[data-call="lobby:b1-2"]')
