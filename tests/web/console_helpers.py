"""Helpers for the console tests: a settable clock, a test client that fetches CSRF tokens
from the forms it posts, and event/alarm makers going through the real stores."""

from __future__ import annotations

import json
from typing import Any, Iterator

from mqtt_topics import EventEnvelope, is_alarm

import console_client
from console_client import PASSWORD, csrf_token, login, post_form

__all__ = ["PASSWORD", "ROLES", "T0", "SECRET", "FAST_HASH", "FakeClock", "csrf_token",
           "post_form", "login", "make_event", "console_dict", "SSEReader"]

ROLES = ("admin", "desk", "guard", "patrol")
T0 = 1_767_225_600_000  # 2026-01-01 00:00:00 UTC in ms

SECRET = "test-secret-" + "k" * 40
#: A fast hash for users created by fixtures (the console itself uses scrypt).
FAST_HASH = "pbkdf2:sha256:1000"


class FakeClock(console_client.FakeClock):
    """UTC ms that only moves when told to; starts at ``T0`` unless given ``start_ms``."""

    def __init__(self, start_ms: int = T0) -> None:
        super().__init__(start_ms)


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


class SSEReader:
    """Reads server-sent events from a streamed test-client response
    (``client.get(url, buffered=False)``); ``resp``: that response (close it when done)."""

    def __init__(self, resp: Any) -> None:
        self.resp = resp
        self._chunks: Iterator[bytes] = iter(resp.response)
        self._buf = ""

    def next_block(self) -> str:
        """The next block (up to a blank line): an event or a comment."""
        while "\n\n" not in self._buf:
            self._buf += next(self._chunks).decode("utf-8")
        block, self._buf = self._buf.split("\n\n", 1)
        return block

    def next_event(self, *, max_blocks: int = 400) -> tuple[str, dict[str, Any]]:
        """The next named event ``(channel, payload)``, skipping comments (heartbeats) and the
        retry line; fails after ``max_blocks`` blocks (default 400) without one."""
        for _ in range(max_blocks):
            block = self.next_block()
            fields = dict(line.split(": ", 1) for line in block.split("\n")
                          if ": " in line and not line.startswith(":"))
            if "event" in fields:
                return fields["event"], json.loads(fields["data"])
        raise AssertionError("no event arrived")
