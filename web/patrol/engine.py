"""The round engine: scheduled and ad-hoc rounds, taps matched to them, live alarms, closing,
and corrections when a tap arrives late. Pure logic with an injected clock; no I/O, no Flask.

Usage (the console's ingest thread calls :meth:`RoundEngine.on_tap`, a timer thread
:meth:`RoundEngine.tick` every few seconds, the pages read views)::

    engine = RoundEngine(plan, clock=utc_ms, on_alarm=raise_alarm, on_correction=note)
    engine.on_tap(Tap.from_event(envelope, received_at=now))
    engine.tick()
    engine.rounds_for_day(date(2026, 11, 25))

Rounds of schedules are created for the service days around each tap and each tick (their ids,
``"<schedule>:<local date>T<HHMM>"``, are stable, so re-creating them after a restart gives the
same rounds); the console replays its stored taps at start with :meth:`RoundEngine.load`.

How a tap finds its round: the registry's check-point for the tap's node/reader (else the id the
node sent); the card's patrol user (an unknown card is an ``unknown_card`` alarm and goes no
further); among the rounds of the routes through that check-point that take taps at the tap's
time (``start - start_tolerance`` .. ``closes_at``) and that the user may walk, the one where the
point is new in a round this user is walking, else new in a round nobody walks yet, else a
repeat in the user's own round, else another walker's round; ties go to the round whose window
holds the tap, then to the expected time closest to the tap.
No such round and a route marked ``adhoc`` starting there: an ad-hoc round starts at the tap.
Otherwise the tap is kept as a stray (:attr:`RoundEngine.strays`, counted).

Taps are applied with the node's timestamp. A tap older than the round's latest tap re-reads all
of the round's taps; a tap that withdraws a raised alarm (e.g. a point marked missed was in fact
tapped in time while the node was offline) or changes a closed round's result is recorded as a
:class:`~web.patrol.rounds.Correction` (on the round and through ``on_correction``).
"""

from __future__ import annotations

import heapq
import logging
import threading
from bisect import bisect_left, bisect_right, insort
from datetime import date, datetime, timedelta, timezone
from typing import Callable, Iterable
from zoneinfo import ZoneInfo

from .model import DEFAULT_TZ, PatrolPlan, Route, Schedule
from .rounds import Correction, PatrolAlarm, RoundRecord, RoundView, Tap

__all__ = ["RoundEngine"]

log = logging.getLogger(__name__)

_DAY_MS = 86_400_000


class RoundEngine:
    """Rounds of a :class:`~web.patrol.model.PatrolPlan` (see the module note).

    - ``clock``: UTC ms (the default ``now`` of every method);
    - ``tz``: the compound's zone, for ad-hoc rounds' service day (default Asia/Shanghai);
    - ``on_alarm(alarm)``, ``on_correction(correction)``, ``on_close(view)``: called for each
      new alarm / correction / closed round, after the engine's lock is released, in the caller's
      thread; exceptions are logged and counted (``callback_errors``).

    - ``since``: UTC ms; scheduled rounds starting before it are never made (default: the
      clock when the engine is built), so a console started for the first time does not raise
      "not started" for every round of the days before. A console restarting passes the start
      of the taps it replays with :meth:`load`.

    - ``history(since_ms, until_ms)``: the stored taps with ``since_ms <= ts < until_ms``
      (the console's tap journal). Closed rounds are forgotten by :meth:`prune` (the caller
      keeps their final views); a tap that arrives later for such a round makes the engine
      rebuild that stretch of rounds from ``history`` first, so the round's result is corrected
      as if it had stayed in memory. Without ``history`` such a tap is a stray.

    Thread-safe (one lock). Constructing does no work; rounds are made as days are touched.
    """

    def __init__(self, plan: PatrolPlan, *, clock: Callable[[], int], tz: str = DEFAULT_TZ,
                 on_alarm: Callable[[PatrolAlarm], None] | None = None,
                 on_correction: Callable[[Correction], None] | None = None,
                 on_close: Callable[[RoundView], None] | None = None,
                 since: int | None = None,
                 history: Callable[[int, int], Iterable[Tap]] | None = None) -> None:
        self._plan = plan
        self._clock = clock
        self.since = clock() if since is None else since
        self._tz = ZoneInfo(tz)
        self._zones: dict[str, ZoneInfo] = {}
        self.on_alarm = on_alarm
        self.on_correction = on_correction
        self.on_close = on_close
        self._lock = threading.RLock()
        self._rounds: dict[str, RoundRecord] = {}
        self._by_route: dict[str, tuple[list[int], list[RoundRecord]]] = {}
        self._by_day: dict[date, list[RoundRecord]] = {}
        self._days: set[date] = set()            # service days made for every schedule
        self._utc_days: set[int] = set()         # UTC day numbers whose neighbourhood is made
        self._heap: list[tuple[int, int, str]] = []
        self._queued: dict[str, int] = {}
        self._seq = 0
        self._seen: dict[str, int] = {}          # event_id -> tap ts (de-duplication)
        self._history = history
        self._pruned_until: int | None = None    # latest closes_at of a pruned round
        self._restoring = False
        self._pruned_days: set[date] = set()     # service days with pruned rounds: never remade
        self.strays: list[Tap] = []              #: taps that matched no round (bounded)
        self.unknown_cards: list[PatrolAlarm] = []
        self.counters: dict[str, int] = {k: 0 for k in (
            "taps", "duplicates", "applied", "replayed", "strays", "unknown_cards",
            "unknown_checkpoints", "adhoc_rounds", "alarms", "corrections", "closed",
            "callback_errors", "pruned", "restored")}

    # -- plan --------------------------------------------------------------------------------

    @property
    def plan(self) -> PatrolPlan:
        return self._plan

    def set_plan(self, plan: PatrolPlan, *, now: int | None = None) -> None:
        """Use a new plan: rounds that have not started and have no taps are dropped and made
        again from the new plan; the others keep the route they started with."""
        with self._lock:
            now = self._now(now)
            self._plan = plan
            for rec in list(self._rounds.values()):
                if rec.start_ms > now and not rec.taps:
                    self._forget(rec)
            self._days.clear()
            self._utc_days.clear()

    # -- input ---------------------------------------------------------------------------------

    def on_tap(self, tap: Tap, *, now: int | None = None) -> list[PatrolAlarm]:
        """Apply one tap (any arrival order, de-duplicated by ``event_id``); return the alarms it
        raised."""
        with self._lock:
            out = self._on_tap(tap, self._now(now))
        return self._notify(out)

    def load(self, taps: Iterable[Tap], *, now: int | None = None,
             raised: list[PatrolAlarm] | None = None) -> int:
        """Replay stored taps (console start) in time order, each at its own time, then
        :meth:`tick`; callbacks are not called for what this raises (most of it was raised
        before).  ``raised``: if given, every alarm the replay and the tick raised is appended
        to it, for the caller to report those that were not (deadlines that passed while the
        console was down).  Returns the taps applied."""
        with self._lock:
            now = self._now(now)
            n = 0
            out: list = []
            for tap in sorted(taps, key=lambda t: (t.ts, t.event_id)):
                out.extend(self._on_tap(tap, min(tap.ts, now)))   # as when it happened
                n += 1
            out.extend(self._tick(now))
        if raised is not None:
            raised.extend(a for a in out if isinstance(a, PatrolAlarm))
        return n

    def tick(self, now: int | None = None) -> list[PatrolAlarm]:
        """Advance time: raise ``not_started`` / ``missed`` alarms whose time has come and close
        rounds whose time is up. Returns the alarms raised."""
        with self._lock:
            out = self._tick(self._now(now))
        return self._notify(out)

    def prune(self, before_ms: int) -> list[RoundView]:
        """Forget closed rounds whose taking of taps ended before ``before_ms`` (UTC ms) and
        return their final views, for the caller to keep (the console's round store). Memory
        then holds only open and recently closed rounds. A tap that arrives later for a
        forgotten round rebuilds it from ``history`` (see the class note)."""
        with self._lock:
            now = self._now(None)
            gone = [r for r in self._rounds.values()
                    if r.closed is not None and r.closes_at < before_ms]
            if not gone:
                return []
            views = [r.view(now) for r in gone]
            ids = {r.id for r in gone}
            for rid in ids:
                del self._rounds[rid]
                self._queued.pop(rid, None)
            for route_id, (starts, recs) in list(self._by_route.items()):
                kept = [r for r in recs if r.id not in ids]
                if len(kept) != len(recs):
                    self._by_route[route_id] = ([r.start_ms for r in kept], kept)
            for day, recs in list(self._by_day.items()):
                kept = [r for r in recs if r.id not in ids]
                if len(kept) != len(recs):
                    self._by_day[day] = kept
            self._pruned_until = max(self._pruned_until or 0, max(r.closes_at for r in gone))
            self._pruned_days.update(r.service_day for r in gone)
            # taps older than every kept round's opening cannot be a kept round's duplicate
            floor = min((r.opens_at for r in self._rounds.values()), default=before_ms)
            floor = min(floor, before_ms)
            self._seen = {e: ts for e, ts in self._seen.items() if ts >= floor}
            self.counters["pruned"] += len(gone)
            return views

    def in_memory(self) -> int:
        """Rounds held in memory (open, planned and not yet pruned)."""
        with self._lock:
            return len(self._rounds)

    # -- views ---------------------------------------------------------------------------------

    def rounds_for_day(self, day: date, *, now: int | None = None) -> list[RoundView]:
        """Every round of service day ``day`` (a night schedule's rounds after midnight belong
        to the day it started; ad-hoc rounds to their local start date), by start time."""
        with self._lock:
            now = self._now(now)
            self._make_day(day)
            return [r.view(now) for r in sorted(self._by_day.get(day, ()), key=lambda r: r.start_ms)]

    def rounds_between(self, start_ms: int, end_ms: int, *, now: int | None = None) -> list[RoundView]:
        """Rounds starting in ``[start_ms, end_ms)``, by start time."""
        with self._lock:
            now = self._now(now)
            self._ensure_range(start_ms, end_ms)
            found = [r for r in self._rounds.values() if start_ms <= r.start_ms < end_ms]
            return [r.view(now) for r in sorted(found, key=lambda r: r.start_ms)]

    def round(self, round_id: str, *, now: int | None = None) -> RoundView | None:
        """One round by id, or None."""
        with self._lock:
            rec = self._rounds.get(round_id)
            return rec.view(self._now(now)) if rec is not None else None

    def rounds_for_user(self, user: str, *, now: int | None = None) -> list[RoundView]:
        """Today's rounds (engine ``tz``) ``user`` may walk or has tapped in, by start time; the
        patrol page's "my rounds today". The next one: the first whose state is planned or
        running."""
        with self._lock:
            now = self._now(now)
            today = self.local_day(now)
            out = []
            for day in (today - timedelta(days=1), today):
                self._make_day(day)
                for rec in self._by_day.get(day, ()):
                    if not rec.walkers or user in rec.walkers or user in rec.users:
                        if day == today or rec.closed is None:
                            out.append(rec)
            return [r.view(now) for r in sorted(out, key=lambda r: r.start_ms)]

    def open_rounds(self, *, now: int | None = None) -> list[RoundView]:
        """Rounds running now (started, not closed), by start time: the supervisor's live list."""
        with self._lock:
            now = self._now(now)
            self._ensure(now)
            found = [r for r in self._rounds.values()
                     if r.closed is None and r.opens_at <= now]
            return [r.view(now) for r in sorted(found, key=lambda r: r.start_ms)]

    def local_day(self, ts: int) -> date:
        """The engine zone's date of ``ts`` (UTC ms)."""
        return datetime.fromtimestamp(ts / 1000, self._tz).date()

    # -- internals -------------------------------------------------------------------------------

    def _now(self, now: int | None) -> int:
        return self._clock() if now is None else now

    def _on_tap(self, tap: Tap, now: int) -> list:
        c = self.counters
        c["taps"] += 1
        if tap.event_id in self._seen:
            c["duplicates"] += 1
            return []
        if (self._pruned_until is not None and tap.ts <= self._pruned_until
                and self._history is not None and not self._restoring):
            self._restore(tap, now)
        self._seen[tap.event_id] = tap.ts
        plan = self._plan
        cp = plan.checkpoint_for(checkpoint=tap.checkpoint, node=tap.node, reader=tap.reader)
        if cp is None:
            c["unknown_checkpoints"] += 1
            log.warning("patrol: tap %s at %s/%s (%s) is at no registered check-point",
                        tap.event_id, tap.node, tap.reader, tap.checkpoint)
            self._stray(tap)
            return []
        user = plan.user_for_card(tap.card)
        if user is None:
            c["unknown_cards"] += 1
            alarm = PatrolAlarm(kind="unknown_card", round_id=None, checkpoint=cp, ts=tap.ts,
                                raised_at=now, card=tap.card,
                                detail=f"card {tap.card} belongs to no patrol user")
            self.unknown_cards.append(alarm)
            if len(self.unknown_cards) > 10_000:
                del self.unknown_cards[:1000]
            c["alarms"] += 1
            return [alarm]
        if cp != tap.checkpoint:
            tap = _with_checkpoint(tap, cp)
        self._ensure(tap.ts)
        rec = self._match(tap, cp, user)
        if rec is None:
            rec = self._adhoc(tap, cp, user)
            if rec is None:
                self._stray(tap)
                return []
        c["applied"] += 1
        last = rec.last_ts
        replay = rec.closed is not None or (last is not None and tap.ts < last) or \
            any(k[0] in ("missed", "not_started") for k in rec.raised)
        if not replay:
            rec.apply(tap, user)
            return self._refresh(rec, now)
        c["replayed"] += 1
        was_closed = rec.closed is not None
        before = rec.closed if was_closed else rec.outcome(now)
        states = [rec.point_state(i, now) for i in range(len(rec.route.points))]
        if last is not None and tap.ts < last:
            rec.insert(tap, user)
        else:
            rec.apply(tap, user)
        if rec.closed is not None:
            rec.closed = rec.outcome(now)
            rec.changed()
        out = self._refresh(rec, now)
        facts = rec.alarm_facts(now)
        withdrawn = tuple(k for k in rec.raised if k not in facts and k not in rec.withdrawn
                          and not (k[0] == "missed" and ("late", k[1]) in facts))
        rec.withdrawn.update(withdrawn)
        after = rec.closed if rec.closed is not None else rec.outcome(now)
        changes = tuple(f"{p.checkpoint}: {s} -> {rec.point_state(i, now)}"
                        for i, (p, s) in enumerate(zip(rec.route.points, states))
                        if s in ("missed", "late") and rec.point_state(i, now) not in (s, "late"))
        if withdrawn or (was_closed and after != before) or changes:
            corr = Correction(round_id=rec.id, at=now, tap_event_id=tap.event_id, before=before,
                              after=after, withdrawn=withdrawn, changes=changes)
            rec.corrections.append(corr)
            rec.changed()
            c["corrections"] += 1
            out.append(corr)
        return out

    def _restore(self, tap: Tap, now: int) -> None:
        """Make again the pruned rounds that may take ``tap`` and fill them from ``history``
        (silently: what they raise was raised before), closing those whose time is up."""
        assert self._history is not None
        d = tap.ts // _DAY_MS
        base = date(1970, 1, 1) + timedelta(days=d)
        before = set(self._rounds)
        for k in (-2, -1, 0, 1):
            self._days.discard(base + timedelta(days=k))
        self._restoring = True
        try:
            self._ensure(tap.ts, force=True)
            made = [r for rid, r in self._rounds.items() if rid not in before]
            lo = min((r.opens_at for r in made), default=tap.ts - _DAY_MS)
            hi = max((r.closes_at for r in made), default=tap.ts)
            lo, hi = min(lo, tap.ts - _DAY_MS), max(hi, tap.ts)   # ad-hoc rounds' taps too
            for old in sorted(self._history(lo, hi + 1), key=lambda t: (t.ts, t.event_id)):
                if old.event_id != tap.event_id and old.event_id not in self._seen:
                    self._on_tap(old, min(old.ts, now))
            for rec in list(self._rounds.values()):
                if rec.id not in before:
                    self._refresh(rec, now)
        finally:
            self._restoring = False
        self.counters["restored"] += len([r for r in self._rounds if r not in before])

    def _stray(self, tap: Tap) -> None:
        self.counters["strays"] += 1
        self.strays.append(tap)
        if len(self.strays) > 10_000:
            del self.strays[:1000]

    def _match(self, tap: Tap, cp: str, user: str) -> RoundRecord | None:
        best: RoundRecord | None = None
        best_score: tuple | None = None
        ts = tap.ts
        for route, i in self._plan.routes_at(cp):
            entry = self._by_route.get(route.id)
            if entry is None:
                continue
            starts, recs = entry
            lo = bisect_left(starts, ts - int(route.span_min * 60_000) - 1)
            hi = bisect_right(starts, ts + int(route.start_tolerance_min * 60_000) + 1)
            for rec in recs[lo:hi]:
                if rec.route.index(cp) is None or not rec.accepts(ts):
                    continue
                if rec.walkers and user not in rec.walkers:
                    continue
                j = rec.route.index(cp)
                tol = int(rec.route.points[j].tolerance_min * 60_000)
                in_window = rec.expected[j] - tol <= ts <= rec.due[j]
                visited = j in rec.visits
                if user in rec.users:
                    rank = 2 if visited else 0         # mine: a new point, else a duplicate
                elif rec.users:
                    rank = 4 if visited else 3         # someone else is walking it
                else:
                    rank = 4 if visited else 1         # nobody yet
                score = (rank, not in_window, abs(ts - rec.expected[j]), rec.start_ms)
                if best_score is None or score < best_score:
                    best, best_score = rec, score
        return best

    def _adhoc(self, tap: Tap, cp: str, user: str) -> RoundRecord | None:
        for route, i in self._plan.routes_at(cp):
            if route.adhoc and (i == 0 or not route.ordered):
                rec = RoundRecord(id=f"adhoc:{route.id}:{tap.ts}:{user}", route=route, schedule=None,
                                  start_ms=tap.ts, service_day=self.local_day(tap.ts),
                                  walkers=frozenset({user}))
                if rec.id in self._rounds:
                    return self._rounds[rec.id]
                self._add(rec)
                self.counters["adhoc_rounds"] += 1
                return rec
        return None

    def _refresh(self, rec: RoundRecord, now: int) -> list:
        """Raise what became true, close if due, queue the next deadline."""
        out: list = []
        for key, (ts, tap, user, detail) in rec.alarm_facts(now).items():
            if key not in rec.raised:
                alarm = PatrolAlarm(kind=key[0], round_id=rec.id, checkpoint=key[1], ts=ts,
                                    raised_at=now, card=tap.card if tap else None, user=user,
                                    detail=detail)
                rec.raised[key] = alarm
                rec.changed()
                self.counters["alarms"] += 1
                out.append(alarm)
        if rec.closed is None and (len(rec.visits) == len(rec.route.points) or now >= rec.closes_at):
            rec.closed = ("", "")
            rec.closed = rec.outcome(now)
            rec.closed_at = now
            rec.changed()
            self.counters["closed"] += 1
            rec.view(now)                            # build (and cache) the closed view now
            out.append(rec)
        self._queue(rec, now)
        return out

    def _queue(self, rec: RoundRecord, now: int) -> None:
        deadline = rec.next_deadline(now)
        if deadline is None or self._queued.get(rec.id) == deadline:
            return
        self._queued[rec.id] = deadline
        self._seq += 1
        heapq.heappush(self._heap, (deadline, self._seq, rec.id))

    def _tick(self, now: int) -> list:
        self._ensure(now)
        out: list = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            deadline, _, rid = heapq.heappop(heap)
            if self._queued.get(rid) != deadline:
                continue                              # superseded
            del self._queued[rid]
            rec = self._rounds.get(rid)
            if rec is not None:
                out.extend(self._refresh(rec, now))
        return out

    def _notify(self, items: list) -> list[PatrolAlarm]:
        alarms: list[PatrolAlarm] = []
        for item in items:
            if isinstance(item, PatrolAlarm):
                alarms.append(item)
                self._call(self.on_alarm, item)
            elif isinstance(item, Correction):
                self._call(self.on_correction, item)
            elif isinstance(item, RoundRecord) and self.on_close is not None:
                with self._lock:
                    view = item.view(self._now(None))
                self._call(self.on_close, view)
        return alarms

    def _call(self, fn: Callable | None, arg: object) -> None:
        if fn is None:
            return
        try:
            fn(arg)
        except Exception:  # noqa: BLE001 - a failing listener never stops the engine
            self.counters["callback_errors"] += 1
            log.exception("patrol: listener %r failed", fn)

    # -- making rounds -------------------------------------------------------------------------

    def _ensure(self, ts: int, *, force: bool = False) -> None:
        """Make the rounds of every service day whose rounds may take taps at ``ts``."""
        d = ts // _DAY_MS
        if d in self._utc_days and not force:
            return
        self._utc_days.add(d)
        base = date(1970, 1, 1) + timedelta(days=d)
        for k in (-2, -1, 0, 1):
            self._make_day(base + timedelta(days=k))

    def _ensure_range(self, start_ms: int, end_ms: int) -> None:
        for d in range(start_ms // _DAY_MS, end_ms // _DAY_MS + 1):
            self._ensure(d * _DAY_MS)

    def _zone(self, name: str) -> ZoneInfo:
        z = self._zones.get(name)
        if z is None:
            z = self._zones[name] = ZoneInfo(name)
        return z

    def _make_day(self, day: date) -> None:
        if day in self._days or (day in self._pruned_days and not self._restoring):
            return
        self._days.add(day)
        for s in self._plan.schedules.values():
            if day.weekday() in s.weekdays:
                self._make_rounds(s, day)

    def _make_rounds(self, s: Schedule, day: date) -> None:
        route: Route = self._plan.routes[s.route]
        zone = self._zone(s.tz)
        walkers = self._plan.walkers(s)
        for offset, t in s.starts:
            local_date = day + timedelta(days=offset)
            rid = f"{s.id}:{local_date.isoformat()}T{t.hour:02d}{t.minute:02d}"
            if rid in self._rounds:
                continue
            local = datetime(local_date.year, local_date.month, local_date.day, t.hour, t.minute,
                             tzinfo=zone)
            start_ms = int(local.astimezone(timezone.utc).timestamp() * 1000)
            if start_ms < self.since or start_ms < s.active_from_ms:
                continue
            rec = RoundRecord(id=rid, route=route, schedule=s.id, start_ms=start_ms,
                              service_day=day, walkers=walkers)
            self._add(rec)
            self._queue(rec, start_ms)

    def _add(self, rec: RoundRecord) -> None:
        self._rounds[rec.id] = rec
        starts, recs = self._by_route.setdefault(rec.route.id, ([], []))
        k = bisect_right(starts, rec.start_ms)
        starts.insert(k, rec.start_ms)
        recs.insert(k, rec)
        insort(self._by_day.setdefault(rec.service_day, []), rec, key=lambda r: r.start_ms)

    def _forget(self, rec: RoundRecord) -> None:
        del self._rounds[rec.id]
        starts, recs = self._by_route[rec.route.id]
        k = recs.index(rec)
        del starts[k], recs[k]
        self._by_day[rec.service_day].remove(rec)
        self._queued.pop(rec.id, None)


def _with_checkpoint(tap: Tap, checkpoint: str) -> Tap:
    return Tap(event_id=tap.event_id, node=tap.node, reader=tap.reader, checkpoint=checkpoint,
               card=tap.card, ts=tap.ts, collapsed=tap.collapsed, received_at=tap.received_at)
