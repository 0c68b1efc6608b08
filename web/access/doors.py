"""Door decisions and door state, read from the stored ``door.*`` events.

- :func:`access_log`: ``door.granted`` / ``door.denied`` events newest first, filtered by door,
  holder, unit, result, reason and time (both kinds merged by time);
- :func:`door_board`: each door's latest state (from ``door.state``, and the decisions and
  alarms after it), its node, and its last events.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

from ..stores.events import EventStore, StoredEvent

__all__ = ["AccessFilter", "access_log", "iter_access_log", "DoorView", "door_board",
           "RESULTS", "REASONS", "DOOR_STATES", "state_after", "SCAN_LIMIT"]

RESULTS = ("granted", "denied")
REASONS = ("granted", "unknown_card", "disabled", "expired", "not_yet_valid", "outside_schedule",
           "door_not_allowed", "antipassback", "pin_wrong", "locked_out")
DOOR_STATES = ("locked", "unlocked", "open", "held", "forced", "fire")
#: Most rows one access-log page looks through for its filters.
SCAN_LIMIT = 20_000
#: door.* kinds that say something about a door's state, and the state they imply.
_STATE_OF_KIND = {"door.forced": "forced", "door.held": "held", "door.fire_release": "fire",
                  "door.fire_reset": "locked", "door.secured": "locked"}
BOARD_KINDS = ("door.state", "door.granted", "door.denied", "door.forced", "door.held",
               "door.fire_release", "door.fire_reset", "door.remote", "door.secured",
               "door.tamper", "door.lockout", "door.antipassback")


@dataclass(frozen=True)
class AccessFilter:
    """Access-log filters (None = any): ``door`` exact; ``holder`` / ``unit``: case-insensitive
    substring; ``result``: ``granted`` / ``denied``; ``reason`` exact; ``since_ms`` (inclusive)
    / ``until_ms`` (exclusive), UTC ms."""

    door: str | None = None
    holder: str | None = None
    unit: str | None = None
    result: str | None = None
    reason: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None

    def matches(self, ev: StoredEvent) -> bool:
        d = ev.data
        if self.door and d.get("door") != self.door:
            return False
        if self.reason and d.get("reason") != self.reason:
            return False
        for name in ("holder", "unit"):
            want = getattr(self, name)
            if want and want.casefold() not in str(d.get(name) or "").casefold():
                return False
        return True


def iter_access_log(events: EventStore, filt: AccessFilter) -> Iterator[StoredEvent]:
    """Every matching decision, newest first (the export)."""
    kinds = [f"door.{filt.result}"] if filt.result else ["door.granted", "door.denied"]
    streams = [events.iter_search(kind=k, since_ms=filt.since_ms, until_ms=filt.until_ms)
               for k in kinds]
    merged = heapq.merge(*streams, key=lambda e: (e.ts, e.id), reverse=True)
    return (ev for ev in merged if filt.matches(ev))


def access_log(events: EventStore, filt: AccessFilter, *, limit: int = 100
               ) -> tuple[list[StoredEvent], bool]:
    """Up to ``limit`` matching decisions, newest first, and whether more (older) exist among
    the :data:`SCAN_LIMIT` rows looked through."""
    kinds = [f"door.{filt.result}"] if filt.result else ["door.granted", "door.denied"]
    streams = [events.iter_search(kind=k, since_ms=filt.since_ms, until_ms=filt.until_ms,
                                  page_size=200) for k in kinds]
    merged = heapq.merge(*streams, key=lambda e: (e.ts, e.id), reverse=True)
    found = [ev for ev in itertools.islice(merged, SCAN_LIMIT) if filt.matches(ev)]
    return found[:limit], len(found) > limit


@dataclass
class DoorView:
    """One door on the board: ``door`` id, ``node`` that reports it, ``state`` (one of
    :data:`DOOR_STATES` or ``unknown``), ``since_ts`` (UTC ms of the event that set it), and
    ``last`` (its newest events, newest first)."""

    door: str
    node: str
    state: str = "unknown"
    since_ts: int | None = None
    last: list[StoredEvent] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"door": self.door, "node": self.node, "state": self.state, "since_ts": self.since_ts}


def state_after(kind: str, data: Mapping[str, Any]) -> str | None:
    """The door state an event implies, or None if it says nothing about it."""
    if kind == "door.state":
        state = data.get("state")
        return state if state in DOOR_STATES else None
    return _STATE_OF_KIND.get(kind)


def door_board(events: EventStore, *, per_kind: int = 200, last_n: int = 5) -> list[DoorView]:
    """Every door seen in the newest ``per_kind`` events of each door kind, sorted by id."""
    recent: list[StoredEvent] = []
    for kind in BOARD_KINDS:
        recent += events.search(kind=kind, limit=per_kind).items
    recent.sort(key=lambda e: (e.ts, e.id), reverse=True)
    doors: dict[str, DoorView] = {}
    for ev in recent:
        door = ev.data.get("door")
        if not isinstance(door, str) or not door:
            continue
        view = doors.get(door)
        if view is None:
            view = doors[door] = DoorView(door=door, node=ev.node)
        if view.state == "unknown":
            state = state_after(ev.kind, ev.data)
            if state is not None:
                view.state, view.since_ts = state, ev.ts
        if len(view.last) < last_n:
            view.last.append(ev)
    return [doors[d] for d in sorted(doors)]
