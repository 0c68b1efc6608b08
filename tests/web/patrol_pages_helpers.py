"""Helpers for the console's patrol page tests: a small plan in the real patrol service, and
taps applied to it as the ingest does."""

from __future__ import annotations

from typing import Any

from web.patrol import Checkpoint, PatrolUser, Route, RoutePoint, Schedule, Tap

from console_helpers import T0

#: The card of ``patrol1`` (王师傅).
CARD = "0A00000001"


def seed(services: Any, *, start: str = "00:10") -> None:
    """Check-points a, b on node lobby; route r1; a daily round at ``start`` (UTC, default
    00:10) for patrol1, active from T0."""
    p = services.patrol
    for cp in ("a", "b"):
        p.save_item(Checkpoint(id=cp, name=f"大堂 {cp}", building="3", floor="1", node="lobby",
                               reader=f"cp-{cp}"))
    p.save_item(Route(id="r1", name="3栋夜巡", points=(
        RoutePoint(checkpoint="a", expected_min=0, tolerance_min=5),
        RoutePoint(checkpoint="b", expected_min=10, tolerance_min=5, min_walk_s=60))))
    p.save_item(PatrolUser(user="patrol1", cards=(CARD,), name="王师傅"))
    p.save_item(Schedule(id="s1", route="r1", times=(start,), tz="UTC", assignees=("patrol1",),
                         active_from_ms=T0))


def tap(services: Any, cp: str, ts: int, seq: int, card: str = CARD) -> None:
    """``card`` tapped at check-point ``cp`` at ``ts`` (UTC ms); event id ``lobby:b:<seq>``."""
    services.patrol.apply(Tap(event_id=f"lobby:b:{seq}", node="lobby", reader=f"cp-{cp}",
                              checkpoint=cp, card=card, ts=ts), now=ts)
