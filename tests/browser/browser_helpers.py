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
