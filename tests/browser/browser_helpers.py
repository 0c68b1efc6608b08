"""Constants and helpers shared by the browser tests (log in, screenshots, events)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
PASSWORD = "correct horse battery"
SECRET = "browser-test-secret-" + "s" * 40
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def click_nav(page: "object", href: str) -> None:
    """Follow the main-menu link to ``href`` as a user would: unfold the phone menu if it is
    folded, open the link's drop-down group if it is in one, then click the link."""
    toggle = page.locator("#main-nav > summary.nav-toggle")  # type: ignore[attr-defined]
    if toggle.is_visible() and not page.evaluate(  # type: ignore[attr-defined]
            "document.getElementById('main-nav').open"):
        toggle.click()
    link = page.locator(f"#main-nav a[href='{href}']").first  # type: ignore[attr-defined]
    group = page.locator(f"#main-nav details.nav-group:has(a[href='{href}'])")  # type: ignore[attr-defined]
    if group.count() and not group.first.evaluate("d => d.open"):
        group.first.locator("summary").click()
    link.click()


def login(page: "object", base: str, user: str) -> None:
    """Log ``user`` (password ``PASSWORD``) in on the console at ``base`` through the log-in
    form and wait for the dashboard."""
    page.goto(base + "/login")  # type: ignore[attr-defined]
    page.fill("input[name=username]", user)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit].btn-primary")  # type: ignore[attr-defined]
    page.wait_for_url(base + "/")  # type: ignore[attr-defined]


def shot(page: "object", tmp_path: Path, name: str) -> Path:
    """Save a full-page screenshot as ``tmp_path/<name>.png`` and return its path."""
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


def now_ms() -> int:
    """The wall clock in UTC milliseconds."""
    return time.time_ns() // 1_000_000


def add_event(services: "object", seq: int, kind: str, data: dict[str, Any], *,
              node: str = "lobby") -> Any:
    """Store an event from ``node`` (event id ``<node>:b1:<seq>``, stamped now) and publish it
    on the live feed, as the ingest does; returns the stored event."""
    from mqtt_topics import EventEnvelope

    now = now_ms()
    env = EventEnvelope(event_id=f"{node}:b1:{seq}", node=node, kind=kind, ts=now, seq=seq,
                        data=data)
    ev = services.events.add(env, received_at=now)  # type: ignore[attr-defined]
    services.live.publish("event", ev.to_dict())  # type: ignore[attr-defined]
    return ev


def slow_fallback(page: "object", path: str, attribute: str, ms: int = 3_600_000) -> None:
    """Serve the page at ``path`` (a URL path) with ``attribute="<ms>"`` (default an hour):
    a live page's fallback refresh never comes during a test, so what changes on it must
    arrive through its live stream."""
    import re
    from urllib.parse import urlparse

    def handle(route: Any) -> None:
        resp = route.fetch()
        body = re.sub(rf'{attribute}="\d+"', f'{attribute}="{ms}"', resp.text())
        route.fulfill(response=resp, body=body)

    page.route(lambda url: urlparse(url).path == path, handle)  # type: ignore[attr-defined]
