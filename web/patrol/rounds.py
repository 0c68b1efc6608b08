"""One round: the taps applied to it, what they mean, and the views the pages show.

:class:`RoundRecord` is the engine's mutable record of a round (not shared outside the engine);
:class:`RoundView`, :class:`PointView`, :class:`PatrolAlarm`, :class:`Correction` and
:class:`Tap` are the frozen values the engine hands out. Times are UTC ms unless named
otherwise.

How taps are read (the fold :meth:`RoundRecord.apply` runs in tap-time order):

- the first tap at a point is its visit; more taps there are duplicates (counted);
- a visit after the point's due time (start + expected + tolerance) is **late**;
- on an ordered route, a visit to a point listed before one already visited is **out of order**;
- a visit sooner after the previous visit than the route's walking time between the two points
  is **implausible**;
- a point with no visit when its due time has passed is **missed** (a later visit makes it late);
- a scheduled round with no visit ``start_tolerance_min`` after its start is **not started**.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping

from mqtt_topics import EventEnvelope

from .model import Route

__all__ = ["Tap", "PatrolAlarm", "Correction", "PointView", "RoundView", "RoundRecord",
           "ALARM_KINDS", "TAP_KIND"]

TAP_KIND = "patrol.tap"
#: kind -> one-line description (the console raises them as ``patrol.<kind>`` alarms)
ALARM_KINDS: dict[str, str] = {
    "not_started": "a scheduled round had no tap within its start tolerance",
    "missed": "a check-point's window passed without a tap",
    "late": "a check-point was tapped after its window",
    "out_of_order": "a check-point was tapped before one listed ahead of it (ordered route)",
    "implausible": "two check-points were tapped faster than the walking time between them",
    "unknown_card": "a card that belongs to no patrol user was tapped at a check-point",
}


@dataclass(frozen=True, kw_only=True)
class Tap:
    """A ``patrol.tap`` as the console sees it: ``event_id`` (de-duplication), ``node``,
    ``reader``, ``checkpoint`` (as the node named it), ``card`` (upper-case hex), ``ts`` (the
    node's clock at the tap), ``collapsed`` (repeat taps the node counted), ``received_at``."""

    event_id: str
    node: str
    reader: str
    checkpoint: str
    card: str
    ts: int
    collapsed: int = 0
    received_at: int | None = None

    @classmethod
    def from_event(cls, env: EventEnvelope, *, received_at: int | None = None) -> "Tap":
        """From a ``patrol.tap`` envelope. Raises ``ValueError`` for another kind or bad data."""
        if env.kind != TAP_KIND:
            raise ValueError(f"not a {TAP_KIND} event: {env.kind}")
        d: Mapping[str, Any] = env.data
        card, reader = d.get("card"), d.get("reader")
        if not isinstance(card, str) or not card or not isinstance(reader, str) or not reader:
            raise ValueError(f"{env.event_id}: patrol.tap needs card and reader strings")
        collapsed = d.get("collapsed", 0)
        return cls(event_id=env.event_id, node=env.node, reader=reader,
                   checkpoint=str(d.get("checkpoint") or reader), card=card.upper(), ts=env.ts,
                   collapsed=collapsed if isinstance(collapsed, int) and collapsed >= 0 else 0,
                   received_at=received_at)


@dataclass(frozen=True, kw_only=True)
class PatrolAlarm:
    """A live alarm. ``kind``: a key of :data:`ALARM_KINDS`; ``round_id`` (None for an unknown
    card); ``checkpoint``; ``card`` / ``user`` (of the tap, if any); ``ts``: when it happened
    (the tap's time, or the due time passed); ``raised_at``: the engine clock when raised;
    ``detail``: one sentence for people."""

    kind: str
    round_id: str | None
    checkpoint: str | None
    ts: int
    raised_at: int
    card: str | None = None
    user: str | None = None
    detail: str = ""

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.kind, self.checkpoint)


@dataclass(frozen=True, kw_only=True)
class Correction:
    """A round's result changed because a tap arrived out of time order (a node was offline):
    ``at`` (engine clock), ``tap_event_id``, ``before`` / ``after``: ``(state, reason)``,
    ``withdrawn``: alarms no longer true (``(kind, checkpoint)``), ``changes``: one line per
    check-point whose state changed ("b3-f1: missed -> ok")."""

    round_id: str
    at: int
    tap_event_id: str
    before: tuple[str, str]
    after: tuple[str, str]
    withdrawn: tuple[tuple[str, str | None], ...] = ()
    changes: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class PointView:
    """A check-point in a round: ``state`` one of ``pending`` (window not passed), ``ok``,
    ``late``, ``missed``; ``due_ms`` (late/missed after this); ``expected_ms``; ``tapped_at``,
    ``card``, ``user`` of the visit; ``flags``: ``out_of_order`` / ``implausible``."""

    checkpoint: str
    state: str
    expected_ms: int
    due_ms: int
    tapped_at: int | None = None
    card: str | None = None
    user: str | None = None
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class RoundView:
    """A round as the pages show it.

    ``state``: ``planned`` (before its start), ``running``, ``completed`` (every point visited),
    ``incomplete`` (closed with points missing); ``reason``: one sentence; ``points``: in route
    order; ``next_point``: the first point still to visit (route order), or None; ``walkers``:
    users allowed (empty: anyone); ``guards``: users who tapped; ``service_day``: the local date
    the schedule started on; ``closes_at``: when taps stop counting; ``closed_at``."""

    id: str
    route: str
    schedule: str | None
    start_ms: int
    closes_at: int
    service_day: date
    state: str
    reason: str
    points: tuple[PointView, ...]
    walkers: frozenset[str]
    guards: tuple[str, ...]
    alarms: tuple[PatrolAlarm, ...]
    corrections: tuple[Correction, ...]
    closed_at: int | None = None
    duplicates: int = 0
    visited: int = 0                  #: points visited
    late: int = 0                     #: points visited late
    missed: tuple[str, ...] = ()      #: check-points missed (window passed, no tap)

    @property
    def next_point(self) -> PointView | None:
        return next((p for p in self.points if p.tapped_at is None and p.state != "missed"),
                    next((p for p in self.points if p.tapped_at is None), None))

    @property
    def adhoc(self) -> bool:
        return self.schedule is None

    @property
    def n_points(self) -> int:
        """Check-points of the round's route."""
        return len(self.points)



@dataclass
class _Visit:
    tap: Tap
    user: str | None
    flags: tuple[str, ...]


@dataclass(eq=False)
class RoundRecord:
    """The engine's record of one round (mutable, engine-private)."""

    id: str
    route: Route
    schedule: str | None
    start_ms: int
    service_day: date
    walkers: frozenset[str]
    taps: list[tuple[Tap, str | None]] = field(default_factory=list)   # (tap, user), in ts order
    visits: dict[int, _Visit] = field(default_factory=dict)
    duplicates: int = 0
    raised: dict[tuple[str, str | None], PatrolAlarm] = field(default_factory=dict)
    corrections: list[Correction] = field(default_factory=list)
    closed: tuple[str, str] | None = None
    closed_at: int | None = None
    _max_index: int = -1
    _last: tuple[int, int] | None = None      # (index, ts) of the latest visit
    _view: RoundView | None = None            # cached view of a closed round
    users: set[str] = field(default_factory=set)   # users who tapped in this round
    withdrawn: set[tuple[str, str | None]] = field(default_factory=set)  # raised, then untrue

    def __post_init__(self) -> None:
        span = self.route.span_min * 60_000
        self.closes_at = self.start_ms + int(span)
        self.opens_at = self.start_ms - int(self.route.start_tolerance_min * 60_000)
        self.expected = [self.start_ms + int(p.expected_min * 60_000) for p in self.route.points]
        self.due = [self.start_ms + int(p.due_min * 60_000) for p in self.route.points]

    # -- the fold -------------------------------------------------------------------------------

    @property
    def last_ts(self) -> int | None:
        return self.taps[-1][0].ts if self.taps else None

    def accepts(self, ts: int) -> bool:
        return self.opens_at <= ts <= self.closes_at

    def apply(self, tap: Tap, user: str | None) -> _Visit | None:
        """Add a tap in time order (``tap.ts`` >= every earlier one); return the new visit, or
        None for a duplicate."""
        self.taps.append((tap, user))
        self._view = None
        if user is not None:
            self.users.add(user)
        return self._fold(tap, user)

    def insert(self, tap: Tap, user: str | None) -> None:
        """Add a tap older than the latest one and re-read every tap (a replayed tap)."""
        self.taps.append((tap, user))
        self._view = None
        if user is not None:
            self.users.add(user)
        self.taps.sort(key=lambda tu: (tu[0].ts, tu[0].event_id))
        self.visits.clear()
        self.duplicates, self._max_index, self._last = 0, -1, None
        for t, u in self.taps:
            self._fold(t, u)

    def _fold(self, tap: Tap, user: str | None) -> _Visit | None:
        route = self.route
        i = route.index(tap.checkpoint)
        assert i is not None
        if i in self.visits:
            self.duplicates += 1
            return None
        flags = []
        if route.ordered and i < self._max_index:
            flags.append("out_of_order")
        if self._last is not None:
            j, ts = self._last
            if (tap.ts - ts) < route.min_walk_s(j, i) * 1000:
                flags.append("implausible")
        visit = _Visit(tap, user, tuple(flags))
        self.visits[i] = visit
        self._max_index = max(self._max_index, i)
        self._last = (i, tap.ts)
        return visit

    # -- what is true now -------------------------------------------------------------------

    def point_state(self, i: int, now: int) -> str:
        v = self.visits.get(i)
        if v is not None:
            return "late" if v.tap.ts > self.due[i] else "ok"
        return "missed" if now > self.due[i] or self.closed is not None else "pending"

    def first_visit_ts(self) -> int | None:
        return min((v.tap.ts for v in self.visits.values()), default=None)

    def alarm_facts(self, now: int) -> dict[tuple[str, str | None], tuple[int, Tap | None, str | None, str]]:
        """Every alarm true at ``now``: key -> (ts, tap, user, detail)."""
        facts: dict[tuple[str, str | None], tuple[int, Tap | None, str | None, str]] = {}
        tol_ms = int(self.route.start_tolerance_min * 60_000)
        first = self.first_visit_ts()
        if self.schedule is not None:
            limit = self.start_ms + tol_ms
            if (first is None and now > limit) or (first is not None and first > limit):
                facts[("not_started", None)] = (limit, None, None,
                                                f"no tap within {self.route.start_tolerance_min:g} min of the start")
        for i, p in enumerate(self.route.points):
            v = self.visits.get(i)
            if v is None:
                if now > self.due[i] or self.closed is not None:
                    facts[("missed", p.checkpoint)] = (self.due[i], None, None,
                                                       f"no tap by {p.due_min:g} min after the start")
                continue
            t = v.tap
            if t.ts > self.due[i]:
                facts[("late", p.checkpoint)] = (t.ts, t, v.user,
                                                 f"{(t.ts - self.due[i]) / 60_000:.1f} min after its window")
            for flag in v.flags:
                facts[(flag, p.checkpoint)] = (t.ts, t, v.user, _FLAG_DETAIL[flag])
        return facts

    def outcome(self, now: int) -> tuple[str, str]:
        """``(state, reason)`` at ``now``."""
        n = len(self.route.points)
        if self.closed is None and len(self.visits) < n:
            if now < self.start_ms and not self.visits:
                return ("planned", "not started yet")
            return ("running", f"{len(self.visits)} of {n} check-points visited")
        if len(self.visits) == n:
            late = sum(1 for i in range(n) if self.point_state(i, now) == "late")
            return ("completed", f"all {n} check-points visited" + (f", {late} late" if late else ""))
        if not self.visits:
            return ("incomplete", "not started")
        missed = [p.checkpoint for i, p in enumerate(self.route.points) if i not in self.visits]
        return ("incomplete", f"{len(missed)} of {n} check-points missed: {', '.join(missed)}")

    def next_deadline(self, now: int) -> int | None:
        """The next time :meth:`alarm_facts` or :meth:`outcome` may change without a tap."""
        if self.closed is not None:
            return None
        times = [self.closes_at]
        if self.schedule is not None and not self.visits:
            times.append(self.start_ms + int(self.route.start_tolerance_min * 60_000))
        times.extend(d for i, d in enumerate(self.due) if i not in self.visits)
        later = [t for t in times if t >= now]
        return min(later) + 1 if later else None

    def changed(self) -> None:
        """Forget the cached view (alarms, corrections or the result changed)."""
        self._view = None

    def view(self, now: int) -> RoundView:
        """The round at ``now`` (a closed round's view does not depend on ``now``: cached)."""
        if self._view is not None:
            return self._view
        points = []
        for i, p in enumerate(self.route.points):
            v = self.visits.get(i)
            points.append(PointView(
                checkpoint=p.checkpoint, state=self.point_state(i, now),
                expected_ms=self.expected[i], due_ms=self.due[i],
                tapped_at=v.tap.ts if v else None, card=v.tap.card if v else None,
                user=v.user if v else None, flags=v.flags if v else ()))
        guards: list[str] = []
        for _, u in self.taps:
            if u is not None and u not in guards:
                guards.append(u)
        state, reason = self.closed if self.closed is not None else self.outcome(now)
        view = RoundView(id=self.id, route=self.route.id, schedule=self.schedule,
                         start_ms=self.start_ms, closes_at=self.closes_at,
                         service_day=self.service_day, state=state, reason=reason,
                         points=tuple(points), walkers=self.walkers, guards=tuple(guards),
                         alarms=tuple(self.raised.values()), corrections=tuple(self.corrections),
                         closed_at=self.closed_at, duplicates=self.duplicates,
                         visited=len(self.visits), late=sum(1 for p in points if p.state == "late"),
                         missed=tuple(p.checkpoint for p in points if p.state == "missed"))
        if self.closed is not None:
            self._view = view
        return view


_FLAG_DETAIL = {"out_of_order": "tapped before a check-point listed ahead of it",
                "implausible": "reached faster than the walking time from the previous tap"}
