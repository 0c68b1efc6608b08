"""Console-side patrol helpers: services without a broker on a settable clock, a stored plan,
and ``patrol.tap`` events stored as the ingest stores them."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from mqtt_topics import EventEnvelope
from patrol_helpers import MONDAY, WANG, Clock, checkpoints, local_ms, route
from web.patrol import PatrolUser, Schedule
from web.services import ConsoleServices, ServicesConfig, build_services

START = local_ms(MONDAY, "22:00")
RID = "night:2026-11-23T2200"
_seq = itertools.count(1)


def make_services(tmp_path: Path, clock: Clock, *, retain_ms: int | None = None) -> ConsoleServices:
    cfg = ServicesConfig(db_path=tmp_path / "console.db", site="test-site", broker=None,
                         timezone="Asia/Shanghai")
    s = build_services(cfg, clock=clock)
    if retain_ms is not None:
        s.patrol.retain_ms = retain_ms
    return s.start()


def store_plan(services: ConsoleServices, *, ordered: bool = True) -> None:
    """Check-points a, b, c on node lobby (readers cp-a...), route r1, Monday 22:00 for wang."""
    p = services.patrol
    for c in checkpoints():
        p.save_item(c)
    p.save_item(route(ordered=ordered))
    p.save_item(PatrolUser(user="wang", cards=(WANG,), name="王师傅", team="night"))
    p.save_item(Schedule(id="night", route="r1", times=("22:00",), weekdays={0},
                         assignees=("wang",)))


def tap_event(services: ConsoleServices, checkpoint: str, ts: int, *, card: str = WANG,
              received_at: int | None = None, data: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    """Store a ``patrol.tap`` event and run the ingest's event handlers on it."""
    seq = next(_seq)
    env = EventEnvelope(event_id=f"lobby:boot1:{seq}", node="lobby", kind="patrol.tap", ts=ts,
                        seq=seq, data=data if data is not None else {
                            "checkpoint": checkpoint, "reader": f"cp-{checkpoint}",
                            "card": card, "collapsed": 0})
    ev = services.events.add(env, received_at=received_at if received_at is not None else ts)
    assert ev is not None
    for handler in services.event_handlers:
        handler(ev)
    return ev
