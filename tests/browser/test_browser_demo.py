"""End to end in a browser, on the whole demo site: a resident's card read by the lobby's simulated
Wiegand reader is decided on the node from the credentials the console synced (seeded with the
residents), travels through the node journal, Mosquitto and the console's ingest, and appears
live on the dashboard with the resident's name; an unknown card appears denied. And a tour of
the console features on the seeded demo after the simulated people did one thing each: the
dashboard, the desk, the key cabinet board, a unit's meters, patrol live, goods passes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from firmware.probe import wait_until
from lobbygate.demo import ADMIN, DemoSite
from lobbygate.demo_activity import DemoActivity
from lobbygate.demo_nodes import LOBBY_DOOR, METERS, PATROL_ROUTE
from lobbygate.demo_people import CARDS, KEYS, PATROL_USER, UNKNOWN_CARDS

from browser_helpers import PHONE


def _log_in(page: Any, site: DemoSite, user: str = ADMIN) -> None:
    page.goto(site.console_url + "login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", site.passwords[user])
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(site.console_url + ("" if user == ADMIN else "**"))
    if user == ADMIN:
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


def _activity(site: DemoSite) -> None:
    """One of each: a key taken, two patrol taps, a pass shown and released, an invite used, a
    call button pressed; waits until the console has each (and the meters' first totals)."""
    people = DemoActivity(wiring=site.wiring, meters=site.meters, desk=site.desk, seed=5)
    people.rng.random = lambda: 0.9          # type: ignore[method-assign]  # the guard releases
    s = site.desk.services                   # type: ignore[union-attr]
    people.take_key(KEYS[0])
    for walked in (1, 2):
        people.patrol_tap()
        assert wait_until(lambda: s.patrol.taps.count() == walked, timeout_s=20)
    people.goods_pass()
    people.invite()
    people.intercom_call()
    assert wait_until(lambda: s.visitors.calls.desk(s.clock()), timeout_s=20)
    assert wait_until(lambda: s.keys.loans.open_loan(KEYS[0].number) is not None, timeout_s=20)
    assert wait_until(lambda: s.passes.search(state="released"), timeout_s=20)
    assert wait_until(lambda: s.visitors.visits.count() >= 1, timeout_s=20)
    assert wait_until(lambda: all(s.meters.readings.state(name) is not None
                                  for name, *_ in METERS), timeout_s=20)


def test_tour_of_the_console_features_on_the_seeded_demo(new_page: Any, tmp_path: Path) -> None:
    with DemoSite(tmp_path / "demo", activity="idle") as site:
        assert site.wait_ready()
        _activity(site)
        page = new_page()
        _log_in(page, site)
        base = site.console_url

        def visit(path: str, name: str, ready: str) -> None:
            page.goto(base + path)
            page.wait_for_selector(ready, timeout=15_000)
            page.screenshot(path=str(tmp_path / f"tour-{name}.png"), full_page=True)

        visit("", "dashboard", '#live-status[data-state="live"]')
        visit("desk", "desk", "article.call-card")
        assert page.locator("[data-on-site-count]").inner_text().strip() == "1"
        visit("keys/cabinets", "keys-cabinet", '.slot[data-slot="1"][data-state="out"]')
        visit("meters/unit/1-1201", "meters-unit", "[data-meter-card] svg.chart")
        assert "1834" in page.content()                 # the plant node's live total
        visit("patrol/live", "patrol-live", 'tr[data-state="running"]')
        assert page.locator('tr[data-state="running"]').first.inner_text().count(
            f"2/{len(PATROL_ROUTE)}") == 1
        visit("passes", "passes", "main table")
        assert page.locator("main table tr").count() >= 5
        guard = new_page(viewport=PHONE)                 # the guard's own page, on a phone
        _log_in(guard, site, PATROL_USER[0])
        guard.goto(base + "patrol/me")
        guard.wait_for_selector(f'[data-next-point="{PATROL_ROUTE[2]}"]', timeout=15_000)
        guard.screenshot(path=str(tmp_path / "tour-patrol-me-phone.png"), full_page=True)
