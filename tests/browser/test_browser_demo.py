"""End to end in a browser: a card presented to a simulated reader on a node travels through
the node journal, Mosquitto and the console's ingest, and appears live on the dashboard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lobbygate.demo import ADMIN, DemoSite


def test_simulated_card_read_appears_live_on_the_dashboard(new_page: Any, tmp_path: Path) -> None:
    with DemoSite(tmp_path / "demo", activity="idle") as site:
        page = new_page()
        page.goto(site.console_url + "login")
        page.fill("input[name=username]", ADMIN)
        page.fill("input[name=password]", site.admin_password)
        page.click("button[type=submit].btn-primary")
        page.wait_for_url(site.console_url)
        page.wait_for_selector('#live-status[data-state="live"]')
        lobby = site.nodes["lobby"]
        lobby.simulation.present("7E00C0FFEE")
        row = page.wait_for_selector('#live-events tr:has-text("7E00C0FFEE")', timeout=15_000)
        assert "lobby" in row.inner_text()
        page.screenshot(path=str(tmp_path / "dashboard-simulated-card.png"), full_page=True)
