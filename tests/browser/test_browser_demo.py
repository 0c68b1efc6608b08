"""End to end in a browser, on the whole demo site: a resident's card read by the lobby's simulated
Wiegand reader is decided on the node from the credentials the console synced (seeded with the
residents), travels through the node journal, Mosquitto and the console's ingest, and appears
live on the dashboard with the resident's name; an unknown card appears denied."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lobbygate.demo import ADMIN, DemoSite
from lobbygate.demo_nodes import LOBBY_DOOR
from lobbygate.demo_people import CARDS, UNKNOWN_CARDS


def _log_in(page: Any, site: DemoSite) -> None:
    page.goto(site.console_url + "login")
    page.fill("input[name=username]", ADMIN)
    page.fill("input[name=password]", site.admin_password)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(site.console_url)
    page.wait_for_selector('#live-status[data-state="live"]')


def test_resident_card_granted_at_the_lobby_appears_live_with_her_name(
        new_page: Any, tmp_path: Path) -> None:
    li = next(c for c in CARDS if c.credential_id == "c-1-1201-li")
    with DemoSite(tmp_path / "demo", activity="idle") as site:
        assert site.wait_ready()
        page = new_page()
        _log_in(page, site)
        site.wiring["lobby"].card_wiegand(LOBBY_DOOR.d0, LOBBY_DOOR.d1, li.facility, li.number)
        row = page.wait_for_selector('#live-events tr:has-text("door.granted"):has-text("李秀英")',
                                     timeout=15_000)
        assert "lobby" in row.inner_text() and "1-1201" in row.inner_text()
        page.screenshot(path=str(tmp_path / "dashboard-demo-granted.png"), full_page=True)


def test_unknown_card_at_the_lobby_appears_live_as_denied(new_page: Any, tmp_path: Path) -> None:
    facility, number = UNKNOWN_CARDS[0]
    with DemoSite(tmp_path / "demo", activity="idle") as site:
        assert site.wait_ready()
        page = new_page()
        _log_in(page, site)
        site.wiring["lobby"].card_wiegand(LOBBY_DOOR.d0, LOBBY_DOOR.d1, facility, number)
        row = page.wait_for_selector(
            f'#live-events tr:has-text("door.denied"):has-text("w26:{facility}:{number}")',
            timeout=15_000)
        assert "unknown_card" in row.inner_text()
