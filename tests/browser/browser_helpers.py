"""Constants shared by the browser tests."""

from __future__ import annotations

from pathlib import Path

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
