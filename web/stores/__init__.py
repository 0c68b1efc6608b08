"""The console's stores: small repository classes over the console database.

Importing this package registers every store's schema with :mod:`web.db`, so a
:class:`~web.db.Database` opened afterwards has all their tables.
"""

from .alarms import CLOCK_SKEW, NODE_OFFLINE, SEQ_GAP, Alarm, AlarmStore
from .events import EventPage, EventStore, RecordResult, SeqGap, StoredEvent
from .nodes import NodeInfo, NodeStore

__all__ = ["Alarm", "AlarmStore", "EventPage", "EventStore", "RecordResult", "SeqGap",
           "StoredEvent", "NodeInfo", "NodeStore", "SEQ_GAP", "NODE_OFFLINE", "CLOCK_SKEW"]
