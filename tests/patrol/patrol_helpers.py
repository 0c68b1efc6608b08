"""A small patrol plan and tap factory for the engine tests (times in the compound's zone)."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from web.patrol import (Checkpoint, PatrolPlan, PatrolUser, Route, RoutePoint, RoundEngine,
                        Schedule, Tap)

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 11, 23)
WANG, LI = "0A00000001", "0A00000002"
STRANGER = "0AFFFFFFFF"
MIN = 60_000


def local_ms(day: date, hhmm: str, plus_min: float = 0) -> int:
    h, m = map(int, hhmm.split(":"))
    dt = datetime(day.year, day.month, day.day, h, m, tzinfo=TZ) + timedelta(minutes=plus_min)
    return int(dt.astimezone(timezone.utc).timestamp() * 1000)


def checkpoints() -> list[Checkpoint]:
    return [Checkpoint(id=c, name=f"3栋 {c}", building="3", floor=str(i + 1), node="lobby",
                       reader=f"cp-{c}") for i, c in enumerate("abc")]


def route(*, ordered: bool = True, adhoc: bool = False, rid: str = "r1") -> Route:
    return Route(id=rid, name="3栋", ordered=ordered, adhoc=adhoc, start_tolerance_min=10,
                 grace_min=15, points=(RoutePoint(checkpoint="a", expected_min=0, tolerance_min=5),
                                       RoutePoint(checkpoint="b", expected_min=10, tolerance_min=5,
                                                  min_walk_s=60),
                                       RoutePoint(checkpoint="c", expected_min=20, tolerance_min=5,
                                                  min_walk_s=60)))


def plan(*, schedules: tuple[Schedule, ...] | None = None, **route_kw: object) -> PatrolPlan:
    if schedules is None:
        schedules = (Schedule(id="night", route="r1", times=("22:00",), weekdays={0},
                              assignees=("wang",)),)
    return PatrolPlan(checkpoints=checkpoints(), routes=[route(**route_kw)], schedules=schedules,
                      users=[PatrolUser(user="wang", cards=(WANG,), team="night"),
                             PatrolUser(user="li", cards=(LI,), team="day")])


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


_ids = itertools.count(1)


def tap(checkpoint: str, ts: int, card: str = WANG) -> Tap:
    return Tap(event_id=f"lobby:boot:{next(_ids)}", node="lobby", reader=f"cp-{checkpoint}",
               checkpoint=checkpoint, card=card, ts=ts)


def engine(p: PatrolPlan | None = None, **kw: object) -> tuple[RoundEngine, Clock, list]:
    """An engine at Monday 21:00 local; the list collects everything the callbacks receive."""
    clock = Clock(local_ms(MONDAY, "21:00"))
    seen: list = []
    e = RoundEngine(p or plan(), clock=clock, on_alarm=seen.append, on_correction=seen.append,
                    on_close=seen.append, **kw)
    return e, clock, seen


def walk(e: RoundEngine, clock: Clock, steps: list[tuple[str, float]], *, start: int,
         card: str = WANG) -> list:
    """Tap each (checkpoint, minutes after ``start``) live: the clock is at the tap."""
    raised = []
    for cp, minutes in steps:
        clock.now = start + int(minutes * MIN)
        raised += e.tick()
        raised += e.on_tap(tap(cp, clock.now, card))
    return raised
