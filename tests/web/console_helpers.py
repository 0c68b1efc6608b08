"""Helpers for the console tests: a settable clock, a test client that fetches CSRF tokens
from the forms it posts, and event/alarm makers going through the real stores."""

from __future__ import annotations

import html
import re
import threading
from typing import Any

from flask.testing import FlaskClient

from mqtt_topics import EventEnvelope, is_alarm

PASSWORD = "correct horse battery"
ROLES = ("admin", "desk", "guard", "patrol")
T0 = 1_767_225_600_000  # 2026-01-01 00:00:00 UTC in ms

SECRET = "test-secret-" + "k" * 40
#: A fast hash for users created by fixtures (the console itself uses scrypt).
FAST_HASH = "pbkdf2:sha256:1000"

_TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


class FakeClock:
    """UTC ms that only moves when told to."""

    def __init__(self, start_ms: int = T0) -> None:
        self.now = start_ms
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            return self.now

    def advance(self, ms: int) -> None:
        with self._lock:
            self.now += ms


def csrf_token(client: FlaskClient, url: str) -> str:
    """The CSRF token of the first form on the page at ``url``."""
    resp = client.get(url)
    found = _TOKEN_RE.search(resp.get_data(as_text=True))
    assert found, f"no CSRF token in {url} ({resp.status_code})"
    return html.unescape(found.group(1))


def post_form(client: FlaskClient, form_page: str, action: str, data: dict[str, Any],
              **kwargs: Any):  # type: ignore[no-untyped-def]
    """POST ``data`` to ``action`` with the CSRF token taken from ``form_page``."""
    return client.post(action, data={"csrf_token": csrf_token(client, form_page), **data}, **kwargs)


def login(client: FlaskClient, username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return post_form(client, "/login", "/login", {"username": username, "password": password})


def make_event(services: Any, *, node: str = "lobby", kind: str = "card.read", seq: int = 1,
               ts: int = T0, data: dict[str, Any] | None = None, boot: str = "boot1",
               received_at: int | None = None, publish: bool = False):  # type: ignore[no-untyped-def]
    """Store an event through EventStore.add (and raise its alarm, publish it live when asked,
    as the ingest does)."""
    env = EventEnvelope(event_id=f"{node}:{boot}:{seq}", node=node, kind=kind, ts=ts, seq=seq,
                        data=data or {"reader": "front", "card": f"00000000{seq:02d}"})
    ev = services.events.add(env, received_at=received_at or ts)
    assert ev is not None
    alarm = services.alarms.raise_for_event(ev) if is_alarm(kind) else None
    if publish:
        services.live.publish("event", ev.to_dict())
        if alarm is not None:
            services.live.publish("alarm", alarm.to_dict())
    return ev, alarm


def console_dict(**console: Any) -> dict[str, Any]:
    """A minimal console.toml as a dict, with ``console`` keys overridden."""
    base = {"site": "test-site", "db": "console.db", "users_db": "users.json",
            "secret_key": SECRET}
    base.update(console)
    return {"console": base}
