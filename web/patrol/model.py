"""The patrol plan (电子巡更): check-points, routes, schedules and patrol staff, as frozen values.

- :class:`Checkpoint`: a reader on a node at a place (building 栋, floor).
- :class:`Route`: check-points in order (or any order) with, per point, the minutes from the
  round's start it is expected at, a tolerance, and the least plausible walking time from the
  previous point.
- :class:`Schedule`: which route, which weekdays, which local start times (a night schedule
  crosses midnight: ``Schedule.every(start="22:00", end="06:00", every_min=120)``), who walks it.
- :class:`PatrolUser`: a console user with patrol cards, optionally in a team.
- :class:`PatrolPlan`: all of them, cross-checked, with the look-ups the round engine needs.

Every constructor validates and raises :class:`PatrolPlanError` naming the problem.
No I/O, no Flask.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import time as dtime
from typing import Any, Iterable, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import ConsoleError

__all__ = ["PatrolError", "PatrolPlanError", "Checkpoint", "RoutePoint", "Route", "Schedule",
           "PatrolUser", "PatrolPlan", "DEFAULT_TZ"]

DEFAULT_TZ = "Asia/Shanghai"
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_HHMM_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class PatrolError(ConsoleError):
    """Base of the patrol feature's errors."""


class PatrolPlanError(PatrolError, ValueError):
    """A check-point, route, schedule or user is invalid or refers to something unknown.
    ``str()`` is the English sentence (logs); ``code`` and ``params`` say the same for
    :func:`web.patrol.messages.problem_text`, which pages show in the user's language."""

    def __init__(self, message: str, *, code: str = "", **params: Any) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


def _check_id(value: str, what: str) -> None:
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise PatrolPlanError(f"{what} id must match [a-z0-9][a-z0-9_-]{{0,63}}, got {value!r}",
                              code="bad_id", what=what, value=value)


@dataclass(frozen=True, kw_only=True)
class Checkpoint:
    """A check-point: ``id``; ``name`` (what the guard sees, e.g. "3栋 1单元 大堂");
    ``building`` / ``floor`` (free text); ``node`` + ``reader``: where its taps come from."""

    id: str
    name: str
    node: str
    reader: str
    building: str = ""
    floor: str = ""

    def __post_init__(self) -> None:
        _check_id(self.id, "check-point")
        if not self.node or not self.reader:
            raise PatrolPlanError(f"check-point {self.id}: node and reader are required",
                                  code="no_reader", id=self.id)


@dataclass(frozen=True, kw_only=True)
class RoutePoint:
    """One check-point of a route.

    - ``expected_min``: minutes from the round's start the guard is expected there (>= 0);
    - ``tolerance_min``: minutes either side (default 5); later than ``expected + tolerance`` is
      late, and with no tap by then the point is missed;
    - ``min_walk_s``: the least plausible walking time from the previous point of the route,
      seconds (default 0: no check). Faster is implausible (a copied card, a shortcut)."""

    checkpoint: str
    expected_min: float
    tolerance_min: float = 5.0
    min_walk_s: float = 0.0

    def __post_init__(self) -> None:
        if not (self.expected_min >= 0 and self.tolerance_min >= 0 and self.min_walk_s >= 0):
            raise PatrolPlanError(f"route point {self.checkpoint}: expected_min, tolerance_min and "
                                  f"min_walk_s must be >= 0", code="negative_point",
                                  checkpoint=self.checkpoint)

    @property
    def due_min(self) -> float:
        """Minutes from the round's start after which the point is late / missed."""
        return self.expected_min + self.tolerance_min


@dataclass(frozen=True, kw_only=True)
class Route:
    """A round's route.

    - ``points``: the check-points (each at most once);
    - ``ordered``: True (default) if they must be visited in list order, False for any order;
    - ``start_tolerance_min``: a scheduled round with no tap this many minutes after its start
      is "not started" (default 10); taps up to this many minutes *before* the start count too;
    - ``grace_min``: taps up to this many minutes after the last point's due time still count
      (as late) before the round closes (default 15);
    - ``adhoc``: a tap at its first point (any point if unordered) that belongs to no running
      round starts an ad-hoc round of this route."""

    id: str
    name: str
    points: tuple[RoutePoint, ...]
    ordered: bool = True
    start_tolerance_min: float = 10.0
    grace_min: float = 15.0
    adhoc: bool = False
    _index: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_id(self.id, "route")
        object.__setattr__(self, "points", tuple(self.points))
        if not self.points:
            raise PatrolPlanError(f"route {self.id}: needs at least one check-point",
                                  code="no_points", id=self.id)
        index: dict[str, int] = {}
        for i, p in enumerate(self.points):
            if p.checkpoint in index:
                raise PatrolPlanError(f"route {self.id}: check-point {p.checkpoint} is listed twice",
                                      code="point_twice", id=self.id, checkpoint=p.checkpoint)
            index[p.checkpoint] = i
        if self.start_tolerance_min < 0 or self.grace_min < 0:
            raise PatrolPlanError(f"route {self.id}: start_tolerance_min and grace_min must be >= 0",
                                  code="negative_route", id=self.id)
        object.__setattr__(self, "_index", index)

    def index(self, checkpoint: str) -> int | None:
        """The position of ``checkpoint`` in the route, or None."""
        return self._index.get(checkpoint)

    @property
    def span_min(self) -> float:
        """Minutes from the start until the round stops taking taps and closes."""
        return max(p.due_min for p in self.points) + self.grace_min

    def min_walk_s(self, a: int, b: int) -> float:
        """The least plausible time (s) from point ``a`` to point ``b`` (indices): along an
        ordered route the sum of the walks in between; for any order, the walk of the later
        point if they are neighbours, else the shortest walk of the route (a safe lower bound)."""
        lo, hi = (a, b) if a < b else (b, a)
        if self.ordered or hi - lo == 1:
            return sum(self.points[i].min_walk_s for i in range(lo + 1, hi + 1))
        return min(p.min_walk_s for p in self.points[1:]) if len(self.points) > 1 else 0.0


def _parse_hhmm(value: str) -> dtime:
    m = _HHMM_RE.match(value) if isinstance(value, str) else None
    if not m:
        raise PatrolPlanError(f"a start time is HH:MM (00:00-23:59), got {value!r}",
                              code="bad_time", value=value)
    return dtime(int(m.group(1)), int(m.group(2)))


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """When a route is walked.

    - ``route``: the route id; ``weekdays``: the days the schedule *starts* on (0 = Monday ...
      6 = Sunday; default every day);
    - ``times``: local start times "HH:MM" in shift order; a time earlier than the one before
      it is on the next day, so ``("22:00", "00:00", "02:00")`` is one night starting on a listed
      weekday (the "service day" of all three rounds);
    - ``tz``: an IANA zone (default Asia/Shanghai); times are wall-clock times there;
    - ``assignees``: user names who walk it; ``team``: a team whose members also may (both
      empty: anyone with a patrol card);
    - ``active_from_ms``: UTC ms; rounds starting before it are never made (default 0), so a
      schedule added at 14:00 does not report its 02:00 round as not started. The console's
      editor sets it to the time of the change."""

    id: str
    route: str
    times: tuple[str, ...]
    weekdays: frozenset[int] = frozenset(range(7))
    tz: str = DEFAULT_TZ
    assignees: tuple[str, ...] = ()
    team: str = ""
    active_from_ms: int = 0
    _starts: tuple[tuple[int, dtime], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_id(self.id, "schedule")
        object.__setattr__(self, "times", tuple(self.times))
        object.__setattr__(self, "weekdays", frozenset(self.weekdays))
        object.__setattr__(self, "assignees", tuple(self.assignees))
        if not self.times:
            raise PatrolPlanError(f"schedule {self.id}: needs at least one start time",
                                  code="no_times", id=self.id)
        if not self.weekdays or not self.weekdays <= frozenset(range(7)):
            raise PatrolPlanError(f"schedule {self.id}: weekdays are 0 (Monday) to 6 (Sunday)",
                                  code="bad_weekdays", id=self.id)
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise PatrolPlanError(f"schedule {self.id}: unknown time zone {self.tz!r}",
                                  code="bad_tz", id=self.id, value=self.tz) from exc
        starts: list[tuple[int, dtime]] = []
        day, prev = 0, None
        for text in self.times:
            t = _parse_hhmm(text)
            if prev is not None and t <= prev:
                day += 1
            if day > 1 or (day == 1 and starts and t >= starts[0][1]):
                raise PatrolPlanError(f"schedule {self.id}: start times must fit in 24 hours",
                                      code="times_overflow", id=self.id)
            starts.append((day, t))
            prev = t
        object.__setattr__(self, "_starts", tuple(starts))

    @property
    def starts(self) -> tuple[tuple[int, dtime], ...]:
        """``(day offset, local time)`` of each start, from the service day (offset 0 or 1)."""
        return self._starts

    @classmethod
    def every(cls, *, id: str, route: str, start: str, end: str, every_min: int,
              **kwargs: object) -> "Schedule":
        """Start times every ``every_min`` minutes from ``start`` to ``end`` inclusive, crossing
        midnight if ``end`` is before ``start`` (22:00 -> 06:00 every 120: 22, 0, 2, 4, 6)."""
        if every_min <= 0:
            raise PatrolPlanError(f"schedule {id}: every_min must be > 0", code="bad_every",
                                  id=id)
        s, e = _parse_hhmm(start), _parse_hhmm(end)
        a, b = s.hour * 60 + s.minute, e.hour * 60 + e.minute
        if b < a:
            b += 24 * 60
        times = tuple(f"{(m // 60) % 24:02d}:{m % 60:02d}" for m in range(a, b + 1, every_min))
        return cls(id=id, route=route, times=times, **kwargs)  # type: ignore[arg-type]


@dataclass(frozen=True, kw_only=True)
class PatrolUser:
    """A patrol walker: ``user`` (console user name), ``cards`` (10-hex-digit card ids, any
    case), ``name`` (display), ``team``."""

    user: str
    cards: tuple[str, ...]
    name: str = ""
    team: str = ""

    def __post_init__(self) -> None:
        if not self.user:
            raise PatrolPlanError("a patrol user needs a user name", code="no_user")
        object.__setattr__(self, "cards", tuple(c.upper() for c in self.cards))


class PatrolPlan:
    """Check-points, routes, schedules and users, cross-checked. Immutable after construction;
    build a new plan to change it (the engine takes the new one with ``set_plan``)."""

    def __init__(self, *, checkpoints: Iterable[Checkpoint] = (), routes: Iterable[Route] = (),
                 schedules: Iterable[Schedule] = (), users: Iterable[PatrolUser] = ()) -> None:
        self.checkpoints: dict[str, Checkpoint] = {}
        self.routes: dict[str, Route] = {}
        self.schedules: dict[str, Schedule] = {}
        self.users: dict[str, PatrolUser] = {}
        self._by_reader: dict[tuple[str, str], str] = {}
        self._by_card: dict[str, str] = {}
        self._routes_at: dict[str, list[tuple[Route, int]]] = {}
        for c in checkpoints:
            self._unique(self.checkpoints, c.id, c, "check-point")
            if (c.node, c.reader) in self._by_reader:
                other = self._by_reader[(c.node, c.reader)]
                raise PatrolPlanError(f"check-point {c.id}: reader {c.node}/{c.reader} is already "
                                      f"check-point {other}", code="reader_taken", id=c.id,
                                      reader=f"{c.node}/{c.reader}", other=other)
            self._by_reader[(c.node, c.reader)] = c.id
        for r in routes:
            self._unique(self.routes, r.id, r, "route")
            for i, p in enumerate(r.points):
                if p.checkpoint not in self.checkpoints:
                    raise PatrolPlanError(f"route {r.id}: unknown check-point {p.checkpoint}",
                                          code="unknown_checkpoint", id=r.id,
                                          checkpoint=p.checkpoint)
                self._routes_at.setdefault(p.checkpoint, []).append((r, i))
        for u in users:
            self._unique(self.users, u.user, u, "patrol user")
            for card in u.cards:
                if card in self._by_card:
                    raise PatrolPlanError(f"card {card} belongs to {self._by_card[card]} and {u.user}",
                                          code="card_taken", card=card,
                                          other=self._by_card[card], user=u.user)
                self._by_card[card] = u.user
        for s in schedules:
            self._unique(self.schedules, s.id, s, "schedule")
            if s.route not in self.routes:
                raise PatrolPlanError(f"schedule {s.id}: unknown route {s.route}",
                                      code="unknown_route", id=s.id, route=s.route)
            for name in s.assignees:
                if name not in self.users:
                    raise PatrolPlanError(f"schedule {s.id}: {name} is not a patrol user",
                                          code="not_patrol_user", id=s.id, user=name)

    @staticmethod
    def _unique(table: dict, key: str, value: object, what: str) -> None:
        if key in table:
            raise PatrolPlanError(f"{what} {key} is defined twice", code="duplicate", what=what,
                                  id=key)
        table[key] = value

    def checkpoint_for(self, *, checkpoint: str | None, node: str, reader: str) -> str | None:
        """The check-point a tap belongs to: the registry's entry for ``node``/``reader`` first
        (the console's registry wins), else ``checkpoint`` if it is a known id, else None."""
        found = self._by_reader.get((node, reader))
        if found is not None:
            return found
        return checkpoint if checkpoint in self.checkpoints else None

    def user_for_card(self, card: str) -> str | None:
        """The patrol user holding ``card`` (any case), or None for an unknown card."""
        return self._by_card.get(card.upper())

    def routes_at(self, checkpoint: str) -> list[tuple[Route, int]]:
        """``(route, index)`` of every route that includes ``checkpoint``."""
        return self._routes_at.get(checkpoint, [])

    def walkers(self, schedule: Schedule) -> frozenset[str]:
        """Users allowed to walk ``schedule`` (empty: anyone with a patrol card)."""
        team = {u.user for u in self.users.values() if schedule.team and u.team == schedule.team}
        return frozenset(schedule.assignees) | frozenset(team)
