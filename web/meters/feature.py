"""The meters feature in one object for :class:`web.services.ConsoleServices`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from .anomalies import MeterWatch
from .ingest import MeterIngest
from .periods import Period, period_named, period_of
from .readings import ReadingStore
from .registry import MeterRegistry
from .rules import MeterRules, RulesStore

if TYPE_CHECKING:  # pragma: no cover
    from ..db import Database
    from ..live import LiveFeed
    from ..stores.alarms import AlarmStore
    from ..units import UnitStore

__all__ = ["MeterFeature", "ANOMALY_EVERY_MS"]

#: How often the anomaly job runs (console clock, ms).
ANOMALY_EVERY_MS = 5 * 60_000


class MeterFeature:
    """``registry``, ``readings``, ``rules``, ``ingest`` (handlers), ``watch`` (the anomaly job).

    :param timezone: the site's zone (billing periods start at local midnight).
    :param rules: default rules until an admin saves others (:class:`MeterRules`: statement
        day, the statement's estimate tolerance and gap threshold, anomaly thresholds); the
        readings journal asks for the rules in force on each statement or usage.

    The constructor does no I/O."""

    def __init__(self, db: "Database", *, clock: Callable[[], int], units: "UnitStore",
                 alarms: "AlarmStore", live: "LiveFeed | None" = None,
                 timezone: str = "Asia/Shanghai", rules: MeterRules | None = None) -> None:
        self.timezone = timezone
        self.clock = clock
        self.registry = MeterRegistry(db, clock=clock)
        self.rules = RulesStore(db, clock=clock, defaults=rules)
        self.readings = ReadingStore(db, clock=clock, thresholds=self.rules.marks)
        self.ingest = MeterIngest(readings=self.readings, registry=self.registry, alarms=alarms,
                                  live=live)
        self.watch = MeterWatch(db, registry=self.registry, readings=self.readings, units=units,
                                alarms=alarms, rules=self.rules.get, live=live)

    def period(self, name: str | None = None, *, now: int | None = None) -> Period:
        """The billing period ``name`` (``YYYY-MM``; ``ValueError`` if malformed), default the
        last one that has ended."""
        day = self.rules.get().statement_day
        if name:
            return period_named(name, day=day, tz=self.timezone)
        current = period_of(self.clock() if now is None else now, day=day, tz=self.timezone)
        return period_of(current.start - 1, day=day, tz=self.timezone)
