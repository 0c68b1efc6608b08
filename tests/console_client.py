"""Helpers shared by the console test folders (tests/web, tests/passes_console,
tests/meters_console): a settable UTC-ms clock and a test client that logs in and fetches the
CSRF tokens of the forms it posts. Importable from every test folder: this folder is on
``sys.path`` for the root ``conftest.py``."""

from __future__ import annotations

import html
import re
import threading
from typing import Any

PASSWORD = "correct horse battery"

_TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


class FakeClock:
    """UTC ms that only moves when told to (``start_ms``: where it starts)."""

    def __init__(self, start_ms: int) -> None:
        self.now = start_ms
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            return self.now

    def advance(self, ms: int) -> None:
        with self._lock:
            self.now += ms


def csrf_token(client: Any, url: str) -> str:
    """The CSRF token of the first form on the page at ``url``."""
    resp = client.get(url)
    found = _TOKEN_RE.search(resp.get_data(as_text=True))
    assert found, f"no CSRF token in {url} ({resp.status_code})"
    return html.unescape(found.group(1))


def post_form(client: Any, form_page: str, action: str, data: dict[str, Any],
              **kwargs: Any):  # type: ignore[no-untyped-def]
    """POST ``data`` to ``action`` with the CSRF token taken from ``form_page``."""
    return client.post(action, data={"csrf_token": csrf_token(client, form_page), **data}, **kwargs)


def login(client: Any, username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    """Log ``username`` in through the log-in form; returns the response."""
    return post_form(client, "/login", "/login", {"username": username, "password": password})
