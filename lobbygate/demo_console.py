"""A console user's view of the running demo over HTTP, for ``lobbygate demo --check``: log in
through the log-in form (with its CSRF token, as a browser does) and read pages as that user.

Only the standard library (urllib with a cookie jar). The constructor does no I/O;
:meth:`ConsoleClient.log_in` does the first request.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

__all__ = ["ConsoleClient", "ConsoleLoginFailed", "PatrolRow", "patrol_rows"]

_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
_ROW_RE = re.compile(r'<tr data-round="([^"]+)" data-state="([a-z]+)">(.*?)</tr>', re.S)
_VISITED_RE = re.compile(r'<td class="nowrap">(\d+)/(\d+)')


class ConsoleLoginFailed(RuntimeError):
    """The console refused the log-in (or did not answer as expected)."""


@dataclass(frozen=True)
class PatrolRow:
    """A round as ``/patrol/live`` lists it: ``round_id``, ``state``, ``visited`` of ``points``."""

    round_id: str
    state: str
    visited: int
    points: int


def patrol_rows(html: str) -> list[PatrolRow]:
    """The rounds of a ``/patrol/live`` page."""
    out = []
    for round_id, state, cells in _ROW_RE.findall(html):
        m = _VISITED_RE.search(cells)
        out.append(PatrolRow(round_id, state, int(m.group(1)) if m else 0,
                             int(m.group(2)) if m else 0))
    return out


class ConsoleClient:
    """``base_url`` (ending in ``/``), ``username``, ``password``; ``timeout_s`` per request
    (default 10)."""

    def __init__(self, base_url: str, *, username: str, password: str,
                 timeout_s: float = 10.0) -> None:
        self.base_url = base_url
        self.username = username
        self._password = password
        self.timeout_s = timeout_s
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def _open(self, path: str, data: bytes | None = None) -> tuple[str, str]:
        req = urllib.request.Request(urllib.parse.urljoin(self.base_url, path.lstrip("/")),
                                     data=data, headers={"Accept-Language": "en"})
        with self._opener.open(req, timeout=self.timeout_s) as resp:
            return resp.geturl(), resp.read().decode("utf-8")

    def log_in(self) -> "ConsoleClient":
        """Fill in the log-in form; :class:`ConsoleLoginFailed` if the console refuses."""
        _url, page = self._open("login")
        m = _CSRF_RE.search(page)
        if m is None:
            raise ConsoleLoginFailed("the log-in page has no CSRF token")
        form = urllib.parse.urlencode({"username": self.username, "password": self._password,
                                       "csrf_token": m.group(1)}).encode()
        try:
            url, _page = self._open("login", form)
        except urllib.error.HTTPError as exc:
            raise ConsoleLoginFailed(
                f"log-in as {self.username} refused: HTTP {exc.code}") from None
        if urllib.parse.urlparse(url).path.rstrip("/").endswith("login"):
            raise ConsoleLoginFailed(f"log-in as {self.username} refused")
        return self

    def get(self, path: str) -> str:
        """The page at ``path`` (HTTP errors raise ``urllib.error.HTTPError``)."""
        return self._open(path)[1]

    def get_json(self, path: str) -> Any:
        return json.loads(self.get(path))
