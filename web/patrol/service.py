"""The patrol feature inside the console: the round engine with its stores, fed by the ingest
and ticked by a console job.

- :meth:`PatrolService.on_event` (an ingest event handler): a ``patrol.tap`` is journaled once
  (``patrol_taps``) in the ingest's transaction and applied to the engine with the node's
  timestamp once that transaction has committed (:meth:`~web.db.Database.after_commit`; a batch
  that rolls back leaves the engine as it was); a tap that arrives late (a node was offline)
  corrects the round it belongs to, closed or not.
- :meth:`PatrolService.tick` (the ``patrol.tick`` job, every :data:`TICK_MS`): raises the alarms
  whose time has come, closes rounds, and moves rounds closed more than ``retain_ms`` ago out of
  memory into ``patrol_rounds`` (:class:`~web.patrol.round_store.PatrolRoundStore`).
- Engine alarms become console alarms ``patrol.<kind>`` (:data:`ALARM_PREFIX`), shown on the
  dashboard and the alarms page and acknowledged with a note. An alarm a late tap proves wrong
  is acknowledged by the console with a note naming the correction.
- :meth:`save_item` / :meth:`delete_item`: the plan editors; the engine takes the new plan.

Live-feed messages and alarm publishes are made once the writes they describe are committed.

The engine is built on first use (the database is open by then): the plan from
``patrol_plan``, the taps of the last ``retain_ms`` replayed. The replay raises no alarm itself,
but alarms it finds due that were never raised (the console was down when a round's deadline
passed or it closed) are raised by the next tick, if they happened less than
:data:`CATCH_UP_MS` (24 h) ago; older ones are not (no flood of alarms nobody can act on after
a long outage; the rounds' reports still show them missed or incomplete). No Flask.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Callable

from ..db import Database
from .engine import RoundEngine
from .model import Checkpoint, PatrolPlan, PatrolPlanError, PatrolUser, Route, Schedule
from .round_store import PatrolRoundStore, RoundSummary
from .rounds import TAP_KIND, Correction, PatrolAlarm, RoundView, Tap
from .store import PatrolPlanStore, PatrolTapStore, PlanKind

if TYPE_CHECKING:  # pragma: no cover
    from ..live import LiveFeed
    from ..stores.alarms import AlarmStore
    from ..stores.events import StoredEvent

__all__ = ["PatrolService", "ALARM_PREFIX", "TICK_MS", "DEFAULT_RETAIN_MS", "SYSTEM_USER",
           "CATCH_UP_MS"]

log = logging.getLogger(__name__)

ALARM_PREFIX = "patrol."
#: How often the console job ticks the engine, ms.
TICK_MS = 5_000
#: Closed rounds stay in memory this long after they stop taking taps (ms, 36 h), then live
#: only in ``patrol_rounds``.
DEFAULT_RETAIN_MS = 36 * 3_600_000
#: Who the console names when it acknowledges an alarm a late tap withdrew.
SYSTEM_USER = "console"
_DAY_MS = 86_400_000
#: At start, alarms that became due while the console was down are raised if they happened
#: (their ``ts``: the deadline passed, the tap) less than this long ago (ms, 24 h).
CATCH_UP_MS = _DAY_MS


class PatrolService:
    """Patrol rounds for the console (see the module note).

    ``db``: the console database; ``alarms``: where engine alarms are raised; ``live``: the live
    feed (``patrol`` messages: ``{"tap": event_id}`` once a tap is applied, ``{"round": id,
    ...}`` when a round closes or is corrected); ``clock``: UTC ms; ``tz``: the site's zone
    (ad-hoc rounds' service day, "today"); ``retain_ms``: see :data:`DEFAULT_RETAIN_MS`.
    The constructor does no I/O."""

    def __init__(self, db: Database, *, alarms: "AlarmStore", live: "LiveFeed | None" = None,
                 clock: Callable[[], int], tz: str,
                 retain_ms: int = DEFAULT_RETAIN_MS) -> None:
        if retain_ms <= 0:
            raise ValueError("retain_ms must be > 0")
        self._db = db
        self.plans = PatrolPlanStore(db)
        self.taps = PatrolTapStore(db)
        self.rounds = PatrolRoundStore(db)
        self.tz = tz
        self.retain_ms = retain_ms
        self._alarms = alarms
        self._live = live
        self._clock = clock
        self._engine: RoundEngine | None = None
        self._lock = threading.Lock()
        self._catch_up: list[PatrolAlarm] = []   # found due by the start-up replay, not raised
        self.counters: dict[str, int] = {k: 0 for k in (
            "taps", "duplicate_taps", "bad_taps", "alarms", "corrections", "stored_rounds",
            "caught_up_alarms")}

    # -- the engine ------------------------------------------------------------------------------

    @property
    def engine(self) -> RoundEngine:
        """The round engine (built and loaded on first use)."""
        engine = self._engine
        if engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = self._build()
                engine = self._engine
        return engine

    def _build(self) -> RoundEngine:
        now = self._clock()
        since = now - self.retain_ms
        engine = RoundEngine(self.plans.load(), clock=self._clock, tz=self.tz, since=since,
                             on_alarm=self._on_alarm, on_correction=self._on_correction,
                             on_close=self._on_close, history=self.taps.between)
        found: list[PatrolAlarm] = []
        n = engine.load(self.taps.between(since, now + _DAY_MS), now=now, raised=found)
        self._catch_up = [a for a in found if a.ts >= now - CATCH_UP_MS]
        log.info("patrol: engine loaded %d taps since %d (%d alarms to check)", n, since,
                 len(self._catch_up))
        return engine

    @property
    def plan(self) -> PatrolPlan:
        return self.engine.plan

    # -- input ---------------------------------------------------------------------------------

    def on_event(self, ev: "StoredEvent") -> None:
        """Ingest handler: a ``patrol.tap`` event (others are ignored). Bad tap data is logged
        and counted (``bad_taps``); the event itself stays stored."""
        if ev.kind != TAP_KIND:
            return
        try:
            tap = tap_from_event(ev)
        except ValueError as exc:
            self.counters["bad_taps"] += 1
            log.warning("patrol: %s", exc)
            return
        self.apply(tap, now=ev.received_at)

    def apply(self, tap: Tap, *, now: int | None = None) -> list[PatrolAlarm]:
        """Journal ``tap`` once and apply it to the engine once the journal entry is
        committed (at once outside a transaction; never if the transaction rolls back).
        The alarms it raised: filled when applied, so empty while a caller's transaction
        is still open (and for a duplicate)."""
        self.counters["taps"] += 1
        engine = self.engine            # built from the committed journal, before this tap
        if not self.taps.add(tap):
            self.counters["duplicate_taps"] += 1
            return []
        at = self._clock() if now is None else now
        raised: list[PatrolAlarm] = []

        def applied() -> None:
            raised.extend(engine.on_tap(tap, now=at))
            self._publish({"tap": tap.event_id})      # supervisor pages fetch their rounds

        self._db.after_commit(applied)
        return raised

    def tick(self, now: int | None = None) -> list[PatrolAlarm]:
        """The job: advance the engine to ``now`` (raising alarms, closing rounds), then move
        rounds closed more than ``retain_ms`` ago to the round store."""
        now = self._clock() if now is None else now
        engine = self.engine
        self._raise_caught_up()
        raised = engine.tick(now)
        pruned = engine.prune(now - self.retain_ms)
        if pruned:
            self.counters["stored_rounds"] += self.rounds.save(pruned)
        return raised

    def _raise_caught_up(self) -> None:
        """Raise the alarms the start-up replay found due that no ``patrol.*`` console alarm
        holds yet (see :data:`CATCH_UP_MS`)."""
        with self._lock:
            pending, self._catch_up = self._catch_up, []
        if not pending:
            return
        since = min(a.ts for a in pending) - _DAY_MS     # node clocks may run ahead
        known = set()
        for r in self._db.conn().execute(
                "SELECT kind, data FROM alarms WHERE kind LIKE ? AND raised_at >= ?",
                (ALARM_PREFIX + "%", since)):
            d = json.loads(r["data"])
            known.add(_alarm_key(r["kind"][len(ALARM_PREFIX):], d.get("round"),
                                 d.get("checkpoint"), d.get("card"), d.get("ts")))
        for a in pending:
            if _alarm_key(a.kind, a.round_id, a.checkpoint, a.card, a.ts) in known:
                continue
            view = self.engine.round(a.round_id) if a.round_id else None
            if view is not None and any((a.kind, a.checkpoint) in c.withdrawn
                                        for c in view.corrections):
                continue                    # a tap that came in since the start disproved it
            self.counters["caught_up_alarms"] += 1
            self._on_alarm(a)

    # -- views ---------------------------------------------------------------------------------

    def rounds_for_day(self, day: date, *, now: int | None = None) -> list[RoundView | RoundSummary]:
        """Every round of service day ``day``: in memory (live views) and stored (summaries of
        rounds already pruned), by start time."""
        live = self.engine.rounds_for_day(day, now=now)
        ids = {v.id for v in live}
        stored = [s for s in self.rounds.summaries(day) if s.id not in ids]
        out: list[RoundView | RoundSummary] = [*live, *stored]
        out.sort(key=lambda r: (r.start_ms, r.id))
        return out

    def report_groups(self, start_day: date, end_day: date, *, now: int | None = None
                      ) -> tuple[dict[date, list[RoundView]], list[tuple]]:
        """For :func:`~web.patrol.report.patrol_report`: the rounds of the period still in memory
        as views, and the stored others summed per day, guard and state in SQL."""
        views: dict[date, list[RoundView]] = {}
        day = start_day
        while day <= end_day:
            views[day] = self.engine.rounds_for_day(day, now=now)
            day += timedelta(days=1)
        ids = [v.id for vs in views.values() for v in vs]
        return views, self.rounds.groups(start_day, end_day, excluding=ids)

    def round(self, round_id: str, *, now: int | None = None) -> RoundView | None:
        """One round (memory first, then the store), or None."""
        return self.engine.round(round_id, now=now) or self.rounds.get(round_id)

    def rounds_for_user(self, user: str, *, now: int | None = None) -> list[RoundView]:
        return self.engine.rounds_for_user(user, now=now)

    def today(self, now: int | None = None) -> date:
        return self.engine.local_day(self._clock() if now is None else now)

    def open_alarms(self) -> list[Any]:
        """Unacknowledged ``patrol.*`` console alarms, newest first."""
        return [a for a in self._alarms.open() if a.kind.startswith(ALARM_PREFIX)]

    # -- the plan --------------------------------------------------------------------------------

    def save_item(self, item: Checkpoint | Route | Schedule | PatrolUser) -> PatrolPlan:
        """Add or replace a check-point, route, schedule or patrol user (raises
        :class:`PatrolPlanError` if the plan would not hold together); the engine takes the new
        plan (rounds not started yet are made again)."""
        plan = self.plans.put(item)
        self._db.after_commit(lambda: self.engine.set_plan(plan))
        return plan

    def delete_item(self, kind: PlanKind, item_id: str) -> PatrolPlan:
        """Remove one item (raises :class:`PatrolPlanError` if something refers to it)."""
        if kind not in ("checkpoint", "route", "schedule", "user"):
            raise PatrolPlanError(f"unknown plan item kind {kind!r}")
        plan = self.plans.delete(kind, item_id)
        self._db.after_commit(lambda: self.engine.set_plan(plan))
        return plan

    # -- engine callbacks ------------------------------------------------------------------------

    def _on_alarm(self, a: PatrolAlarm) -> None:
        plan = self.engine.plan
        cp = plan.checkpoints.get(a.checkpoint or "")
        rv = self.engine.round(a.round_id) if a.round_id else None
        data = {"round": a.round_id, "route": rv.route if rv else None, "checkpoint": a.checkpoint,
                "checkpoint_name": cp.name if cp else None, "card": a.card, "user": a.user,
                "ts": a.ts, "detail": a.detail}
        alarm = self._alarms.raise_console(ALARM_PREFIX + a.kind, node=cp.node if cp else None,
                                           data=data, now=a.raised_at)
        self.counters["alarms"] += 1
        if self._live is not None:
            self._alarms.announce(alarm, self._live)

    def _on_correction(self, c: Correction) -> None:
        self.counters["corrections"] += 1
        view = self.engine.round(c.round_id)
        if view is not None:
            self.rounds.save([view])
        withdrawn = {(ALARM_PREFIX + kind, checkpoint) for kind, checkpoint in c.withdrawn}
        if withdrawn:
            for alarm in self._alarms.open():      # one read for all the withdrawn alarms
                if (alarm.data.get("round") == c.round_id
                        and (alarm.kind, alarm.data.get("checkpoint")) in withdrawn):
                    self._alarms.acknowledge(
                        alarm.id, user=SYSTEM_USER, now=c.at,
                        note=f"withdrawn: tap {c.tap_event_id} arrived late (node offline); "
                             f"round {c.before[0]} -> {c.after[0]}")
        self._publish({"round": c.round_id, "correction": {
            "before": list(c.before), "after": list(c.after), "changes": list(c.changes)}})

    def _on_close(self, view: RoundView) -> None:
        self.counters["stored_rounds"] += self.rounds.save([view])
        self._publish({"round": view.id, "state": view.state})

    def _publish(self, message: dict[str, Any]) -> None:
        """A ``patrol`` live message, once the current transaction (if any) commits."""
        live = self._live
        if live is not None:
            self._db.after_commit(lambda: live.publish("patrol", message))


def _alarm_key(kind: str, round_id: Any, checkpoint: Any, card: Any, ts: Any) -> tuple:
    """What makes a patrol alarm the same one: its round and check-point (a round raises each
    kind once per point); a round-less alarm (unknown card) by its card and time too."""
    if round_id:
        return (kind, round_id, checkpoint)
    return (kind, None, checkpoint, card, ts)


def tap_from_event(ev: "StoredEvent") -> Tap:
    """A :class:`Tap` from a stored ``patrol.tap`` event (``ValueError`` naming the event for
    missing or wrong-typed ``card`` / ``reader``)."""
    d = ev.data if isinstance(ev.data, dict) else {}
    card, reader = d.get("card"), d.get("reader")
    if not isinstance(card, str) or not card.strip() or not isinstance(reader, str) or not reader:
        raise ValueError(f"{ev.event_id}: patrol.tap needs card and reader strings, got "
                         f"card={card!r} reader={reader!r}")
    checkpoint = d.get("checkpoint")
    collapsed = d.get("collapsed", 0)
    return Tap(event_id=ev.event_id, node=ev.node, reader=reader,
               checkpoint=checkpoint if isinstance(checkpoint, str) and checkpoint else reader,
               card=card.strip().upper(), ts=ev.ts,
               collapsed=collapsed if isinstance(collapsed, int) and collapsed >= 0 else 0,
               received_at=ev.received_at)
