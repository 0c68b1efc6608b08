"""Event kinds the contract knows, and how much each matters.

The node journal uses the class to decide what it may drop when full (only ``ROUTINE``),
and the console uses it to decide what is an alarm.  A kind not listed here is routine.
Features add their kinds to :data:`EVENT_KINDS` in this one place.
"""

from __future__ import annotations

from enum import Enum


class EventClass(str, Enum):
    """How much an event matters."""

    ALARM = "alarm"      #: raised at the desk until acknowledged; never dropped
    ACCESS = "access"    #: a decision or a record people rely on; never dropped
    ROUTINE = "routine"  #: informative; the oldest may be dropped when a journal is full


#: kind -> (class, one-line description).  Kept sorted by kind.
EVENT_KINDS: dict[str, tuple[EventClass, str]] = {
    "card.read": (EventClass.ACCESS, "a card was presented at a reader: {reader, card, format}"),
    "command.refused": (EventClass.ALARM, "a command was refused: {cmd_id, action, reason}"),
    "input.changed": (EventClass.ROUTINE, "a supervised input changed: {input, active}"),
    "journal.full": (EventClass.ALARM, "the node journal reached its bound and dropped routine events: {dropped, capacity}"),
    "node.started": (EventClass.ROUTINE, "the node runtime started: {version, boot_id, safe_outputs}"),
    "reader.fault": (EventClass.ROUTINE, "a reader saw bad frames: {reader, error, count}"),
    "relay.pulsed": (EventClass.ACCESS, "an output relay was pulsed by a command: {relay, seconds, cmd_id}"),
}


def event_class(kind: str) -> EventClass:
    """The class of an event kind; unknown kinds are :attr:`EventClass.ROUTINE`."""
    entry = EVENT_KINDS.get(kind)
    return entry[0] if entry else EventClass.ROUTINE


def is_alarm(kind: str) -> bool:
    """True if events of ``kind`` are alarms the desk must acknowledge."""
    return event_class(kind) is EventClass.ALARM
