"""Meter reading on the console (远程抄表): the meter registry, the readings journal fed by
the ingest, consumption arithmetic, monthly statements, anomaly alarms and the SVG chart."""

from .anomalies import ANOMALY_KINDS, LEAK, OFFLINE, VACANT_USE, MeterWatch
from .ingest import METER_RESET_ALARM, MeterIngest
from .model import DEFAULT_REGISTER, KINDS, KNOWN_MAPS, UNIT_OF_KIND, Meter, MeterError, validate_meter
from .periods import Period, day_starts, period_named, period_of, recent_periods
from .readings import MarkThresholds, ReadingStore
from .registry import MeterExists, MeterNotFound, MeterRegistry
from .rules import MeterRules, RulesStore
from .statements import Statement, StatementRow, build_statement

__all__ = ["Meter", "MeterError", "KINDS", "KNOWN_MAPS", "UNIT_OF_KIND", "DEFAULT_REGISTER",
           "validate_meter", "MeterRegistry", "MeterExists", "MeterNotFound", "ReadingStore",
           "MarkThresholds",
           "MeterIngest", "METER_RESET_ALARM", "MeterWatch", "LEAK", "VACANT_USE", "OFFLINE",
           "ANOMALY_KINDS", "MeterRules", "RulesStore", "Period", "period_named", "period_of",
           "recent_periods", "day_starts", "Statement", "StatementRow", "build_statement",
           "MeterFeature", "ANOMALY_EVERY_MS"]

from .feature import ANOMALY_EVERY_MS, MeterFeature  # noqa: E402
